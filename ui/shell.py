"""Keeps every page inside app.py's navigation.

Because the page scripts live in a folder named pages/, Streamlit starts in its legacy
multipage mode: until some session has run app.py (which calls st.navigation), a first request
to a deep link such as /decoder runs pages/decoder.py on its own, with a narrow layout and a
sidebar listing raw file names, and that mode sticks for later sessions. Each page calls
`ensure_app_shell()` first: in legacy mode it switches the server to app.py's navigation and
reruns, so the same URL is served by app.py (measured in tests/e2e/test_deep_link.py).
"""

from __future__ import annotations

import streamlit as st


def ensure_app_shell() -> None:
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        # The same switch st.navigation itself makes (streamlit/commands/navigation.py).
        PagesManager.uses_pages_directory = False
        st.rerun()
