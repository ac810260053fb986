"""Bytes a browser receives for a page, Streamlit's own static files (its JS, CSS and fonts
under /static/) left out: HTTP bodies as they crossed the network (Chromium's
encodedDataLength, so a file the browser's cache answers counts nothing) plus websocket
frames received.
A first visit uses a fresh browser profile; the revisit is the same tab loading the page again
(its HTTP cache warm), as a student reopening the link would."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from .chromium import wait_idle
from .pad import wait_pad_ready


def _own_static(url: str) -> bool:
    """Streamlit's bundled assets (identical for every app, cached for a year)."""
    return urlsplit(url).path.startswith("/static/")


class Meter:
    """Counts what one page receives, through the Chrome DevTools Protocol."""

    def __init__(self, page) -> None:  # noqa: ANN001 - playwright Page
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Network.enable")
        self.urls: dict[str, str] = {}
        self.http = 0
        self.ws = 0
        self.cdp.on("Network.responseReceived", lambda e: self.urls.__setitem__(e["requestId"], e["response"]["url"]))
        self.cdp.on("Network.loadingFinished", self._finished)
        self.cdp.on("Network.webSocketFrameReceived", lambda e: self._frame(e))

    def _finished(self, event: dict) -> None:
        url = self.urls.get(event["requestId"], "")
        if url and not _own_static(url):
            self.http += int(event.get("encodedDataLength", 0))

    def _frame(self, event: dict) -> None:
        # Binary frames arrive base64-encoded in payloadData: 3 bytes per 4 characters.
        data = event["response"]["payloadData"]
        self.ws += len(data) * 3 // 4 if event["response"].get("opcode") == 2 else len(data.encode())

    def reset(self) -> None:
        self.http = self.ws = 0

    @property
    def mb(self) -> float:
        return round((self.http + self.ws) / 1e6, 3)


def page_visit_mb(browser, url: str, settle_s: float = 1.5) -> dict[str, float]:  # noqa: ANN001
    """{first, revisit}: MB received for `url` (a page with the latent plane) in a fresh
    profile, then when the same tab loads it again."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    meter = Meter(page)
    out = {}
    for visit in ("first", "revisit"):
        meter.reset()
        page.goto(url)
        wait_pad_ready(page)
        wait_idle(page)
        time.sleep(settle_s)  # late requests (pictures, a component's handshake) included
        out[visit] = meter.mb
    context.close()
    return out
