"""Two visitors on the Train page of one server, in real Chromium: a job started in one browser
shows up in the other by itself (no click: the page polls), with no Cancel button there; the
starter's Cancel stops it and both pages say so."""

from __future__ import annotations

import pytest

from .conftest import assert_no_exception, open_page, wait_idle

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def test_a_job_shows_live_to_another_visitor_who_cannot_cancel_it(server, browser) -> None:
    contexts = [browser.new_context(viewport={"width": 1300, "height": 900}) for _ in range(2)]
    owner, visitor = (c.new_page() for c in contexts)
    try:
        open_page(visitor, f"{server}/train")  # opened before the job exists
        open_page(owner, f"{server}/train")
        name = owner.get_by_label("Name", exact=True).and_(owner.get_by_test_id("stTextInputField"))
        name.fill("live-e2e")
        name.press("Enter")
        wait_idle(owner)
        owner.get_by_role("button", name="Start training").click()
        owner.get_by_role("button", name="Cancel").wait_for(timeout=30_000)
        # The other browser was left alone: its page notices the job by itself.
        visitor.get_by_text("live-e2e: running (another visitor's)").wait_for(timeout=30_000)
        visitor.get_by_text("Only the visitor who started this job can cancel it").wait_for(timeout=10_000)
        assert visitor.get_by_role("button", name="Cancel").count() == 0
        assert visitor.get_by_role("button", name="Start training").is_disabled()
        owner.get_by_role("button", name="Cancel").click()
        owner.get_by_text("nothing was written").wait_for(timeout=60_000)
        visitor.get_by_text("live-e2e: cancelled").wait_for(timeout=30_000)
        for page in (owner, visitor):
            assert_no_exception(page)
    finally:
        for context in contexts:
            context.close()
