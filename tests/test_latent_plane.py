"""The latent plane's Python side under AppTest, on every page that shows it: what travels to
the browser and when, the layers each page draws, hostile commits. (The JS runs in real
Chromium in tests/e2e/test_latent_pad.py, its pure parts on node in tests/js/.)"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ui.latent_plane import parse_commit
from ui.static_files import STATIC_DIR
from test_export import load_export
from vae import list_checkpoints, load_checkpoint
from vae.checkpoint import checkpoint_name
from vae.plane import Plane, plot_extent

APP = str(Path(__file__).resolve().parent.parent / "app.py")
SHIPPED = [p for p in list_checkpoints() if "user" not in p.parts]


def _plane(at: AppTest, key: str) -> dict:
    (element,) = [el for el in at.get("bidi_component") if el.proto.id.endswith(key)]
    return json.loads(element.proto.json)


def _layers(data: dict) -> dict[str, dict]:
    return {layer["name"]: layer for layer in json.loads(data["layers"])}


def plane_layers(at: AppTest, key: str) -> dict[str, dict]:
    """{layer name: layer} of the plane with that key, as sent to the browser."""
    return _layers(_plane(at, key))


def plane_z(at: AppTest, key: str) -> tuple[float, float]:
    data = _plane(at, key)
    return data["z1"], data["z2"]


def commit_plane(at: AppTest, key: str, z: tuple[float, float], seq: int = 1) -> AppTest:
    """Run `at` as the browser's commit of z on the plane `key` (a release, a tap, a burst of
    arrow keys or slider steps) reruns it: with the component's state widget carrying
    {"z": {"z": z, "seq": seq}} among the widget states, so its on_commit callback runs. (Setting
    at.session_state would set the value without the callback, as a script's own write does.)"""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    (element,) = [el for el in at.get("bidi_component") if el.proto.id.endswith(key)]
    state = WidgetState(id=element.proto.id, json_value=json.dumps({"z": {"z": list(z), "seq": seq}}))
    tree, collect = at._tree, at._tree.get_widget_states  # the next run reads the tree's states

    def with_commit():  # noqa: ANN202
        states = collect()
        states.widgets.append(state)
        return states

    tree.get_widget_states = with_commit
    return at.run()


def open_page(page: str, **params: str) -> AppTest:
    """A fresh session on `page` with these link parameters, run once, without exception."""
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=180)
    for name, value in params.items():
        at.query_params[name] = value
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _static_file(url: str) -> Path:
    """The file behind a static URL (/app/static/gen/<id>.<suffix>)."""
    assert url.startswith("/app/static/gen/"), url
    return STATIC_DIR / "gen" / url.rsplit("/", 1)[1]


def test_heavy_bytes_are_static_files_and_a_rerun_sends_ids_and_z_only() -> None:
    at = open_page("decoder", z1="1.25", z2="-0.5")
    data = _plane(at, "dec_pad")
    assert (data["z1"], data["z2"]) == (1.25, -0.5) and (data["lo"], data["hi"]) == (-4.0, 4.0)
    # Only scalars and strings at the top: Streamlit probes lists and dicts for dataframes,
    # which would import pandas and pyarrow (70 MB) into the server.
    assert all(v is None or isinstance(v, (str, int, float, bool)) for v in data.values())
    # The decoder is a file named by its content id, the same model the page decodes with.
    decoder_file = _static_file(data["decoder_src"])
    header, _ = load_export(decoder_file.read_bytes())
    assert decoder_file.stem == header["sha256"] == data["model"]
    means = _layers(data)["test-set means"]
    assert means["count"] == 10_000 and _static_file(means["src"]).stat().st_size == 9 * 10_000
    # Nothing heavy travels with the data, so every rerun is small.
    assert len(json.dumps(data)) < 1500
    commit_plane(at, "dec_pad", (2.0, -0.5))
    after = _plane(at, "dec_pad")
    assert (after["z1"], after["z2"]) == (2.0, -0.5) and after["decoder_src"] == data["decoder_src"]


