"""The latent plane: the one component every page uses to draw the 2-D latent space.

The browser code lives beside this file (plane.html, plane.css, plane.js; its pure parts are
unit-tested by tests/js/ on node). This wrapper only reads those files, assembles the data and
reads back what the browser committed. Layers are built by vae/plane.py (pure) and, for the
per-model ones (the data's means, the manifold), by ui/layers.py.

Data (Python -> JS; every value a scalar or a string: Streamlit probes lists and dicts for
dataframes, which would import pandas and pyarrow, 70 MB, into the server):
  model, decoder_src   the decoder's content id (sha256) and the URL of its export file
                   (vae/export.py), a static file the browser fetches once and caches
  layers           JSON text of the layers (vae.plane.Layer.to_data); each heavy blob (a PNG,
                   thousands of points) is a static file too: the layer carries its URL
  z1, z2, unset    the point to show (unset: none chosen yet; no marker is drawn)
  spacing, lo, hi, ticks, view    the plane (vae.plane.Plane) and the part shown first
  label            the digit class a conditional VAE's decoder gets (None for a plain VAE)
  ack              the seq of the last commit Python applied (the JS ignores an older z)
  size, title, dark, hover, commit, digit_title, sliders, link    presentation and behaviour
State (JS -> Python): z = {"z": [z1, z2], "seq": n} on each commit.
A rerun therefore sends a few hundred bytes: heavy bytes cross the network once per browser
(ui/static_files.py). The browser exposes a measurement hook, window.__latentPad (plane.js):
ready, model, z, committed, decode(z1, z2[, label]), frames, decodeMs, shownAt, drags, parses.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from vae.export import decoder_bytes, decoder_export
from vae.plane import Layer, Plane

from ..cache import per_model
from ..models import ModelHandle
from ..static_files import GEN_DIR, date_for_caching, publish, static_url

HERE = Path(__file__).resolve().parent
PAD_PX = 320  # the plane's CSS size on most pages
MAP_PX = 560  # the manifold page: a 20 x 20 manifold at one screen pixel per pixel

_component = st.components.v2.component(
    "latent_explorer.latent_plane",
    html=(HERE / "plane.html").read_text(encoding="utf-8"),
    css=".lp:not(.styled) { visibility: hidden; }",  # until plane.css, fetched by the loader, applies
    js=(HERE / "loader.js").read_text(encoding="utf-8"),  # ~1.5 kB: fetches plane.js and plane.css
)


@functools.cache
def _file_url(name: str) -> str:
    """plane.js or plane.css as a content-hashed static file: the browser fetches each once, not
    with every rerun (inline, they were 44 kB of each slider step's reply)."""
    return publish((HERE / name).read_bytes(), name.rsplit(".", 1)[1])


@per_model(st.cache_resource, show_spinner=False, max_entries=8)
def _decoder_header(handle: ModelHandle) -> dict[str, Any]:
    """The export's header (sizes, activation, content id): shared, read-only; ValueError if the
    browser cannot run this decoder."""
    return decoder_export(handle.model)


def decoder_src(handle: ModelHandle) -> tuple[str, str]:
    """(content id, URL) of the model's decoder file, written on first use (or again if it was
    pruned): the weights are read from the model only then, not kept in memory."""
    sha = _decoder_header(handle)["sha256"]
    path = GEN_DIR / f"{sha}.bin"
    if path.exists():
        date_for_caching(path)  # one stat: a file an older version wrote gets its caching date
        return sha, static_url(path.name)
    return sha, publish(decoder_bytes(handle.model), "bin", name=sha)


def decoder_summary(handle: ModelHandle) -> str | None:
    """One sentence on what the browser runs for this model (None if it cannot run it)."""
    try:
        export = _decoder_header(handle)
    except ValueError:
        return None
    sizes = " → ".join(str(n) for n in export["sizes"])
    if export["num_classes"]:
        sizes = f"{export['latent_dim']} (z) + {export['num_classes']} (one-hot label) → " + sizes.split(" → ", 1)[1]
    return (f"The decoder is an MLP, {sizes}, with {export['activation']} between layers and a "
            f"sigmoid at the end: {export['params']:,} numbers, a {_file_mb(export):.1f} MB file your "
            "browser fetches once per model and keeps in its cache.")


def _file_mb(export: dict[str, Any]) -> float:
    """The weights' size as stored: 4 bytes a number, 2 where a layer is exactly float16."""
    return sum((l["in"] * l["out"] + l["out"]) * (2 if l["dtype"] == "f16" else 4) for l in export["layers"]) / 1e6


def parse_commit(value: object, plane: Plane) -> tuple[tuple[float, float], int] | None:
    """The browser's committed {"z": [z1, z2], "seq": n} -> ((z1, z2) clipped to the plane, seq),
    or None for anything else (a hostile or stale state never reaches a page)."""
    if not isinstance(value, dict):
        return None
    z, seq = value.get("z"), value.get("seq", 0)
    if not isinstance(z, (list, tuple)) or len(z) != 2:
        return None
    try:
        z1, z2, n = float(z[0]), float(z[1]), int(seq)
    except (TypeError, ValueError, OverflowError):
        return None
    if not (math.isfinite(z1) and math.isfinite(z2)):
        return None
    lo, hi = plane.z_range
    return (min(max(z1, lo), hi), min(max(z2, lo), hi)), n


def _state(key: str) -> dict[str, Any]:
    value = st.session_state.get(key)
    return dict(value) if isinstance(value, dict) else {}


def latent_plane(
    handle: ModelHandle,
    key: str,
    plane: Plane,
    layers: Sequence[Layer] = (),
    z: Sequence[float] | None = None,
    on_commit: Callable[[tuple[float, float]], None] | None = None,
    label: int | None = None,
    view: Sequence[float] | None = None,
    size: int = PAD_PX,
    title: str = "Latent plane",
    dark: bool = False,
    hover: bool = True,
    commit: bool = True,
    mark: bool = True,
    digit_title: str = "E[x|z]",
    sliders: bool = False,
    link: str | None = None,
) -> tuple[float, float] | None:
    """Show the plane with its layers and a live E[x|z] beside it; returns the z last committed
    in the browser (None before any).

    z: the point to show (None: none chosen yet; no marker, the digit shows the plane's centre;
    mark False: the digit shows z but no marker covers it until the visitor chooses a point).
    label: the digit class fed to a conditional VAE's decoder (0 if not given; ignored for a
    plain VAE). view: (x0, x1, y0, y1) in plot coordinates to open zoomed (Plane.view_around);
    the visitor can zoom back out to the whole plane. commit False: a click only moves the point
    in the browser (no rerun). on_commit(z) runs as a widget callback, before the rerun a commit
    causes: the place to copy z into the page's own state. sliders: z₁ and z₂ sliders under the
    digit, decoded in the browser at each step like a drag and committed when a burst of steps
    ends (a Streamlit slider would wait for a rerun per step). link: planes of one page with the
    same link name show the z (and the hovered z) moved on any of them, each decoded by its own
    model in the browser, without waiting for the server (e.g. two models side by side).
    Shows an st.error instead for a model the browser cannot decode.
    """
    if handle.model.config.latent_dim != 2:
        st.error("The latent plane needs a model with a 2-D latent space.")
        return None
    try:
        model_id, src = decoder_src(handle)
    except ValueError as exc:
        st.error(f"This model cannot be decoded in the browser: {exc}")
        return None
    committed = parse_commit(_state(key).get("z"), plane)
    unset = z is None or not mark
    z = plane.centre if z is None else plane.clamp(z)
    data = {
        "plane_js": _file_url("plane.js"),
        "plane_css": _file_url("plane.css"),
        "model": model_id,
        "decoder_src": src,
        "layers": json.dumps([layer.to_data(publish) for layer in layers], separators=(",", ":")),
        "z1": float(z[0]),
        "z2": float(z[1]),
        "unset": unset,
        "spacing": plane.spacing,
        "lo": plane.lo,
        "hi": plane.hi,
        "ticks": ",".join(f"{t:g}" for t in plane.ticks),
        "view": ",".join(f"{v:.6g}" for v in view) if view is not None else "",
        "label": (int(label or 0) if handle.conditional else None),
        "ack": committed[1] if committed else 0,
        "size": int(size),
        "title": title,
        "dark": dark,
        "hover": hover,
        "commit": commit,
        "digit_title": digit_title,
        "sliders": sliders,
        "link": link or "",
    }

    def _committed() -> None:
        parsed = parse_commit(_state(key).get("z"), plane)
        if parsed is not None and on_commit is not None:
            on_commit(parsed[0])

    result = _component(
        key=key,
        data=data,
        default={"z": None},
        on_z_change=_committed,
        height="content",
    )
    parsed = parse_commit(getattr(result, "z", None), plane)
    return parsed[0] if parsed else None
