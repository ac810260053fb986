"""The latent pad's Python side under AppTest: what travels to the browser and when (the JS
itself is tested in real Chromium: tests/e2e/test_latent_pad.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ui.latent_pad import _parse_commit
from vae import list_checkpoints, load_checkpoint
from vae.checkpoint import checkpoint_name

APP = str(Path(__file__).resolve().parent.parent / "app.py")
SHIPPED = [p for p in list_checkpoints() if "user" not in p.parts]


def _pad_data(at: AppTest) -> dict:
    (element,) = [el for el in at.get("bidi_component") if el.proto.id.endswith("dec_pad")]
    return json.loads(element.proto.json)


@pytest.fixture
def decoder() -> AppTest:
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["z1"] = "1.25"
    at.query_params["z2"] = "-0.5"
    at.switch_page("pages/decoder.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_first_run_ships_the_decoder_and_background_once(decoder: AppTest) -> None:
    data = _pad_data(decoder)
    assert data["z"] == [1.25, -0.5] and data["extent"] == 4.0 and data["ack"] == 0
    assert data["decoder"]["format"] == "latent-explorer-decoder"
    assert data["decoder"]["sha256"] == data["model"]
    assert data["background"].startswith("data:image/png;base64,")
    # The browser reports what it parsed and cached: later runs send ids and z only.
    decoder.session_state["dec_pad"] = {"have": f"{data['model']}|{data['bg']}", "z": None}
    decoder.slider(key="z1").set_value(2.0).run()
    after = _pad_data(decoder)
    assert after["decoder"] is None and after["background"] is None
    assert after["model"] == data["model"] and after["z"] == [2.0, -0.5]
    assert len(json.dumps(after)) < 1000


def test_a_commit_is_acknowledged_and_returned(decoder: AppTest) -> None:
    decoder.session_state["dec_pad"] = {"have": "", "z": {"z": [0.5, 0.25], "seq": 1234}}
    decoder.run()
    assert not decoder.exception
    assert _pad_data(decoder)["ack"] == 1234


@pytest.mark.parametrize("path", SHIPPED, ids=[checkpoint_name(p) for p in SHIPPED])
def test_every_shipped_model_gets_a_pad(path: Path) -> None:
    config = load_checkpoint(path).config
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["model"] = checkpoint_name(path)
    at.switch_page("pages/decoder.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    data = _pad_data(at)
    assert data["decoder"]["num_classes"] == config.num_classes
    if config.num_classes:  # a CVAE: the class selector feeds both decoders
        assert data["label"] == 0
        before = [img.url for el in at.get("image") for img in el.proto.imgs]
        at.selectbox(key="dec_label").set_value(3).run()
        assert not at.exception and _pad_data(at)["label"] == 3
        assert [img.url for el in at.get("image") for img in el.proto.imgs] != before
    else:
        assert data["label"] is None


@pytest.mark.parametrize("value, expected", [
    ({"z": [1.0, -2.0], "seq": 3}, ((1.0, -2.0), 3)),
    ({"z": [9.0, -9.0], "seq": 1}, ((4.0, -4.0), 1)),  # clipped to the pad
    ({"z": [1.0], "seq": 1}, None),
    ({"z": ["a", 1.0], "seq": 1}, None),
    ({"z": [float("nan"), 1.0], "seq": 1}, None),
    (None, None),
    ("1,2", None),
])
def test_parse_commit_accepts_only_two_finite_numbers(value, expected) -> None:
    assert _parse_commit(value, 4.0) == expected
