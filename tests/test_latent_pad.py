"""The latent pad's Python side under AppTest: what travels to the browser and when (the JS
itself is tested in real Chromium: tests/e2e/test_latent_pad.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ui.latent_pad import Plane, _parse_commit
from vae.figures import from_plot, plot_extent
from vae import list_checkpoints, load_checkpoint
from vae.checkpoint import checkpoint_name

APP = str(Path(__file__).resolve().parent.parent / "app.py")
SHIPPED = [p for p in list_checkpoints() if "user" not in p.parts]


def _pad_data(at: AppTest, key: str = "dec_pad") -> dict:
    (element,) = [el for el in at.get("bidi_component") if el.proto.id.endswith(key)]
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
    assert (data["z1"], data["z2"]) == (1.25, -0.5) and (data["lo"], data["hi"]) == (-4.0, 4.0)
    assert data["ack"] == 0 and data["spacing"] == "linear"
    decoder_spec = json.loads(data["decoder"])
    assert decoder_spec["format"] == "latent-explorer-decoder"
    assert decoder_spec["sha256"] == data["model"]
    # Only scalars and strings at the top: Streamlit probes lists and dicts for dataframes,
    # which would import pandas and pyarrow (70 MB) into the server.
    assert all(v is None or isinstance(v, (str, int, float, bool)) for v in data.values())
    assert data["background"].startswith("data:image/png;base64,")
    # The browser reports what it parsed and cached: later runs send ids and z only.
    decoder.session_state["dec_pad"] = {"have": f"{data['model']}|{data['bg']}", "z": None}
    decoder.slider(key="z1").set_value(2.0).run()
    after = _pad_data(decoder)
    assert after["decoder"] is None and after["background"] is None
    assert after["model"] == data["model"] and (after["z1"], after["z2"]) == (2.0, -0.5)
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
    assert json.loads(data["decoder"])["num_classes"] == config.num_classes
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
    assert _parse_commit(value, Plane.square(4.0)) == expected


def test_the_manifold_map_is_a_pad_over_the_decoded_grid() -> None:
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("pages/manifold.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    data = _pad_data(at, "mf_map")
    assert data["spacing"] == "linear" and (data["lo"], data["hi"]) == plot_extent("linear", 3.0, 20)
    assert data["background"].startswith("data:image/png;base64,") and data["overlay"] == ""
    assert data["hover"] is True and data["unset"] is True and "Click the map" in at.info[0].value
    # Once the browser holds the decoder and the manifold, a rerun sends ids and z only.
    at.session_state["mf_map"] = {"have": f"{data['model']}|{data['bg']}", "z": None}
    at.session_state["mf_selected_z"] = (1.25, -0.5)
    at.run()
    after = _pad_data(at, "mf_map")
    assert after["decoder"] is None and after["background"] is None and len(json.dumps(after)) < 1000
    assert (after["z1"], after["z2"]) == (1.25, -0.5) and after["unset"] is False
    assert "Chosen z = (+1.25, -0.50)" in " ".join(m.value.replace("**", "") for m in at.markdown)
    # Another grid is another picture; Gaussian spacing is another plane; the overlay a layer.
    at.slider(key="mf_radius").set_value(1.0).run()  # a smaller map: the choice moves to its edge
    assert (_pad_data(at, "mf_map")["z1"], _pad_data(at, "mf_map")["z2"]) == (1.05, -0.5)  # 1 + half a cell (1/19)
    at.slider(key="mf_radius").set_value(3.0).run()
    at.slider(key="mf_n").set_value(40).run()  # 1120 picture pixels on a 560 px map: smoothed
    assert _pad_data(at, "mf_map")["pixelated"] is False
    at.slider(key="mf_n").set_value(8).run()
    small = _pad_data(at, "mf_map")
    assert small["pixelated"] is True  # enlarged: crisp pixels
    assert small["bg"] != data["bg"] and small["background"].startswith("data:image/png")
    at.radio(key="mf_spacing").set_value("Gaussian quantiles").run()
    gaussian = _pad_data(at, "mf_map")
    assert gaussian["spacing"] == "gaussian" and (gaussian["lo"], gaussian["hi"]) == plot_extent("gaussian", 3.0, 8)
    assert gaussian["ticks"] == "-2,-1,0,1,2"
    at.toggle(key="mf_overlay").set_value(True).run()
    overlay = _pad_data(at, "mf_map")
    assert overlay["overlay"] and overlay["overlay_image"].startswith("data:image/png") and overlay["legend"]
    assert at.get("download_button") and not at.exception


def test_plane_geometry() -> None:
    square = Plane.square(4.0)
    assert square.z_range == (-4.0, 4.0) and square.ticks == (-4.0, -2.0, 0.0, 2.0, 4.0)
    linear = Plane.of_manifold(20, "linear", 3.0)
    assert linear.z_range == pytest.approx((-3 - 6 / 19 / 2, 3 + 6 / 19 / 2))
    assert linear.ticks == (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)
    gaussian = Plane.of_manifold(20, "gaussian", 3.0)
    # Outer half cells reach past u = 0 and 1; z is clipped there as vae.figures.from_plot does.
    assert gaussian.lo < 0 < 1 < gaussian.hi
    assert gaussian.z_range == pytest.approx(tuple(from_plot(np.array([1e-6, 1 - 1e-6]), "gaussian")))
    assert _parse_commit({"z": [9.0, -9.0], "seq": 1}, gaussian)[0] == pytest.approx(gaussian.z_range[::-1])
    assert linear.clamp((5.0, -0.123)) == (3.16, -0.12) and linear.clamp(None) is None
