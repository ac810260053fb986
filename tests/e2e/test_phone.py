"""End-to-end at phone size (Chromium at 390 x 844, touch): no page scrolls sideways (shadow
roots included), the plane's touch rule (tap places, the handle drags, a swipe scrolls), the
model and the view survive navigation and reload, hostile links keep the page working.
Screenshots land in docs/screenshots/phone-*.png."""

from __future__ import annotations

import pytest

from bench.browser import app_pages
from bench.pad import PAD, wait_pad_ready

from .conftest import assert_no_exception, open_page, screenshot, wait_idle

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

PAGES = app_pages()  # every page of app.py's registry

# Every visible element (shadow roots included) whose right edge passes the screen's, unless an
# ancestor clips it (overflow hidden/auto/scroll on x: a table scrolling inside itself is fine).
_OVERFLOW = """() => {
  const limit = window.innerWidth + 1, out = [];
  const clipped = (el) => {
    for (let p = el.parentElement || (el.getRootNode() && el.getRootNode().host); p;
         p = p.parentElement || (p.getRootNode() && p.getRootNode().host)) {
      const o = getComputedStyle(p).overflowX;
      if ((o === 'hidden' || o === 'auto' || o === 'scroll' || o === 'clip') && p.getBoundingClientRect().right <= limit) return true;
    }
    return false;
  };
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) walk(el.shadowRoot);
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0 || r.right <= limit) continue;
      const cs = getComputedStyle(el);
      if (cs.visibility === 'hidden' || cs.display === 'none' || cs.position === 'fixed') continue;
      if (!clipped(el)) out.push(`${el.tagName.toLowerCase()}.${String(el.className).slice(0, 40)} right=${Math.round(r.right)}`);
    }
  };
  walk(document);
  return out.slice(0, 10);
}"""


@pytest.mark.parametrize("path", PAGES, ids=[p or "home" for p in PAGES])
def test_no_page_scrolls_sideways_on_a_phone(server, phone, path) -> None:
    phone.goto(f"{server}/{path}", wait_until="domcontentloaded")
    wait_idle(phone, timeout=240_000)  # a cold server may score the typicality references first
    if phone.locator(PAD).count():
        wait_pad_ready(phone)
        wait_idle(phone)
    assert_no_exception(phone)
    assert phone.evaluate(_OVERFLOW) == []
    main = phone.locator('[data-testid="stMain"]')
    assert main.evaluate("el => el.scrollWidth <= el.clientWidth + 1")
    screenshot(phone, f"phone-{path or 'home'}")


def _plane_z(pad) -> list[float]:  # noqa: ANN001 - playwright Locator
    return pad.evaluate("el => el.closest('.lp').__latentPlane.st.z")


def test_touch_taps_place_the_point_the_handle_drags_a_swipe_scrolls(server, phone) -> None:
    open_page(phone, f"{server}/decoder")
    wait_pad_ready(phone)
    wait_idle(phone)
    pad = phone.locator(PAD).first
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390  # the plane fits the screen
    # A tap moves the point there (and commits it: the sliders follow).
    phone.touchscreen.tap(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.25)
    phone.wait_for_function("() => (window.__latentPad.committed || [0])[0] > 1", timeout=5_000)
    tapped = _plane_z(pad)
    assert tapped[0] == pytest.approx(2.0, abs=0.1) and tapped[1] == pytest.approx(2.0, abs=0.1)
    wait_idle(phone)
    cdp = phone.context.new_cdp_session(phone)

    def touch_drag(x0: float, y0: float, x1: float, y1: float) -> None:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0, "y": y0}]})
        for i in range(1, 11):
            x, y = x0 + (x1 - x0) * i / 10, y0 + (y1 - y0) * i / 10
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
            phone.wait_for_timeout(16)
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})

    # A swipe that starts away from the point scrolls the page and leaves the point alone.
    box = pad.bounding_box()
    main = phone.locator('[data-testid="stMain"]')
    before = main.evaluate("el => el.scrollTop")
    touch_drag(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.8,
               box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.3)
    phone.wait_for_timeout(400)
    assert main.evaluate("el => el.scrollTop") > before
    assert _plane_z(pad) == tapped
    # A drag that starts on the point moves it.
    box = pad.bounding_box()
    handle = pad.locator(".handle").bounding_box()
    hx, hy = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
    touch_drag(hx, hy, box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.75)
    phone.wait_for_function("() => (window.__latentPad.committed || [0])[0] < -1", timeout=5_000)
    dragged = _plane_z(pad)
    assert dragged[0] == pytest.approx(-2.0, abs=0.2) and dragged[1] == pytest.approx(-2.0, abs=0.2)
    assert_no_exception(phone)


def test_the_model_survives_navigation_and_reload(server, page) -> None:
    open_page(page, f"{server}/?model=mnist-2d-beta4")
    assert "Model: mnist-2d-beta4" in page.locator('[data-testid="stPopover"]').first.inner_text()
    page.locator('[data-testid="stSidebarNav"] a', has_text="Decoder").click()
    wait_idle(page)
    page.wait_for_url("**/decoder?**")
    assert "model=mnist-2d-beta4" in page.url
    assert "Model: mnist-2d-beta4" in page.locator('[data-testid="stPopover"]').first.inner_text()
    page.reload()
    wait_idle(page)
    assert "Model: mnist-2d-beta4" in page.locator('[data-testid="stPopover"]').first.inner_text()
    assert "model=mnist-2d-beta4" in page.url


def test_hostile_links_and_unknown_pages(server, page) -> None:
    open_page(page, f"{server}/decoder?z1=nan&z2=1e999&label=%C2%B2&model=..%2F..%2Fetc")
    wait_pad_ready(page)
    wait_idle(page)
    assert_no_exception(page)
    assert page.evaluate("window.__latentPad.z") == [0, 0]  # the pad works, at the default z
    assert page.locator('[data-testid="stToast"]').count() >= 1  # and says what it ignored
    open_page(page, f"{server}/no-such-page")
    page.locator('[data-testid="stMain"]').get_by_text("Page not found").wait_for(timeout=10_000)
    wait_idle(page)
    page.wait_for_timeout(500)  # Streamlit's own dialog, when it came, came with the run
    assert page.locator('[role="dialog"]').count() == 0  # our page with its links, nothing over it
    main = page.locator('[data-testid="stMain"]')  # (the folded sidebar has its own links)
    assert main.get_by_role("link", name="Decoder", exact=True).count() == 1
    page.get_by_text("drag z and watch E[x|z]").wait_for(timeout=5_000)  # what is there, under it
