"""Latent Explorer: the Streamlit entry point. The server process's settings, then the one
registry of pages (PAGES: the navigation, and the home page's links, come from it); each page
lives in pages/ and gets its model from ui.models (the sidebar picker)."""

import streamlit as st

from ui.server import configure_process
from ui.shell import PageEntry, navigation

configure_process()  # malloc and torch threads for a long-lived server: see ui/server.py

st.set_page_config(page_title="Latent Explorer", page_icon=":material/explore:", layout="wide")

PAGES = [
    PageEntry("pages/start.py", "Start here", ":material/school:", "",
              "what a VAE computes, p(z), p(x|z), p(x), p(z|x), the ELBO, and why, in five live steps"),
    PageEntry("pages/home.py", "Model card", ":material/badge:", "model",
              "the loaded model: architecture, training, metrics, samples"),
    PageEntry("pages/manifold.py", "Latent map & manifold", ":material/grid_on:", "manifold",
              "the decoder's whole output space; hover or click to decode"),
    PageEntry("pages/decoder.py", "Decoder", ":material/tune:", "decoder", "drag z and watch E[x|z]"),
    PageEntry("pages/interpolate.py", "Interpolation", ":material/linear_scale:", "interpolate",
              "walk between two encoded digits"),
    PageEntry("pages/encode.py", "Encode an image", ":material/draw:", "encode",
              "upload or draw a digit, see q(z|x)"),
    PageEntry("pages/posterior.py", "Posterior & likelihood", ":material/functions:", "posterior",
              "exact p(z|x) and log p(x) in nats, next to q(z|x) and the ELBO"),
    PageEntry("pages/typicality.py", "Typicality", ":material/query_stats:", "typicality",
              "is an image like the data? A score, a percentile, a verdict"),
    PageEntry("pages/inpaint.py", "Denoise & inpaint", ":material/healing:", "inpaint",
              "hide or corrupt pixels; p(z | what is left) fills them in"),
    PageEntry("pages/compress.py", "Compress", ":material/compress:", "compress",
              "a digit in ~23 bytes: lossless coding with p(x)"),
    PageEntry("pages/generate.py", "Generate", ":material/auto_awesome:", "generate",
              "samples from the prior, and the holes between the data"),
    PageEntry("pages/compare.py", "Compare models", ":material/compare:", "compare",
              "two models side by side, one z cursor"),
    PageEntry("pages/train.py", "Train", ":material/model_training:", "train",
              "your own VAE or CVAE, live curves and manifold"),
]

navigation(PAGES).run()
