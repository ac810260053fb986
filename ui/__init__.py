"""Streamlit-only pieces shared by several pages: model picker and cached data, image input,
image display, the drawing canvas. Pages import from here; `vae/` never does."""
