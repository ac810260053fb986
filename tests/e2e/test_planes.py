"""End-to-end: every page that shows the latent plane shows the one component, and on each of
its planes hovering decodes E[x|z] under the pointer in the browser; the interpolation path
shows its ends A and B; the encode page draws q(z|x)'s ellipses and opens zoomed on a small q."""

from __future__ import annotations

import pytest

from bench.pad import PAD, wait_pad_ready

from .conftest import assert_no_exception, open_page, wait_idle

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

# page -> how many planes it shows
PLANE_PAGES = {"manifold": 1, "decoder": 1, "interpolate": 1, "encode": 1, "posterior": 2, "generate": 1,
               "compare": 2}

# The digit canvas of the plane an element belongs to, as 28 x 28 grey levels.
_DIGIT = """el => { const root = el.closest('.lp'), c = root.querySelector('canvas.digit');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  return Array.from(d.filter((_, i) => i % 4 === 0)); }"""
# What the plane's own decoder gives for the z its digit shows, as grey levels.
_EXPECTED = """el => { const p = el.closest('.lp').__latentPlane, z = p.shown();
  return [z, p.decode(z[0], z[1]).map(v => Math.round(Math.min(1, Math.max(0, v)) * 255))]; }"""
# The plane's state: its view (plot coordinates), its layers as received.
_STATE = "el => { const s = el.closest('.lp').__latentPlane.st; return { view: s.view, layers: s.layers }; }"


def _open(page, server: str, name: str):  # noqa: ANN001, ANN202 - playwright
    open_page(page, f"{server}/{name}")
    wait_pad_ready(page)
    wait_idle(page)
    return page.locator(PAD)


@pytest.mark.parametrize("name", list(PLANE_PAGES))
def test_hovering_a_plane_decodes_under_the_pointer(server, page, name) -> None:
    pads = _open(page, server, name)
    assert pads.count() == PLANE_PAGES[name]
    for i in range(pads.count()):
        pad = pads.nth(i)
        pad.scroll_into_view_if_needed()
        page.wait_for_function("el => el.closest('.lp').__latentPlane.st.decoder", arg=pad.element_handle(),
                               timeout=30_000)  # this plane's decoder (a page may show two models)
        box = pad.bounding_box()
        seen: list[list[float]] = []
        for fx, fy in ((0.3, 0.7), (0.7, 0.3)):
            page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
            pad.wait_for(timeout=5_000)
            page.wait_for_function("([el, z]) => el.closest('.lp').classList.contains('hovering') && "
                                   "JSON.stringify(el.closest('.lp').__latentPlane.shown()) !== JSON.stringify(z)",
                                   arg=[pad.element_handle(), seen[-1] if seen else None], timeout=5_000)
            page.wait_for_timeout(50)  # the frame that paints it
            z, expected = pad.evaluate(_EXPECTED)
            # The digit beside this plane is E[x|z] for the hovered z, decoded in the browser.
            assert pad.evaluate(_DIGIT) == expected
            assert "hover z" in pad.evaluate("el => el.closest('.lp').querySelector('.readout').textContent")
            seen.append(z)
        # Right and up on screen: larger z1 and z2.
        assert seen[1][0] > seen[0][0] and seen[1][1] > seen[0][1], seen
        page.mouse.move(0, 0)
    assert_no_exception(page)


def _to_px(z1: float, z2: float, view: dict, w: float, h: float) -> tuple[float, float]:
    """A linear plane's z -> CSS pixels inside the pad (as plane.js places it)."""
    return (z1 - view["x0"]) / (view["x1"] - view["x0"]) * w, (1 - (z2 - view["y0"]) / (view["y1"] - view["y0"])) * h


def test_interpolation_path_shows_a_and_b_at_its_ends(server, page) -> None:
    pad = _open(page, server, "interpolate?a=3&b=2").first
    pad.scroll_into_view_if_needed()
    state = pad.evaluate(_STATE)
    (path,) = [layer for layer in state["layers"] if layer["kind"] == "path"]
    box = pad.bounding_box()
    for text, (z1, z2) in (("A", path["xy"][:2]), ("B", path["xy"][-2:])):
        label = pad.locator(".labels .end", has_text=text)
        assert label.count() == 1
        where = label.bounding_box()
        x, y = _to_px(z1, z2, state["view"], box["width"] - 2, box["height"] - 2)  # inside the 1 px border
        assert abs(where["x"] + where["width"] / 2 - (box["x"] + 1 + x)) < 3
        assert abs(where["y"] + where["height"] / 2 - (box["y"] + 1 + y)) < 3


def test_encode_draws_q_ellipses_and_zooms_back_out(server, page) -> None:
    pad = _open(page, server, "encode").first
    pad.scroll_into_view_if_needed()
    state = pad.evaluate(_STATE)
    view = state["view"]
    # Test image 0's q(z|x) has sigma ~ 0.05-0.09 on a +-4 plane: opened zoomed on it.
    assert view["x1"] - view["x0"] < 2
    assert "zoomed" in pad.locator(".zoomed").inner_text()
    # The 1-sigma ellipse is drawn: its rightmost point carries the ellipse's colour on the canvas.
    (ring,) = [layer for layer in state["layers"] if layer["name"] == "q(z|x) 1σ"]
    points = list(zip(ring["xy"][::2], ring["xy"][1::2]))
    z1, z2 = max(points)
    x, y = _to_px(z1, z2, view, pad.evaluate("el => el.clientWidth"), pad.evaluate("el => el.clientHeight"))
    rgba = pad.evaluate("""(el, [x, y]) => { const c = el.querySelector('canvas.vec'), r = c.width / el.clientWidth;
        const d = c.getContext('2d').getImageData(Math.round(x * r) - 2, Math.round(y * r) - 2, 5, 5).data;
        let best = [0, 0, 0, 0];
        for (let i = 0; i < d.length; i += 4) if (d[i + 3] > best[3]) best = [d[i], d[i + 1], d[i + 2], d[i + 3]];
        return best; }""", [x, y])
    assert rgba[3] > 200 and rgba[0] > 200 and 130 < rgba[1] < 200 and rgba[2] < 80, rgba  # #e6a800
    # "whole plane" shows all of it; zoom in comes back around the point.
    pad.evaluate("el => el.closest('.lp').querySelector('.zall').click()")
    whole = pad.evaluate(_STATE)["view"]
    assert (whole["x0"], whole["x1"]) == (-4, 4) and not pad.locator(".zoomed").is_visible()
    pad.evaluate("el => el.closest('.lp').querySelector('.zin').click()")
    assert pad.evaluate(_STATE)["view"]["x1"] - pad.evaluate(_STATE)["view"]["x0"] == 4
    assert_no_exception(page)


def test_legend_entries_toggle_their_layer(server, page) -> None:
    pad = _open(page, server, "interpolate").first
    pad.scroll_into_view_if_needed()
    chip = page.locator('[data-testid="latent-pad-root"] .chip', has_text="path (linear)")
    hidden = "el => el.closest('.lp').__latentPlane.st.hidden.has('path (linear)')"
    assert chip.get_attribute("aria-pressed") == "true" and not pad.evaluate(hidden)
    chip.click()
    assert chip.get_attribute("aria-pressed") == "false" and pad.evaluate(hidden)
    assert pad.locator(".labels .end").count() == 0  # A and B go with the path
    chip.click()
    assert pad.locator(".labels .end").count() == 2
