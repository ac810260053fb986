"""Streamlit sessions without a browser: the browser's own websocket messages, replayed.

A rerun in Chromium costs ~140 ms of browser CPU (rendering, measured) against ~40-60 ms in the
server, so many sessions or many reruns are driven at the protocol level instead: a real
browser's messages are recorded once (`record_decoder` or, inside an async Playwright run,
`listen` + `arrow_key_message`), and `ProtocolSession` sends them (with z changed) over its own
websocket, waits for each run's script_finished, and fetches the images it is given, as the
browser would. The server cannot tell the difference; the browser's rendering is left out.

Used by tests/e2e/test_soak.py (1,000 reruns while memory is sampled) and bench/classroom.py
(100 human-paced sessions through the proxy of deploy/).
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import time
import urllib.request
from dataclasses import dataclass

from .chromium import CHROMIUM, CHROMIUM_ARGS, wait_idle

STEP = 0.05  # the decoder plane's z sliders' step
SLIDER = '[data-testid="latent-pad-slider-z1"]'  # the decoder plane's z1 slider (in its shadow root)
PLANE_KEY = "dec_pad"  # the decoder plane's widget key: a commit is its state, {"z": {"z": [z1, z2], "seq": n}}
# In the page: the rerun for a key press is over when the script is idle and the page shows z1.
RERUN_DONE = r"""(target) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.dataset.testScriptState !== 'notRunning') return false;
  const img = document.querySelector('img[alt^="E[x|z] at z = ("]');  // the decoder's picture
  const m = img && /at z = \(([+-]\d+\.\d\d), /.exec(img.alt);
  return Boolean(m) && Math.abs(parseFloat(m[1]) - target) < 1e-3;
}"""
# The decoder page's picture of E[x|z] names its z in its alt text: "E[x|z] at z = (+0.20, -1.05)".
SHOWN_Z = re.compile(r'alt="E\[x\|z\] at z = \(([+-]\d+\.\d\d), ')
# Resolves once the app has stayed idle for `quiet` ms (a freshly mounted component may send
# its first value and cause one more run right after the page's first run).
SETTLED = r"""(quiet) => new Promise((resolve) => {
  const app = () => document.querySelector('[data-testid="stApp"]');
  let timer = null;
  const arm = () => {
    clearTimeout(timer);
    if (app() && app().dataset.testScriptState === 'notRunning') {
      timer = setTimeout(() => { observer.disconnect(); resolve(true); }, quiet);
    }
  };
  const observer = new MutationObserver(arm);
  observer.observe(document.body, {subtree: true, attributes: true,
                                   attributeFilter: ['data-test-script-state']});
  arm();
})"""
ASSETS = re.compile(r'(?:src|href)="\.?/?(static/[^"?]+\.(?:js|css))"')


def listen(page, sent: list[bytes]) -> None:  # noqa: ANN001 - a Playwright page, sync or async
    """Collect every websocket message the page sends into `sent`."""
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(
        payload if isinstance(payload, bytes) else payload.encode())))


def _commit(msg) -> tuple[object, dict] | None:
    """(the plane's state widget, its value) in a rerun message, if it carries a commit."""
    for w in msg.rerun_script.widget_states.widgets:
        if w.id.endswith(PLANE_KEY) and w.WhichOneof("value") == "json_value":
            value = json.loads(w.json_value)
            if isinstance(value, dict) and isinstance(value.get("z"), dict):
                return w, value
    return None


def arrow_key_message(sent: list[bytes]):
    """The BackMsg a decoder page sent for its z1 slider's first ArrowRight from z1 = 0 (the
    plane decodes the step itself and commits it): a fragment rerun with every widget's state,
    the plane's commit z = (+0.05, +0.00) among them."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    for payload in sent:
        msg = BackMsg()
        msg.ParseFromString(payload)
        if msg.WhichOneof("type") != "rerun_script" or not msg.rerun_script.fragment_id:
            continue
        commit = _commit(msg)
        if commit and abs(commit[1]["z"]["z"][0] - STEP) < 1e-9:
            return msg
    raise AssertionError("the browser sent no fragment rerun committing z1 = +0.05")


def record_decoder(url: str):
    """Open the decoder in Debian's Chromium, press ArrowRight once on z1; the BackMsg it sent."""
    from playwright.sync_api import sync_playwright

    sent: list[bytes] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            listen(page, sent)
            page.goto(f"{url}/decoder?z1=0&z2=0", wait_until="domcontentloaded", timeout=120_000)
            page.wait_for_function(RERUN_DONE, arg=0.0, timeout=120_000)
            page.evaluate(SETTLED, 1000)
            page.locator(SLIDER).first.wait_for(timeout=60_000)  # the plane loaded (hidden until styled)
            page.locator(SLIDER).first.focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_function(RERUN_DONE, arg=STEP, timeout=60_000)
            wait_idle(page)
        finally:
            browser.close()
    return arrow_key_message(sent)


def set_z(msg, z1: float, z2: float | None = None) -> None:
    """Make a decoder commit message (arrow_key_message) commit z1 (and z2), as the browser's
    next commit would: with the next sequence number."""
    commit = _commit(msg)
    assert commit is not None, "not a decoder plane's commit"
    widget, value = commit
    z = value["z"]
    z["z"] = [z1, z["z"][1] if z2 is None else z2]
    z["seq"] = int(z.get("seq", 0)) + 1
    widget.json_value = json.dumps(value)


@dataclass
class Run:
    """One script run as the session saw it."""
    ok: bool  # finished (not timed out, not a compile error or a missing page)
    ms: float  # message sent -> script finished and its images fetched
    finished: int | None = None  # ForwardMsg.ScriptFinishedStatus
    shown_z1: float | None = None  # z1 of the decoder's picture (its alt text), if it was drawn
    exceptions: int = 0
    error_alerts: int = 0


class ProtocolSession:
    """One browser session's traffic: the page's HTML (which, behind deploy/haproxy.cfg, sets
    the sticky cookie), a websocket to /_stcore/stream carrying the cookies, script runs, and
    the /media images each run shows, over HTTP with the same cookies.

    Counters over the session's life: timeouts, exceptions (st.exception elements), alerts
    (any st.error/warning/info/success), error_alerts (st.error), failures (runs that did not
    finish: a compile error, a page not found, a closed connection)."""

    def __init__(self, url: str, timeout_s: float = 30.0, fetch_media: bool = True) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.fetch_media = fetch_media
        self.jar = http.cookiejar.CookieJar()
        self.http = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.ws = None
        self.replica: str | None = None  # X-Replica of the last HTTP answer (deploy/haproxy.cfg)
        self.pages: dict[str, str] = {}  # url path -> page_script_hash, from the navigation message
        self.context = None  # the ContextInfo sent with each run
        self.timeouts = self.exceptions = self.alerts = self.error_alerts = self.failures = 0
        self.last_failure = ""  # what went wrong the last time a run failed

    # ---------------------------------------------------------------- HTTP

    def get(self, path: str) -> bytes:
        with self.http.open(self.url + path, timeout=self.timeout_s) as response:
            self.replica = response.headers.get("X-Replica", self.replica)
            return response.read()

    def load_page(self, path: str = "", query: str = "", assets: bool = False) -> None:
        """GET the page's HTML as a browser's first request does; with assets, also the JS and
        CSS it names (what a browser with an empty cache fetches next)."""
        html = self.get(f"/{path}" + (f"?{query}" if query else "")).decode("utf-8", "replace")
        if assets:
            for asset in dict.fromkeys(ASSETS.findall(html)):
                self.get(f"/{asset}")

    # ---------------------------------------------------------------- websocket

    def connect(self) -> None:
        from websockets.sync.client import connect

        cookies = "; ".join(f"{c.name}={c.value}" for c in self.jar)
        self.ws = connect(self.url.replace("http://", "ws://") + "/_stcore/stream",
                          subprotocols=["streamlit"], origin=self.url, max_size=2**24,
                          open_timeout=self.timeout_s,
                          additional_headers={"Cookie": cookies} if cookies else None).__enter__()

    def close(self) -> None:
        if self.ws is not None:
            self.ws.__exit__(None, None, None)
            self.ws = None

    def __enter__(self) -> ProtocolSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def first_run(self, page: str = "", query: str = "", template=None) -> Run:  # noqa: ANN001
        """The page's first run, as a browser sends it after loading `/page?query`; context
        (time zone, locale, ...) from `template`, a recorded BackMsg, if given."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        if template is not None:
            self.context = template.rerun_script.context_info
        self._page_message(msg, page, query)
        return self.run(msg)

    def visit(self, page: str, query: str = "") -> Run:
        """Go to another page of the app (as the sidebar's link does)."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        self._page_message(msg, page, query)
        return self.run(msg)

    def _page_message(self, msg, page: str, query: str) -> None:  # noqa: ANN001
        r = msg.rerun_script
        r.query_string = query
        if page in self.pages:
            r.page_script_hash = self.pages[page]
        else:
            r.page_name = page
        if self.context is not None:
            r.context_info.CopyFrom(self.context)
        else:
            r.context_info.timezone = "UTC"
            r.context_info.locale = "en-US"
        r.context_info.url = f"{self.url}/{page}"

    def run(self, msg) -> Run:  # noqa: ANN001 - a BackMsg
        """Send one BackMsg; wait for its run's end (a run cut short by a newer one does not
        count); fetch the images it showed. Never raises for what the server answers."""
        from streamlit.proto.Alert_pb2 import Alert
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        from websockets.exceptions import WebSocketException

        start = time.perf_counter()
        deadline = time.monotonic() + self.timeout_s
        run = Run(ok=False, ms=0.0)
        media: list[str] = []
        try:
            self.ws.send(msg.SerializeToString())
            while True:
                try:
                    raw = self.ws.recv(timeout=max(0.1, deadline - time.monotonic()))
                except TimeoutError:
                    self.timeouts += 1
                    return run
                fwd = ForwardMsg()
                fwd.ParseFromString(raw)
                kind = fwd.WhichOneof("type")
                if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                    element = fwd.delta.new_element
                    which = element.WhichOneof("type")
                    if which == "exception":
                        run.exceptions += 1
                    elif which == "alert":
                        self.alerts += 1
                        run.error_alerts += element.alert.format == Alert.ERROR
                    elif which == "html" and (m := SHOWN_Z.search(element.html.body)):
                        run.shown_z1 = float(m.group(1))
                    elif which == "imgs":
                        media += [img.url for img in element.imgs.imgs]
                elif kind == "navigation":
                    self.pages = {p.url_pathname: p.page_script_hash for p in fwd.navigation.app_pages}
                elif kind == "page_not_found":
                    self.failures += 1
                    self.last_failure = f"page not found: {fwd.page_not_found.page_name!r}"
                    return run
                elif kind == "script_finished":
                    if fwd.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                        # A rerun follows (st.rerun, a page switch): the next run's elements
                        # replace these, and its start releases these images on the server.
                        media.clear()
                        run.shown_z1 = None
                        continue
                    run.finished = fwd.script_finished
                    if self.fetch_media:
                        for path in media:  # as the browser does
                            self.get(path if path.startswith("/") else "/" + path)
                    run.ok = fwd.script_finished != ForwardMsg.FINISHED_WITH_COMPILE_ERROR
                    run.ms = (time.perf_counter() - start) * 1000
                    if not run.ok:
                        self.failures += 1
                        self.last_failure = "compile error"
                    return run
        except (OSError, WebSocketException) as exc:  # the connection closed, or an image did not come
            self.failures += 1
            self.last_failure = f"{type(exc).__name__}: {exc}"[:200]
            return run
        finally:
            self.exceptions += run.exceptions
            self.error_alerts += run.error_alerts
