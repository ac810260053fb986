"""Model zoo pages in real Chromium: compare two shipped models, train a tiny model in the
background and find it in the model picker."""

from __future__ import annotations

import uuid

import pytest

from bench.browser import train_tiny_model
from bench.pad import PAD, scripted_drag, wait_pad_ready
from vae.checkpoint import CHECKPOINT_DIR

from .conftest import assert_no_exception, open_page, screenshot, wait_idle

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def test_compare_shows_two_models_and_one_cursor_drives_both(server, page) -> None:
    open_page(page, f"{server}/compare")
    page.get_by_role("heading", name="Compare two models").wait_for()
    page.get_by_role("heading", name="mnist-2d", exact=True).wait_for()
    wait_pad_ready(page)
    pads = page.locator(PAD)
    assert pads.count() == 2  # one plane per model
    shown = "el => el.closest('.lp').__latentPlane.st.z"
    assert [pads.nth(i).evaluate(shown) for i in (0, 1)] == [[0, 0], [0, 0]]
    slider = page.locator('[data-testid="stMain"] [data-testid="stSlider"] input[type="range"]').nth(1)
    slider.focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    wait_idle(page)
    page.wait_for_timeout(500)
    wait_idle(page)
    assert [pads.nth(i).evaluate(shown) for i in (0, 1)] == [[0.5, 0], [0.5, 0]]  # both follow the one z
    assert page.locator('[data-testid="stMarkdown"] table').count() == 1  # the metrics
    # The planes are linked in the browser: hovering or dragging one moves the other at once,
    # before any server reply (each decodes the z with its own model).
    box = pads.nth(0).bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + box["height"] * 0.3)
    hovered = "el => el.closest('.lp').__latentPlane.st.hoverZ"
    first = pads.nth(0).evaluate(hovered)
    assert first is not None and first[0] > 1 and pads.nth(1).evaluate(hovered) == first
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.7, steps=5)
    dragged = pads.nth(0).evaluate(shown)
    assert dragged[0] < 0 and pads.nth(1).evaluate(shown) == dragged  # live, mid-drag
    page.mouse.up()
    wait_idle(page)
    page.mouse.move(0, 0)
    assert pads.nth(1).evaluate(hovered) is None  # the pointer left: no preview on either
    # Either plane drives the same cursor: a drag and release moves the shared sliders.
    sliders = page.locator('[data-testid="stMain"] [data-testid="stSlider"] input[type="range"]')
    z_before = (sliders.nth(1).input_value(), sliders.nth(2).input_value())
    scripted_drag(page, seconds=0.6)
    wait_idle(page)
    page.wait_for_function(
        "(b) => { const s = document.querySelectorAll('[data-testid=\"stMain\"] [data-testid=\"stSlider\"] input[type=\"range\"]');"
        " return s[1].value !== b[0] || s[2].value !== b[1]; }", arg=list(z_before), timeout=20_000)
    assert_no_exception(page)
    screenshot(page, "compare")


def test_train_a_tiny_model_in_the_browser(server, page) -> None:
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    target = CHECKPOINT_DIR / "user" / f"{name}.safetensors"
    try:
        train_tiny_model(page, server, CHECKPOINT_DIR, timeout_s=240, name=name)
        assert target.exists(), "the job did not write its checkpoint"
        page.get_by_text(f"Job {name}").first.wait_for(timeout=30_000)
        link = page.get_by_role("link", name=f"Open user/{name} (its model card)")
        link.wait_for(timeout=60_000)
        assert_no_exception(page)
        screenshot(page, "train")
        # The link opens the new model, in this session too.
        link.click()
        page.wait_for_url("**/model?**")
        wait_idle(page)
        assert f"Model: user/{name}" in page.locator('[data-testid="stPopover"]').first.inner_text()
    finally:
        target.unlink(missing_ok=True)
