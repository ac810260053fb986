"""A shared link must open inside the app's navigation, even as a fresh server's first request
(Streamlit's legacy pages/ mode would otherwise run the page alone: see ui/shell.py)."""

import pytest

from .conftest import assert_no_exception, open_page, running_server

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def test_first_request_to_a_deep_link_gets_the_app_shell(browser) -> None:
    with running_server() as (url, _proc, _log):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        try:
            open_page(page, f"{url}/decoder?z1=1.50&z2=-0.50")
            page.get_by_role("heading", name="Decoder").first.wait_for(timeout=60_000)
            names = [t.strip().split("\n")[-1]
                     for t in page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()]
            assert names[0] == "Start here" and "Decoder" in names and "app" not in names
            assert "decoder" not in names  # no raw file names from legacy discovery
            assert "z1=1.50" in page.url
            assert_no_exception(page)
        finally:
            context.close()
