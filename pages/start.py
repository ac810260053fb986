"""Start here: what a VAE computes (p(z), p(x|z), p(x), p(z|x), q(z|x), the ELBO) and why, as
five short live steps on the loaded model, each linking to the page that goes deeper with the
same state (model, image, z) in the link."""

import numpy as np
import streamlit as st

from ui.images import show_digit, show_samples
from ui.latent_plane import latent_plane
from ui.layers import manifold_layer, means_layer
from ui.models import quadrature_grid, usable_names
from ui.shell import page_header, registered
from ui.urlstate import url_number
from vae.data import binarize, load_mnist
from vae.evidence import exact_elbo
from vae.latent import decode_one, sample_prior
from vae.plane import Plane, markers
from vae.quadrature import COARSE_N, COARSE_RADIUS, exact_posterior
from vae.scenes import log_joint_layers, posterior_layers, prior_circles

handle = page_header(
    "Start here: what a VAE computes, and why",
    "Five steps, ten minutes. Each shows one quantity computed live from the loaded model and "
    "links to the page that goes deeper, with the same model and image.",
)
model_name = handle.ckpt.name
images, labels = load_mnist("test")

# ------------------------------------------------------------------ 1. the model
st.header("1 · The model: p(z) and p(x|z)")
st.markdown("A VAE is a recipe for making images. Draw a code **z** from the prior, then draw each "
            "pixel from the decoder: ink with probability E[xᵢ|z], independently.")
st.latex(r"z \sim p(z) = \mathcal{N}(0, I)")
# Long formulas broken into short lines: a display formula does not wrap, and a phone is ~360 px.
st.latex(r"\begin{aligned} x &\sim p(x \mid z) \\ &= \prod_i \mathrm{Bernoulli}\big(x_i;\ \mathrm{decoder}(z)_i\big) \end{aligned}")
if "start_draw" not in st.session_state:
    st.session_state.start_draw = 0
st.button("Sample z ~ p(z)", icon=":material/casino:", key="start_sample",
          on_click=lambda: st.session_state.update(start_draw=st.session_state.start_draw + 1))
z = sample_prior(1, st.session_state.start_draw, handle.ckpt.config.latent_dim)[0].astype(np.float64)
plane_col, draws = st.columns([1, 1])
with plane_col:
    latent_plane(handle, "start_prior", Plane.square(4.0),  # z among the prior's 1σ and 2σ circles
                 [*prior_circles(), markers("z ~ p(z)", z, "#ff2d95", symbol="x")],
                 z, commit=False, mark=False, size=260, title="Your z on the latent plane")
with draws:
    mean = decode_one(handle.model.conditioned(0), z)
    show_digit(mean, f"E[x|z] at z = ({z[0]:+.2f}, {z[1]:+.2f})", size=112)
    show_samples(np.repeat(mean[None], 6, axis=0), st.session_state.start_draw,
                 [f"x ~ p(x|z) #{i + 1}" for i in range(6)], per_row=6, size=56)
st.caption("Papers (and the rest of this app) show the mean E[x|z]: it is the smooth summary of all "
           "the binary images the model would draw at that z, and easier to read than any one of them.")
st.page_link("pages/decoder.py", label="Move z yourself on the Decoder page", icon=":material/tune:",
             query_params={"model": model_name, "z1": f"{z[0]:.2f}", "z2": f"{z[1]:.2f}"})

# ------------------------------------------------------------------ 2. the manifold
st.header("2 · E[x|z] over a grid: what the two axes do")
st.markdown("Decode a grid of codes and the decoder's whole output space fits on one picture. "
            "Switch on the digits under it to lay the test images' codes (the encoder's means) over "
            "the grid: they show where each digit lives.")
latent_plane(handle, "start_manifold", Plane.of_manifold(12, "linear", 3.0),
             [manifold_layer(handle, 12, "linear", 3.0, None, 320), means_layer(handle, 2000, visible=False)],
             None, commit=False, size=320, dark=True, title="E[x|z] on a 12×12 grid · hover to decode")
st.page_link("pages/manifold.py", label="The full map, with Gaussian-quantile spacing", icon=":material/grid_on:",
             query_params={"model": model_name})

# ------------------------------------------------------------------ 3. p(x)
st.header("3 · p(x): how likely is an image?")
st.markdown("The model gives an image x a probability by adding up every way of making it:")
st.latex(r"p(x) = \int p(x \mid z)\, p(z)\, dz")
index = int(st.number_input("Test image", 0, len(images) - 1,
                            value=int(url_number("i", 0, len(images) - 1, 0, integer=True)), key="start_i"))
x = binarize(images[index].astype(np.float32) / 255.0, 0)  # [28, 28], the model's binary pixels
model = handle.view(labels[index] if handle.conditional else None)
post = exact_posterior(model, x, quadrature_grid(handle, labels[index] if handle.conditional else None))
left, right = st.columns([1, 2])
with left:
    show_digit(x, f"test image {index} (binarised)", size=112)
    st.markdown(f"log p(x) = **{post.log_px:.2f} nats**")
