"""Where every page gets its model: the sidebar picker, the ModelHandle, and what is computed
from a model once and cached (test-set latents, manifolds, scores...).

The model is loaded once per checkpoint file (st.cache_resource, shared by all sessions, never
mutated); what is derived from it is cached per model by `ui.cache.per_model`, keyed by the
handle's "path@mtime", so a retrained file is picked up and a session never sees another
model's arrays. The computations themselves live in vae/ (tested without Streamlit).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from .cache import per_model
from .urlstate import linked, put, url_choice
from vae.checkpoint import CHECKPOINT_DIR, DEFAULT_MODEL, Checkpoint, CheckpointError, checkpoint_name, list_checkpoints, load_checkpoint
from vae.data import DataError, Split, load_mnist
from vae.holes import aggregate_posterior_density_grid
from vae.latent import Manifold, Spacing, decode_grid, encode_images, grid_axis
from vae.model import VAE, ConditionedVAE
from vae.quadrature import PriorGrid
from vae.render import png_bytes, upscale
from vae.model_tables import grid_opener
from vae.typicality import RANKED_IMAGES, REFERENCE_IMAGES, Score, scores_saved, split_scores


@dataclass(frozen=True)
class ModelHandle:
    """The loaded checkpoint plus the key its derived caches use."""

    ckpt: Checkpoint
    key: str  # "path@mtime"

    @property
    def model(self) -> VAE:
        return self.ckpt.model

    @property
    def conditional(self) -> bool:
        return self.ckpt.config.num_classes > 0

    def view(self, label: int | None = None) -> VAE | ConditionedVAE:
        """The model with the digit label fixed (a CVAE); the plain model otherwise."""
        return self.ckpt.model.conditioned(label)


# One line per checkpoint load/check on the server's stderr (operators, and the soak test that
# checks a model is loaded once per file version, not once per session).
_log = logging.getLogger("latent_explorer.models")
if not _log.handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    _log.addHandler(_handler)
    _log.setLevel(logging.INFO)
    _log.propagate = False


@st.cache_resource(show_spinner="Loading the model…", max_entries=8)
def _load(path: str, mtime: float) -> Checkpoint:
    ckpt = load_checkpoint(path)
    _log.info("loaded checkpoint %s (mtime %r)", path, mtime)
    # Streamlit runs gc.collect(2) after every script run; with torch's many objects that costs
    # ~120 ms per rerun. Freezing what exists now (torch, the model) takes it out of that scan.
    gc.freeze()
    return ckpt


def _available() -> dict[str, Path]:
    return {checkpoint_name(p): p for p in list_checkpoints(CHECKPOINT_DIR)}


_MAX_REASON = 300


@st.cache_data(show_spinner=False, max_entries=256)
def _unusable_reason(path: str, mtime: float, size: int) -> str | None:
    """None if the checkpoint loads, else why not (a short, display-safe message).

    Cached by (path, mtime, size), so a bad file is read once per version rather than on every
    rerun. The loaded model is dropped here; `_load` keeps the one a session picks.
    """
    try:
        load_checkpoint(path)
    except CheckpointError as exc:
        reason = str(exc).replace(str(CHECKPOINT_DIR), "checkpoints")  # no server paths shown
    except Exception as exc:  # noqa: BLE001 - a hostile file must not take every page down
        reason = f"could not be loaded ({type(exc).__name__})"
    else:
        _log.info("checked checkpoint %s (mtime %r): usable", path, mtime)
        return None
    _log.warning("checked checkpoint %s (mtime %r): unusable: %s", path, mtime, reason)
    return reason if len(reason) <= _MAX_REASON else reason[: _MAX_REASON - 1] + "…"


def _sort_checkpoints(available: dict[str, Path]) -> tuple[dict[str, tuple[Path, float]], dict[str, str]]:
    """Split checkpoints/ into {name: (path, mtime)} that load and {name: reason} that do not."""
    usable: dict[str, tuple[Path, float]] = {}
    unusable: dict[str, str] = {}
    for name, path in available.items():
        try:
            stat = path.stat()
        except OSError as exc:
            unusable[name] = f"cannot be read ({exc.strerror or type(exc).__name__})"
            continue
        reason = _unusable_reason(str(path), stat.st_mtime, stat.st_size)
        if reason is None:
            usable[name] = (path, stat.st_mtime)
        else:
            unusable[name] = reason
    return usable, unusable


def _show_unusable(unusable: dict[str, str]) -> None:
    """List the files that cannot be picked, with the reason, as plain text (no Markdown or
    HTML: file names and loader messages are not ours to format)."""
    with st.sidebar.expander(f"Unusable checkpoints ({len(unusable)})", icon=":material/warning:"):
        for name, reason in unusable.items():
            st.text(f"{name} — {reason}")


def _choice(usable: dict[str, tuple[Path, float]]) -> str:
    """The model this session uses: chosen before (on any page), else the link's ?model=, else
    the default. Kept under a key of its own (not the widget's), so it survives page switches."""
    names = list(usable)
    fallback = DEFAULT_MODEL if DEFAULT_MODEL in usable else names[0]
    if "model_choice" not in st.session_state or linked("model"):  # a link's model wins
        current = st.session_state.get("model_choice")
        st.session_state.model_choice = url_choice("model", names, current if current in usable else fallback)
    if st.session_state.model_choice not in usable:  # deleted or broken since
        st.session_state.model_choice = fallback
    return st.session_state.model_choice


def _picked() -> None:
    st.session_state.model_choice = st.session_state.model_name
    put("model", st.session_state.model_name)  # before the rerun: the URL must not pull it back


def model_picker(where: DeltaGenerator | None = None) -> ModelHandle | None:
    """The model selectbox (in `where`: the page header's popover, or the sidebar) over the
    usable checkpoints in checkpoints/ (only those); returns the loaded model or None. Files
    that fail to load are listed, with the reason, under "Unusable checkpoints" in the sidebar
    and cannot be picked.

    The choice is the same on every page of a session and always in the URL (?model=...), so a
    reload or a shared link opens the same model.
    """
    usable, unusable = _sort_checkpoints(_available())
    if unusable:
        _show_unusable(unusable)
    if not usable:
        if unusable:
            st.error("No usable checkpoints in checkpoints/. Train one with `make train`.")
        else:
            st.error("No checkpoints in checkpoints/. Train one with `make train`.")
        return None
    name = _choice(usable)
    st.session_state.model_name = name  # the widget shows the session's choice on every page
    (where or st.sidebar).selectbox("Model", list(usable), key="model_name", on_change=_picked,
                                    help="Checkpoints found in the project's checkpoints/ folder; "
                                         "the choice holds on every page and in the link.")
    path, mtime = usable[name]
    try:
        ckpt = _load(str(path), mtime)
    except (CheckpointError, OSError) as exc:  # changed on disk since it was checked
        st.error(f"Model {name} is unusable: {exc}".replace(str(CHECKPOINT_DIR), "checkpoints"))
        return None
    put("model", name)
    return ModelHandle(ckpt=ckpt, key=f"{path}@{mtime}")


def current_model_name() -> str | None:
    """The name model_picker will use this run (for a label shown before the picker itself)."""
    usable, _ = _sort_checkpoints(_available())
    return _choice(usable) if usable else None


def require_model(where: DeltaGenerator | None = None) -> ModelHandle:
    """The picked model (the picker in `where`), or stop the page with a message."""
    handle = model_picker(where)
    if handle is None:
        st.info("Pick a usable model to continue.")
        st.stop()
    return handle


def usable_names() -> list[str]:
    """Names of the checkpoints in checkpoints/ that load (for pages that pick several)."""
    usable, _ = _sort_checkpoints(_available())
    return list(usable)


def handle_for(name: str) -> ModelHandle | None:
    """A loaded model by its picker name (only names found in checkpoints/), or None."""
    usable, _ = _sort_checkpoints(_available())
    if name not in usable:
        return None
    path, mtime = usable[name]
    try:
        return ModelHandle(ckpt=_load(str(path), mtime), key=f"{path}@{mtime}")
    except (CheckpointError, OSError):
        return None


def test_images() -> tuple[np.ndarray, np.ndarray]:
    """MNIST test images uint8 [10000, 28, 28] and labels [10000]: read once per process by
    vae.data and shared read-only (no st.cache_data copy of 8 MB per call); a missing or
    damaged MNIST file stops the page with its message."""
    try:
        return load_mnist("test")
    except DataError as exc:
        st.error(str(exc))
        st.stop()


@per_model(st.cache_data, show_spinner="Encoding the test set…", max_entries=8)
def test_latents(handle: ModelHandle) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mu [N, 2], logvar [N, 2], labels [N]) of the 10,000 test images under this model (a
    CVAE encodes q(z|x, y), each image with its own label)."""
    images, labels = test_images()
    mu, logvar = encode_images(handle.model, images, labels)
    return mu, logvar, labels


@per_model(st.cache_data, show_spinner="Decoding the manifold…", max_entries=16)
def manifold(handle: ModelHandle, n: int, spacing: Spacing, radius: float, label: int | None = None) -> Manifold:
    """The decoded n x n grid (for a CVAE, of the given digit class)."""
    return decode_grid(handle.view(label), n, spacing, radius)


@per_model(st.cache_data, show_spinner=False, max_entries=16)
def manifold_png(handle: ModelHandle, n: int, spacing: Spacing, radius: float, label: int | None) -> bytes:
    """The manifold as a PNG download (2x, crisp)."""
    return png_bytes(upscale(manifold(handle, n, spacing, radius, label).image, 2))


@per_model(st.cache_data, show_spinner="Estimating the aggregate posterior…", max_entries=8)
def aggregate_density(handle: ModelHandle, radius: float = 4.0, n: int = 121) -> tuple[np.ndarray, np.ndarray]:
    """(axis [n], q(z) [n, n] rows z2): the test set's aggregate posterior on a grid."""
    mu, logvar, _ = test_latents(handle)
    axis = grid_axis(n, "linear", radius)
    return axis, aggregate_posterior_density_grid(axis, axis, mu, logvar)


