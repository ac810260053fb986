"""Encode: where does an image land? q(z|x), its reconstruction, samples, neighbours."""

from ui.shell import ensure_app_shell

ensure_app_shell()  # before anything else: see ui/shell.py

import numpy as np
import streamlit as st

from ui.images import image_input, input_label, show_digit, show_digits
from ui.models import require_model, test_images, test_latents
from vae.figures import latent_map
from vae.latent import decode_one, decode_points, ellipse, encode_images, nearest, sample_posterior

handle = require_model()
st.title("Encode an image")
st.caption("Upload a picture of a digit or draw one. It is turned into an MNIST-style 28×28 "
           "input, encoded to q(z|x) = N(μ, diag σ²), and decoded back.")

inp = image_input("enc", default_index=0)
if inp is None:
    st.stop()
model = handle.view(input_label(handle, inp, "enc_label"))  # a CVAE also needs the label

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
    show_digit(inp.x, "Model input (28×28)", size=140)
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
    fig = latent_map("linear", 4.0, points=mu_all[:3000], labels=labels[:3000],
                     ellipses=[(ellipse(mu, logvar, 1.0), "q(z|x) 1σ"), (ellipse(mu, logvar, 2.0), "q(z|x) 2σ")],
                     samples=samples, marker=mu, height=560,
                     title="q(z|x): 1σ and 2σ ellipses among the test set")
    st.plotly_chart(fig, key="enc_map", config={"displaylogo": False})
with right:
    st.subheader("Many encodings of one image")
    st.number_input("Sample seed", 0, 10_000, key="enc_seed")
    decoded = decode_points(model, samples)
    show_digits(decoded, [f"({s[0]:+.1f},{s[1]:+.1f})" for s in samples], per_row=4, size=84)

st.subheader("Nearest test images in latent space")
images, _ = test_images()
idx = nearest(mu, mu_all, k=8)
show_digits(images[idx].astype(np.float32) / 255.0,
            [f"#{i} · label {labels[i]} · d={np.linalg.norm(mu_all[i] - mu):.2f}" for i in idx],
            per_row=8, size=84)
