"""Interpolation: encode two images to their means and walk between them in z."""

import numpy as np
import streamlit as st

from ui.shell import page_header
from ui.images import image_input, input_label, show_digit, show_png
from ui.widgets import label_picker
from ui.latent_plane import latent_plane
from ui.layers import means_layer
from vae.latent import decode_points, encode_images, interpolate
from vae.plane import Plane
from vae.plane import path as path_layer
from vae.render import gif_bytes, png_bytes, strip, upscale

handle = page_header(
    "Interpolation",
    "Both images are encoded to the means of q(z|x); the strip decodes evenly spaced points on "
    "the path between them.",
)

col_a, col_b = st.columns(2)
with col_a:
    st.subheader("Start (A)")
    a = image_input("ia", default_index=3, query_param="a", model=handle.model)
with col_b:
    st.subheader("End (B)")
    b = image_input("ib", default_index=2, query_param="b", model=handle.model)

if a is None or b is None:
    st.info("Choose both images to interpolate.")
    st.stop()

c1, c2 = st.columns([1, 2])
with c1:
    method = st.radio("Path", ["linear", "slerp"], horizontal=True, key="ip_method",
                      help="slerp: spherical interpolation. In 2-D it rotates about the origin "
                           "while the radius changes linearly, so the path is an arc, not a line.")
with c2:
    steps = st.slider("Steps N", 2, 30, 10, key="ip_steps")

# Each endpoint is encoded with its own label when the model is conditional.
label_a, label_b = input_label(handle, a, "ia_label"), input_label(handle, b, "ib_label")
mu = np.concatenate([encode_images(handle.view(label_a), a.x[None])[0],
                     encode_images(handle.view(label_b), b.x[None])[0]])
path = interpolate(mu[0], mu[1], steps, method)
decode_label = label_picker(handle, "ip_label", default=label_a or 0, label="Decode the path as digit")
frames = decode_points(handle.view(decode_label), path)  # [N, 28, 28]

show_a, show_b = st.columns(2)
with show_a:
    show_digit(a.x, f"A: {a.source} · μ = ({mu[0][0]:+.2f}, {mu[0][1]:+.2f})", size=84)
with show_b:
    show_digit(b.x, f"B: {b.source} · μ = ({mu[1][0]:+.2f}, {mu[1][1]:+.2f})", size=84)

st.subheader(f"{steps} decoded steps ({method})")
strip_image = strip(frames)
show_png(png_bytes(strip_image, scale=3), "E[x|z] along the path, A → B")
if method == "slerp":
    st.caption("In two dimensions slerp is a rotation about the origin: the path bends "
               "around z = 0 instead of cutting through it.")

d1, d2 = st.columns(2)
d1.download_button("Download strip (PNG)", png_bytes(upscale(strip_image, 2)),
                   file_name=f"interpolation-{method}-{steps}.png", mime="image/png", key="ip_png")
d2.download_button("Download animation (GIF)", gif_bytes(frames),
                   file_name=f"interpolation-{method}-{steps}.gif", mime="image/gif", key="ip_gif")

st.subheader("The path in the latent plane")
latent_plane(handle, "ip_map", Plane.square(4.0), [means_layer(handle, 3000), path_layer(f"path ({method})", path)],
             path[len(path) // 2], label=decode_label, commit=False, mark=False,
             title="A → B among the test set · hover to decode any z")
