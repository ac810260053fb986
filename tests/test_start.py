"""The Start here page (the landing page) under AppTest: five steps, each with live numbers from
the loaded model, checked against the deeper pages' own computations, and links that carry the
state onward."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from vae import load_checkpoint
from vae.data import binarize, load_mnist
from vae.quadrature import exact_posterior

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture
def start() -> AppTest:
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()  # the default page
    assert not at.exception, [e.value for e in at.exception]
    return at


def _text(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def test_five_steps_in_order_with_their_formulas(start: AppTest) -> None:
    assert start.title[0].value.startswith("Start here")
    headers = [h.value for h in start.header]
    assert [h.split(" · ")[0] for h in headers] == ["1", "2", "3", "4", "5"]
    latex = " ".join(block.value for block in start.latex)
    for piece in (r"p(z) = \mathcal{N}(0, I)", r"\mathrm{Bernoulli}", r"p(x) = \int p(x \mid z)\, p(z)\, dz",
                  r"\frac{p(x, z)}{p(x)}", r"\mathrm{ELBO}"):
        assert piece in latex


def test_step_four_numbers_are_the_quadratures(start: AppTest) -> None:
    start.number_input(key="start_i").set_value(3).run()
    images, _ = load_mnist("test")
    model = load_checkpoint(Path(APP).parent / "checkpoints" / "mnist-2d").model
    post = exact_posterior(model, binarize(images[3].astype("float32") / 255.0, 0))
    text = _text(start)
    assert f"log p(x) = **{post.log_px:.2f}** nats" in text
    assert f"ELBO = **{post.elbo:.2f}**" in text
    assert f"= **{post.log_px - post.elbo:.2f}** nats" in text  # the gap


def test_links_carry_the_model_and_the_image_onward(start: AppTest) -> None:
    start.number_input(key="start_i").set_value(7).run()
    links = {link.proto.page: link.proto.query_string for link in start.get("page_link")}
    assert {"decoder", "manifold", "posterior", "generate", "typicality", "encode", "model"} <= set(links)
    assert "i=7" in links["posterior"] and "model=mnist-2d" in links["posterior"]
    assert "z1=" in links["decoder"] and "z2=" in links["decoder"]


def test_sampling_draws_a_new_z_and_binary_samples(start: AppTest) -> None:
    def state() -> tuple:
        (plane,) = [el for el in start.get("bidi_component") if el.proto.id.endswith("start_prior")]
        return plane.proto.json, tuple(img.url for el in start.get("image") for img in el.proto.imgs)

    before = state()
    start.button(key="start_sample").click().run()
    assert not start.exception
    after = state()
    assert after[0] != before[0] and after[1] != before[1]
