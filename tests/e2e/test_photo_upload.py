"""A phone photo of a digit on grey paper, as an iPhone saves it (HEIC), uploaded on the Encode page
in real Chromium: the uploader takes the .heic file, the page shows the photo (sent as a small PNG,
vae.preprocess.preview_png: browsers cannot show HEIC) and an encoding, no error. The photo: tests/photo_digits.py."""

from __future__ import annotations

import pytest

from tests.photo_digits import make_photo

from .conftest import assert_no_exception, open_page, screenshot, wait_idle

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def test_a_heic_photo_is_encoded(server, page, tmp_path) -> None:
    photo = make_photo(1017, label=7, sizes=(1200, 1400), style="mnist", fmt="HEIF")
    path = tmp_path / "IMG_0001.HEIC"
    path.write_bytes(photo.data)
    open_page(page, f"{server}/encode")
    page.get_by_text("Upload", exact=True).click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').wait_for(state="attached", timeout=30_000)
    wait_idle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    page.get_by_text("upload IMG_0001.HEIC").first.wait_for(timeout=60_000)
    wait_idle(page, timeout=120_000)
    assert_no_exception(page)
    assert not page.locator('[data-testid="stAlert"]').filter(has_text="Could not use").count()
    assert "μ = (" in page.inner_text('[data-testid="stMain"]')
    # "As given": an image the browser decoded (a HEIC would stay 0 x 0), at most 280 px.
    given = page.locator('[data-testid="stImage"]').filter(has_text="As given").locator("img").first
    size = given.evaluate("img => [img.naturalWidth, img.naturalHeight, img.complete]")
    assert size[2] and 0 < max(size[:2]) <= 280, size
    screenshot(page, "encode-photo")
