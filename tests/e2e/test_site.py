"""End-to-end: the static explorer (`python -m vae.site`) opened from file:// in real Chromium,
with no server: no http(s) request at all, the page's decoder within 1e-3 of model.decode,
hover and drag change the digit, sliders move z, two clicks give an interpolation strip whose
GIF and PNG downloads decode in Pillow, and on a phone (390 x 844, touch) nothing scrolls
sideways and taps work. Takes docs/screenshots/site-laptop.png and site-phone.png."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from bench.pad import PAD
from vae import load_checkpoint
from vae.checkpoint import CHECKPOINT_DIR
from vae.render import to_uint8, upscale
from vae.site import site_files, write_site

from .conftest import SCREENSHOTS, assert_no_exception, open_page
from .test_phone import _OVERFLOW

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

Z_VALUES = [(0.0, 0.0), (1.0, -1.0), (-2.5, 0.7), (3.1, 3.1), (-3.1, -3.1), (0.33, 2.1), (-1.2, -2.8), (2.2, 0.05)]
DIGIT = '[data-testid="latent-pad-digit"]'  # Playwright's CSS locators pierce the open shadow root


@pytest.fixture(scope="module")
def model():
    return load_checkpoint(CHECKPOINT_DIR / "mnist-2d").model


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> str:
    """file:// URL of the shipped model's site, built into a temporary folder."""
    folder = write_site(site_files(load_checkpoint(CHECKPOINT_DIR / "mnist-2d")), tmp_path_factory.mktemp("site"))
    return (folder / "index.html").resolve().as_uri()


def _open(browser, url: str, phone: bool = False):
    """A new page (laptop 1280 x 800, or a 390 x 844 touch phone) on the site, ready to decode;
    returns (page, requests seen, errors seen)."""
    options = ({"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True, "device_scale_factor": 2}
               if phone else {"viewport": {"width": 1280, "height": 800}})
    context = browser.new_context(accept_downloads=True, **options)
    page = context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url, wait_until="load")
    page.wait_for_function("() => window.__latentPad && window.__latentPad.ready", timeout=30_000)
    page.wait_for_timeout(200)
    return page, requests, errors


def _digit(page) -> str:
    return page.locator(DIGIT).evaluate("c => c.toDataURL()")


def _a_and_b(page) -> list[tuple[float, float]]:
    text = page.locator('[data-testid="site-ab"]').inner_text().replace("−", "-")
    return [(float(a), float(b)) for a, b in re.findall(r"\(([+-]\d+\.\d\d), ([+-]\d+\.\d\d)\)", text)]


def _screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_the_site_opens_from_disk_asks_no_server_and_decodes_as_the_model(browser, site, model) -> None:
    page, requests, errors = _open(browser, site)
    try:
        js = np.array(page.evaluate("zs => zs.map(([a, b]) => window.__latentPad.decode(a, b))",
                                    [list(z) for z in Z_VALUES]))
        with torch.inference_mode():
            expected = model.decode(torch.tensor(Z_VALUES, dtype=torch.float32)).reshape(len(Z_VALUES), -1).numpy()
        assert js.shape == (len(Z_VALUES), 784)
        assert np.abs(js - expected).max() < 1e-3
        # Both layers are drawn, and the model card names the model and its recorded metrics.
        assert page.locator(f"{PAD} .pics img").evaluate("img => img.complete && img.naturalWidth") == 560
        assert page.locator(".legend .chip").count() == 11  # the manifold and ten digits' means
        card = page.locator('[data-testid="site-card"]')
        assert "mnist-2d" in card.inner_text() and "-142.81 nats" in card.inner_text()
        assert "train_iwae_k" in page.locator('[data-testid="card-config"]').inner_text()
        assert not [u for u in requests if u.startswith(("http:", "https:"))], requests
        assert all(u.startswith(("file:", "data:", "blob:")) for u in requests), requests
        assert errors == []
    finally:
        page.context.close()


def test_hover_drag_and_sliders_change_the_digit(browser, site) -> None:
    page, requests, errors = _open(browser, site)
    try:
        pad = page.locator(PAD)
        box = pad.bounding_box()
        at = lambda fx, fy: (box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)  # noqa: E731
        start = _digit(page)
        page.mouse.move(*at(0.15, 0.2))  # hover: a preview, nothing chosen
        page.wait_for_function("() => window.__latentPad.z[0] < -1.5", timeout=5_000)
        hovered = _digit(page)
        assert hovered != start
        assert "hover z" in page.locator(".readout").inner_text()
        # A drag moves the point and, released, chooses it: the sliders follow.
        page.mouse.move(*at(0.5, 0.5))
        page.mouse.down()
        for i in range(1, 11):
            page.mouse.move(*at(0.5 + 0.035 * i, 0.5 + 0.035 * i))
        page.mouse.up()
        page.wait_for_function("() => (window.__latentPad.committed || [0])[0] > 1", timeout=5_000)
        committed = page.evaluate("window.__latentPad.committed")
        assert committed[1] < -1
        # (the plane's own sliders: on their 0.05 steps, their read-outs exact)
        assert float(page.get_by_test_id("latent-pad-slider-z1").input_value()) == pytest.approx(committed[0], abs=0.025)
        assert page.get_by_test_id("latent-pad-slider-z1").locator("xpath=following-sibling::output").inner_text() \
            == f"{committed[0]:+.2f}"
        page.mouse.move(0, 0)  # off the plane: the digit shows the chosen z
        page.wait_for_timeout(100)
        dragged = _digit(page)
        assert dragged not in (start, hovered)
        # A slider moves z (and the digit) at once.
        page.get_by_test_id("latent-pad-slider-z2").evaluate(
            "s => { s.value = '2.5'; s.dispatchEvent(new Event('input', { bubbles: true })); }")
        page.wait_for_function("() => Math.abs(window.__latentPad.z[1] - 2.5) < 1e-9", timeout=5_000)
        assert _digit(page) != dragged
        # ...and, the steps over, chooses it (the page's B for the strip), as a release does.
        page.wait_for_function("() => (window.__latentPad.committed || [0, 0])[1] === 2.5", timeout=5_000)
        page.get_by_test_id("site-ab").filter(has_text="+2.50").wait_for(timeout=5_000)
        assert not [u for u in requests if u.startswith(("http:", "https:"))] and errors == []
    finally:
        page.context.close()


