"""The pages that put p(x) to work, under AppTest: Compress, Denoise & inpaint, and the
Typicality page's rules and out-of-distribution measurements. (Real Chromium at laptop and phone
size: tests/e2e/test_tasks.py.)"""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from test_app import _open, _plotly_specs, app  # noqa: F401 - `app` is a fixture
from test_latent_plane import plane_layers


def _text(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def test_compress_page_round_trip_sizes_and_lossy_mode(app: AppTest) -> None:  # noqa: F811
    at = _open(app, "pages/compress.py")
    assert at.title[0].value == "Compress"
    metrics = {m.label: m.value for m in at.metric}
    stream_bytes = int(metrics["Stream"].split()[0])
    payload = int(metrics["Payload"].split()[0])
    exact = float(metrics["−log₂ p(x), exact"].split()[0])
    assert payload == 8 * (stream_bytes - 8) and abs(payload - exact) < 10
    assert [s.value for s in at.success] == ["Bit-exact: all 784 pixels match."]
    hex_bytes = at.code[0].value.split()
    assert len(hex_bytes) == stream_bytes and hex_bytes[:2] == ["4c", "58"]  # b"LX"
    table = [m.value for m in at.markdown if m.value.startswith("| coder |")][0]
    for codec in ("PNG", "gzip", "bz2", "lzma", "WebP"):
        assert f"| {codec} |" in table
    assert len(_plotly_specs(at)) == 2  # the cost map and the rate-distortion curve
    at.slider(key="cmp_lossy_bits").set_value(8).run()
    assert not at.exception
    at.radio(key="cmp_binarize").set_value("Bernoulli draw (seed 0), as in evaluation").run()
    assert not at.exception and [s.value for s in at.success] == ["Bit-exact: all 784 pixels match."]
    before = at.code[0].value
    at.number_input(key="cmp_index").set_value(1).run()
    assert at.code[0].value != before and [s.value for s in at.success] == ["Bit-exact: all 784 pixels match."]
    at.selectbox(key="model_name").set_value("mnist-2d-cvae").run()
    assert not at.exception and "Pick an unconditional model" in at.info[0].value


def test_inpaint_page_modes_plane_and_samples(app: AppTest) -> None:  # noqa: F811
    at = _open(app, "pages/inpaint.py")
    assert at.title[0].value == "Denoise & inpaint"
    found = re.search(r"log p\(x_obs\) = \*\*(-\d+\.\d) nats\*\*.*\*\*(\d+)\*\* of 392 wrong \(the plain encoder: (\d+)",
                      _text(at))
    assert found and float(found.group(1)) < 0
    assert {"p(z | x_obs)", "encoder's q, 1σ", "z_MAP of p(z | x_obs)"} <= set(plane_layers(at, "inp_plane"))
    assert len(_plotly_specs(at)) == 1  # the uncertainty map
    for how in ("Top half", "Left half", "Right half", "Random pixels", "Brush"):
        at.button_group(key="inp_how").set_value(how).run()
        assert not at.exception, how
    at.button_group(key="inp_how").set_value("Flip noise").run()
    assert "of 784 wrong" in _text(at) and "p(z | y)" in plane_layers(at, "inp_plane")
    at.slider(key="inp_rho").set_value(0.3).run()
    assert not at.exception


@pytest.mark.slow
def test_typicality_rules_and_out_of_distribution_table(app: AppTest) -> None:  # noqa: F811
    at = _open(app, "pages/typicality.py")
    assert at.radio(key="typ_rule").value == "1 % false alarms"
    assert "### :green[typical]" in _text(at)  # a clean test digit
    assert re.search(r"measured on the first 1,000 test digits: \*\*\d\.\d\s%\*\*", _text(at))
    at.radio(key="typ_rule").set_value("the question's 25–75 % band").run()
    rate = float(re.search(r"test digits: \*\*(\d+\.\d)\s%\*\*", _text(at)).group(1))
    assert 40 < rate < 60  # it flags half of all valid digits
    at.toggle(key="typ_ood").set_value(True).run(timeout=900)  # scores the sets by quadrature once
    table = [m.value for m in at.markdown if m.value.startswith("| set |")][0]
    assert "| blank |" in table and "| letters |" in table and r"two\-sided" in table  # Markdown-escaped
    at.selectbox(key="typ_ood_set").set_value("blank").run()
    assert not at.exception
