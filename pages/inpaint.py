"""Denoise & inpaint: hide part of a digit or flip its pixels at a known rate; the exact posterior
p(z | what is left) on the latent plane, the completion E[x | x_obs], completions sampled from the
posterior, a per-pixel uncertainty map, and what the plain encoder makes of the same input."""

import io

import numpy as np
import streamlit as st
from PIL import Image

from ui.charts import show_chart
from ui.shell import page_header
from ui.widgets import require_unconditional
from ui.canvas import drawing_canvas
from ui.images import required_image, show_digit, show_digits
from ui.latent_plane import latent_plane
from ui.models import quadrature_grid
from vae import data
from vae.figures import pixel_map_figure
from vae.inpaint import encoder_guess, mask, plane_layers, posterior, sample_completions, uncertainty_bits

HIDE = {"Bottom half": "bottom half missing", "Top half": "top half missing", "Left half": "left half missing",
        "Right half": "right half missing", "Random pixels": "random pixels missing"}

handle = page_header(
    "Denoise & inpaint",
    "Hide part of a digit, or flip its pixels at a known rate. With a 2-D latent the posterior "
    "given only what is left, p(z | x_obs) ∝ p(z) Π_observed p(xᵢ | z), is computed exactly on a "
    "grid, and every hidden pixel's completion is Σ_z p(z | x_obs) E[xᵢ | z]: no encoder involved "
    "(it was trained on whole digits and has never seen half of one).",
)
require_unconditional(handle, "A conditional VAE needs the digit's label, which a partial image does not give.")

inp = required_image("inp", default_index=0, query_param="i", model=handle.model)
x = data.binarize(inp.x, 0)  # the one binarisation (seed 0): the model's pixels are black or white

how = st.segmented_control("Corrupt", [*HIDE, "Brush", "Flip noise"], default="Bottom half", required=True,
                           key="inp_how")
rho, observed = 0.0, np.ones((28, 28), bool)
if how == "Flip noise":
    rho = st.slider("Flip rate ρ (each pixel flipped with this probability)", 0.02, 0.4, 0.1, 0.02, key="inp_rho")
    noisy = np.where(np.random.default_rng(1).random((28, 28)) < rho, 1.0 - x, x).astype(np.float32)
elif how == "Random pixels":
    fraction = st.slider("Fraction hidden", 0.1, 0.95, 0.7, 0.05, key="inp_fraction")
    observed = mask(HIDE[how], seed=1, fraction=fraction)
elif how == "Brush":
    st.caption("Paint over what to hide: the square maps onto the 28×28 digit.")
    png = drawing_canvas(key="inp_brush")
    if png is not None:
        painted = np.asarray(Image.open(io.BytesIO(png)).convert("L").resize((28, 28), Image.Resampling.BOX))
        observed = painted < 40
else:
    observed = mask(HIDE[how])
shown = noisy if how == "Flip noise" else x
if not observed.any():
    st.warning("Every pixel is hidden: the answer is the prior's average digit.")

post = posterior(handle.model, shown, observed, rho, quadrature_grid(handle))
guess, _, _ = encoder_guess(handle.model, shown, observed)
given = np.where(observed, shown, 0.5).astype(np.float32)  # hidden pixels grey

cols = st.columns(5)
with cols[0]:
    show_digit(x, f"{inp.source}, binarised", size=112)
with cols[1]:
    show_digit(given, "what is observed" + (f" (ρ = {rho:.2f})" if rho else " (grey: hidden)"), size=112)
with cols[2]:
    show_digit(post.mean.astype(np.float32), "completion E[x | x_obs]" if not rho else "denoised E[x | y]", size=112)
with cols[3]:
    show_digit((post.mean >= 0.5).astype(np.float32), "its most likely pixels", size=112)
with cols[4]:
    show_digit(guess, "the plain encoder: E[x | μ], hidden set to 0", size=112)

target = ~observed if not rho else np.ones((28, 28), bool)
wrong = int(((post.mean >= 0.5) != (x >= 0.5))[target].sum())
p = np.clip(post.mean, 1e-6, 1 - 1e-6)
loglik = float(np.where(x >= 0.5, np.log(p), np.log1p(-p))[target].sum())
enc_wrong = int(((guess >= 0.5) != (x >= 0.5))[target].sum())
st.markdown(f"log p(x_obs) = **{post.log_evidence:.1f} nats** · the true {'hidden' if not rho else 'clean'} "
            f"pixels under the completion: **{loglik:.1f} nats**, **{wrong}** of {int(target.sum())} wrong "
            f"(the plain encoder: {enc_wrong} wrong)")

left, right = st.columns(2)
with left:
    plane, layers, view = plane_layers(post)
    latent_plane(handle, "inp_plane", plane, layers, post.grid.z_map, view=view, commit=False, mark=False, size=400,
                 dark=True, title="p(z | x_obs) and the encoder's q")
    st.caption("The exact posterior given only what is left (opened zoomed; **whole plane** shows "
               "where it sits), beside the plain encoder's q(z | x) on the zero-filled image.")
with right:
    show_chart(pixel_map_figure(uncertainty_bits(post.mean), "Uncertainty: entropy of each pixel's guess",
                                     "bits", "Purples", zmax=1.0), key="inp_uncertainty")
    st.caption("0 bits: certain (or observed); 1 bit: a coin flip. It is highest where the posterior "
               "holds digits that disagree.")

seed = st.number_input("Samples' seed", 0, 10_000, 0, key="inp_seed")
samples = sample_completions(handle.model, post, shown, 10, int(seed))
st.markdown("**Completions sampled from the posterior**: z ~ p(z | x_obs), then each hidden pixel ~ p(xᵢ | z)")
show_digits(samples, [f"#{i + 1}" for i in range(len(samples))], per_row=10, size=56)