# ---------------------------------------------------------------- probabilities
# Exact 2-D quantities are cheap for one image but not for thousands: the decoded quadrature
# grid (in memory) and the scores of the reference sets are computed once per model (and
# binarisation and score); vae.typicality.split_scores also keeps the scores on disk across
# server restarts.

# REFERENCE_IMAGES (validation images behind the typicality histogram) and RANKED_IMAGES (test
# images ranked from most to least typical) come from vae/typicality.py. The shipped models'
# scores ship in checkpoints/scores/; a model trained in the app gets the defaults from its job.


# The grid is 31 MB (10,000 cells x 784 logits), the largest thing a model costs: decoded once
# per weights (~0.5 s; the launcher builds the shipped models' in the background) into the array
# cache and mapped from there for each use (vae/model_tables.py), so the server holds none of it
# between runs. Only the opener (a few kB) is cached here, for every model and CVAE class.
@per_model(st.cache_resource, show_spinner="Decoding the latent grid (once for these weights)…", max_entries=64)
def _grid_opener(handle: ModelHandle, label: int | None = None) -> Callable[[], PriorGrid]:
    return grid_opener(handle.ckpt, label)


def quadrature_grid(handle: ModelHandle, label: int | None = None) -> PriorGrid:
    """The decoded level 0 of the quadrature, mapped read-only: hold it for one run (or one
    computation), don't cache it."""
    return _grid_opener(handle, label)()


