"""Decoder: choose z on the live latent pad (or with the sliders) and see E[x|z].

While the pad's point is dragged the browser decodes every frame itself (ui/latent_plane/); on
release z is committed here, into the sliders' keys and the URL. The sliders are the precise
alternative and move the pad's point. Everything lives in one st.fragment, so a commit or a
slider step reruns only that part.
"""

import numpy as np
import streamlit as st

from ui.shell import page_header
from ui.images import caption_html, inline_img, show_samples
from ui.latent_plane import decoder_summary, latent_plane
from ui.layers import means_layer
from ui.urlstate import linked, put, url_number
from ui.widgets import label_picker
from vae.latent import decode_one, sample_prior
from vae.plane import Plane
from vae.render import png_bytes

Z_LIMIT = 4.0
MAP_EXTENT = 4.0

handle = page_header(
    "Decoder",
    "Drag the point across the latent map: the digit beside it is the decoder's mean E[x|z] (each"
    " pixel's probability of being ink), decoded in your browser at every frame. Release to keep "
    "z; arrow keys move it too, the sliders set it exactly.",
)


for name in ("z1", "z2"):
    if name not in st.session_state or linked(name):  # a link's z (e.g. from the map) wins
        st.session_state[name] = round(url_number(name, -Z_LIMIT, Z_LIMIT, 0.0), 2)


def _sample_prior() -> None:
    st.session_state.dec_seed = st.session_state.get("dec_seed", 0) + 1
    z = sample_prior(1, st.session_state.dec_seed)[0]
    st.session_state.z1 = round(float(np.clip(z[0], -Z_LIMIT, Z_LIMIT)), 2)
    st.session_state.z2 = round(float(np.clip(z[1], -Z_LIMIT, Z_LIMIT)), 2)


def _reset() -> None:
    st.session_state.z1 = 0.0
    st.session_state.z2 = 0.0


def _from_pad(z: tuple[float, float]) -> None:
    """A commit on the pad (a widget callback, so before the sliders exist in the rerun)."""
    st.session_state.z1 = round(float(np.clip(z[0], -Z_LIMIT, Z_LIMIT)), 2)
    st.session_state.z2 = round(float(np.clip(z[1], -Z_LIMIT, Z_LIMIT)), 2)


@st.fragment
def decoder_panel() -> None:
    pad_col, controls = st.columns([2, 1], gap="medium")
    with controls:
        label = label_picker(handle, key="dec_label", url_param="label")  # a conditional VAE also needs the class
        inputs, shown = st.container(), st.container()  # sliders above the picture on the page...
    # ...but the picture is sent first: it is what a slider step changes, and Streamlit sends a
    # run's elements in the order the script makes them. The sliders' keys already hold this
    # run's z (a widget's value, or a button's or the pad's callback, lands before the run).
    z1, z2 = float(st.session_state.z1), float(st.session_state.z2)
    with shown:  # the picture, z and a note as one element: fewer updates for the browser per step
        mean = decode_one(handle.view(label), (z1, z2))  # [28, 28], once per step
        picture = inline_img(png_bytes(mean), 112, f"E[x|z] at z = ({z1:+.2f}, {z2:+.2f})")
        st.html(f'<div style="display:flex;gap:1rem;align-items:center"><div style="flex:none">{picture}</div><div>'
                f"z = <b>({z1:+.2f}, {z2:+.2f})</b> · ‖z‖ = {np.hypot(z1, z2):.2f}"
                + caption_html("The same z decoded on the server by PyTorch, as the other pages and a shared "
                               "link see it.", top="0.25rem") + "</div></div>")
        count = st.select_slider("Binary samples x ~ p(x|z)", [0, 4, 8, 16], 8, key="dec_samples")
        if count:
            show_samples(np.repeat(mean[None], count, axis=0), seed=st.session_state.get("dec_seed", 0),
                         size=28, as_strip=True)
    with inputs:
        st.slider("z₁", -Z_LIMIT, Z_LIMIT, step=0.05, key="z1")
        st.slider("z₂", -Z_LIMIT, Z_LIMIT, step=0.05, key="z2")
        b1, b2 = st.columns(2)
        b1.button("Sample", icon=":material/casino:", on_click=_sample_prior, key="dec_sample",
                  help="Draw z from the prior N(0, I)", width="stretch")
        b2.button("Reset", icon=":material/restart_alt:", on_click=_reset, key="dec_reset",
                  help="z = (0, 0)", width="stretch")
    with pad_col:
        latent_plane(handle, "dec_pad", Plane.square(MAP_EXTENT), [means_layer(handle)], (z1, z2),
                     on_commit=_from_pad, label=label, title="Latent plane · test-set means by digit")
    put("z1", f"{z1:.2f}")
    put("z2", f"{z2:.2f}")


decoder_panel()

with st.expander("How the live pad works"):
    summary = decoder_summary(handle)
    st.markdown(
        "While you drag, your browser computes E[x|z] itself, one decode per screen frame, with "
        "plain JavaScript matrix products; no request goes to the server until you release. "
        + (summary + " " if summary else "")
        + "On release, z comes back here: the sliders, the URL and the server's PyTorch decode "
        "follow, and the two decoders agree to within 0.001 per pixel (a test checks it).")
