"""End-to-end: the live latent pad on the decoder page, in real Chromium against a real server.

The JS decoder must match the server's PyTorch decoder, a mouse drag must paint >= 30 distinct
decoded frames per second (timed inside the page), release and arrow keys must commit z to
Python (page text, sliders, URL), and the weights must travel once per session.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from bench.browser import DECODED
from bench.pad import PAD, scripted_drag, wait_pad_ready
from bench.transfer import Meter
from vae import list_checkpoints, load_checkpoint
from vae.checkpoint import checkpoint_name
from vae.export import decoder_export

from .conftest import assert_no_exception, open_page, screenshot, wait_idle

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

SHIPPED = [p for p in list_checkpoints() if "user" not in p.parts]
Z_VALUES = [(0.0, 0.0), (1.0, -1.0), (-2.5, 0.7), (3.9, 3.9), (-4.0, -4.0),
            (0.33, 2.1), (-1.2, -2.8), (2.2, 0.05), (-0.6, 1.6), (1.7, -3.3)]


def _open_decoder(page, server: str, query: str = "") -> str:
    open_page(page, f"{server}/decoder{query}")
    model = wait_pad_ready(page)
    wait_idle(page)  # the pad's "have" handshake reruns the fragment once
    return model


# Resolves once the plane's vector canvas (points, paths, markers) has `least` inked pixels.
INKED = """(pad, least) => new Promise((resolve, reject) => {
  const canvas = pad.querySelector('canvas.vec'), start = performance.now();
  const check = () => {
    const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
    if (n >= least) resolve(n);
    else if (performance.now() - start > 15000) reject(new Error(`only ${n} inked pixels on the plane`));
    else setTimeout(check, 100);
  };
  check();
})"""


def _shown_z(page) -> str:
    """The committed z as the server's picture of E[x|z] names it, e.g. "(+0.20, -1.05)"."""
    text = page.locator(DECODED).first.get_attribute("alt")
    return re.search(r"z = (\([+-]\d+\.\d\d, [+-]\d+\.\d\d\))", text).group(1)


def _wait_shown_z(page, expected: str, timeout: float = 20_000) -> None:
    page.wait_for_function(
        """([sel, want]) => { const img = document.querySelector(sel);
                              return Boolean(img) && img.alt.endsWith('z = ' + want); }""",
        arg=[DECODED, expected], timeout=timeout)
    wait_idle(page)


@pytest.mark.parametrize("path", SHIPPED, ids=[checkpoint_name(p) for p in SHIPPED])
def test_js_decoder_matches_the_server_decoder(server, page, path) -> None:
    # A checkpoint may be retrained (rewritten) meanwhile: compare with the exact weights the
    # page holds, identified by the export's content hash.
    for _ in range(5):
        model = load_checkpoint(path).model
        if _open_decoder(page, server, f"?model={checkpoint_name(path)}") == decoder_export(model)["sha256"]:
            break
    else:
        pytest.fail("the checkpoint kept changing under the test")
    labels = [0, 4, 9] if model.conditional else [None]  # a CVAE: z plus the class
    for label in labels:
        js = np.array(page.evaluate(
            "([zs, y]) => zs.map(([a, b]) => window.__latentPad.decode(a, b, y === null ? undefined : y))",
            [[list(z) for z in Z_VALUES], label]))
        with torch.inference_mode():
            expected = model.decode(torch.tensor(Z_VALUES, dtype=torch.float32), label)
        expected = expected.reshape(len(Z_VALUES), -1).numpy()
        assert js.shape == (len(Z_VALUES), 784)
        assert np.abs(js - expected).max() < 1e-3, label


def test_mouse_drag_paints_at_least_30_decoded_frames_per_second(server, page) -> None:
    _open_decoder(page, server)
    scripted_drag(page, seconds=0.3)  # warm-up (JIT)
    wait_idle(page)
    # Frames cannot outnumber the pointer events Chromium delivers: one per animation frame at
    # best (~60/s on this machine when it is otherwise idle), fewer when other processes starve
    # headless Chromium's software compositor. A drag the machine slowed down gets two more tries.
    drags = []
    for _ in range(3):
        drags.append(scripted_drag(page, seconds=1.0))
        wait_idle(page)
        if drags[-1]["fps"] >= 30:
            break
    best = max(drags, key=lambda d: d["fps"])
    frame_ms = page.evaluate(f"window.__latentPad.decodeMs.slice({best['first_frame']})")
    # The pad's own share, whatever the load: a decode fits well inside a 60 Hz frame, and every
    # pointer event that arrived was decoded and painted (+1: the press itself).
    assert best["ms"] >= 900, drags
    assert float(np.median(frame_ms)) < 8, frame_ms
    assert best["frames"] >= 0.9 * (best["moves"] + 1), drags
    events_per_s = best["moves"] / (best["ms"] / 1000)
    if best["fps"] < 30 and events_per_s < 30:
        pytest.skip(f"Chromium delivered only {events_per_s:.0f} pointer events/s (machine busy); "
                    f"the pad painted a frame for each: {drags}")
    assert best["fps"] >= 30, drags
    assert_no_exception(page)