def eta_text(seconds: float | None) -> str:
    """'about 40 s left' / 'about 3 min left' / '' (no estimate yet)."""
    if seconds is None:
        return ""
    return f"about {max(1, round(seconds))} s left" if seconds < 90 else f"about {round(seconds / 60)} min left"


def reference_scores(handle: ModelHandle, score: Score = "log p(x)", binarize: bool = True) -> np.ndarray:
    """The score of each of the first REFERENCE_IMAGES validation images, nats [n]."""
    return _scores(handle, "val", REFERENCE_IMAGES, score, binarize)


def ranked_scores(handle: ModelHandle, score: Score = "log p(x)", binarize: bool = True) -> np.ndarray:
    """The score of each of the first RANKED_IMAGES test images (index i = test image i), nats."""
    return _scores(handle, "test", RANKED_IMAGES, score, binarize)


@dataclass
class _ScoreState:
    arrays: dict = field(default_factory=dict)  # (split, n, score, binarize) -> float64 [n]
    locks: dict = field(default_factory=dict)  # same key -> the lock its computation holds
    guard: threading.Lock = field(default_factory=threading.Lock)


@per_model(st.cache_resource, show_spinner=False, max_entries=16)
def _score_state(handle: ModelHandle) -> _ScoreState:
    """Per model, shared by all sessions: the scores read or computed so far (8 kB each) and one
    lock per set, so a second visitor waits for the first's computation instead of repeating it."""
    return _ScoreState()


def _scores(handle: ModelHandle, split: Split, n: int, score: Score, binarize: bool) -> np.ndarray:
    """Scores read from disk at once (shipped, or saved by an earlier computation or the training
    job); otherwise computed here, once for the whole server, under a progress bar that says how
    far it is and about how long is left. Returns a copy, float64 [n] nats."""
    state, key = _score_state(handle), (split, n, score, binarize)
    if key not in state.arrays:
        with state.guard:
            lock = state.locks.setdefault(key, threading.Lock())
        what = (f"Scoring {n:,} {'validation' if split == 'val' else 'test'} images by "
                f"{'quadrature' if score == 'log p(x)' else 'the ELBO'} for this model (once; then saved)")
        bar = None if scores_saved(handle.ckpt, split, n, binarize, score) else st.progress(0.0, text=what)
        try:
            if not lock.acquire(blocking=False):
                if bar is not None:
                    bar.progress(0.0, text=f"{what}: another visitor started it; waiting for it…")
                lock.acquire()
            try:
                if key not in state.arrays:
                    start = time.perf_counter()

                    def step(done: int, total: int) -> None:
                        left = (time.perf_counter() - start) * (total - done) / done if done else None
                        bar.progress(done / total, text=" · ".join(  # type: ignore[union-attr]
                            t for t in (what, f"{done:,}/{total:,}", eta_text(left)) if t))

                    state.arrays[key] = split_scores(handle.ckpt, split, n, binarize, score,
                                                     lambda label: quadrature_grid(handle, label),
                                                     progress=step if bar is not None else None)
            finally:
                lock.release()
        finally:
            if bar is not None:
                bar.empty()
    return state.arrays[key].copy()
