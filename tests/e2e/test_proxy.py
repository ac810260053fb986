"""Two replicas behind HAProxy, started by deploy/serve.py as `make serve REPLICAS=2` does, in
real Chromium: a visitor's view survives the death of the replica that served it (the proxy
sends the reload to the other replica; the view comes back from the URL), the dead replica is
started again, a model written to the shared checkpoints folder is in every replica's picker,
an upload reaches the replica holding its session while an over-limit one is refused by the
proxy itself, and a nested path is redirected.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from deploy.serve import COOKIE, launched, max_upload_mb
from tests.upload_images import draw_digit, encode
from vae.checkpoint import CHECKPOINT_DIR

from .conftest import assert_no_exception, free_port, wait_idle

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

SLIDERS = '[data-testid^="latent-pad-slider-z"]'  # the decoder plane's own z1, z2 sliders


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    """`python -m deploy.serve --replicas 2` on free ports; the replicas inherit this test
    session's environment (its copy of the checkpoints, LATENT_EXPLORER_CHECKPOINT_DIR)."""
    port = free_port()
    run_dir = tmp_path_factory.mktemp("serve")
    try:
        with launched(2, port, run_dir, timeout=180) as state:
            yield SimpleNamespace(url=f"http://127.0.0.1:{port}", port=port, state=state, run_dir=run_dir)
    except RuntimeError as exc:
        pytest.fail(str(exc))


def _request(port: int, method: str, path: str, headers: dict[str, str] | None = None,
             body: bytes | None = None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.putrequest(method, path)
    for name, value in (headers or {}).items():
        conn.putheader(name, value)
    conn.endheaders(body)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def _state(proxy) -> dict:  # noqa: ANN001
    return json.loads((proxy.run_dir / "replicas.json").read_text())


def _gone(pid: int) -> bool:
    """Exited: no process, or a zombie until the launcher reaps it."""
    try:
        return "zombie" in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True


def _z(page) -> tuple[float, float]:  # noqa: ANN001
    """z as the plane's sliders show it, once the plane has painted it (their read-outs filled;
    they are in the plane's shadow root, which locators pierce and document.querySelector not)."""
    for i in (0, 1):
        expect(page.locator(f"{SLIDERS} + output").nth(i)).to_have_text(re.compile(r"^[+-]\d+\.\d\d$"), timeout=60_000)
    sliders = page.locator(SLIDERS)
    return float(sliders.nth(0).input_value()), float(sliders.nth(1).input_value())


def test_a_view_survives_its_replica(proxy, page) -> None:
    # A nested path is sent to its page, the link's state kept.
    response = _request(proxy.port, "GET", "/decoder/extra?model=mnist-2d-beta4&z1=1.2&z2=-0.5")
    assert response.status == 302
    assert response.getheader("Location") == "/decoder?model=mnist-2d-beta4&z1=1.2&z2=-0.5"

    first = page.goto(f"{proxy.url}/decoder/extra?model=mnist-2d-beta4&z1=1.2&z2=-0.5")
    page.wait_for_selector(SLIDERS, timeout=120_000)
    wait_idle(page)
    assert page.url.startswith(f"{proxy.url}/decoder?")
    replicas = {r["name"]: r for r in proxy.state["replicas"]}
    served = first.headers["x-replica"]
    assert served in replicas
    assert {c["name"]: c["value"] for c in page.context.cookies()}[COOKIE] == served  # sticky
    assert _z(page) == (1.2, -0.5)
    # The visitor moves z1 one step; the URL follows.
    page.locator(SLIDERS).first.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => location.search.includes('z1=1.25')", timeout=30_000)
    wait_idle(page)

    # Its replica dies.
    pid = replicas[served]["pid"]
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)

    # A reload is served by the other replica and brings the same view back from the URL.
    again = page.reload(wait_until="domcontentloaded")
    other = again.headers["x-replica"]
    assert other != served and other in replicas
    page.wait_for_selector(SLIDERS, timeout=120_000)
    wait_idle(page)
    assert page.url.startswith(f"{proxy.url}/decoder?")
    assert "z1=1.25" in page.url and "z2=-0.50" in page.url and "model=mnist-2d-beta4" in page.url
    assert _z(page) == (1.25, -0.5)
    page.get_by_role("heading", name="Decoder").wait_for()
    assert "Model: mnist-2d-beta4" in page.locator('[data-testid="stPopover"]').first.inner_text()
    assert {c["name"]: c["value"] for c in page.context.cookies()}[COOKIE] == other
    assert_no_exception(page)

    # The launcher starts the dead replica again and the proxy takes it back.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        restarted = {r["name"]: r for r in _state(proxy)["replicas"]}[served]
        if restarted["starts"] == 2:
            answer = _request(proxy.port, "GET", "/_stcore/health", {"Cookie": f"{COOKIE}={served}"})
            if answer.status == 200 and answer.getheader("X-Replica") == served:
                break
        time.sleep(0.5)
    else:
        pytest.fail(f"replica {served} did not come back:\n{(proxy.run_dir / 'serve.log').read_text()[-2000:]}")