def test_two_clicks_give_a_strip_and_its_gif_and_png_download(browser, site, model) -> None:
    page, requests, errors = _open(browser, site)
    try:
        box = page.locator(PAD).bounding_box()
        page.mouse.click(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.3)
        page.mouse.click(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.7)
        strip = page.locator('[data-testid="site-strip"]')
        strip.wait_for(state="visible", timeout=5_000)
        assert strip.get_attribute("data-frames") == "10"
        (a, b) = _a_and_b(page)
        assert a[0] < -1 < 1 < b[0] and a[1] > 1 > -1 > b[1]
        assert page.locator(".labels .end").count() == 2  # the path's ends A and B on the plane
        page.mouse.move(0, 0)  # off the plane: the digit shows B, not a hover preview
        page.wait_for_timeout(100)
        _screenshot(page, "site-laptop")
        with page.expect_download() as info:
            page.locator('[data-testid="site-gif"]').click()
        gif = Image.open(io.BytesIO(Path(info.value.path()).read_bytes()), formats=["GIF"])
        assert gif.n_frames == 18 and gif.size == (112, 112)  # 10 steps forth, 8 back; 4x
        with torch.inference_mode():
            ends = model.decode(torch.tensor([a, b], dtype=torch.float32))[:, 0].numpy()
        for frame, image in ((0, ends[0]), (9, ends[1])):
            gif.seek(frame)
            got = np.asarray(gif.convert("L")).astype(int)
            assert np.abs(got - upscale(to_uint8(image), 4).astype(int)).max() <= 1
        with page.expect_download() as info:
            page.locator('[data-testid="site-png"]').click()
        png = Image.open(io.BytesIO(Path(info.value.path()).read_bytes()), formats=["PNG"])
        assert png.size == ((10 * 28 + 9 * 2) * 2, 56)
        # A third click: the strip runs from the second point to the third.
        page.locator(PAD).scroll_into_view_if_needed()
        box = page.locator(PAD).bounding_box()  # the downloads' clicks may have scrolled the page
        page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
        page.wait_for_function("() => document.querySelector('[data-testid=site-ab]').innerText.startsWith('A = (+')")
        assert _a_and_b(page)[0] == b
        assert not [u for u in requests if u.startswith(("http:", "https:"))] and errors == []
    finally:
        page.context.close()


def test_on_a_phone_it_fits_the_screen_and_taps_choose_points(browser, site) -> None:
    page, requests, errors = _open(browser, site, phone=True)
    try:
        assert page.evaluate(_OVERFLOW) == []
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        pad = page.locator(PAD)
        pad.scroll_into_view_if_needed()
        box = pad.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["width"] >= 300
        page.touchscreen.tap(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.25)
        page.wait_for_function("() => (window.__latentPad.committed || [0])[0] > 1", timeout=5_000)
        box = pad.bounding_box()
        page.touchscreen.tap(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.75)
        page.locator('[data-testid="site-strip"]').wait_for(state="visible", timeout=5_000)
        assert page.evaluate(_OVERFLOW) == []
        page.evaluate("window.scrollTo(0, 0)")
        _screenshot(page, "site-phone")
        assert not [u for u in requests if u.startswith(("http:", "https:"))] and errors == []
    finally:
        page.context.close()


def test_the_model_card_offers_the_same_site_as_a_zip(server, page) -> None:
    open_page(page, f"{server}/model")
    assert page.get_by_role("dialog").count() == 0  # no "Page not found" over it (ui/shell.py)
    assert_no_exception(page)
    button = page.get_by_role("button", name="Download this explorer as a static site (zip)")
    with page.expect_download(timeout=120_000) as info:  # built on the click, the first time
        button.click()
    assert info.value.suggested_filename == "latent-explorer-mnist-2d.zip"
    with zipfile.ZipFile(info.value.path()) as archive:
        names = {Path(n).name for n in archive.namelist()}
        expected = site_files(load_checkpoint(CHECKPOINT_DIR / "mnist-2d"), points=0)
        assert set(expected) <= names and all(n.startswith("latent-explorer-mnist-2d/") for n in archive.namelist())
        assert archive.read("latent-explorer-mnist-2d/plane.js") == expected["plane.js"]
        assert sum(i.file_size for i in archive.infolist()) <= 3_000_000
    assert_no_exception(page)
