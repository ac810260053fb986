"""A shared link must open inside the app's navigation, even as a fresh server's first request
(Streamlit's legacy pages/ mode would otherwise run the page alone, or, for a path that names no
file in pages/, show its "Page not found" dialog over the main page: see ui/shell.py)."""

import pytest

from .conftest import assert_no_exception, open_page, running_server

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


@pytest.mark.parametrize("plain", [False, True], ids=["launcher", "plain streamlit run"])
def test_first_request_to_a_deep_link_gets_the_app_shell(browser, plain: bool) -> None:
    with running_server(plain=plain) as (url, _proc, _log):
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


def test_first_request_to_a_page_whose_path_names_no_file_has_no_dialog(browser) -> None:
    """/model is pages/home.py: in legacy mode Streamlit found no pages/model.py and put its "Page
    not found" dialog over the (right) page. The launcher keeps the server out of that mode."""
    with running_server() as (url, _proc, _log):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        try:
            open_page(page, f"{url}/model?model=mnist-2d-elbo")
            page.get_by_role("heading", name="Model: mnist-2d-elbo").wait_for(timeout=60_000)
            page.wait_for_timeout(1000)  # the dialog, when it came, came with the first page
            assert page.locator('[role="dialog"]').count() == 0
            assert_no_exception(page)
        finally:
            context.close()
