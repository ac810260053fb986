"""A real `streamlit run app.py` server on a free port, driven by Debian's Chromium."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.browser import stop_server, streamlit_command, wait_health
from bench.chromium import CHROMIUM, CHROMIUM_ARGS, free_port, wait_idle  # noqa: F401 - wait_idle: for the tests

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"


@contextlib.contextmanager
def running_server(cwd: Path = ROOT, log_path: Path | None = None, env: dict[str, str] | None = None,
                   plain: bool = False):
    """Start the app (ui.server's launcher; with `plain`, bare `streamlit run app.py`) in `cwd`
    on a free port; yield (url, process, log path); stop it. Fails the test with the server's
    log if it does not become healthy. A log_path given by the caller is kept; the default one
    is removed afterwards. `env`: variables to set for the server (e.g. its own checkpoint folder).
    """
    port = free_port()
    keep_log = log_path is not None
    log_path = log_path or ROOT / "tests" / f".streamlit-e2e-{port}.log"
    log = open(log_path, "w+")
    command = streamlit_command(port)
    if plain:  # what someone who skips the launcher runs: Streamlit's legacy pages/ mode can start
        command = [sys.executable, "-m", "streamlit", "run", "app.py", *command[3:]]
    proc = subprocess.Popen(
        command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_health(url, timeout=90, proc=proc)
        except RuntimeError as exc:
            proc.kill()
            log.seek(0)
            pytest.fail(f"streamlit did not start ({exc}):\n{log.read()[-3000:]}")
        yield url, proc, log_path
    finally:
        stop_server(proc)
        log.close()
        if not keep_log:
            os.unlink(log_path)


@pytest.fixture(scope="session")
def server():
    """The app's base URL, served for the whole test session."""
    with running_server() as (url, _proc, _log):
        yield url


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (make setup does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture
def phone(browser):
    """A page in a phone-sized, touch-enabled context (Chromium at 390 x 844)."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True,
                                  device_scale_factor=2)
    pg = context.new_page()
    yield pg
    context.close()


def open_page(page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    wait_idle(page)


def assert_no_exception(page) -> None:
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, errors.first.inner_text()


def screenshot(page, name: str) -> None:
    """docs/screenshots/<name>.png of the whole page. Streamlit scrolls inside stMain, so a
    full-page screenshot would show one screen: the viewport is made as tall as the content
    (at most 6000 px) for the picture, then put back."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    tall = page.evaluate("() => (document.querySelector('[data-testid=\"stMain\"]') || {}).scrollHeight || 0")
    if size and tall > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": min(int(tall) + 40, 6000)})
        page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    if size and tall > size["height"]:
        page.set_viewport_size(size)
