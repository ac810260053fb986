"""Latent Explorer: the Streamlit entry point. The server process's settings, then navigation
and page order only; each page lives in pages/ and gets its model from ui.models (the sidebar
picker)."""

import streamlit as st

from ui.server import configure_process

configure_process()  # malloc and torch threads for a long-lived server: see ui/server.py

st.set_page_config(page_title="Latent Explorer", page_icon=":material/explore:", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/manifold.py", title="Latent map & manifold", icon=":material/grid_on:", url_path="manifold"),
    st.Page("pages/decoder.py", title="Decoder", icon=":material/tune:", url_path="decoder"),
    st.Page("pages/interpolate.py", title="Interpolation", icon=":material/linear_scale:", url_path="interpolate"),
    st.Page("pages/encode.py", title="Encode an image", icon=":material/draw:", url_path="encode"),
    st.Page("pages/posterior.py", title="Posterior & likelihood", icon=":material/functions:", url_path="posterior"),
    st.Page("pages/typicality.py", title="Typicality", icon=":material/query_stats:", url_path="typicality"),
    st.Page("pages/generate.py", title="Generate", icon=":material/auto_awesome:", url_path="generate"),
    st.Page("pages/compare.py", title="Compare models", icon=":material/compare:", url_path="compare"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
]

st.navigation(PAGES).run()
