"""Images made for the preprocessing tests (tests/test_preprocess*.py): synthetic digits in any
size, mode and format, and checks of what vae.preprocess returns."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from vae.preprocess import prepare_image


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
