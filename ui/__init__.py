"""Streamlit-only pieces shared by several pages: model picker and cached data, image input,
image display, the drawing canvas. Pages import from here; `vae/` never does."""

from . import server  # noqa: F401,E402 - first: it must set OMP_NUM_THREADS before torch loads
