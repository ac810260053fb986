"""Encode: where does an image land? q(z|x), its reconstruction, samples, neighbours."""

import numpy as np
import streamlit as st

from ui.shell import page_header
from ui.images import input_label, required_image, show_digit, show_digits
from ui.models import test_images, test_latents
from ui.latent_plane import latent_plane
from ui.layers import means_layer
from vae.latent import decode_one, decode_points, ellipse, encode_images, nearest, sample_posterior
from vae.plane import Plane, markers, polyline

handle = page_header(
    "Encode an image",
    "Upload a picture of a digit or draw one. It is turned into an MNIST-style 28×28 input, "
    "encoded to q(z|x) = N(μ, diag σ²), and decoded back.",
)

inp = required_image("enc", default_index=0, model=handle.model)
label = input_label(handle, inp, "enc_label")
model = handle.view(label)  # a CVAE also needs the label
Q_COLOR = "#e6a800"  # q(z|x): its ellipses and mean

mu_arr, logvar_arr = encode_images(model, inp.x[None])
mu, logvar = mu_arr[0], logvar_arr[0]
sigma = np.exp(0.5 * logvar)

cols = st.columns(4)
with cols[0]:
    if inp.original is not None:
        st.image(inp.original, caption="As given", width=140)  # the user's own file, any format
    else:
        show_digit(inp.x, "As given", size=140)
with cols[1]:
    picked = inp.test_index is None and not handle.conditional  # an upload or drawing: vae/photo_variants.py
    show_digit(inp.x, "Model input (28×28)" + (": of 17 slants and widths, the one this model reads best"
                                               if picked else ""), size=140)
with cols[2]:
    show_digit(decode_one(model, mu), "Reconstruction E[x|μ]", size=140)
with cols[3]:
    st.text(inp.source)  # may hold an upload's file name: plain text, never Markdown
    st.markdown(f"μ = **({mu[0]:+.3f}, {mu[1]:+.3f})**")
    st.markdown(f"σ = ({sigma[0]:.3f}, {sigma[1]:.3f})")

left, right = st.columns([3, 2])
samples = sample_posterior(mu, logvar, 16, seed=st.session_state.get("enc_seed", 0))
with left:
    mu_all, _, labels = test_latents(handle)
    plane = Plane.square(4.0)
    layers = [means_layer(handle, 3000),
              polyline("q(z|x) 1σ", ellipse(mu, logvar, 1.0), Q_COLOR, width=2.5, closed=True),
              polyline("q(z|x) 2σ", ellipse(mu, logvar, 2.0), Q_COLOR, width=2, dash=True, closed=True),
              markers("z ~ q(z|x)", samples, "#222222", symbol="x", size=8, clamp=False),
              markers("μ", mu, Q_COLOR, symbol="cross", size=14, texts=["μ"])]
    # A small q (sigma ~ 0.05 on a +-4 plane) would be a speck: open zoomed on its 2-sigma box.
    small = 2 * float(sigma.max()) < 0.1 * (plane.hi - plane.lo)
    view = plane.view_around(mu - 3 * sigma, mu + 3 * sigma, min_side=0.08) if small else None
    latent_plane(handle, "enc_map", plane, layers, mu, label=label, view=view, commit=False, mark=False,
                 title="q(z|x): 1σ and 2σ ellipses among the test set")
    if small:
        st.caption(f"Opened zoomed on q(z|x) (σ = {sigma.max():.3f}); **whole plane** (above the "
                   "map) shows all of it.")
with right:
    st.subheader("Many encodings of one image")
    st.number_input("Sample seed", 0, 10_000, key="enc_seed")
    decoded = decode_points(model, samples)
    show_digits(decoded, [f"({s[0]:+.1f},{s[1]:+.1f})" for s in samples], per_row=4, size=84)

st.subheader("Nearest test images in latent space")
images, _ = test_images()
idx = nearest(mu, mu_all, k=8)
show_digits(images[idx].astype(np.float32) / 255.0,
            [f"#{i}  \nlabel {labels[i]}  \nd = {np.linalg.norm(mu_all[i] - mu):.2f}" for i in idx],  # a line each
            per_row=8, size=84)
