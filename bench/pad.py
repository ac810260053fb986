"""The live latent pad in real Chromium: in-browser decode time per frame and frames per second
of a scripted mouse drag, both measured inside the page (window.__latentPad, ui/latent_plane/plane.js).

    python -m bench.pad http://127.0.0.1:8501      # a running `streamlit run app.py`

prints JSON: pad_decode_ms (median decode time of the frames painted during the measured drag),
pad_fps (distinct decoded frames painted per second of drag, the drag timed in the page from
pointerdown to pointerup), and details. The Playwright helpers here are shared with
tests/e2e/test_latent_pad.py.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from typing import Any
from urllib.parse import urlsplit

from .chromium import CHROMIUM, CHROMIUM_ARGS, wait_idle

PAD = '[data-testid="latent-pad"]'


def wait_pad_ready(page, model: str | None = None, timeout_ms: float = 60_000) -> str:  # noqa: ANN001
    """Wait until the pad has parsed a decoder (`model`: that content id); returns the id."""
    page.wait_for_selector(PAD, timeout=timeout_ms)
    page.wait_for_function(
        "(m) => window.__latentPad && window.__latentPad.ready && (!m || window.__latentPad.model === m)",
        arg=model, timeout=timeout_ms)
    return page.evaluate("window.__latentPad.model")


def scripted_drag(page, seconds: float = 1.0, rate_hz: float = 120.0) -> dict[str, float]:  # noqa: ANN001
    """Press on the pad, move along a Lissajous curve for `seconds` of wall time, release.

    The position follows the clock (so every move lands on a new z, and the drag lasts
    `seconds` however fast the browser takes the events), with at most `rate_hz` moves a
    second. Each Playwright move waits for the browser's input acknowledgement, which Chromium
    sends once per animation frame, so up to ~60 events a second arrive, fewer on a busy
    machine. Returns the drag as the page saw it: {ms, frames, moves (pointermove events
    received), fps, first_frame} where first_frame indexes window.__latentPad.decodeMs at the
    drag's start."""
    box = page.locator(PAD).first.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    rx, ry = box["width"] * 0.38, box["height"] * 0.38

    def point(t: float) -> tuple[float, float]:
        return cx + rx * math.sin(2 * math.pi * t), cy + ry * math.sin(4 * math.pi * t + 0.5)

    drags_before, first_frame = page.evaluate(
        "[window.__latentPad.drags.length, window.__latentPad.decodeMs.length]")
    page.mouse.move(*point(0.0))
    page.mouse.down()
    start, sent = time.perf_counter(), 0
    while (elapsed := time.perf_counter() - start) < seconds:
        page.mouse.move(*point(elapsed / seconds))
        sent += 1
        time.sleep(max(0.0, start + sent / rate_hz - time.perf_counter()))
    page.mouse.move(*point(1.0))
    page.mouse.up()
    page.wait_for_function(f"window.__latentPad.drags.length > {drags_before}", timeout=10_000)
    drag = page.evaluate("window.__latentPad.drags[window.__latentPad.drags.length - 1]")
    return {"ms": drag["ms"], "frames": drag["frames"], "moves": drag["moves"],
            "fps": drag["frames"] / (drag["ms"] / 1000.0), "first_frame": first_frame}


def decoder_page_url(url: str) -> str:
    """A server's base URL -> its decoder page; a URL with a path is used as it is."""
    parts = urlsplit(url)
    return url.rstrip("/") + "/decoder" if parts.path in ("", "/") else url


def measure_pad(url: str, seconds: float = 1.5, repeats: int = 3) -> dict[str, Any]:
    """Open the decoder page of the app at `url` in Chromium, warm the JIT with a short drag,
    then do `repeats` scripted drags of `seconds` each; pad_fps is their median fps,
    pad_decode_ms the median decode time over all their frames."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            if decoder_page_url(url) != url:
                # The app's root first: on a fresh server a deep link that comes first is run as a
                # legacy pages/ page, without app.py (no wide layout, another sidebar).
                page.goto(url, wait_until="domcontentloaded")
                wait_idle(page, timeout=120_000)
            page.goto(decoder_page_url(url), wait_until="domcontentloaded")
            wait_idle(page, timeout=120_000)
            model = wait_pad_ready(page, timeout_ms=120_000)
            wait_idle(page, timeout=60_000)
            scripted_drag(page, seconds=0.4)  # warm-up: JIT, first paints
            wait_idle(page, timeout=60_000)
            drags, decode_ms = [], []
            for _ in range(repeats):
                drag = scripted_drag(page, seconds=seconds)
                times = page.evaluate(f"window.__latentPad.decodeMs.slice({drag['first_frame']})")
                decode_ms.extend(times[: drag["frames"]])
                drags.append(drag)
                wait_idle(page, timeout=60_000)
            loop_ms = page.evaluate("""() => {  // back-to-back decodes, no painting
                const t = [], pad = window.__latentPad;
                for (let i = 0; i < 200; i++) {
                    const t0 = performance.now(); pad.decode(Math.sin(i) * 3, Math.cos(i * 1.3) * 3);
                    t.push(performance.now() - t0);
                }
                return t; }""")
        finally:
            browser.close()
    fps = [d["fps"] for d in drags]
    return {
        "pad_decode_ms": round(statistics.median(decode_ms), 3),
        "pad_fps": round(statistics.median(fps), 1),
        "pad_detail": {
            "drags": len(drags),
            "fps_each": [round(f, 1) for f in fps],
            "frames_each": [d["frames"] for d in drags],
            "drag_s_each": [round(d["ms"] / 1000, 2) for d in drags],
            # The input side: pointermove events the page received per second of drag. Frames
            # cannot outnumber them; headless Chromium driven by Playwright delivers <= ~60/s.
            "pointer_events_per_s_each": [round(d["moves"] / (d["ms"] / 1000), 1) for d in drags],
            "decode_ms_p95": round(sorted(decode_ms)[int(0.95 * (len(decode_ms) - 1))], 3),
            "decode_ms_loop_median": round(statistics.median(loop_ms), 3),
            "frames_measured": len(decode_ms),
            "model": model,
        },
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m bench.pad URL   (a running app, e.g. http://127.0.0.1:8501)", file=sys.stderr)
        return 2
    print(json.dumps(measure_pad(argv[0]), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
