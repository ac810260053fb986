"""Decoder: two sliders choose z, the page shows E[x|z] and where z sits among the data.

The sliders and their outputs live in one st.fragment, so a step reruns only that part.
"""

import numpy as np
import streamlit as st

from ui.images import show_png
from ui.models import require_model, scatter_background
from vae.latent import decode_one, sample_prior
from vae.render import mark_point, png_bytes

Z_LIMIT = 4.0
MAP_EXTENT = 4.0

handle = require_model()
st.title("Decoder")
st.caption("Move z with the sliders (or arrow keys after clicking a slider). The image is "
           "the decoder's mean E[x|z]: each pixel's probability of being ink.")


def _from_url(name: str) -> float:
    try:
        return float(np.clip(float(st.query_params.get(name, 0.0)), -Z_LIMIT, Z_LIMIT))
    except ValueError:
        return 0.0


for name in ("z1", "z2"):
    if name not in st.session_state:
        st.session_state[name] = round(_from_url(name), 2)


def _sample_prior() -> None:
    st.session_state.dec_seed = st.session_state.get("dec_seed", 0) + 1
    z = sample_prior(1, st.session_state.dec_seed)[0]
    st.session_state.z1 = round(float(np.clip(z[0], -Z_LIMIT, Z_LIMIT)), 2)
    st.session_state.z2 = round(float(np.clip(z[1], -Z_LIMIT, Z_LIMIT)), 2)


def _reset() -> None:
    st.session_state.z1 = 0.0
    st.session_state.z2 = 0.0


@st.fragment
def decoder_panel() -> None:
    controls, image_col, map_col = st.columns([2, 2, 2])
    with controls:
        z1 = st.slider("z₁", -Z_LIMIT, Z_LIMIT, step=0.05, key="z1")
        z2 = st.slider("z₂", -Z_LIMIT, Z_LIMIT, step=0.05, key="z2")
        b1, b2 = st.columns(2)
        b1.button("Sample z ~ N(0, I)", icon=":material/casino:", on_click=_sample_prior, key="dec_sample")
        b2.button("Reset to 0", on_click=_reset, key="dec_reset")
        st.markdown(f"z = **({z1:+.2f}, {z2:+.2f})** · ‖z‖ = {np.hypot(z1, z2):.2f}")
    st.query_params["z1"] = f"{z1:.2f}"
    st.query_params["z2"] = f"{z2:.2f}"
    with image_col:
        show_png(png_bytes(decode_one(handle.model, (z1, z2)), scale=10), "E[x|z]", width=280)
    with map_col:
        show_png(mark_point(scatter_background(handle, MAP_EXTENT, 280), (z1, z2), MAP_EXTENT),
                 "z among the test set's latent means (z ∈ [−4, 4]²)", width=280)


decoder_panel()
