"""Typicality: is this image like the data? Its score (log p(x) by quadrature, or the ELBO)
placed among the validation set's, a verdict, where the reconstruction fails, and the most and
least typical test images."""

import streamlit as st

from ui.charts import show_chart
from ui.shell import page_header
from ui.images import image_input, input_label, show_digit, show_digits
from ui.models import (
    RANKED_IMAGES,
    REFERENCE_IMAGES,
    quadrature_grid,
    ranked_scores,
    reference_scores,
    test_images,
)
from vae.demos import DEMOS, demo_image
from vae.figures import error_map_figure, score_histogram
from vae.latent import decode_one, encode_images
from vae import data
from vae.evidence import reconstruction_error_map
from vae.typicality import percentiles, rank_by_typicality, typicality, typicality_scores

VERDICT_COLOURS = {"typical": "green", "unusual": "orange", "anomalous": "red"}

handle = page_header(
    "Typicality",
    "A likelihood model can say how unusual an input is. Here the image's score is placed among "
    f"the scores of {REFERENCE_IMAGES:,} validation images: inside the middle half it is typical, "
    "outside the 1–99 % band anomalous. Both tails count: an image far *more* likely than the data "
    "(a blank page) is as untypical as one far less likely.",
)

choice = st.segmented_control("Input", ["Your image", *DEMOS], default="Your image", required=True,
                              key="typ_input", help="Your image: a test image, an upload or a drawing. "
                                                    "The others are demo inputs, one click each.")
controls = st.columns([2, 1, 2])
with controls[0]:
    score_name = st.radio("Score", ["log p(x)", "ELBO"], key="typ_score", horizontal=True,
                          help="log p(x) by quadrature over the latent grid, or the ELBO (by "
                               "quadrature over q(z|x)), a lower bound on it.")
with controls[1]:
    binarize = st.toggle("Binarise x", True, key="typ_binarize",
                         help="Score black-and-white pixels (seed 0), as the model was trained and "
                              "the reference images are scored.")

images, labels = test_images()
if choice in DEMOS:
    x_given = demo_image(choice, images[0].astype("float32") / 255.0)
    source, label = f"demo: {choice.lower()}", None
    if handle.conditional:
        label = st.selectbox("Digit label for the CVAE", list(range(10)), key="typ_demo_label")
else:
    inp = image_input("typ", default_index=0)
    if inp is None:
        st.stop()
    x_given, source = inp.x, inp.source
    label = input_label(handle, inp, key="typ_label")
model = handle.view(label)
x = data.binarize(x_given, 0) if binarize else x_given  # the one binarisation (vae/data.py)

ref = reference_scores(handle, score_name, binarize)
score = float(typicality_scores(model, x[None], score_name, quadrature_grid(handle, label))[0])
result = typicality(score, ref)

left, right = st.columns([2, 3])
with left:
    cols = st.columns(3)
    with cols[0]:
        show_digit(x_given, "x as given", size=112)
    with cols[1]:
        show_digit(x, "x scored", size=112)
    with cols[2]:
        mu, _ = encode_images(model, x[None])
        show_digit(decode_one(model, mu[0]), "E[x | μ]", size=112)
    show_chart(error_map_figure(reconstruction_error_map(model, x)), key="typ_error")
    st.caption("Per pixel −log p(xᵢ | z = μ): where the decoder's best guess disagrees with the image.")
with right:
    colour = VERDICT_COLOURS[result.verdict]
    st.markdown(f"### :{colour}[{result.verdict}]")
    st.markdown(f"**{source}** · {score_name} = **{score:.1f} nats** · "
                f"percentile **{result.percentile:.1f} %** among {len(ref):,} validation images")
    show_chart(score_histogram(ref, score, result.bands, result.percentile, score_name), key="typ_hist")
    b = result.bands
    st.caption(f"25–75 %: {b.p25:.1f} … {b.p75:.1f} nats · 1–99 %: {b.p1:.1f} … {b.p99:.1f} nats. "
               "The same estimator scores the reference images and yours.")

st.subheader(f"Most and least typical test images (of the first {RANKED_IMAGES:,})")
ranked_values = ranked_scores(handle, score_name, binarize)
order = rank_by_typicality(ranked_values, ref)
pct = percentiles(ranked_values, ref)
for title, idx in (("Most typical", order[:20]), ("Least typical", order[::-1][:20])):
    st.markdown(f"**{title}** (test image number, {score_name} in nats, percentile among the "
                "validation images)")
    show_digits(images[idx].astype("float32") / 255.0,
                [f"#{i}  \n{ranked_values[i]:.0f} · {pct[i]:.0f} %" for i in idx], per_row=10, size=56)
