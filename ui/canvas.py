"""A drawing canvas (st.components.v2; its HTML, CSS and JS in ui/draw_canvas/, no network): white ink on black, like
MNIST. On each pen lift it sends the drawing to Python as a PNG data URL; Python turns that
into bytes and hands it to vae.preprocess like any upload."""

from __future__ import annotations

import base64
from pathlib import Path

import streamlit as st

MAX_DATA_URL_CHARS = 2_000_000  # a 280x280 PNG is ~10 kB; anything near this is not ours
_PREFIX = "data:image/png;base64,"

HERE = Path(__file__).resolve().parent / "draw_canvas"  # the browser code: canvas.html, .css, .js
_canvas = st.components.v2.component(
    "latent_explorer.draw_canvas",
    html=(HERE / "canvas.html").read_text(encoding="utf-8"),
    css=(HERE / "canvas.css").read_text(encoding="utf-8"),
    js=(HERE / "canvas.js").read_text(encoding="utf-8"),
)


def drawing_canvas(key: str) -> bytes | None:
    """Show the canvas; returns the latest drawing as PNG bytes, or None if nothing is drawn."""
    result = _canvas(key=key, default={"png": ""}, on_png_change=lambda: None, height=330)
    data_url = getattr(result, "png", "") or ""
    if not data_url:
        return None
    if len(data_url) > MAX_DATA_URL_CHARS or not data_url.startswith(_PREFIX):
        st.error("The drawing could not be read; press Clear and draw again.")
        return None
    try:
        return base64.b64decode(data_url[len(_PREFIX):], validate=True)
    except ValueError:
        st.error("The drawing could not be read; press Clear and draw again.")
        return None
