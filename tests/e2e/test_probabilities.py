"""End-to-end paths through the probability pages: pick an image (or a demo, or a temperature)
in real Chromium and see the numbers change. Screenshots go to docs/screenshots/."""

from __future__ import annotations

import re

import pytest

from .conftest import assert_no_exception, open_page, screenshot, wait_idle

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

MAIN = '[data-testid="stMain"]'


def _main_text(page) -> str:
    return page.inner_text(MAIN)


def _set_number(page, label: str, value: int) -> None:
    box = page.get_by_label(label)
    box.fill(str(value))
    box.press("Enter")


def test_posterior_page_numbers_for_a_chosen_image(server, page) -> None:
    open_page(page, f"{server}/posterior")
    page.get_by_text("log p(x), quadrature").wait_for(timeout=60_000)
    _set_number(page, "Test image index", 3)
    page.get_by_text("test image 3 (label 0)").wait_for(timeout=60_000)
    wait_idle(page)
    text = _main_text(page)
    # The table: log p(x) by quadrature, IWAE, ELBO and its terms, the gap, all in nats.
    for quantity in ("log p(x), quadrature", "log p(x), IWAE k=1000, one estimate", "ELBO (100 samples)",
                     "ELBO gap, exact: KL(q(z|x) ‖ p(z|x))"):
        assert re.search(re.escape(quantity) + r"\s+-?\d+\.\d\d", text), quantity
    assert "p(z|x) inside q's 2σ ellipse" in text
    assert page.locator('[data-testid="latent-pad"]').count() == 2  # log p(x, z), and p(z|x) with q(z|x)
    assert_no_exception(page)
    screenshot(page, "posterior-test-image")


def test_typicality_page_demo_input_gets_a_verdict(server, page) -> None:
    open_page(page, f"{server}/typicality")
    # The first visit scores 2,000 images by quadrature (cached per model): allow for it.
    page.get_by_text("Most typical").wait_for(timeout=240_000)
    wait_idle(page, timeout=240_000)
    assert re.search(r"log p\(x\) = -?\d+\.\d nats · percentile \d+\.\d %", _main_text(page))
    page.get_by_role("radio", name="Noise").click()
    page.get_by_text("demo: noise").wait_for(timeout=60_000)
    wait_idle(page, timeout=120_000)
    text = _main_text(page)
    assert "anomalous" in text and "percentile 0.0 %" in text
    assert_no_exception(page)
    page.get_by_role("radio", name="Your image").click()
    page.get_by_text("test image 0 (label 7)").first.wait_for(timeout=60_000)
    wait_idle(page, timeout=120_000)
    assert_no_exception(page)
    screenshot(page, "typicality")


def test_generate_page_temperature_step(server, page) -> None:
    open_page(page, f"{server}/generate")
    page.get_by_text("32 samples, T = 1.0").wait_for(timeout=60_000)
    assert re.search(r"\d+ of 32 samples fall in holes", _main_text(page))
    slider = page.locator('[data-testid="stSlider"]').filter(has_text="Temperature").locator('input[type="range"]')
    slider.focus()
    page.keyboard.press("ArrowRight")
    page.get_by_text("32 samples, T = 1.1").wait_for(timeout=30_000)
    wait_idle(page)
    assert_no_exception(page)
    screenshot(page, "generate")