def test_release_commits_z_to_the_page_sliders_and_url(server, page) -> None:
    open_page(page, server)  # see the report: a fresh server's first deep link shows legacy nav
    _open_decoder(page, server)
    assert _shown_z(page) == "(+0.00, +0.00)"
    # The test-set means (a points file that arrives after the plane's first draw) are drawn.
    page.locator(PAD).evaluate(INKED, 2_000)
    box = page.locator(PAD).bounding_box()
    # From the centre towards z = (-1.37, +1.83) (the pad spans [-4, 4]^2, z2 grows upwards).
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * (1 - 1.37 / 4) / 2,
                    box["y"] + box["height"] * (1 - 1.83 / 4) / 2, steps=25)
    page.mouse.up()
    z1, z2 = page.evaluate("window.__latentPad.committed")
    assert abs(z1 + 1.37) < 0.05 and abs(z2 - 1.83) < 0.05
    _wait_shown_z(page, f"({z1:+.2f}, {z2:+.2f})")
    assert f"z1={z1:.2f}" in page.url and f"z2={z2:.2f}" in page.url
    # The plane's own sliders follow, snapped to their step; their read-outs say z exactly.
    for i, v in enumerate((z1, z2)):
        slider = page.get_by_test_id(f"latent-pad-slider-z{i + 1}")
        assert abs(float(slider.input_value()) - v) <= 0.025 + 1e-9
        assert slider.locator("xpath=following-sibling::output").inner_text() == f"{v:+.2f}"
    assert page.evaluate("window.__latentPad.z") == [z1, z2]  # the point stays where released
    assert_no_exception(page)
    screenshot(page, "decoder-pad")


def test_arrow_keys_move_the_point_and_commit(server, page) -> None:
    _open_decoder(page, server, "?z1=1.00&z2=-0.50")
    assert _shown_z(page) == "(+1.00, -0.50)"
    page.locator(PAD).focus()
    for key in ["ArrowRight"] * 4 + ["ArrowUp"] + ["Shift+ArrowDown"]:
        page.keyboard.press(key)
    page.wait_for_function("JSON.stringify(window.__latentPad.z) === '[1.2,-0.95]'", timeout=10_000)
    _wait_shown_z(page, "(+1.20, -0.95)")
    assert "z1=1.20" in page.url and "z2=-0.95" in page.url
    assert_no_exception(page)


def test_sliders_decode_in_the_browser_commit_once_and_weights_travel_once(server, page) -> None:
    frames: list[int] = []
    decoders: list[tuple[str, int]] = []  # (url, status) of every .bin the page fetched (decoder, points)
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(len(payload))))
    page.on("response", lambda r: decoders.append((r.url, r.status)) if "/app/static/gen/" in r.url
            and r.url.endswith(".bin") and r.request.resource_type == "fetch" else None)
    model = _open_decoder(page, server, "?z1=0.00&z2=0.00")
    # The weights came as one static file named by the model's content id, not over the websocket.
    assert [url.rsplit("/", 1)[1] for url, _ in decoders].count(f"{model}.bin") == 1
    assert max(frames) < 200_000
    frames.clear()
    decoders.clear()
    painted = page.evaluate("window.__latentPad.frames")  # digits the plane has painted so far
    slider = page.get_by_test_id("latent-pad-slider-z1")
    slider.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    # Each step is decoded here at once (a frame each), before any server reply.
    page.wait_for_function("window.__latentPad.z[0] === 0.15", timeout=10_000)
    assert page.evaluate("window.__latentPad.frames") > painted
    _wait_shown_z(page, "(+0.15, +0.00)")  # the burst of steps committed: the server's decode follows
    assert "z1=0.15" in page.url
    # Reruns send z and URLs, never the weights; the largest frame is the component's own code
    # (plane.html/css/js, ~45 kB), which Streamlit re-sends with every rerun of an inline component.
    assert frames and max(frames) < 60_000
    assert decoders == [] and page.evaluate("window.__latentPad.parses") == 1  # nothing fetched again
    # A reload is a new page: the plane asks for its files again and the browser's cache answers,
    # also for files this server wrote minutes ago (the decoder's 0.8 MB used to come again).
    meter = Meter(page)
    page.reload()
    wait_pad_ready(page, model)
    wait_idle(page)
    assert [status for url, status in decoders if url.endswith(f"{model}.bin")] in ([], [200])
    assert meter.http < 20_000, f"{meter.http} bytes of HTTP bodies on a reload"
    assert_no_exception(page)
