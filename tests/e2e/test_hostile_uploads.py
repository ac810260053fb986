"""Hostile uploads through the real browser on the encode page: each one ends in a clear message
(the browser's own refusal or our ImageError as an alert), never an exception, and the page keeps
working. Every file is generated here (generators shared with tests/test_preprocess.py: tests/upload_images.py)."""

from __future__ import annotations

import re

import pytest

from tests.upload_images import draw_digit, encode, png_with_declared_size

from .conftest import assert_no_exception, open_page, wait_idle

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

MB = 1024 * 1024
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="28" height="28">'
       b'<circle cx="14" cy="14" r="8" stroke="black" fill="none"/></svg>')
HTML = (b"<!DOCTYPE html><html><body><h1>hello</h1>"
        b"<script>window.__pwned = 1; document.title = 'pwned'</script></body></html>")


def _corpus() -> list[tuple[str, bytes, str]]:
    """(file name, bytes, regex of the message the page must show)."""
    png = encode(draw_digit(), "PNG")
    ours = "Could not use upload {name}: "
    return [
        ("bomb.png", png_with_declared_size(60_000, 60_000), ours + r"image has too many pixels"),
        ("truncated.png", png[: len(png) // 2], ours + r".*damaged or truncated"),
        ("empty.png", b"", ours + r"empty file"),
        ("page.png", HTML, ours + r"not an image file we can read"),
        ("svg-named.png", SVG, ours + r"not an image file we can read"),
        # Refused by the browser (the uploader's type filter and size limit): nothing is sent.
        ("drawing.svg", SVG, r"image/svg\+xml files are not allowed"),
        ("huge.png", png + b"\0" * (8 * MB + 1 - len(png)), r"File must be 8\.0MB or smaller"),
    ]


def _to_upload(page) -> None:
    page.get_by_text("Upload", exact=True).click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').wait_for(state="attached", timeout=30_000)
    wait_idle(page)


def _to_test_image(page) -> None:
    page.get_by_text("Test image", exact=True).click()
    page.get_by_text("test image 0 (label 7)").wait_for(timeout=30_000)
    wait_idle(page)


def test_hostile_uploads_show_a_clear_message_and_the_page_keeps_working(server, page, tmp_path) -> None:
    uploads: list[tuple[str, dict[str, str]]] = []
    page.on("request", lambda r: uploads.append((r.url, r.headers))
            if r.method == "PUT" and "/_stcore/upload_file/" in r.url else None)
    open_page(page, f"{server}/encode")
    for name, data, message in _corpus():
        _to_upload(page)
        path = tmp_path / name
        path.write_bytes(data)
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
        page.get_by_text(re.compile(message.format(name=re.escape(name)))).first.wait_for(timeout=30_000)
        wait_idle(page)
        assert_no_exception(page)
        if message.startswith("Could not use"):  # our refusal: an st.error alert
            alert = page.locator('[data-testid="stAlert"]').filter(has_text=f"upload {name}")
            assert alert.count() == 1
        assert "μ = (" not in page.inner_text('[data-testid="stMain"]')  # nothing was encoded
        assert page.evaluate("window.__pwned") is None and page.title() != "pwned"
        _to_test_image(page)  # the page still works
        assert_no_exception(page)

    # The browser's 8 MB check is a courtesy; the server enforces the limit itself. Replay the
    # browser's own upload request (same session, XSRF token and cookies) with 8 MB + 1 byte.
    assert uploads, "no upload reached the server"
    url, headers = uploads[-1]
    token = {k: v for k, v in headers.items() if k.lower() == "x-xsrftoken"}
    assert token, headers  # XSRF protection is on: the browser sends the token
    small = page.request.put(url, headers=token, multipart={
        "file": {"name": "small.png", "mimeType": "image/png", "buffer": b"\0" * 1000}})
    assert small.status == 204  # the replay itself is accepted ...
    too_big = page.request.put(url, headers=token, multipart={
        "file": {"name": "huge.png", "mimeType": "image/png", "buffer": b"\0" * (8 * MB + 1)}})
    assert too_big.status == 413  # ... only the size is refused
    forged = page.request.put(url, headers={"X-Xsrftoken": "forged"}, multipart={
        "file": {"name": "x.png", "mimeType": "image/png", "buffer": b"x"}})
    assert forged.status == 403  # and a request without the session's token is refused
    _to_upload(page)
    _to_test_image(page)
    assert_no_exception(page)
