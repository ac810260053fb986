"""Typicality: is this image like the data? Its score (log p(x) by quadrature, or the ELBO)
placed among the validation set's, a verdict, where the reconstruction fails, and the most and
least typical test images."""

import streamlit as st

from ui.charts import show_chart
from ui.shell import page_header
from ui.images import input_label, required_image, show_digit, show_digits
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
from vae.anomaly import DETECTORS, OOD_SETS, RULES, detection_table, flag_rate, roc, statistic, verdict
from vae.figures import roc_figure
from vae.typicality import Bands, percentiles, rank_by_typicality, typicality, typicality_scores
from ui.tables import show_table
from ui.tasks import OOD_PER_SET, ood_scores_for

VERDICT_COLOURS = {"typical": "green", "unusual": "orange", "anomalous": "red"}

handle = page_header(
    "Typicality",
    "A likelihood model can say how unusual an input is. Here the image's score is placed among "
    f"the scores of {REFERENCE_IMAGES:,} validation images and judged by a band around the middle: "
    "a band that holds 95 % of the validation digits flags 5 % of valid digits (a false-alarm rate "
    "you choose). Both tails count: an image far *more* likely than the data (a blank page) is as "
    "untypical as one far less likely.",
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
with controls[2]:
    rule = st.radio("Rule", list(RULES), key="typ_rule",
                    help="Typical inside the band that holds this share of the validation digits' "
                         "scores. The question's rule (25–75 %) flags half of all valid digits.")

images, labels = test_images()
if choice in DEMOS:
    x_given = demo_image(choice, images[0].astype("float32") / 255.0)
    source, label = f"demo: {choice.lower()}", None
    if handle.conditional:
        label = st.selectbox("Digit label for the CVAE", list(range(10)), key="typ_demo_label")
else:
    # No model to shape an upload: its pick of slant and width would flatter the very fit this
    # page judges (an odd image reshaped until the model likes it looks typical).
    inp = required_image("typ", default_index=0)
    x_given, source = inp.x, inp.source
    label = input_label(handle, inp, key="typ_label")
model = handle.view(label)
x = data.binarize(x_given, 0) if binarize else x_given  # the one binarisation (vae/data.py)

ref = reference_scores(handle, score_name, binarize)
score = float(typicality_scores(model, x[None], score_name, quadrature_grid(handle, label))[0])
result = typicality(score, ref)
v = verdict(score, ref, RULES[rule])

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
    colour = VERDICT_COLOURS[v.word]
    st.markdown(f"### :{colour}[{v.word}]")
    st.markdown(f"**{source}** · {score_name} = **{score:.1f} nats** · "
                f"percentile **{v.percentile:.1f} %** among {len(ref):,} validation images")
    fa, tested = RULES[rule], ranked_scores(handle, score_name, binarize)
    where = {"low": ", below the band", "high": ", above it: *more* likely than the digits", "": ""}[v.side]
    st.markdown(f"Rule: **{rule}**, typical inside {v.lo:.1f} … {v.hi:.1f} nats (the {50 * fa:g}–"
                f"{100 - 50 * fa:g} % band){where}. It flags {100 * fa:g} % of valid digits by construction; "
                f"measured on the first {len(tested):,} test digits: **{100 * flag_rate(tested, ref, fa):.1f}\u00a0%**.")
    b = result.bands
    shown_bands = Bands(p1=v.lo, p25=b.p25, p75=b.p75, p99=v.hi)
    show_chart(score_histogram(ref, score, shown_bands, v.percentile, score_name,
                               outer_label=f"{50 * fa:g}–{100 - 50 * fa:g} %"), key="typ_hist")
    st.caption(f"25–75 %: {b.p25:.1f} … {b.p75:.1f} nats (the question's rule). "
               "The same estimator scores the reference images and yours.")

st.subheader(f"Most and least typical test images (of the first {RANKED_IMAGES:,})")
ranked_values = ranked_scores(handle, score_name, binarize)
order = rank_by_typicality(ranked_values, ref)
pct = percentiles(ranked_values, ref)
for title, idx in (("Most typical", order[:20]), ("Least typical", order[::-1][:20])):
    st.markdown(f"**{title}** (test image number, {score_name} in nats, percentile among the "
                "validation images)")
    show_digits(images[idx].astype("float32") / 255.0,
                [f"#{i}  \n{ranked_values[i]:.0f}  \n{pct[i]:.0f}\u00a0%" for i in idx], per_row=10, size=56)

st.subheader("Does a score catch inputs unlike the digits?")
st.markdown(
    "Likelihood also measures *simplicity*: a blank page or a clean **1** has few uncertain pixels, so "
    "the model gives it a higher log p(x) than almost any real digit (Nalisnick et al. 2019, *Do deep "
    "generative models know what they don't know?*). A rule that only flags low likelihood calls them "
    "the most normal inputs of all; a two-sided band flags them. What no band can flag is an input "
    "whose score lands among the digits' — measured here on sets made from test digits and from fonts.")
if handle.conditional:
    st.info("Measured for unconditional models: pick one with the model button under the title.")
elif st.toggle(f"Measure the detectors on {len(OOD_SETS)} out-of-distribution sets ({OOD_PER_SET} images each; "
               "about a minute once per model)", key="typ_ood"):
    s = ood_scores_for(handle, OOD_PER_SET)
    table = detection_table(s, 0.05)
    show_table(["set", *DETECTORS],
               [(name, *(f"{a:.2f} · {d:.0%}" for a, d in row.values())) for name, row in table.items()],
               align=["left", *["right"] * len(DETECTORS)])
    st.caption("Each cell: AUROC against the first 1,000 test digits · share detected at 5 % false alarms "
               "(thresholds from the validation digits). 0.5 is chance; below 0.5 the detector prefers the "
               "outliers to the digits.")
    pick = st.selectbox("ROC curves for", list(OOD_SETS), key="typ_ood_set")
    curves = {det: roc(statistic(s.test[score], s.reference[score], kind),
                       statistic(s.sets[pick][score], s.reference[score], kind))
              for det, (score, kind) in DETECTORS.items()}
    show_chart(roc_figure(curves, f"Test digits against: {pick}"), key="typ_roc")
