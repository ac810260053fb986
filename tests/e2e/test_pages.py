"""End-to-end: a real `streamlit run` server, real Chromium (Playwright), real checkpoint."""

from __future__ import annotations

import ast
import io
import re

import numpy as np
import pytest
from PIL import Image, ImageDraw

from bench.browser import DECODED  # the decoder page's server-side picture (inline, its alt names z)
from bench.pad import PAD, wait_pad_ready
from vae.plane import Plane, from_plot

from .conftest import ROOT, assert_no_exception, open_page, screenshot, wait_idle

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

PAGES = {
    "start": ("", "Start here: what a VAE computes, and why"),
    "home": ("model", "Latent Explorer"),
    "manifold": ("manifold", "Latent map & manifold"),
    "decoder": ("decoder", "Decoder"),
    "interpolate": ("interpolate", "Interpolation"),
    "encode": ("encode", "Encode an image"),
    "posterior": ("posterior", "Posterior & likelihood"),
    "typicality": ("typicality", "Typicality"),
    "generate": ("generate", "Generate"),
}


def _digit_png() -> bytes:
    img = Image.new("RGB", (240, 240), "white")
    ImageDraw.Draw(img).line([(70, 40), (170, 40), (110, 200)], fill="black", width=20)  # a "7"
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("name", list(PAGES))
def test_each_page_loads_without_exception(server, page, name) -> None:
    path, title = PAGES[name]
    open_page(page, f"{server}/{path}")
    page.get_by_role("heading", name=title).first.wait_for()
    wait_idle(page)
    if page.locator(PAD).count():  # the screenshot shows the plane drawn, not "loading the decoder…"
        wait_pad_ready(page)
        page.wait_for_timeout(500)  # its point sets and pictures
    assert_no_exception(page)
    screenshot(page, name)


def test_sidebar_lists_exactly_our_pages(server, page) -> None:
    open_page(page, server)
    links = page.locator('[data-testid="stSidebarNav"] a')
    # Each link's text is "<icon name>\n<title>": keep the title.
    names = [t.strip().split("\n")[-1] for t in links.all_inner_texts()]
    # app.py's registry, read from its source (importing app.py would run Streamlit).
    tree = ast.parse((ROOT / "app.py").read_text())
    titles = [ast.literal_eval(call.args[1]) for call in ast.walk(tree)
              if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "PageEntry"]
    assert names == titles and names[0] == "Start here"


def _decoded_src(page) -> str:
    return page.locator(DECODED).first.get_attribute("src")


def test_decoder_slider_arrow_key_changes_the_image_and_url(server, page) -> None:
    open_page(page, f"{server}/decoder")
    before = _decoded_src(page)
    slider = page.get_by_test_id("latent-pad-slider-z1")  # the plane's own z1 slider
    slider.focus()
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    wait_idle(page)
    page.wait_for_function(
        "([sel, before]) => document.querySelector(sel).src !== before",
        arg=[DECODED, before], timeout=10_000)
    # The picture's element and the URL come in separate messages of the commit's rerun.
    page.wait_for_function("() => location.search.includes('z1=0.20')", timeout=10_000)
    assert_no_exception(page)
    assert "(+0.20, +0.00)" in page.inner_text('[data-testid="stMain"]')
    assert page.locator(DECODED).first.get_attribute("alt") == "E[x|z] at z = (+0.20, +0.00)"


def _map_z(page) -> tuple[list[float], list[float] | None]:
    """(z the map's digit shows now, z last committed to Python) from window.__latentPad."""
    return page.evaluate("[window.__latentPad.z, window.__latentPad.committed || null]")


def test_map_click_decodes_a_point_in_the_browser_and_commits_it(server, page) -> None:
    open_page(page, f"{server}/manifold")
    assert "tap the map to choose" in page.inner_text('[data-testid="stMain"]')
    wait_pad_ready(page)
    wait_idle(page)
    box = page.locator(PAD).bounding_box()
    dot = page.locator('[data-testid="latent-pad-root"] .dot')
    assert not dot.is_visible()  # no point chosen yet
    clicked_at = page.evaluate("performance.now()")
    # Up and right of the centre: the square is the 20 x 20 manifold's cells, z in +-(3 + 3/19).
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.25)
    lo, hi = Plane.of_manifold(20, "linear", 3.0).z_range
    want = lo + 0.75 * (hi - lo)
    page.wait_for_function(f"window.__latentPad.shownAt > {clicked_at}", timeout=5_000)  # painted in the page
    shown, committed = _map_z(page)
    assert shown == pytest.approx([want, want], abs=0.03) and committed == [round(v, 2) for v in shown]
    assert dot.is_visible()
    text = f"Chosen z = ({committed[0]:+.2f}, {committed[1]:+.2f})"
    page.get_by_text(text).wait_for(timeout=20_000)  # the server's rerun followed
    wait_idle(page)
    link = page.get_by_role("link", name="Open in the decoder").get_attribute("href")
    assert f"z1={committed[0]:.2f}" in link and f"z2={committed[1]:.2f}" in link
    # Hover previews another z; the choice stays, and comes back when the mouse leaves.
    page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.75)
    page.wait_for_function("window.__latentPad.z[0] < 0", timeout=5_000)
    assert "hover z" in page.locator('[data-testid="latent-pad-root"] .readout').inner_text()
    assert _map_z(page)[1] == committed
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] - 60)
    page.wait_for_function("window.__latentPad.z[0] > 0", timeout=5_000)
    assert_no_exception(page)
    screenshot(page, "manifold-click")


