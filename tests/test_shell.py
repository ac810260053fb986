"""The app shell: app.py's registry drives the navigation and the home page's links; the two
Streamlit internals ui/shell.py relies on are still there and still used the same way."""

from __future__ import annotations

import inspect
from pathlib import Path

import streamlit.commands.navigation as navigation_module
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def test_streamlit_still_switches_legacy_pages_mode_the_way_ensure_app_shell_does() -> None:
    # If either fails, Streamlit changed how a pages/ folder is handled: revisit ui/shell.py
    # (and tests/e2e/test_deep_link.py) before upgrading.
    assert hasattr(PagesManager, "uses_pages_directory")
    assert "PagesManager.uses_pages_directory = False" in inspect.getsource(navigation_module)


def test_streamlit_still_sends_its_page_not_found_dialog_the_way_navigation_replaces_it() -> None:
    # ui.shell.navigation swaps this module function out (its dialog would cover the app's own
    # "not found" page): it must still exist and still be what st.navigation calls by name.
    assert callable(getattr(navigation_module, "send_page_not_found", None))
    assert "send_page_not_found(ctx)" in inspect.getsource(navigation_module)


def test_the_model_card_links_every_registered_page_and_only_those() -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/home.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    from ui.shell import registered

    entries = registered()
    linked = [link.proto.page for link in at.get("page_link")]
    assert linked == [e.url_path for e in entries if e.path != "pages/home.py"]
    # Every page script exists, and every script in pages/ is registered.
    assert sorted(e.path for e in entries) == sorted(f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py"))
