"""Decoder: choose z on the live latent pad (or with its sliders) and see E[x|z].

While the pad's point is dragged, or its sliders stepped, the browser decodes every frame itself
(ui/latent_plane/); on release (or once a burst of steps ends) z is committed here, into the
page's state, the URL and the server's own decode beside it. Everything lives in one
st.fragment, so a commit reruns only that part.
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
    "z; arrow keys move it too, the sliders under the digit set it exactly.",
)


# The chosen z: st.session_state z1, z2 (plain state: the pad and its sliders commit into it, the
# buttons set it, a link's z1, z2 seed it).
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
    """A commit on the pad or its sliders (a widget callback: before the rerun reads z)."""
    st.session_state.z1 = round(float(np.clip(z[0], -Z_LIMIT, Z_LIMIT)), 2)
    st.session_state.z2 = round(float(np.clip(z[1], -Z_LIMIT, Z_LIMIT)), 2)


@st.fragment
def decoder_panel() -> None:
    pad_col, controls = st.columns([2, 1], gap="medium")
    z1, z2 = float(st.session_state.z1), float(st.session_state.z2)  # set before this run (see above)
    with controls:
        label = label_picker(handle, key="dec_label", url_param="label")  # a conditional VAE also needs the class
        b1, b2 = st.columns(2)
        b1.button("Sample", icon=":material/casino:", on_click=_sample_prior, key="dec_sample",
                  help="Draw z from the prior N(0, I)", width="stretch")
        b2.button("Reset", icon=":material/restart_alt:", on_click=_reset, key="dec_reset",
                  help="z = (0, 0)", width="stretch")
        # The picture, z and a note as one element: fewer updates for the browser per commit.
        mean = decode_one(handle.view(label), (z1, z2))  # [28, 28], once per commit
        picture = inline_img(png_bytes(mean), 112, f"E[x|z] at z = ({z1:+.2f}, {z2:+.2f})")
        st.html(f'<div style="display:flex;gap:1rem;align-items:center"><div style="flex:none">{picture}</div><div>'
                f"z = <b>({z1:+.2f}, {z2:+.2f})</b> · ‖z‖ = {np.hypot(z1, z2):.2f}"
                + caption_html("The same z decoded on the server by PyTorch, as the other pages and a shared "
                               "link see it.", top="0.25rem") + "</div></div>")
        count = st.select_slider("Binary samples x ~ p(x|z)", [0, 4, 8, 16], 8, key="dec_samples")
        if count:
            show_samples(np.repeat(mean[None], count, axis=0), seed=st.session_state.get("dec_seed", 0),
                         size=28, as_strip=True)
    with pad_col:
        latent_plane(handle, "dec_pad", Plane.square(MAP_EXTENT), [means_layer(handle)], (z1, z2),
                     on_commit=_from_pad, label=label, title="Latent plane · test-set means by digit",
                     sliders=True)
    put("z1", f"{z1:.2f}")
    put("z2", f"{z2:.2f}")


decoder_panel()

with st.expander("How the live pad works"):
    summary = decoder_summary(handle)
    st.markdown(
        "While you drag, or step a slider, your browser computes E[x|z] itself, one decode per "
        "screen frame, with plain JavaScript matrix products; no request goes to the server until "
        "you release (or stop stepping). "
        + (summary + " " if summary else "")
        + "Then z comes back here: the URL and the server's PyTorch decode follow, and the two "
        "decoders agree to within 0.001 per pixel (a test checks it).")