with right:
    plane, layers = log_joint_layers(post)
    latent_plane(handle, "start_joint", plane, layers, post.z_map, commit=False, mark=False, size=300, dark=True,
                 title="The integrand log p(x|z) p(z) over the plane")
cells_2d = COARSE_N ** 2
per_axis_side = 2 * COARSE_RADIUS / COARSE_N
st.markdown(
    f"In 2-D a grid does the integral: {cells_2d:,} cells of side {per_axis_side:g} over the prior's bulk, "
    f"refined where the integrand peaks ({len(post.cell_side):,} cells for this image). The same grid in "
    f"10 dimensions has {COARSE_N:,}¹⁰ = 10²⁰ cells, in 50 dimensions 10¹⁰⁰: at a million decodes a "
    "second the 10-D sum alone takes three million years. That is why p(x) is intractable for the "
    "latent sizes VAEs normally use, and why we need the next step.")
st.page_link("pages/posterior.py", label="This image on the Posterior page", icon=":material/functions:",
             query_params={"model": model_name, "i": str(index)})

# ------------------------------------------------------------------ 4. p(z|x), q(z|x) and the ELBO
st.header("4 · p(z|x) is out of reach, so: q(z|x) and the ELBO")
st.markdown("Bayes' rule gives the posterior, the codes that explain this image, but it divides by "
            "p(x), the integral we cannot do. The encoder instead guesses a Gaussian q(z|x), and "
            "training maximises the ELBO, which is log p(x) minus how wrong that guess is:")
st.latex(r"p(z \mid x) = \frac{p(x, z)}{p(x)}")
st.latex(r"\begin{aligned} \mathrm{ELBO} &= \mathbb{E}_{q}[\log p(x \mid z)] \\ "
         r"&\quad - \mathrm{KL}\big(q(z \mid x)\,\|\,p(z)\big) \\ "
         r"&= \log p(x) \\ &\quad - \mathrm{KL}\big(q(z \mid x)\,\|\,p(z \mid x)\big) \end{aligned}")
terms = exact_elbo(post)
numbers, picture = st.columns([1, 1])
with numbers:
    st.markdown(
        f"For test image {index}, every number exact (2-D quadrature, no sampling):\n\n"
        f"- log p(x) = **{terms.log_px:.2f}** nats\n"
        f"- ELBO = **{terms.elbo:.2f}** = E_q[log p(x|z)] {terms.expected_log_lik:.2f} "
        f"− KL(q ‖ p(z)) {terms.kl_prior:.2f}\n"
        f"- the gap log p(x) − ELBO = KL(q ‖ p(z|x)) = **{terms.gap:.2f}** nats: what the encoder's "
        "guess costs")
with picture:
    plane, layers, view = posterior_layers(post)
    latent_plane(handle, "start_posterior", plane, layers, post.z_map, view=view, commit=False, mark=False,
                 size=300, dark=True, title="p(z|x) (colour) and q(z|x) (ellipses)")
st.page_link("pages/posterior.py", label="Both posteriors and every estimator", icon=":material/functions:",
             query_params={"model": model_name, "i": str(index)})
other = "mnist-2d-elbo" if model_name != "mnist-2d-elbo" else "mnist-2d"
if other in usable_names():
    st.markdown(f"The shipped **mnist-2d** was trained on the IWAE bound, which fits the decoder to log p(x) "
                f"itself and leaves q(z|x) wider than p(z|x); **mnist-2d-elbo** is the same network trained on "
                f"the ELBO: a smaller gap, a slightly lower log p(x). Compare this image under {other}:")
    st.page_link("pages/start.py", label=f"This step with {other}", icon=":material/swap_horiz:",
                 query_params={"model": other, "i": str(index)})

# ------------------------------------------------------------------ 5. what each is for
st.header("5 · What each quantity is for")
uses = [
    ("Sampling the joint p(z) p(x|z): **generation**", "pages/generate.py", ":material/auto_awesome:"),
    ("E[x|z] and q's means: **a map of the data** (similar digits sit close: "
     f"{100 * handle.ckpt.metrics.get('test_knn5_accuracy', float('nan')):.0f} % 5-NN accuracy)",
     "pages/manifold.py", ":material/grid_on:"),
    ("p(x): **is this input like the data?** (anomaly detection)", "pages/typicality.py", ":material/query_stats:"),
    ("p(x): **how many bits an image costs** (lossless compression)", "pages/compress.py", ":material/compress:"),
    ("p(z|x): **many encodings of one image**", "pages/encode.py", ":material/draw:"),
    ("p(z | the pixels you can see): **filling in missing or noisy pixels**", "pages/inpaint.py",
     ":material/healing:"),
]
known = {entry.path for entry in registered()}
for text, path, icon in (use for use in uses if use[1] in known):
    st.page_link(path, label=text.replace("**", ""), icon=icon, query_params={"model": model_name, "i": str(index)})
st.page_link("pages/home.py", label="The model card: architecture, training, metrics", icon=":material/badge:",
             query_params={"model": model_name})