def test_a_model_on_the_shared_disk_is_in_every_replica(proxy, browser) -> None:
    """checkpoints/user/ is one folder on disk: a model written there (by a job on any replica)
    is in each replica's picker at the next page run."""
    name = f"proxy-{os.getpid()}"
    target = CHECKPOINT_DIR / "user" / f"{name}.safetensors"
    target.parent.mkdir(exist_ok=True)
    shutil.copy2(CHECKPOINT_DIR / "mnist-2d-beta4.safetensors", target)
    try:
        for replica in ("r1", "r2"):
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.add_cookies([{"name": COOKIE, "value": replica, "url": proxy.url}])
            pg = context.new_page()
            try:
                response = pg.goto(f"{proxy.url}/model?model=user/{name}")
                assert response.headers["x-replica"] == replica
                pg.wait_for_selector('[data-testid="stPopover"]', timeout=120_000)
                wait_idle(pg)
                assert f"Model: user/{name}" in pg.locator('[data-testid="stPopover"]').first.inner_text()
                assert_no_exception(pg)
            finally:
                context.close()
    finally:
        target.unlink(missing_ok=True)


def test_uploads_reach_their_replica_and_an_oversized_one_stops_at_the_proxy(proxy, page, tmp_path) -> None:
    uploads: list[tuple[str, dict[str, str]]] = []
    page.on("request", lambda r: uploads.append((r.url, r.headers))
            if r.method == "PUT" and "/_stcore/upload_file/" in r.url else None)
    # A real upload through the proxy: the sticky cookie takes it to the replica holding the session.
    page.goto(f"{proxy.url}/encode")
    page.get_by_text("Upload", exact=True).click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').wait_for(state="attached", timeout=60_000)
    wait_idle(page)
    digit = tmp_path / "digit.png"
    digit.write_bytes(encode(draw_digit(), "PNG"))
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(digit))
    page.get_by_text("μ = (").first.wait_for(timeout=60_000)  # encoded
    assert_no_exception(page)
    assert uploads, "the browser sent no upload"

    # The same request (session, XSRF token, cookies), declaring one byte over the limit: HAProxy
    # answers 413 from the headers alone (no body is sent) and no replica sees it.
    url, headers = uploads[-1]
    path = url[len(proxy.url):]
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in page.context.cookies())
    token = {k: v for k, v in headers.items() if k.lower() == "x-xsrftoken"}
    limit = max_upload_mb() * 1024 * 1024
    over = _request(proxy.port, "PUT", path, {**token, "Cookie": cookies, "Content-Length": str(limit + 1),
                                               "Content-Type": "multipart/form-data; boundary=x"})
    assert over.status == 413
    assert over.getheader("X-Replica") is None
    time.sleep(0.3)
    line = [ln for ln in (proxy.run_dir / "haproxy.log").read_text().splitlines() if f'"PUT {path} ' in ln][-1]
    assert "<NOSRV>" in line and " 413 " in line, line
    # Chunked (no stated length): refused at the proxy too.
    chunked = _request(proxy.port, "PUT", path, {**token, "Cookie": cookies, "Transfer-Encoding": "chunked"},
                       b"3\r\nabc\r\n0\r\n\r\n")
    assert chunked.status == 411 and chunked.getheader("X-Replica") is None
    # Under the limit, a request reaches the replica (which refuses this one: no XSRF token).
    under = _request(proxy.port, "PUT", path, {"Cookie": cookies, "Content-Length": "3"}, b"abc")
    assert under.status == 403 and under.getheader("X-Replica") in ("r1", "r2")
