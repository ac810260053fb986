"""The one place that says how benchmarks and end-to-end tests start Chromium, and a free port.

Debian's chromium (never a browser downloaded by Playwright), headless, with the background
networking that this machine's closed network would refuse switched off.
"""

from __future__ import annotations

import os
import socket

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# A Streamlit page whose script has finished running (every rerun ends here).
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_idle(page, timeout: float = 60_000, settle_ms: float = 150) -> None:  # noqa: ANN001 - playwright Page
    """Wait until the app has finished its current script run, and still has a moment later
    (a widget callback or a component's handshake may start another run right after one)."""
    page.wait_for_selector(IDLE, timeout=timeout)
    page.wait_for_timeout(settle_ms)
    page.wait_for_selector(IDLE, timeout=timeout)
