"""vae.preprocess refuses what it must (empty, over-size, non-images, other formats, pixel bombs,
damaged files) with a message and never a raw error, before decoding where it can."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFile

from vae.preprocess import MAX_UPLOAD_BYTES, ImageError, open_image, prepare_image
from tests.upload_images import assert_valid, draw_digit, encode, png_with_declared_size


# --- refusals --------------------------------------------------------------------------------


def test_zero_bytes() -> None:
    with pytest.raises(ImageError, match="empty file"):
        open_image(b"")
    with pytest.raises(ImageError, match="empty file"):
        prepare_image(b"")


def test_over_size_bytes_refused_before_parsing() -> None:
    data = encode(draw_digit(), "PNG")
    data += b"\0" * (MAX_UPLOAD_BYTES + 1 - len(data))
    with pytest.raises(ImageError, match=r"file is 8\.1 MB; the limit is 8 MB"):
        prepare_image(data)


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
        b"just some text, named digit.png",
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="28" height="28">'
        b'<circle cx="14" cy="14" r="8" stroke="black" fill="none"/></svg>',
        b"\x89PNG\r\n\x1a\n",  # a PNG signature and nothing else
    ],
    ids=["html", "text", "svg", "png-signature-only"],
)
def test_non_images_refused(data: bytes) -> None:
    with pytest.raises(ImageError, match="not an image file we can read"):
        prepare_image(data)


@pytest.mark.parametrize("fmt", ["TIFF", "ICO", "PPM"])
def test_real_images_in_other_formats_refused(fmt: str) -> None:
    with pytest.raises(ImageError, match="not an image file we can read"):
        open_image(encode(draw_digit(size=(64, 64)), fmt))


@pytest.mark.parametrize(
    "size",
    [(60000, 60000), (10000, 10000), (6000, 6000)],
    ids=["over-pillow-error", "over-pillow-warning", "over-our-limit"],
)
def test_declared_huge_dimensions_refused_before_decoding(size: tuple[int, int], monkeypatch) -> None:
    data = png_with_declared_size(*size)
    # Refused from the header alone: decoding a single pixel would be a failure (pytest.fail's
    # exception is no Exception, so no handler in vae.preprocess can swallow it).
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("decoded before refusing"))
    with pytest.raises(ImageError, match="pixels"):
        prepare_image(data)


def test_real_large_bilevel_png_refused() -> None:
    # 5001x5000 mode "1": ~25 MP that compresses to a few KB.
    data = encode(Image.new("1", (5001, 5000), 1), "PNG")
    assert len(data) < 100_000
    with pytest.raises(ImageError, match="5001x5000 pixels; the limit is 25,000,000"):
        open_image(data)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF"])
def test_truncated_files_refused(fmt: str) -> None:
    data = encode(draw_digit(), fmt)
    with pytest.raises(ImageError, match="damaged or truncated"):
        prepare_image(data[: len(data) // 2])


def test_corrupted_files_never_leak_raw_errors() -> None:
    rng = np.random.default_rng(0)
    for fmt in ("PNG", "JPEG", "GIF", "BMP", "WEBP"):
        data = encode(draw_digit(size=(64, 64)), fmt)
        for _ in range(8):
            broken = bytearray(data)
            for pos in rng.integers(0, len(broken), size=4):
                broken[pos] = int(rng.integers(0, 256))
            try:
                assert_valid(prepare_image(bytes(broken)), peak=0.0)
            except ImageError:
                pass


def test_wrong_input_types() -> None:
    with pytest.raises(TypeError):
        prepare_image("digit.png")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        open_image(Image.new("L", (2, 2)))  # type: ignore[arg-type]
