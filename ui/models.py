"""Where every page gets its model: the sidebar picker and the cached loaders.

The model is loaded once per checkpoint file (st.cache_resource, shared by all sessions, never
mutated); arrays derived from it are cached with st.cache_data keyed by (path, mtime), so a
retrained file is picked up and a session never sees another model's arrays.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from vae.checkpoint import CHECKPOINT_DIR, Checkpoint, CheckpointError, checkpoint_name, list_checkpoints, load_checkpoint
from vae.data import DataError, load_mnist
from vae.latent import Manifold, Spacing, decode_grid, encode_images
from vae.render import scatter_picture

DEFAULT_MODEL = "mnist-2d"


@dataclass(frozen=True)
class ModelHandle:
    """The loaded checkpoint plus the key its derived caches use."""

    ckpt: Checkpoint
    key: str  # "path@mtime"

    @property
    def model(self):  # noqa: ANN201 - VAE
        return self.ckpt.model


@st.cache_resource(show_spinner="Loading the model…", max_entries=8)
def _load(path: str, mtime: float) -> Checkpoint:
    ckpt = load_checkpoint(path)
    # One intra-op thread: the app's tensors are tiny (one z, a 40x40 grid), and sessions run in
    # parallel threads; with two threads per op a busy machine made one decode 44 ms instead of
    # 0.2 ms (OpenMP threads waiting on each other), see bench/results.json.
    torch.set_num_threads(1)
    # Streamlit runs gc.collect(2) after every script run; with torch's many objects that costs
    # ~120 ms per rerun. Freezing what exists now (torch, the model) takes it out of that scan.
    gc.freeze()
    return ckpt


def _available() -> dict[str, Path]:
    return {checkpoint_name(p): p for p in list_checkpoints(CHECKPOINT_DIR)}


def model_picker() -> ModelHandle | None:
    """Sidebar selectbox over checkpoints/ (only those); returns the loaded model or None.

    The choice lives in st.session_state["model_name"] (shared by all pages) and in the URL
    (?model=...), so a shared link opens the same model.
    """
    available = _available()
    if not available:
        st.sidebar.error("No checkpoints in checkpoints/. Train one with `make train`.")
        return None
    names = list(available)
    wanted = st.query_params.get("model")
    if "model_name" not in st.session_state:
        st.session_state.model_name = wanted if wanted in available else (
            DEFAULT_MODEL if DEFAULT_MODEL in available else names[0])
    if st.session_state.model_name not in available:
        st.session_state.model_name = names[0]
    name = st.sidebar.selectbox("Model", names, key="model_name",
                                help="Checkpoints found in the project's checkpoints/ folder.")
    path = available[name]
    try:
        mtime = path.stat().st_mtime
        ckpt = _load(str(path), mtime)
    except (CheckpointError, OSError) as exc:
        st.sidebar.error(f"Model {name} is unusable: {exc}")
        return None
    if name != DEFAULT_MODEL or "model" in st.query_params:
        st.query_params["model"] = name
    return ModelHandle(ckpt=ckpt, key=f"{path}@{mtime}")


def require_model() -> ModelHandle:
    """The picked model, or stop the page with a message."""
    handle = model_picker()
    if handle is None:
        st.info("Pick a usable model in the sidebar to continue.")
        st.stop()
    return handle


@st.cache_data(show_spinner=False, max_entries=4)
def test_set() -> tuple[np.ndarray, np.ndarray]:
    """MNIST test images uint8 [10000, 28, 28] and labels [10000]."""
    return load_mnist("test")


def test_images() -> tuple[np.ndarray, np.ndarray]:
    try:
        return test_set()
    except DataError as exc:
        st.error(str(exc))
        st.stop()


@st.cache_data(show_spinner="Encoding the test set…", max_entries=8)
def _test_latents(key: str, _handle: ModelHandle) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    images, labels = test_images()
    mu, logvar = encode_images(_handle.model, images)
    return mu, logvar, labels


def test_latents(handle: ModelHandle) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mu [N, 2], logvar [N, 2], labels [N]) of the 10,000 test images under this model."""
    return _test_latents(handle.key, handle)


@st.cache_data(show_spinner="Decoding the manifold…", max_entries=32)
def _manifold(key: str, _handle: ModelHandle, n: int, spacing: Spacing, radius: float) -> Manifold:
    return decode_grid(_handle.model, n, spacing, radius)


def manifold(handle: ModelHandle, n: int, spacing: Spacing, radius: float) -> Manifold:
    return _manifold(handle.key, handle, n, spacing, radius)


@st.cache_resource(show_spinner=False, max_entries=8)
def _scatter_picture(key: str, _handle: ModelHandle, extent: float, size: int):  # noqa: ANN202
    mu, _, labels = test_latents(_handle)
    return scatter_picture(mu, labels, extent=extent, size=size)


def scatter_background(handle: ModelHandle, extent: float = 4.0, size: int = 320):  # noqa: ANN201
    """A PIL picture of the test-set latent means (shared, read-only: callers copy it)."""
    return _scatter_picture(handle.key, handle, extent, size)
