"""General-purpose lossless codecs on binary digits, for comparison with the model's coder
(vae/compress.py): PNG (1-bit), gzip, bz2, lzma (xz) and WebP lossless, at their strongest
settings. Pure: bits in, byte counts out.

A digit alone is 784 bits, 98 bytes packed; the general codecs' own headers (gzip 20 bytes, xz
60, PNG ~70) weigh heavily at that size, which is why a whole set is also measured as one file:
the digits tiled into one picture (PNG, WebP) or their packed bits concatenated (gzip, bz2, lzma).
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma

import numpy as np
from PIL import Image

CODECS: tuple[str, ...] = ("PNG", "gzip", "bz2", "lzma", "WebP")


def _png(pixels: np.ndarray) -> int:
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(bool)).save(buffer, format="PNG", optimize=True)  # mode "1": 1 bit a pixel
    return len(buffer.getvalue())


def _webp(pixels: np.ndarray) -> int:
    buffer = io.BytesIO()
    Image.fromarray((pixels * 255).astype(np.uint8), "L").save(buffer, format="WEBP", lossless=True,
                                                               quality=100, method=6)
    return len(buffer.getvalue())


def _packed(bits: np.ndarray) -> bytes:
    return np.packbits(np.asarray(bits, np.uint8).reshape(-1)).tobytes()


# xz -9e with a 4 KiB dictionary instead of its 64 MiB: for an input shorter than the dictionary
# the same settings (the dictionary size is one byte of the header either way) and the same
# length (tests/test_compress.py), without allocating and clearing 64 MiB for every digit
# (45 ms a call, which made lzma most of the benchmark's per-digit codec time).
_SMALL_XZ = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME, "dict_size": 1 << 12}]


def _xz(data: bytes) -> bytes:
    if len(data) <= 1 << 12:
        return lzma.compress(data, filters=_SMALL_XZ)
    return lzma.compress(data, preset=9 | lzma.PRESET_EXTREME)


def sizes(bits: np.ndarray) -> dict[str, int]:
    """Bytes each codec takes for one binary image [H, W] (0/1)."""
    pixels = np.asarray(bits, np.uint8)
    data = _packed(pixels)
    return {"PNG": _png(pixels), "gzip": len(gzip.compress(data, 9, mtime=0)), "bz2": len(bz2.compress(data, 9)),
            "lzma": len(_xz(data)), "WebP": _webp(pixels)}


def tile(bits: np.ndarray, per_row: int = 100) -> np.ndarray:
    """[N, 28, 28] -> one picture of per_row digits a row (missing ones blank)."""
    n, h, w = bits.shape
    rows = -(-n // per_row)
    padded = np.zeros((rows * per_row, h, w), np.uint8)
    padded[:n] = bits
    return padded.reshape(rows, per_row, h, w).transpose(0, 2, 1, 3).reshape(rows * h, per_row * w)


def set_sizes(bits: np.ndarray) -> dict[str, int]:
    """Bytes each codec takes for a whole set [N, 28, 28] as one file."""
    bits = np.asarray(bits, np.uint8)
    picture = tile(bits)
    data = _packed(bits)
    return {"PNG": _png(picture), "gzip": len(gzip.compress(data, 9, mtime=0)), "bz2": len(bz2.compress(data, 9)),
            "lzma": len(lzma.compress(data, preset=9 | lzma.PRESET_EXTREME)), "WebP": _webp(picture)}
