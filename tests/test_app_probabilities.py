"""The probability pages under AppTest (Posterior & likelihood, Typicality, Generate): they render
without exception, show their numbers, and their widgets change them. Plotly interaction and the
drawing canvas need a real browser: see tests/e2e/test_probabilities.py."""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from test_tables import parse_markdown_row
from test_app import _digit_png, _image_urls, _open, _plotly_specs, app  # noqa: F401 - `app` is a fixture
from test_latent_plane import plane_layers


def _text(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def _numbers(at: AppTest) -> dict[str, float]:
    """The posterior page's table (Markdown, ui/tables.py): {quantity: nats}."""
    (table,) = [m.value for m in at.markdown if m.value.startswith("| quantity |")]
    rows = [parse_markdown_row(line) for line in table.splitlines()[2:]]
    return {quantity.strip(): float(nats) for quantity, nats, _ in rows}


def test_posterior_page_shows_the_numbers_in_nats(app: AppTest) -> None:  # noqa: F811
    at = _open(app, "pages/posterior.py")
    assert at.title[0].value == "Posterior & likelihood"
    assert "test image 0 (label 7)" in _text(at)
    numbers = _numbers(at)
    assert list(numbers)[:4] == ["log p(x), quadrature", "log p(x), IWAE k=1000, one estimate",
                                 "IWAE over 10 runs: mean (± sd)", "ELBO (100 samples)"]
    log_px, elbo = numbers["log p(x), quadrature"], numbers["ELBO (100 samples)"]
    assert -400 < log_px < 0 and elbo <= log_px
    # IWAE's expectation is below log p(x): the mean of ten runs is, up to its own noise.
    assert numbers["IWAE over 10 runs: mean (± sd)"] <= log_px + 0.05
    assert numbers["ELBO gap, Monte Carlo: log p(x) − the ELBO above"] == pytest.approx(log_px - elbo, abs=0.02)
    assert numbers["E_q[log p(x|z)]"] - numbers["KL(q(z|x) ‖ p(z))"] == pytest.approx(elbo, abs=0.02)
    # The two gaps name one quantity: they agree up to the Monte Carlo ELBO's noise.
    assert numbers["ELBO gap, exact: KL(q(z|x) ‖ p(z|x))"] == pytest.approx(log_px - elbo, abs=1.0)
    assert "log p(x, z)" in plane_layers(at, "post_joint")  # and the posterior with q's ellipses:
    assert {"p(z|x)", "q(z|x) 1σ", "q(z|x) 2σ", "z_MAP of p(z|x)"} <= set(plane_layers(at, "post_posterior"))
    assert len(at.get("image")) >= 4  # x, x scored, E[x|μ], E[x|z_MAP]

    at.select_slider(key="post_k").set_value(100).run()
    assert "log p(x), IWAE k=100, one estimate" in _numbers(at)
    at.number_input(key="post_index").set_value(3).run()
    assert "test image 3" in _text(at)
    assert _numbers(at)["log p(x), quadrature"] != log_px
    before = _numbers(at)["log p(x), quadrature"]
    at.toggle(key="post_binarize").set_value(False).run()  # grey levels scored as they are
    assert not at.exception
    assert _numbers(at)["log p(x), quadrature"] != before


def test_posterior_page_takes_an_upload(app: AppTest) -> None:  # noqa: F811
    at = _open(app, "pages/posterior.py")
    at.radio(key="post_source").set_value("Upload").run()
    at.file_uploader(key="post_upload").upload("zero.png", _digit_png(), "image/png")
    at.run()
    assert not at.exception and not at.error
    assert "upload zero.png" in _text(at)
    assert _numbers(at)["log p(x), quadrature"] < 0


@pytest.mark.slow
def test_typicality_page_verdicts_demos_and_rankings(app: AppTest) -> None:  # noqa: F811
    # Scores 1,000 validation and 1,000 test images once (tens of seconds on 2 cores).
    at = _open(app, "pages/typicality.py")
    assert at.title[0].value == "Typicality"
    text = _text(at)
    assert re.search(r"### :(green|orange|red)\[(typical|unusual|anomalous)\]", text)
    assert re.search(r"log p\(x\) = \*\*-\d+\.\d nats\*\* · percentile \*\*\d+\.\d %\*\*", text)
    assert "**Most typical**" in text and "**Least typical**" in text
    assert len(_plotly_specs(at)) == 2  # the error map and the histogram
    assert len(_image_urls(at)) >= 3 + 40  # x, x scored, E[x|μ]; 20 + 20 ranked test images

    at.button_group(key="typ_input").set_value("Noise").run()
    assert "### :red[anomalous]" in _text(at) and "demo: noise" in _text(at)
    at.button_group(key="typ_input").set_value("Blank").run()
    assert "### :red[anomalous]" in _text(at)  # far *more* likely than any digit: percentile 100
    assert "percentile **100.0 %**" in _text(at)
    at.button_group(key="typ_input").set_value("Letter A").run()
    assert not at.exception and "demo: letter a" in _text(at)

    at.radio(key="typ_score").set_value("ELBO").run()
    assert not at.exception
    assert "ELBO = **" in _text(at)
    at.button_group(key="typ_input").set_value("Your image").run()
    assert "test image 0 (label 7)" in _text(at)


def test_generate_page_samples_temperature_and_holes(app: AppTest) -> None:  # noqa: F811
    at = _open(app, "pages/generate.py")
    assert at.title[0].value == "Generate"
    assert "32 samples, T = 1.0" in [h.value for h in at.subheader]
    first = _image_urls(at)
    assert len(first) == 2 * 32  # the means E[x|z], and a binary sample x ~ p(x|z) of each
    assert re.search(r"\*\*\d+ of 32\*\* samples fall in holes", _text(at))
    assert {"q(z), the data's density", "N(0, 1.0²I) 1σ", "N(0, 1.0²I) 2σ"} <= set(plane_layers(at, "gen_map"))

    at.number_input(key="gen_seed").set_value(7).run()
    assert _image_urls(at) != first  # another seed, other samples
    at.select_slider(key="gen_count").set_value(16).run()
    assert len(_image_urls(at)) == 2 * 16
    at.slider(key="gen_temperature").set_value(2.0).run()
    holes_hot = int(re.search(r"\*\*(\d+) of 16\*\*", _text(at)).group(1))
    at.slider(key="gen_temperature").set_value(0.3).run()
    holes_cold = int(re.search(r"\*\*(\d+) of 16\*\*", _text(at)).group(1))
    assert holes_hot > holes_cold  # far from the centre the data is thin
    at.toggle(key="gen_data").set_value(True).run()
    assert plane_layers(at, "gen_map")["test-set means"]["groups"] == [str(d) for d in range(10)]  # by digit