def test_gaussian_map_maps_pixels_to_z_by_the_prior_quantiles(server, page) -> None:
    open_page(page, f"{server}/manifold")
    page.get_by_text("Map settings").click()  # the map's settings sit folded above it
    page.get_by_text("Gaussian quantiles").click()
    wait_idle(page)
    wait_pad_ready(page)
    box = page.locator(PAD).bounding_box()
    plane = Plane.of_manifold(20, "gaussian", 3.0)
    for fx, fy in [(0.9, 0.5), (0.3, 0.15)]:
        before = _map_z(page)[1]
        page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
        page.wait_for_function("(b) => JSON.stringify(window.__latentPad.committed || null) !== JSON.stringify(b)",
                               arg=before, timeout=5_000)
        wait_idle(page)
        u = plane.lo + np.array([fx, 1 - fy]) * (plane.hi - plane.lo)
        want = from_plot(u, "gaussian")
        committed = _map_z(page)[1]
        assert committed == pytest.approx(want.tolist(), abs=0.03)
        page.get_by_text(f"Chosen z = ({committed[0]:+.2f}, {committed[1]:+.2f})").wait_for(timeout=20_000)
    assert_no_exception(page)


def test_encode_upload_shows_mu(server, page, tmp_path) -> None:
    open_page(page, f"{server}/encode")
    page.get_by_text("Upload", exact=True).click()
    wait_idle(page)
    good = tmp_path / "seven.png"
    good.write_bytes(_digit_png())
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(good))
    page.get_by_text("upload seven.png").wait_for(timeout=30_000)
    wait_idle(page)
    assert re.search(r"μ = \([+-]\d\.\d{3}, [+-]\d\.\d{3}\)", page.inner_text('[data-testid="stMain"]'))
    assert_no_exception(page)
    screenshot(page, "encode-upload")


def test_bad_upload_shows_an_error_and_the_page_still_works(server, page, tmp_path) -> None:
    open_page(page, f"{server}/encode")
    page.get_by_text("Upload", exact=True).click()
    wait_idle(page)
    bad = tmp_path / "letter.png"
    bad.write_text("Dear visitor, this is not a PNG.")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(bad))
    alert = page.locator('[data-testid="stAlert"]').filter(has_text="letter.png")
    alert.wait_for(timeout=30_000)
    assert_no_exception(page)
    # still works: switch to a test image and see it encoded
    page.get_by_text("Test image", exact=True).click()
    page.get_by_text("test image 0 (label 7)").wait_for(timeout=30_000)
    assert_no_exception(page)


def test_drawing_a_digit_encodes_it(server, page) -> None:
    open_page(page, f"{server}/encode")
    page.get_by_text("Draw", exact=True).click()
    canvas = page.locator('canvas[data-testid="draw-canvas"]')
    canvas.wait_for(timeout=30_000)
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 100, box["y"] + 50)
    page.mouse.down()
    for x, y in [(180, 50), (150, 140), (120, 230)]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=8)
    page.mouse.up()
    page.get_by_text("your drawing").first.wait_for(timeout=30_000)
    wait_idle(page)
    assert_no_exception(page)
    screenshot(page, "encode-draw")


def test_interpolation_renders_n_steps(server, page) -> None:
    open_page(page, f"{server}/interpolate?a=3&b=2")
    page.get_by_text("10 decoded steps").wait_for()
    slider = page.locator('[data-testid="stSlider"] input[type="range"]').first
    slider.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.get_by_text("13 decoded steps").wait_for(timeout=20_000)
    wait_idle(page)
    # The strip holds 13 frames of 28 px with 2 px gaps, upscaled 3x.
    strip = page.locator('[data-testid="stImage"] img').nth(2)
    width = strip.evaluate("img => img.naturalWidth")
    assert width == 3 * (13 * 28 + 12 * 2)
    assert_no_exception(page)
