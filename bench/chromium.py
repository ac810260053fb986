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
