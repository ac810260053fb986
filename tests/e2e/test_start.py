"""End-to-end: a student walks the Start here page's five steps at laptop and at phone size,
samples from the model, and follows a link that carries the image onward."""

from __future__ import annotations

import pytest

from bench.pad import PAD, wait_pad_ready

from .conftest import assert_no_exception, open_page, screenshot, wait_idle

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


@pytest.mark.parametrize("size", ["laptop", "phone"])
def test_walk_the_five_steps(server, browser, size) -> None:
    phone = size == "phone"
    context = browser.new_context(viewport={"width": 390, "height": 844} if phone else {"width": 1400, "height": 1000},
                                  has_touch=phone, is_mobile=phone)
    page = context.new_page()
    try:
        open_page(page, f"{server}/")
        wait_pad_ready(page)
        wait_idle(page)
        main = page.locator('[data-testid="stMain"]')
        for step in ("1 · The model", "2 · E[x|z] over a grid", "3 · p(x)", "4 · p(z|x) is out of reach",
                     "5 · What each quantity is for"):
            heading = main.get_by_role("heading", name=step).first
            heading.scroll_into_view_if_needed()
            assert heading.is_visible()
        assert page.locator(PAD).count() == 4  # z on the plane, the manifold, the integrand, both posteriors
        # Step 1: a new z on the plane and new binary samples.
        pad = page.locator(PAD).first
        before = pad.evaluate("el => el.closest('.lp').__latentPlane.st.z")
        page.get_by_role("button", name="Sample z ~ p(z)").click()
        wait_idle(page)
        assert pad.evaluate("el => el.closest('.lp').__latentPlane.st.z") != before
        assert "log p(x) = " in main.inner_text() and "KL(q ‖ p(z|x))" in main.inner_text()
        assert_no_exception(page)
        screenshot(page, f"start-{size}")
        # Step 3's link opens the same image on the Posterior page, same model.
        page.get_by_role("link", name="This image on the Posterior page").click()
        page.wait_for_url("**/posterior?**")
        wait_idle(page)
        assert "i=0" in page.url and "model=mnist-2d" in page.url
        page.get_by_text("test image 0 (label 7)").first.wait_for(timeout=60_000)
        assert_no_exception(page)
    finally:
        context.close()