def test_a_commit_is_acknowledged_and_moves_z_the_picture_and_the_url() -> None:
    at = open_page("decoder")
    assert _plane(at, "dec_pad")["sliders"] is True  # the decoder's z sliders are the plane's own
    commit_plane(at, "dec_pad", (0.5, 0.25), seq=1234)
    data = _plane(at, "dec_pad")
    assert not at.exception and data["ack"] == 1234 and (data["z1"], data["z2"]) == (0.5, 0.25)
    assert (at.query_params["z1"], at.query_params["z2"]) == ("0.50", "0.25")
    assert "z = <b>(+0.50, +0.25)</b>" in at.get("html")[0].proto.body  # the server's own decode follows
    commit_plane(at, "dec_pad", (9.0, -9.0), seq=1235)  # beyond the plane: clipped to its edge
    assert (at.query_params["z1"], at.query_params["z2"]) == ("4.00", "-4.00")


@pytest.mark.parametrize("path", SHIPPED, ids=[checkpoint_name(p) for p in SHIPPED])
def test_every_shipped_model_gets_a_plane(path: Path) -> None:
    config = load_checkpoint(path).config
    at = open_page("decoder", model=checkpoint_name(path))
    data = _plane(at, "dec_pad")
    header, _ = load_export(_static_file(data["decoder_src"]).read_bytes())
    assert header["num_classes"] == config.num_classes
    if config.num_classes:  # a CVAE: the class selector feeds both decoders
        assert data["label"] == 0
        at.selectbox(key="dec_label").set_value(3).run()
        assert not at.exception and _plane(at, "dec_pad")["label"] == 3
    else:
        assert data["label"] is None


@pytest.mark.parametrize("value, expected", [
    ({"z": [1.0, -2.0], "seq": 3}, ((1.0, -2.0), 3)),
    ({"z": [9.0, -9.0], "seq": 1}, ((4.0, -4.0), 1)),  # clipped to the plane
    ({"z": [1.0], "seq": 1}, None),
    ({"z": ["a", 1.0], "seq": 1}, None),
    ({"z": [float("nan"), 1.0], "seq": 1}, None),
    ({"z": [1.0, 1.0], "seq": float("inf")}, None),
    (None, None),
    ("1,2", None),
])
def test_parse_commit_accepts_only_two_finite_numbers(value, expected) -> None:
    assert parse_commit(value, Plane.square(4.0)) == expected


