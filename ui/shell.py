"""The app's shell: the page registry's type, the navigation built from it, and the one place
that keeps deep links inside that navigation.

app.py lists the pages (PAGES, the one registry) and calls `navigation(PAGES)`, which also keeps
the list here for the pages that link to the others (`registered()`: the home page).

Because the page scripts live in a folder named pages/, Streamlit starts in its legacy
multipage mode: until some session has run app.py (which calls st.navigation), a first request
to a deep link such as /decoder runs pages/decoder.py on its own, with a narrow layout and a
sidebar listing raw file names, and that mode sticks for later sessions. Each page calls
`page_header()` first, which calls `ensure_app_shell()`: in legacy mode it switches the server to app.py's navigation and
reruns, so the same URL is served by app.py (measured in tests/e2e/test_deep_link.py). The
launcher (`python -m ui.server`, what `make run` starts) makes that switch before the server
listens (`use_app_navigation`), so legacy mode never starts there.

Two Streamlit internals are relied on, both here and nowhere else: PagesManager.uses_pages_directory
(the legacy switch) and streamlit.commands.navigation.send_page_not_found (the "Page not found"
dialog, which this app replaces with a page of links: `navigation`). tests/test_shell.py fails
loudly if Streamlit stops using either the way this expects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit

import streamlit as st

if TYPE_CHECKING:
    from .models import ModelHandle


class PageEntry(NamedTuple):
    path: str  # the script, e.g. "pages/decoder.py"
    title: str
    icon: str
    url_path: str  # "" for the default (home) page
    blurb: str  # what a visitor finds there, for links to it


_REGISTERED: list[PageEntry] = []


class _Navigation(NamedTuple):
    page: object  # the StreamlitPage st.navigation resolved
    known: bool  # False: the URL names no page of ours

    def run(self) -> None:
        if self.known:
            self.page.run()  # type: ignore[attr-defined]
        else:
            not_found()


def _no_dialog(ctx: object) -> None:
    """In place of Streamlit's page_not_found message: the app shows its own page (`not_found`)."""


def navigation(entries: list[PageEntry]) -> _Navigation:
    """st.navigation over the entries (the first is the default page), remembering them for
    `registered()`. A URL that names none of them (Streamlit would show the default page under
    its own "Page not found" dialog) gets a "not found" page with links to every page instead,
    and no dialog over it."""
    import streamlit.commands.navigation as streamlit_navigation

    streamlit_navigation.send_page_not_found = _no_dialog  # idempotent: the same for every session
    _REGISTERED[:] = entries
    pages = [st.Page(e.path, title=e.title, icon=e.icon, default=True) if i == 0
             else st.Page(e.path, title=e.title, icon=e.icon, url_path=e.url_path)
             for i, e in enumerate(entries)]
    page = st.navigation(pages)
    return _Navigation(page, requested_path() in {e.url_path for e in entries})


def requested_path() -> str:
    """The page part of the URL in the browser ("" for the home page, "decoder", or whatever
    else a visitor typed), without the server's base path; "" when unknown (tests)."""
    url = st.context.url
    if not url:
        return ""
    path = urlsplit(url).path.strip("/")
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    if base and (path == base or path.startswith(base + "/")):
        path = path[len(base):].strip("/")
    return path


def not_found() -> None:
    st.title("Page not found")
    st.warning(f"There is no page “{requested_path()[:80]}” here. The pages are:", icon=":material/explore_off:")
    page_links(registered())


def page_links(entries: list[PageEntry], query_params: dict[str, str] | None = None) -> None:
    """A link to each page with what a visitor finds there in a line of its own under it (a link's
    label stays on one line and would be cut short on a phone)."""
    for entry in entries:
        with st.container(gap=None):
            st.page_link(entry.path, label=entry.title, icon=entry.icon, query_params=query_params)
            st.caption(entry.blurb)


def registered() -> list[PageEntry]:
    """The pages app.py registered (in order), for pages that link to the others."""
    return list(_REGISTERED)


def page_header(title: str, caption: str | None = None, model: bool = True) -> ModelHandle | None:
    """Every page's first line: keep the page inside app.py's navigation, get the picked model
    (stopping the page with a message if there is none; `model` False for pages that pick their
    own), then the title and its caption."""
    ensure_app_shell()
    st.title(title)
    handle = None
    if model:
        from .models import current_model_name, require_model  # torch: after the shell check

        # On the page, not in the sidebar: on a phone the sidebar is folded away.
        with st.popover(f"Model: {current_model_name() or 'none'}", icon=":material/model_training:"):
            handle = require_model(st.container())
    if caption:
        st.caption(caption)
    return handle


def use_app_navigation() -> bool:
    """Take the server out of the legacy pages/ mode (or keep it from ever entering it: the
    launcher, ui/server.py, calls this before the server starts, so even a first request to
    /model, which names no file in pages/, is served by app.py's navigation instead of
    Streamlit's "Page not found" dialog over the main page). The same switch st.navigation itself
    makes (streamlit/commands/navigation.py). True if the server was in legacy mode."""
    from streamlit.runtime.pages_manager import PagesManager

    legacy = PagesManager.uses_pages_directory is not False
    PagesManager.uses_pages_directory = False
    return legacy


def ensure_app_shell() -> None:
    """For a server started without the launcher (`streamlit run app.py`): a first deep link
    ran this page on its own; switch to app.py's navigation and run again."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory and use_app_navigation():
        st.rerun()
