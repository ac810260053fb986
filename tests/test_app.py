"""Every page under streamlit.testing.v1.AppTest: renders without exception, widgets change
the output. (Plotly clicks and the drawing canvas need a real browser: see tests/e2e.)"""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from test_latent_plane import commit_plane, plane_z
from vae import load_checkpoint
from vae.checkpoint import CHECKPOINT_DIR
from vae.latent import decode_one

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture
def app() -> AppTest:
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def _open(at: AppTest, page: str) -> AppTest:
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _image_urls(at: AppTest) -> list[str]:
    return [img.url for el in at.get("image") for img in el.proto.imgs]


def _inline_pngs(at: AppTest) -> dict[str, np.ndarray]:
    """The pictures a page sends inline (ui.images.show_png(inline=True)): alt text -> grey
    image in [0, 1] [H, W], read back from the data: URL."""
    out = {}
    for el in at.get("html"):
        for data, alt in re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]*)"', el.proto.body):
            grey = Image.open(io.BytesIO(base64.b64decode(data))).convert("L")
            out[html.unescape(alt)] = np.asarray(grey, np.float32) / 255.0
    return out


def _plotly_specs(at: AppTest) -> list[str]:
    return [el.proto.spec for el in at.get("plotly_chart")]


def _digit_png(dark_on_light: bool = True) -> bytes:
    img = Image.new("L", (200, 200), 255 if dark_on_light else 0)
    ImageDraw.Draw(img).ellipse([50, 30, 150, 170], outline=0 if dark_on_light else 255, width=18)
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


def test_model_card_shows_metrics_and_samples(app: AppTest) -> None:
    app = _open(app, "pages/home.py")
    assert app.title[0].value == "Latent Explorer"
    assert app.selectbox(key="model_name").value == "mnist-2d"
    metrics = {m.label: m.value for m in app.metric}
    assert set(metrics) == {"Test ELBO, nats", "Test NLL (IWAE), nats", "5-NN accuracy"}
    before = _image_urls(app)
    app.number_input(key="home_seed").set_value(5).run()
    assert _image_urls(app) != before  # another seed, other samples


def test_decoder_commits_buttons_and_url(app: AppTest) -> None:
    at = _open(app, "pages/decoder.py")
    assert "E[x|z] at z = (+0.00, +0.00)" in _inline_pngs(at)
    commit_plane(at, "dec_pad", (2.0, 0.0))  # the plane's z1 slider, stepped to 2 and committed
    shown = _inline_pngs(at)["E[x|z] at z = (+2.00, +0.00)"]  # [28, 28], the page's own decode
    model = load_checkpoint(CHECKPOINT_DIR / "mnist-2d").model
    assert np.abs(shown - decode_one(model, (2.0, 0.0))).max() <= 1 / 255 + 1e-6  # 8-bit PNG
    assert at.query_params["z1"] == "2.00"
    at.button(key="dec_reset").click().run()
    assert plane_z(at, "dec_pad") == (0.0, 0.0) and at.query_params["z1"] == "0.00"
    at.button(key="dec_sample").click().run()
    assert plane_z(at, "dec_pad") != (0.0, 0.0)
    assert (at.query_params["z1"], at.query_params["z2"]) == tuple(f"{v:.2f}" for v in plane_z(at, "dec_pad"))


def test_decoder_reads_z_from_the_url() -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["z1"] = "1.5"
    at.query_params["z2"] = "-9"  # clipped into range
    at.switch_page("pages/decoder.py")
    at.run()
    assert plane_z(at, "dec_pad") == (1.5, -4.0) and "E[x|z] at z = (+1.50, -4.00)" in _inline_pngs(at)


def test_a_cvae_class_travels_in_the_url() -> None:
    from ui.models import usable_names

    if "mnist-2d-cvae" not in usable_names():
        pytest.skip("the shipped CVAE is not usable here")
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["model"] = "mnist-2d-cvae"
    at.query_params["label"] = "3"
    at.switch_page("pages/decoder.py")
    at.run()
    assert not at.exception and at.selectbox(key="dec_label").value == 3
    at.selectbox(key="dec_label").set_value(8).run()
    assert at.query_params["label"] == "8"
    for wrong in ["12", "²", "-1", "3.0", ""]:  # not a class: ignored
        bad = AppTest.from_file(APP, default_timeout=120)
        bad.query_params["model"] = "mnist-2d-cvae"
        bad.query_params["label"] = wrong
        bad.switch_page("pages/decoder.py")
        bad.run()
        assert not bad.exception and bad.selectbox(key="dec_label").value == 0, wrong


def test_interpolation_steps_and_method(app: AppTest) -> None:
    at = _open(app, "pages/interpolate.py")
    strip10 = _image_urls(at)
    at.slider(key="ip_steps").set_value(25).run()
    assert _image_urls(at) != strip10
    assert "25 decoded steps" in " ".join(h.value for h in at.subheader)
    at.radio(key="ip_method").set_value("slerp").run()
    assert not at.exception
    assert at.query_params["a"] == "3" and at.query_params["b"] == "2"
    assert len(at.get("download_button")) == 2


def test_encode_page_test_image_and_upload(app: AppTest) -> None:
    at = _open(app, "pages/encode.py")
    assert "test image 0 (label 7)" in " ".join(t.value for t in at.text)
    at.radio(key="enc_source").set_value("Upload").run()
    at.file_uploader(key="enc_upload").upload("zero.png", _digit_png(), "image/png")
    at.run()
    assert not at.exception and not at.error
    text = " ".join(m.value for m in at.markdown)
    assert "upload zero.png" in " ".join(t.value for t in at.text) and "μ = **(" in text


def test_encode_page_bad_upload_shows_a_message_and_keeps_working(app: AppTest) -> None:
    at = _open(app, "pages/encode.py")
    at.radio(key="enc_source").set_value("Upload").run()
    at.file_uploader(key="enc_upload").upload("notes.png", b"<html>hello</html>", "image/png")
    at.run()
    assert not at.exception
    assert at.error and "notes.png" in at.error[0].value
    at.file_uploader(key="enc_upload").upload("zero.png", _digit_png(False), "image/png")
    at.run()
    assert not at.error and not at.exception


def test_compare_page_needs_two_models_or_shows_both(app: AppTest) -> None:
    at = _open(app, "pages/compare.py")
    from ui.models import usable_names

    if len(usable_names()) < 2:
        assert "needs two usable checkpoints" in at.info[0].value
    else:
        assert plane_z(at, "cmp_pad_a") == plane_z(at, "cmp_pad_b") == (0.0, 0.0)  # one plane per model
        at.slider(key="cmp_z1").set_value(1.5).run()
        assert plane_z(at, "cmp_pad_a") == plane_z(at, "cmp_pad_b") == (1.5, 0.0)  # both follow the one z
        (table,) = [m.value for m in at.markdown if "test NLL, IWAE" in m.value]
        lines = table.splitlines()
        assert len(lines) == 2 + 7 and lines[0].count("|") == 4  # a row per quantity, a column per model


def test_train_page_refuses_a_bad_name(app: AppTest) -> None:
    at = _open(app, "pages/train.py")
    at.text_input(key="tr_name").set_value("../../etc/evil")
    at.button(key="tr_start").click().run()
    assert at.error and "name" in at.error[0].value
    assert not at.exception
