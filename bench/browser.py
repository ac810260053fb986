"""Browser benchmarks: a real `streamlit run` server, Debian's Chromium via Playwright.

- startup_s: process start -> first page fully rendered in the browser
- tables_ready_s: process start -> the launcher's background build of every model's grids and
  coding table (ui/server.py, on this empty cache) has finished; the timed interactions start
  after it
- slider_roundtrip_ms: ArrowRight on the decoder plane's z1 slider -> the new z's digit painted
  (the plane decodes a step itself; timed inside the page: the keydown's timestamp -> the frame
  after the plane's canvas was painted)
- slider_server_ms: the same step -> the server's own picture of E[x|z] shows the new z (the
  plane commits once a burst of steps has been still for 180 ms: that wait is included)
- map_click_roundtrip_ms: click on the manifold -> decoded image of that z painted (the map is
  the latent pad: the browser decodes the click itself; timed inside the page: pointerdown ->
  the frame after the digit's canvas was painted)
- map_click_server_ms: the same click -> the server's rerun has shown the chosen z on the page
  (the commit's round trip: link to the decoder, CVAE style row)
- rss_mb: the server's resident memory after visiting every page (cold: the server's saved
  arrays go to an empty temporary folder, so the typicality scores are computed, not read)
- array_cache_mb: what that folder then holds: the decoded grids and coding tables the pages map
  from files for each use (vae.arraycache.saved_arrays), in the kernel's page cache rather than
  the server's memory, one copy for every replica
- concurrency: N sessions pressing slider keys for T seconds at once; errors and round trips
  (timed to the server's picture naming the new z, so each includes the plane's 180 ms commit
  delay: what is measured is the server under N sessions' reruns)
"""

from __future__ import annotations

import ast
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from .backend import summarize
from .chromium import CHROMIUM, CHROMIUM_ARGS, IDLE, free_port, wait_idle
from .transfer import page_visit_mb
from .pad import PAD, wait_pad_ready

ROOT = Path(__file__).resolve().parent.parent


def app_pages() -> list[str]:
    """Every page's URL path, in the sidebar's order, read from app.py's registry (`PageEntry`
    calls; importing app.py would run Streamlit)."""
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    return [ast.literal_eval(call.args[3]) for call in ast.walk(tree)
            if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "PageEntry"]


PAGES = app_pages()

# In-page probe for the decoder's sliders: keydown -> the plane's animation frame that paints the
# stepped z's digit (window.__latentPad.shownAt) -> one more frame (the frame that shows it); and
# keydown -> the server's picture names the z the plane then committed. Times start at the key's
# own timeStamp; the frames are watched from the slider's `input` event (composed, bubbling up
# after the plane's own handler has scheduled its paint), so they are counted, not over-counted.
SLIDER_PROBE = """
() => {
  window.__rt = []; window.__server = [];
  const pad = window.__latentPad, fmt = (v) => (v < 0 ? '-' : '+') + Math.abs(v).toFixed(2);
  let t0 = null;
  window.addEventListener('keydown', (e) => { t0 = e.timeStamp; });
  window.addEventListener('input', () => {
    if (t0 === null) return;
    const start = t0, before = pad.committed;
    t0 = null;
    const painted = () => {
      if (pad.shownAt > start) requestAnimationFrame(() => window.__rt.push(performance.now() - start));
      else requestAnimationFrame(painted);
    };
    requestAnimationFrame(painted);
    const shown = () => {
      const c = pad.committed, img = document.querySelector('img[alt^="E[x|z] at z = ("]');
      if (c && c !== before && img && img.alt.endsWith(`(${fmt(c[0])}, ${fmt(c[1])})`)) {
        window.__server.push(performance.now() - start);
      }
      else requestAnimationFrame(shown);
    };
    requestAnimationFrame(shown);
  });
}
"""


# In-page probe for the map: pointerdown -> the pad's animation frame that puts the clicked z's
# digit on the canvas (window.__latentPad.shownAt; the digit may be there already when a hover
# decoded that very z) -> one more animation frame (the frame that shows it); and pointerdown ->
# the page's "Chosen z = ..." text shows the newly committed z. Times start at the event's own
# timeStamp (input delay counts); the listener is in the bubble phase, after the pad's own
# handler has scheduled its paint, so the frames are counted, not over-counted.
MAP_PROBE = """
() => {
  window.__paint = []; window.__server = [];
  const pad = window.__latentPad, fmt = (v) => (v < 0 ? '-' : '+') + Math.abs(v).toFixed(2);
  const main = document.querySelector('[data-testid="stMain"]');
  window.addEventListener('pointerdown', (e) => {
    const t0 = e.timeStamp, before = pad.committed;  // the event's own time: input delay counts
    const painted = () => {
      if (pad.shownAt > t0) requestAnimationFrame(() => window.__paint.push(performance.now() - t0));
      else requestAnimationFrame(painted);
    };
    requestAnimationFrame(painted);
    const shown = () => {
      const c = pad.committed;
      if (c && c !== before && main.innerText.includes(`Chosen z = (${fmt(c[0])}, ${fmt(c[1])})`)) {
        window.__server.push(performance.now() - t0);
      }
      else requestAnimationFrame(shown);
    };
    window.addEventListener('pointerup', () => requestAnimationFrame(shown), { once: true });
  });
}
"""