def test_the_manifold_map_is_a_plane_over_the_decoded_grid() -> None:
    at = open_page("manifold")
    data = _plane(at, "mf_map")
    assert data["spacing"] == "linear" and (data["lo"], data["hi"]) == plot_extent("linear", 3.0, 20)
    (manifold,) = json.loads(data["layers"])
    assert manifold["kind"] == "picture" and _static_file(manifold["src"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert manifold["extent"] == [data["lo"], data["hi"], data["lo"], data["hi"]]
    assert data["hover"] is True and data["unset"] is True and "tap the map to choose" in at.info[0].value
    at.session_state["mf_selected_z"] = (1.25, -0.5)
    at.run()
    after = _plane(at, "mf_map")
    assert len(json.dumps(after)) < 1000
    assert (after["z1"], after["z2"]) == (1.25, -0.5) and after["unset"] is False
    assert "Chosen z = (+1.25, -0.50)" in " ".join(m.value.replace("**", "") for m in at.markdown)
    at.slider(key="mf_radius").set_value(1.0).run()  # a smaller map: the choice moves to its edge
    assert (_plane(at, "mf_map")["z1"], _plane(at, "mf_map")["z2"]) == (1.05, -0.5)  # 1 + half a cell (1/19)
    at.slider(key="mf_radius").set_value(3.0).run()
    at.slider(key="mf_n").set_value(40).run()  # 1120 picture pixels on a 560 px map: smoothed
    assert json.loads(_plane(at, "mf_map")["layers"])[0]["pixelated"] is False
    at.slider(key="mf_n").set_value(8).run()
    small = json.loads(_plane(at, "mf_map")["layers"])[0]
    assert small["pixelated"] is True and small["src"] != manifold["src"]  # enlarged: crisp
    at.radio(key="mf_spacing").set_value("Gaussian quantiles").run()
    gaussian = _plane(at, "mf_map")
    assert gaussian["spacing"] == "gaussian" and (gaussian["lo"], gaussian["hi"]) == plot_extent("gaussian", 3.0, 8)
    assert gaussian["ticks"] == "-2,-1,0,1,2"
    at.toggle(key="mf_overlay").set_value(True).run()
    assert _layers(_plane(at, "mf_map"))["test-set means"]["count"] == 2000
    assert at.get("download_button") and not at.exception


def test_encode_draws_q_and_opens_zoomed_on_a_small_q() -> None:
    at = open_page("encode")
    data = _plane(at, "enc_map")
    layers = _layers(data)
    assert {"q(z|x) 1σ", "q(z|x) 2σ", "μ", "z ~ q(z|x)", "test-set means"} <= set(layers)
    mu = np.array(layers["μ"]["xy"])
    ring = np.array(layers["q(z|x) 2σ"]["xy"]).reshape(-1, 2)
    sigma2 = (ring.max(0) - ring.min(0)) / 2  # the 2-sigma ellipse's half-widths
    np.testing.assert_allclose((ring.max(0) + ring.min(0)) / 2, mu, atol=1e-3)
    if sigma2.max() < 0.4:  # small next to the +-4 plane: opened zoomed, the ellipse inside the view
        x0, x1, y0, y1 = map(float, data["view"].split(","))
        assert x1 - x0 < 2 and x0 <= ring[:, 0].min() and ring[:, 0].max() <= x1
        assert y0 <= ring[:, 1].min() and ring[:, 1].max() <= y1
    else:
        assert data["view"] == ""
    assert data["commit"] is False


def test_interpolation_path_has_its_ends_marked() -> None:
    at = open_page("interpolate")
    (path,) = [l for l in json.loads(_plane(at, "ip_map")["layers"]) if l["kind"] == "path"]
    assert path["ends"] == ["A", "B"] and len(path["xy"]) == 2 * 10  # ten steps, (z1, z2) each


def test_posterior_planes_show_the_joint_and_the_true_posterior() -> None:
    at = open_page("posterior")
    joint, post = _plane(at, "post_joint"), _plane(at, "post_posterior")
    assert {"log p(x, z)", "μ of q(z|x)", "z_MAP of p(z|x)"} <= set(_layers(joint))
    layers = _layers(post)
    assert layers["p(z|x)"]["scale"]["title"] == "p(z|x), density" and "q(z|x) 2σ" in layers
    # Opened zoomed on the posterior's raster, which holds z_MAP.
    x0, x1, y0, y1 = map(float, post["view"].split(","))
    z_map = layers["z_MAP of p(z|x)"]["xy"]
    assert x0 <= z_map[0] <= x1 and y0 <= z_map[1] <= y1 and x1 - x0 < 10


def test_generate_draws_samples_beyond_the_edge_on_it() -> None:
    at = open_page("generate")
    at.slider(key="gen_temperature").set_value(2.0).run()
    layers = _layers(_plane(at, "gen_map"))
    samples = np.concatenate([np.array(layers[n]["xy"]).reshape(-1, 2)
                              for n in ("sample", "sample in a hole") if n in layers])
    assert len(samples) == 32 and all(layers[n]["clamp"] for n in ("sample", "sample in a hole") if n in layers)
    assert np.abs(samples).max() > 4  # at T = 2 some fall off the +-4 plane: kept, drawn on its edge
    assert layers["q(z), the data's density"]["scale"]["title"] == "log₁₀ q(z)"
