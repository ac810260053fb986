"""A cold server (`python -m bench.run cold`): a fresh `streamlit run` whose saved-array cache
(data/cache/, vae/arraycache.py) is an empty folder, as on a new clone; real Chromium.

- typicality_cold_s: page.goto("/typicality") on the just-started server (healthy, nothing
  loaded yet) -> its verdict ("... percentile NN.N %") is on the page (the default model)
- typicality_cold_idle_s: the same visit -> the page's script has finished (the ranked images)
- typicality_cold_by_model_s: the same for each shipped model, each first visit of its own
- cold_pages_s: every other page's first visit on that server -> its script has finished
"""

from __future__ import annotations

import re
import tempfile
import time

from .browser import PAGES, start_server, stop_server, wait_health
from .chromium import CHROMIUM, CHROMIUM_ARGS, free_port, wait_idle

VERDICT = re.compile(r"percentile \d+\.\d %")
TIMEOUT_MS = 300_000


def _visit(page, url: str) -> tuple[float, float]:  # noqa: ANN001 - playwright Page
    """(seconds to the verdict, seconds to idle) of one Typicality visit."""
    start = time.perf_counter()
    page.goto(url)
    page.get_by_text(VERDICT).first.wait_for(timeout=TIMEOUT_MS)
    verdict = time.perf_counter() - start
    wait_idle(page, timeout=TIMEOUT_MS)
    return round(verdict, 2), round(time.perf_counter() - start, 2)


def run(models: tuple[str, ...] = ("mnist-2d-beta4", "mnist-2d-cvae")) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cache = tempfile.TemporaryDirectory(prefix="latent-explorer-cold-")
    server = start_server(port, cache_dir=cache.name)
    results: dict[str, object] = {}
    try:
        wait_health(url, proc=server)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            verdict, idle = _visit(page, f"{url}/typicality")
            results.update(typicality_cold_s=verdict, typicality_cold_idle_s=idle)
            results["typicality_cold_by_model_s"] = {name: _visit(page, f"{url}/typicality?model={name}")[0]
                                                     for name in models}
            pages: dict[str, float] = {}
            for path in PAGES:
                if path == "typicality":
                    continue
                start = time.perf_counter()
                page.goto(f"{url}/{path}")
                page.wait_for_selector('[data-testid="stApp"]')
                wait_idle(page, timeout=TIMEOUT_MS)
                pages[path or "home"] = round(time.perf_counter() - start, 2)
            results["cold_pages_s"] = pages
            browser.close()
    finally:
        stop_server(server)
        cache.cleanup()
    return results


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
