"""Load and soak on the decoder page: 10 concurrent browser sessions pressing the z1 slider's
arrow keys (each step decoded in the browser, then committed: a rerun), then 1,000 more reruns
in one session while the server's memory is sampled. Zero exceptions, zero timeouts, memory
flat, the model loaded once.

Phase 2 replays the browser's own message (bench/protocol.py, shared with the classroom
benchmark). A rerun in Chromium cost ~140 ms of browser CPU (rendering, measured) against ~40-60
ms in the server, which makes 1,000 of them several minutes on two cores. So the browser session
records the exact BackMsg its arrow key sends (a fragment rerun with every widget's state), and
a plain websocket client in the same protocol sends it 1,000 times with z1 stepped, waits for
each run's script_finished, and fetches the images it is given, as the browser would. The server
cannot tell the difference; the browser's rendering, which the memory bound is not about, is
left out.

The server here is this test's own (the shared `server` fixture does not expose its pid or log),
running a snapshot of the app (app.py, pages/, ui/, vae/, .streamlit/, the shipped checkpoint;
data/ linked): a training run or another test writing into checkpoints/ meanwhile would
otherwise make it load new models in the middle of the measurement.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.browser import rss_mb
from bench.protocol import RERUN_DONE, SETTLED, SLIDER, STEP, ProtocolSession, arrow_key_message, listen, set_z

from .conftest import CHROMIUM, CHROMIUM_ARGS, ROOT, running_server

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

SESSIONS = 10
CONCURRENT_SECONDS = 20.0
RERUNS = 1000
WARMUP_RERUNS = 200  # memory growth is measured over the last RERUNS - WARMUP_RERUNS
RSS_EVERY = 50
MAX_GROWTH_MB = 60.0
STEP_TIMEOUT_S = 30.0
FOCUSED = "(el) => el.getRootNode().activeElement === el"  # el has the focus in its (shadow) root


def _progress(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@pytest.fixture(scope="module")
def soak_server(tmp_path_factory):
    """`streamlit run` on a snapshot of the app; yields url, pid and the log's path."""
    app = tmp_path_factory.mktemp("soak-app")
    shutil.copy2(ROOT / "app.py", app / "app.py")
    for folder in ("pages", "ui", "vae", ".streamlit"):
        shutil.copytree(ROOT / folder, app / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (app / "checkpoints").mkdir()
    shutil.copy2(ROOT / "checkpoints" / "mnist-2d.safetensors", app / "checkpoints")
    (app / "data").symlink_to(ROOT / "data")
    # Its own checkpoint folder (one model), not the test session's copy of all of them.
    env = {"LATENT_EXPLORER_CHECKPOINT_DIR": str(app / "checkpoints")}
    with running_server(cwd=app, log_path=app / "server.log", env=env) as (url, proc, log_path):
        yield SimpleNamespace(url=url, pid=proc.pid, log=log_path)


@dataclass
class Session:
    steps: int = 0
    timeouts: int = 0
    exceptions: int = 0
    alerts: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _next(k: int, direction: int, limit: int = 60) -> tuple[int, int]:
    """Walk z1 back and forth over [-limit, limit] steps (the slider stops at +-80)."""
    if abs(k + direction) > limit:
        direction = -direction
    return k + direction, direction


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else float("nan")


# ------------------------------------------------------------------ phase 1: browser sessions


async def _open_decoder(browser, url: str, gate: asyncio.Semaphore, sent: list[bytes] | None = None):
    """A settled decoder page with z1's slider focused; `sent` collects its websocket messages."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    if sent is not None:
        listen(page, sent)
    async with gate:  # a few page loads at a time: the soak is what follows
        await page.goto(f"{url}/decoder", wait_until="domcontentloaded", timeout=120_000)
        await page.wait_for_function(RERUN_DONE, arg=0.0, timeout=120_000)
        await page.evaluate(SETTLED, 1000)
    slider = page.locator(SLIDER).first  # in the plane's shadow root: found by the locator
    await slider.wait_for(timeout=60_000)  # the plane has loaded (hidden until styled)
    await slider.focus()
    await page.wait_for_function(FOCUSED, arg=await slider.element_handle(), timeout=10_000)
    return context, page


async def _press(page, k: int, direction: int, stats: Session, timeout_error) -> bool:
    """One arrow key on the focused z1 slider; wait until its rerun is done. False on timeout."""
    start = time.perf_counter()
    await page.keyboard.press("ArrowRight" if direction > 0 else "ArrowLeft")
    try:
        await page.wait_for_function(RERUN_DONE, arg=round(k * STEP, 2), polling=10,
                                     timeout=STEP_TIMEOUT_S * 1000)
    except timeout_error:
        stats.timeouts += 1
        stats.notes.append(await page.evaluate(
            """(el) => ({focused: el.getRootNode().activeElement === el,
                        state: document.querySelector('[data-testid="stApp"]').dataset.testScriptState,
                        z: [...document.querySelectorAll('img[alt^="E[x|z] at z"]')].map(e => e.alt)})""",
            await page.locator(SLIDER).first.element_handle()))
        return False
    stats.latencies_ms.append((time.perf_counter() - start) * 1000)
    stats.steps += 1
    return True


async def _walk(page, stats: Session, end: float, timeout_error, direction: int) -> None:
    k = 0
    while time.monotonic() < end:
        k, direction = _next(k, direction)
        if not await _press(page, k, direction, stats, timeout_error):
            break
    stats.exceptions = await page.locator('[data-testid="stException"]').count()
    stats.alerts = await page.locator('[data-testid="stAlert"]').count()


async def _browser_phase(url: str) -> tuple[list[Session], list[bytes]]:
    """Ten sessions at once; returns their stats and the messages session 0 sent."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            gate = asyncio.Semaphore(3)
            sent: list[bytes] = []
            opened = await asyncio.gather(*(_open_decoder(browser, url, gate, sent if i == 0 else None)
                                            for i in range(SESSIONS)))
            _progress(f"{SESSIONS} sessions open")
            sessions = [Session() for _ in opened]
            end = time.monotonic() + CONCURRENT_SECONDS
            await asyncio.gather(*(_walk(page, s, end, PlaywrightTimeout, 1 if i % 2 == 0 else -1)
                                   for i, ((_, page), s) in enumerate(zip(opened, sessions))))
            for context, _ in opened:
                await context.close()
        finally:
            await browser.close()
    _progress(f"browser phase done: {[s.steps for s in sessions]} reruns, "
              f"{[s.timeouts for s in sessions]} timeouts")
    return sessions, sent


# ------------------------------------------------------------------ phase 2: replayed reruns


def _replay(url: str, pid: int, template) -> tuple[Session, list[tuple[int, float]], float]:
    """A new session: the page's first run, then RERUNS arrow-key reruns, each awaited."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    stats = Session()
    step = BackMsg()
    step.CopyFrom(template)
    del step.rerun_script.cached_message_hashes[:]  # we cache nothing: send everything
    rss: list[tuple[int, float]] = [(0, rss_mb(pid))]
    with ProtocolSession(url, timeout_s=STEP_TIMEOUT_S) as session:
        session.connect()
        assert session.first_run("decoder", template=template).ok, "the page's first run did not finish"
        k, direction = 0, 1
        started = time.monotonic()
        for i in range(1, RERUNS + 1):
            k, direction = _next(k, direction)
            set_z(step, round(k * STEP, 2))
            run = session.run(step)
            if not run.ok:
                break
            assert run.finished == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY, run
            assert run.shown_z1 is not None and abs(run.shown_z1 - k * STEP) < 1e-3, (run.shown_z1, k * STEP)
            stats.latencies_ms.append(run.ms)
            stats.steps += 1
            if i % RSS_EVERY == 0:
                rss.append((i, rss_mb(pid)))
                if i % (4 * RSS_EVERY) == 0:
                    _progress(f"rerun {i}: RSS {rss[-1][1]:.0f} MB")
        seconds = time.monotonic() - started
    stats.timeouts, stats.exceptions, stats.alerts = session.timeouts, session.exceptions, session.alerts
    return stats, rss, seconds


# ------------------------------------------------------------------ the test


@pytest.mark.timeout(900)  # ~2-3 min on an idle 2-core machine; much more when it is shared
def test_soak_ten_sessions_then_a_thousand_reruns(soak_server) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (make setup does)")
    started = time.monotonic()
    # In a thread of its own: the session-wide sync Playwright of the other e2e tests keeps an
    # event loop running in this thread, and asyncio.run refuses to nest in it.
    with ThreadPoolExecutor(1) as pool:
        sessions, sent = pool.submit(asyncio.run, _browser_phase(soak_server.url)).result()
    concurrent = [ms for s in sessions for ms in s.latencies_ms]
    print(f"\n{SESSIONS} browser sessions x {CONCURRENT_SECONDS:.0f} s: {sum(s.steps for s in sessions)} reruns "
          f"(per session {min(s.steps for s in sessions)}-{max(s.steps for s in sessions)}), "
          f"latency p50 {_p(concurrent, 50):.0f} ms, p95 {_p(concurrent, 95):.0f} ms, "
          f"timeouts {sum(s.timeouts for s in sessions)}, exceptions {sum(s.exceptions for s in sessions)}")
    for i, s in enumerate(sessions):
        assert s.timeouts == 0 and s.exceptions == 0 and s.alerts == 0, (i, s)
        assert s.steps >= 1, (i, s.steps)  # every session really got reruns through

    single, rss, seconds = _replay(soak_server.url, soak_server.pid, arrow_key_message(sent))
    base = dict(rss).get(WARMUP_RERUNS, float("nan"))
    growth = rss[-1][1] - base
    peak = max((mb for i, mb in rss if i >= WARMUP_RERUNS), default=float("nan")) - base
    print(f"1 session: {single.steps} reruns in {seconds:.1f} s, latency p50 {_p(single.latencies_ms, 50):.0f} ms, "
          f"p95 {_p(single.latencies_ms, 95):.0f} ms; server RSS (MB) at rerun "
          + ", ".join(f"{i}: {mb:.0f}" for i, mb in rss)
          + f"; growth over the last {RERUNS - WARMUP_RERUNS}: {growth:+.1f} MB (peak {peak:+.1f}); "
          f"soak {time.monotonic() - started:.0f} s")
    assert single.timeouts == 0 and single.exceptions == 0 and single.alerts == 0, single.notes
    assert single.steps == RERUNS
    assert peak < MAX_GROWTH_MB, rss

    log = soak_server.log.read_text()
    loads = [line for line in log.splitlines() if "loaded checkpoint" in line]
    assert len(loads) == 1, loads  # one model for all 12 sessions and every rerun
    assert "Traceback" not in log, log[-3000:]
