"""vae.preprocess: uploads and drawings -> MNIST-like [1, 28, 28]. Every input is generated here."""

from __future__ import annotations

import ast
import io
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from vae import preprocess
from vae.preprocess import (
    ALLOWED_FORMATS,
    MAX_PIXELS,
    MAX_UPLOAD_BYTES,
    UPLOAD_EXTENSIONS,
    ImageError,
    open_image,
    prepare_array,
    prepare_image,
    to_grayscale_paper,
)

# --- helpers ---------------------------------------------------------------------------------


def draw_digit(
    size: tuple[int, int] = (280, 280),
    box: tuple[int, int, int, int] | None = None,
    ink: int | tuple[int, ...] = 0,
    paper: int | tuple[int, ...] = 255,
    mode: str = "RGB",
    shape: str = "seven",
) -> Image.Image:
    """A synthetic digit: "zero" (thick ring) or "seven" (bar + diagonal, not symmetric)."""
    if mode == "RGB":  # PIL reads a bare int as a packed colour (255 is red): spell it out
        ink = (ink,) * 3 if isinstance(ink, int) else ink
        paper = (paper,) * 3 if isinstance(paper, int) else paper
    img = Image.new(mode, size, paper)
    draw = ImageDraw.Draw(img)
    w, h = size
    x0, y0, x1, y1 = box or (int(w * 0.3), int(h * 0.15), int(w * 0.7), int(h * 0.85))
    stroke = max(1, (x1 - x0) // 6)
    if shape == "zero":
        draw.ellipse((x0, y0, x1, y1), outline=ink, width=stroke)
    else:
        draw.line((x0, y0 + stroke // 2, x1, y0 + stroke // 2), fill=ink, width=stroke)
        draw.line((x1, y0, x0 + (x1 - x0) // 3, y1), fill=ink, width=stroke)
    return img


def encode(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def assert_valid(t: torch.Tensor, peak: float = 0.99) -> np.ndarray:
    assert isinstance(t, torch.Tensor)
    assert t.shape == (1, 28, 28)
    assert t.dtype == torch.float32
    assert float(t.min()) >= 0.0 and float(t.max()) <= 1.0
    assert float(t.max()) >= peak
    return t[0].numpy()


def centre_of_mass(a: np.ndarray) -> tuple[float, float]:
    ys, xs = np.mgrid[0 : a.shape[0], 0 : a.shape[1]]
    return float((a * ys).sum() / a.sum()), float((a * xs).sum() / a.sum())


def ink_bbox(a: np.ndarray) -> tuple[int, int]:
    """(height, width) of the bounding box of non-zero output pixels."""
    rows, cols = np.flatnonzero(a.any(axis=1)), np.flatnonzero(a.any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def corr(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    return float(np.corrcoef(a, b)[0, 1])


def same_digit(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """Best correlation over +-1 px shifts: the centre-of-mass placement is an integer shift
    (as in MNIST), so two faithful renderings may round to neighbouring positions."""
    a = np.asarray(a, dtype=np.float64).reshape(28, 28)
    b = np.asarray(b, dtype=np.float64).reshape(28, 28)
    return max(
        corr(np.roll(a, (dy, dx), axis=(0, 1)), b) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
    )


def png_with_declared_size(width: int, height: int) -> bytes:
    """A tiny valid PNG whose IHDR is patched to claim width x height (CRC fixed up)."""
    data = bytearray(encode(Image.new("L", (8, 8), 255), "PNG"))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


@pytest.fixture(scope="module")
def reference() -> torch.Tensor:
    """The plain case every variant is compared with: dark "7" on white RGB, as PNG."""
    return prepare_image(encode(draw_digit(), "PNG"))


# --- the plain cases and geometry ------------------------------------------------------------


def test_constants() -> None:
    assert MAX_UPLOAD_BYTES == 8 * 1024 * 1024
    assert MAX_PIXELS == 25_000_000
    assert ALLOWED_FORMATS == ("PNG", "JPEG", "GIF", "BMP", "WEBP")
    assert UPLOAD_EXTENSIONS == ["png", "jpg", "jpeg", "gif", "bmp", "webp"]
    assert issubclass(ImageError, ValueError)


def test_module_does_not_import_streamlit() -> None:
    tree = ast.parse(Path(preprocess.__file__).read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(name.split(".")[0] == "streamlit" for name in names)


@pytest.mark.parametrize("shape", ["zero", "seven"])
def test_dark_on_white_is_centred_and_fitted(shape: str) -> None:
    out = assert_valid(prepare_image(encode(draw_digit(shape=shape), "PNG")))
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1
    h, w = ink_bbox(out)
    assert max(h, w) in (19, 20) and min(h, w) <= 20
    assert (out == 0).mean() > 0.5  # the background really is 0, not paper noise


def test_centring_shift_is_clamped_so_no_ink_leaves_the_frame() -> None:
    # An inverted "T": the heavy bar pulls the centre of mass near the bottom of the 20x20
    # fit, so placing it at row 14 would push the top of the stem out of the frame.
    img = Image.new("L", (200, 200), 255)
    draw = ImageDraw.Draw(img)
    draw.rectangle((20, 150, 180, 190), fill=0)
    draw.rectangle((95, 10, 105, 150), fill=0)
    out = assert_valid(prepare_image(encode(img, "PNG")))
    assert ink_bbox(out)[0] == 20  # nothing cut off
    assert out[0].sum() > 0  # shifted as far as allowed: the stem touches the top


def test_white_on_black_equals_dark_on_white(reference: torch.Tensor) -> None:
    out = prepare_image(encode(draw_digit(ink=255, paper=0), "PNG"))
    assert_valid(out)
    assert corr(out, reference) > 0.99
    assert float((out - reference).abs().max()) < 0.05


def test_off_centre_digit_in_big_canvas(reference: torch.Tensor) -> None:
    # The same 112x196 digit as the reference, near the corner of a 1600x1200 canvas.
    img = draw_digit(size=(1600, 1200), box=(1400, 40, 1512, 236))
    out = assert_valid(prepare_image(encode(img, "PNG")))
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1
    assert max(ink_bbox(out)) <= 20
    assert same_digit(out, reference) > 0.95


def test_grey_paper_and_grey_ink_are_normalised(reference: torch.Tensor) -> None:
    out = prepare_image(encode(draw_digit(ink=90, paper=170), "PNG"))
    assert_valid(out)
    assert corr(out, reference) > 0.98


def test_tiny_5x5_digit() -> None:
    img = Image.new("L", (5, 5), 255)
    for x, y in [(1, 1), (2, 1), (3, 1), (3, 2), (2, 3)]:  # a little "7"
        img.putpixel((x, y), 0)
    out = assert_valid(prepare_image(encode(img, "PNG")))
    assert max(ink_bbox(out)) <= 20
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1


def test_thin_strip_10000x20() -> None:
    img = Image.new("L", (10000, 20), 255)
    ImageDraw.Draw(img).rectangle((500, 6, 9500, 13), fill=0)
    out = assert_valid(prepare_image(encode(img, "PNG")))
    h, w = ink_bbox(out)
    assert w == 20 and 1 <= h <= 2
    assert abs(centre_of_mass(out)[0] - 14) <= 1


def test_one_by_one_image_has_no_digit() -> None:
    for value in (0, 255):
        with pytest.raises(ImageError, match="no digit"):
            prepare_image(encode(Image.new("L", (1, 1), value), "PNG"))


@pytest.mark.parametrize("colour", [(255, 255, 255), (0, 0, 0), (128, 64, 200)])
def test_uniform_images_have_no_digit(colour: tuple[int, int, int]) -> None:
    with pytest.raises(ImageError, match="no digit found"):
        prepare_image(encode(Image.new("RGB", (300, 200), colour), "PNG"))


def test_accepts_a_pil_image_directly(reference: torch.Tensor) -> None:
    assert torch.allclose(prepare_image(draw_digit()), reference)


# --- modes and formats -----------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_transparent_background_counts_as_white_paper(mode: str, reference: torch.Tensor) -> None:
    # Opaque black ink on fully transparent *black* pixels: a plain convert("L") gives an
    # all-black image (no digit, or an inverted blob).
    clear = (0, 0, 0, 0) if mode == "RGBA" else (0, 0)
    opaque = (0, 0, 0, 255) if mode == "RGBA" else (0, 255)
    img = draw_digit(mode=mode, ink=opaque, paper=clear)
    assert np.asarray(img.convert("L")).max() == 0  # the trap is real
    paper = to_grayscale_paper(img)
    assert paper.dtype == np.float32 and paper.shape == (280, 280)
    assert paper[0, 0] == 1.0 and paper.mean() > 0.8  # transparent -> white
    out = prepare_image(encode(img, "PNG"))
    assert_valid(out)
    assert float(out.mean()) < 0.4  # not an all-ink square
    assert corr(out, reference) > 0.99


def test_palette_images(reference: torch.Tensor) -> None:
    pal = draw_digit(ink=(200, 0, 0)).convert("P")  # red ink, palette PNG
    assert Image.open(io.BytesIO(encode(pal, "PNG"))).mode == "P"
    assert same_digit(prepare_image(encode(pal, "PNG")), reference) > 0.97
    # Palette with a transparent index as background (the GIF/PNG-8 way).
    img = draw_digit(mode="P", ink=1, paper=0)
    img.putpalette([0, 0, 0, 0, 0, 0] + [0] * 762)  # index 0 and 1 are both black...
    img.info["transparency"] = 0  # ...but index 0 is transparent
    for fmt in ("PNG", "GIF"):
        out = prepare_image(encode(img, fmt))
        assert_valid(out)
        assert same_digit(out, reference) > 0.97


def test_sixteen_bit_png(reference: torch.Tensor) -> None:
    grey = np.asarray(draw_digit().convert("L"), dtype=np.uint16)
    for scale in (257, 16):  # full 16-bit range, and 12-bit data in a 16-bit file
        img = Image.fromarray(grey * scale)
        data = encode(img, "PNG")
        assert Image.open(io.BytesIO(data)).mode == "I;16"
        paper = to_grayscale_paper(open_image(data))
        assert paper.min() == 0.0 and paper.max() == 1.0  # scaled, not clipped to white
        assert corr(prepare_image(data), reference) > 0.99


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "PA", "RGB", "RGBA", "CMYK", "I;16", "I;16B", "I", "F"])
def test_to_grayscale_paper_modes(mode: str) -> None:
    base = draw_digit(size=(40, 30)).convert("L")  # paper 255, ink 0
    if mode == "I;16B":
        img = Image.frombytes(mode, base.size, (np.asarray(base, ">u2") * 257).tobytes())
    elif mode == "I;16":
        img = Image.fromarray(np.asarray(base, np.uint16) * 257)
    elif mode == "PA":
        img = base.convert("RGBA").convert("PA")
    else:
        img = base.convert(mode)
    assert img.mode == mode
    paper = to_grayscale_paper(img)
    assert paper.dtype == np.float32 and paper.shape == (30, 40)
    assert paper.min() >= 0.0 and paper.max() <= 1.0
    assert paper[0, 0] > 0.95  # paper is white
    assert paper.min() < 0.1  # ink is dark
    assert np.abs(paper - np.asarray(base) / 255.0).mean() < 0.05


def test_cmyk_jpeg(reference: torch.Tensor) -> None:
    data = encode(draw_digit().convert("CMYK"), "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    assert same_digit(prepare_image(data), reference) > 0.97


@pytest.mark.parametrize("fmt", ["JPEG", "GIF", "BMP", "WEBP"])
def test_other_allowed_formats(fmt: str, reference: torch.Tensor) -> None:
    assert same_digit(prepare_image(encode(draw_digit(), fmt)), reference) > 0.97


@pytest.mark.parametrize(
    ("orientation", "transpose"),
    [(6, Image.Transpose.ROTATE_270), (8, Image.Transpose.ROTATE_90)],
)
def test_exif_orientation_is_applied(orientation: int, transpose: Image.Transpose) -> None:
    stored = draw_digit(size=(300, 200))  # as the camera stored it (sideways)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(stored, "JPEG", quality=95, exif=exif)
    assert open_image(data).size == (200, 300)  # upright
    out = prepare_image(data)
    expected = prepare_image(stored.transpose(transpose))
    unrotated = prepare_image(stored)
    assert same_digit(out, expected) > 0.95
    assert same_digit(out, unrotated) < 0.6


def test_animated_gif_uses_first_frame() -> None:
    first = draw_digit(shape="zero")
    second = draw_digit(shape="seven")
    data = encode(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    out = prepare_image(data)
    assert same_digit(out, prepare_image(first)) > 0.97
    assert same_digit(out, prepare_image(second)) < 0.6


def test_mnist_digit_survives_the_pipeline() -> None:
    from vae.data import load_mnist

    images, _ = load_mnist("test")
    for index in range(5):  # image 0, and a few more for good measure
        digit = images[index]  # uint8 [28, 28], 0 = background
        # As a user would photograph/scan it: dark ink on white paper, 10x larger, RGB.
        paper = Image.fromarray(255 - digit).resize((280, 280), Image.Resampling.NEAREST)
        out = assert_valid(prepare_image(encode(paper.convert("RGB"), "PNG")))
        # Same fit-to-20x20 and centre-of-mass recipe as MNIST itself: nearly exact round trip.
        assert corr(out, digit / 255.0) > 0.95


def test_jpeg_draft_decode_matches_full_decode() -> None:
    data = encode(draw_digit(size=(1000, 1000), shape="zero"), "JPEG", quality=90)
    fast = prepare_image(data)  # decoded at 1/2 scale by libjpeg
    full = prepare_image(open_image(data))  # decoded in full, then box-reduced
    assert_valid(fast)
    assert same_digit(fast, full) > 0.98


def test_large_jpeg_is_fast() -> None:
    data = encode(draw_digit(size=(4000, 3000), shape="zero"), "JPEG", quality=85)
    start = time.perf_counter()
    assert_valid(prepare_image(data))
    assert time.perf_counter() - start < 1.0  # draft decode + box reduce; ~15 ms unloaded


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
def test_declared_huge_dimensions_refused_fast(size: tuple[int, int]) -> None:
    data = png_with_declared_size(*size)
    start = time.perf_counter()
    with pytest.raises(ImageError, match="pixels"):
        prepare_image(data)
    assert time.perf_counter() - start < 0.5


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


# --- drawings --------------------------------------------------------------------------------


def test_prepare_array_matches_prepare_image(reference: torch.Tensor) -> None:
    canvas = 1.0 - np.asarray(draw_digit().convert("L"), dtype=np.float32) / 255.0
    out = assert_valid(prepare_array(canvas))
    assert corr(out, reference) > 0.999
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1
    as_uint8 = prepare_array((canvas * 255).round().astype(np.uint8))
    assert corr(as_uint8, out) > 0.999


def test_prepare_array_edge_cases() -> None:
    with pytest.raises(ImageError, match="no digit found"):
        prepare_array(np.zeros((280, 280), dtype=np.float32))
    out = assert_valid(prepare_array(np.array([[1.0]])))  # one dot, fitted to 20x20
    assert ink_bbox(out) == (20, 20)
    with pytest.raises(ValueError):
        prepare_array(np.zeros((28, 28, 4)))
    with pytest.raises(ValueError):
        prepare_array(np.zeros((0, 5)))
