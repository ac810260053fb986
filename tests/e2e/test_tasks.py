"""End-to-end, real Chromium at laptop and phone size: the Compress and Denoise & inpaint pages
render their numbers, the plane and the charts without an exception, nothing scrolls sideways on
a phone, and their widgets work. Screenshots: docs/screenshots/{compress,inpaint}[-phone].png."""

from __future__ import annotations

import re

import pytest

from .conftest import assert_no_exception, open_page, screenshot, wait_idle
from .test_phone import _OVERFLOW

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

MAIN = '[data-testid="stMain"]'
CHECKS = {"compress": "Bit-exact: all 784 pixels match.", "inpaint": "log p(x_obs) ="}


@pytest.mark.parametrize("path", list(CHECKS))
def test_pages_render_at_laptop_and_phone_size(server, page, phone, path) -> None:
    for pg, suffix in ((page, ""), (phone, "-phone")):
        open_page(pg, f"{server}/{path}")
        pg.get_by_text(CHECKS[path]).first.wait_for(timeout=180_000)
        wait_idle(pg, timeout=180_000)
        assert_no_exception(pg)
        assert pg.locator('[data-testid="stPlotlyChart"]').count() >= 1
        if path == "inpaint":
            assert pg.locator('[data-testid="latent-pad"]').count() == 1
        if suffix:
            assert pg.evaluate(_OVERFLOW) == [], path
        screenshot(pg, f"{path}{suffix}")


def test_compress_stream_changes_with_the_digit_and_inpaint_switches_to_noise(server, page) -> None:
    open_page(page, f"{server}/compress")
    page.get_by_text(CHECKS["compress"]).wait_for(timeout=180_000)
    first = page.locator('[data-testid="stCode"]').inner_text()
    box = page.get_by_label("Test image index")
    box.fill("5")
    box.press("Enter")
    page.wait_for_function("(before) => { const c = document.querySelector('[data-testid=\"stCode\"]');"
                           " return c && c.innerText !== before; }", arg=first, timeout=60_000)
    wait_idle(page)
    assert_no_exception(page)
    assert page.get_by_text(CHECKS["compress"]).count() == 1
    open_page(page, f"{server}/inpaint")
    page.get_by_text(CHECKS["inpaint"]).wait_for(timeout=180_000)
    page.get_by_role("radio", name="Flip noise").click()
    page.get_by_text("of 784 wrong").wait_for(timeout=120_000)
    wait_idle(page)
    assert_no_exception(page)
    assert re.search(r"\d+ of 784 wrong", page.inner_text(MAIN))