def streamlit_command(port: int) -> list[str]:
    """The one way benchmarks and tests start the app (ui.server.command: `streamlit run app.py`
    with its imports done before it listens): loopback only, no file watcher."""
    from ui.server import command

    return command(port)


def start_server(port: int, cache_dir: str | None = None, checkpoint_dir: str | None = None) -> subprocess.Popen:
    """The app on `port`; with cache_dir, its saved arrays (vae/arraycache.py) go there, e.g. an
    empty folder so that memory and page times are measured cold; with checkpoint_dir, its
    models come from (and a training run writes into) that folder instead of checkpoints/."""
    env = dict(os.environ)
    if cache_dir:
        env["LATENT_EXPLORER_CACHE_DIR"] = cache_dir
    if checkpoint_dir:
        env["LATENT_EXPLORER_CHECKPOINT_DIR"] = checkpoint_dir
    return subprocess.Popen(streamlit_command(port), cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def copy_checkpoints(into: Path) -> Path:
    """The shipped checkpoints (and what ships beside them) copied into `into`, user/ left out."""
    shutil.copytree(ROOT / "checkpoints", into, dirs_exist_ok=True, ignore=shutil.ignore_patterns("user"))
    return into


def shipped_models() -> list[str]:
    return sorted(p.name[: -len(".safetensors")] for p in (ROOT / "checkpoints").glob("*.safetensors"))


def train_tiny_model(page, url: str, folder: Path, timeout_s: float = 600, name: str | None = None) -> str:  # noqa: ANN001
    """Train a one-epoch model from the Train page, as a visitor would; returns its name once
    the job has written it into `folder`/user/ (the one way benchmarks and e2e tests do it)."""
    name = name or f"bench-{int(time.time())}"
    page.goto(f"{url}/train")
    wait_idle(page)
    field = page.locator('input[aria-label="Name"]')
    field.fill(name)
    field.press("Enter")
    wait_idle(page)
    epochs = page.locator('[data-testid="stSlider"] input[type="range"]').nth(1)  # beta, epochs
    epochs.focus()
    for _ in range(10):
        page.keyboard.press("ArrowLeft")  # down to 1 epoch
    wait_idle(page)
    page.get_by_role("button", name="Start training").click()
    deadline = time.time() + timeout_s
    target = folder / "user" / f"{name}.safetensors"
    while time.time() < deadline and not target.exists():
        time.sleep(1)
    if not target.exists():
        raise RuntimeError("the training job did not finish in time")
    return name


def stop_server(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """Ask the server to stop (SIGTERM), and kill it if it has not within grace_s (the one way
    benchmarks, tests and `make serve` stop a process: deploy.serve.stop)."""
    from deploy.serve import stop

    stop(proc, grace_s)


def wait_health(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    """Return once the server answers /_stcore/health; RuntimeError if it does not in time
    (or, given its process, if that exits first)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}")
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not become healthy")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def wait_prebuild(server_pid: int, t_start: float, timeout_s: float = 300.0) -> float | None:
    """Seconds from t_start until no child of the server runs `vae.model_tables` (the launcher's
    background build, ui/server.py prebuild_tables); None if none ran."""
    def building() -> bool:
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                ppid = next(int(line.split()[1]) for line in status.read_text().splitlines()
                            if line.startswith("PPid:"))
                if ppid == server_pid and b"vae.model_tables" in (status.parent / "cmdline").read_bytes():
                    return True
            except (OSError, StopIteration, ValueError):
                continue
        return False

    if not building():
        return None
    deadline = time.time() + timeout_s
    while building() and time.time() < deadline:
        time.sleep(0.5)
    return round(time.perf_counter() - t_start, 1)


def folder_mb(folder: Path) -> float:
    return round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20, 1)


def run(moves: int = 60, clicks: int = 30, sessions: int = 10, seconds: float = 30.0) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    results: dict[str, object] = {}
    cold_cache = tempfile.TemporaryDirectory(prefix="latent-explorer-bench-")
    models = tempfile.TemporaryDirectory(prefix="latent-explorer-bench-models-")
    copy_checkpoints(Path(models.name))
    t_start = time.perf_counter()
    server = start_server(port, cache_dir=cold_cache.name, checkpoint_dir=models.name)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            wait_health(url)
            page.goto(url)
            page.get_by_role("heading", name="Start here: what a VAE computes, and why").wait_for(timeout=120_000)
            wait_pad_ready(page)
            wait_idle(page)
            results["startup_s"] = round(time.perf_counter() - t_start, 2)
            # The timed interactions below are a running server's; on this fresh cache the
            # launcher's background build of every model's tables (vae.model_tables, nice 19)
            # takes one core for a while first: wait for it, and say how long it took.
            results["tables_ready_s"] = wait_prebuild(server.pid, t_start)

            # Slider steps: start at z1 = -3 so every step decodes a new z (no cache hits); each
            # step waits for the server to follow (its commit's rerun) before the next.
            page.goto(f"{url}/decoder?z1=-3.00&z2=0.50")
            wait_pad_ready(page)
            wait_idle(page)
            page.evaluate(SLIDER_PROBE)
            slider = page.get_by_test_id("latent-pad-slider-z1")
            slider.focus()
            for i in range(moves):
                page.keyboard.press("ArrowRight")
                page.wait_for_function(f"window.__server.length >= {i + 1}", timeout=10_000)
                wait_idle(page)
            results["slider_roundtrip_ms"] = summarize(page.evaluate("window.__rt"))
            results["slider_server_ms"] = summarize(page.evaluate("window.__server"))

            # Map click: click distinct points of the manifold (the latent pad, ui/latent_plane/plane.js).
            page.goto(f"{url}/manifold")
            wait_pad_ready(page)
            wait_idle(page)
            page.evaluate(MAP_PROBE)
            box = page.locator(PAD).bounding_box()
            rng = random.Random(0)
            for i in range(clicks):
                x = box["x"] + box["width"] * rng.uniform(0.1, 0.9)
                y = box["y"] + box["height"] * rng.uniform(0.1, 0.9)
                page.mouse.click(x, y)
                page.wait_for_function(f"window.__paint.length > {i} && window.__server.length > {i}",
                                       timeout=20_000)
                wait_idle(page)
            results["map_click_roundtrip_ms"] = summarize(page.evaluate("window.__paint"))
            results["map_click_server_ms"] = summarize(page.evaluate("window.__server"))

            # Bytes a browser receives for the decoder page: first visit, then a revisit.
            visits = page_visit_mb(browser, f"{url}/decoder")
            results["decoder_first_visit_mb"] = visits["first"]
            results["decoder_revisit_mb"] = visits["revisit"]

            # Memory after every page has been visited once.
            for path in PAGES:
                page.goto(f"{url}/{path}")
                page.wait_for_selector('[data-testid="stApp"]')
                wait_idle(page)
            results["rss_mb"] = rss_mb(server.pid)
            results["array_cache_mb"] = folder_mb(Path(cold_cache.name))

            # Every shipped model on every page, then one training run from the Train page.
            for name in shipped_models():
                for path in PAGES:
                    page.goto(f"{url}/{path}?model={name}")
                    page.wait_for_selector('[data-testid="stApp"]')
                    wait_idle(page, timeout=300_000)
            train_tiny_model(page, url, Path(models.name))
            results["rss_mb_all_models"] = rss_mb(server.pid)
            browser.close()
        results["concurrency"] = asyncio.run(_concurrency(url, sessions, seconds))
    finally:
        stop_server(server)
        cold_cache.cleanup()
        models.cleanup()
    return results


DECODED = 'img[alt^="E[x|z] at z"]'  # the decoder page's server-side picture; its alt names z


async def _concurrency(url: str, sessions: int, seconds: float) -> dict[str, object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        async def one(i: int) -> tuple[list[float], int]:
            context = await browser.new_context(viewport={"width": 1300, "height": 900})
            page = await context.new_page()
            errors = 0
            rts: list[float] = []
            try:
                await page.goto(f"{url}/decoder?z1=-3.50&z2={-1 + 0.2 * i:.2f}")
                await page.wait_for_selector(DECODED, timeout=120_000)
                await page.wait_for_selector(IDLE, timeout=60_000)
                slider = page.get_by_test_id("latent-pad-slider-z1")
                await slider.wait_for(timeout=60_000)  # the plane has loaded (it is hidden until styled)
                await slider.focus()
                end = time.perf_counter() + seconds
                step = 0
                while time.perf_counter() < end:
                    key = "ArrowRight" if (step // 140) % 2 == 0 else "ArrowLeft"
                    before = await page.get_attribute(DECODED, "alt")  # "E[x|z] at z = (...)"
                    t0 = time.perf_counter()
                    await page.keyboard.press(key)
                    try:
                        await page.wait_for_function(
                            "([sel, b]) => document.querySelector(sel).alt !== b",
                            arg=[DECODED, before], timeout=10_000, polling="raf")
                        rts.append((time.perf_counter() - t0) * 1000.0)
                    except Exception:
                        errors += 1
                    step += 1
                errors += await page.locator('[data-testid="stException"]').count()
            except Exception:
                errors += 1
            finally:
                await context.close()
            return rts, errors

        outcomes = await asyncio.gather(*(one(i) for i in range(sessions)))
        await browser.close()
    all_rts = [rt for rts, _ in outcomes for rt in rts]
    summary = summarize(all_rts) if all_rts else {"p50": None, "p95": None, "n": 0}
    return {"sessions": sessions, "seconds": seconds, "errors": sum(e for _, e in outcomes),
            "moves": len(all_rts), "p50": summary["p50"], "p95": summary["p95"]}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
