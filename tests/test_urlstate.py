"""Link parameters are validated (ui/urlstate.py): hostile values are clamped or ignored with a
note, never passed on; and pages opened with such links render without an exception."""

from __future__ import annotations

import pytest

from test_latent_plane import commit_plane, open_page, plane_z
from ui.urlstate import parse_choice, parse_number


@pytest.mark.parametrize("text, expected, noted", [
    (None, 0.0, False),
    ("1.25", 1.25, False),
    (" -2 ", -2.0, False),
    ("9", 4.0, True),  # clamped into the range
    ("-1e300", -4.0, True),
    ("nan", 0.0, True),
    ("inf", 0.0, True),
    ("1e999", 0.0, True),  # float() gives inf
    ("0x10", 0.0, True),
    ("", 0.0, True),
    ("1,5", 0.0, True),
    ("<script>", 0.0, True),
])
def test_numbers(text, expected, noted) -> None:
    value, note = parse_number(text, -4.0, 4.0, 0.0)
    assert value == expected and (note is not None) == noted


def test_integers_and_long_garbage() -> None:
    assert parse_number("42", 0, 9999, 0, integer=True) == (42, None)
    assert parse_number("4.5", 0, 9999, 0, integer=True)[0] == 0
    value, note = parse_number("x" * 10_000, 0, 9, 3, integer=True)
    assert value == 3 and len(note) < 80  # the note quotes a short prefix only


def test_choices_are_exact() -> None:
    assert parse_choice("mnist-2d", ["mnist-2d", "b"], "b") == ("mnist-2d", None)
    assert parse_choice("²", [str(d) for d in range(10)], "0")[0] == "0"
    assert parse_choice("../etc/passwd", ["a"], "a")[1] is not None


@pytest.mark.parametrize("page, params", [
    ("decoder", {"z1": "nan", "z2": "1e999", "label": "²", "model": "../../etc/passwd"}),
    ("manifold", {"label": "-1", "model": "x" * 5000}),
    ("posterior", {"i": "99999999999999999999", "model": "mnist-2d-cvae"}),
    ("interpolate", {"a": "-5", "b": "abc"}),
])
def test_pages_survive_hostile_links(page: str, params: dict[str, str]) -> None:
    at = open_page(page, **params)
    assert at.toast, "a note says what was ignored"
    if page == "decoder":
        assert plane_z(at, "dec_pad") == (0.0, 0.0)
    if "model" in params and params["model"].startswith(("..", "x")):
        assert at.selectbox(key="model_name").value == "mnist-2d"


def test_a_link_within_the_session_takes_over_but_the_pages_own_url_does_not() -> None:
    at = open_page("decoder")
    commit_plane(at, "dec_pad", (1.0, 0.0))
    assert "1.00" in str(at.query_params["z1"])
    at.run()  # the page's own URL (z1=1.00) changes nothing
    assert plane_z(at, "dec_pad")[0] == 1.0
    # A link (e.g. the map's "Open in the decoder") brings another z and another model.
    at.query_params["z1"] = "-2.5"
    at.query_params["model"] = "mnist-2d-beta4"
    at.run()
    assert not at.exception
    assert plane_z(at, "dec_pad")[0] == -2.5
    assert at.selectbox(key="model_name").value == "mnist-2d-beta4"
    # Picking a model in the picker is not pulled back by the URL it replaces.
    at.selectbox(key="model_name").set_value("mnist-2d").run()
    assert at.selectbox(key="model_name").value == "mnist-2d"
