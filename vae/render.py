"""Turning decoded arrays into pictures: uint8, crisp upscaling, PNG / GIF bytes, strips,
and a small latent-map picture drawn with Pillow (fast enough to redraw on every slider step).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

# One colour per digit (Tableau 10), shared by plotly figures and Pillow drawings.
DIGIT_COLORS = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
]


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Float image in [0, 1] -> uint8 (0-255), any shape."""
    return (np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscaling [H, W] -> [H*factor, W*factor] (keeps pixels crisp)."""
    if factor < 1:
        raise ValueError("factor must be >= 1")
    return np.repeat(np.repeat(np.asarray(image), factor, axis=0), factor, axis=1)


def png_bytes(image: np.ndarray, scale: int = 1, invert: bool = False) -> bytes:
    """PNG of a grey image in [0, 1] (or uint8), optionally upscaled and inverted (ink dark)."""
    pixels = image if np.asarray(image).dtype == np.uint8 else to_uint8(image)
    if invert:
        pixels = 255 - pixels
    if scale > 1:
        pixels = upscale(pixels, scale)
    buffer = io.BytesIO()
    # compress_level 1: these images are small, and encoding time is on the slider's path.
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def strip(images: np.ndarray, gap: int = 2) -> np.ndarray:
    """[N, H, W] -> one [H, N*W + (N-1)*gap] image with dark gaps, left to right."""
    n, h, w = images.shape
    out = np.zeros((h, n * w + (n - 1) * gap), dtype=np.float32)
    for i, img in enumerate(images):
        out[:, i * (w + gap) : i * (w + gap) + w] = img
    return out


def gif_bytes(images: np.ndarray, scale: int = 4, frame_ms: int = 120, bounce: bool = True) -> bytes:
    """Animated GIF of frames [N, H, W] in [0, 1]; with bounce it plays forth and back."""
    frames = [Image.fromarray(upscale(to_uint8(img), scale), mode="L") for img in images]
    if bounce and len(frames) > 2:
        frames = frames + frames[-2:0:-1]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:],
                   duration=frame_ms, loop=0)
    return buffer.getvalue()


def _hex_to_rgb(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    return int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16)


def scatter_picture(
    points: np.ndarray, labels: np.ndarray, extent: float = 4.0, size: int = 320, dot: int = 1,
    bounds: tuple[float, float] | None = None, transparent: bool = False,
) -> Image.Image:
    """The latent scatter as a picture: points [N, 2], coloured by label.

    The square [lo, hi]^2 fills the picture, (lo, hi) = bounds or (-extent, extent), in the
    points' own units (z, or plot coordinates for a Gaussian-spaced map); z2 grows upwards.
    transparent: an RGBA picture with only the dots (an overlay), else RGB on white with axes.
    """
    lo, hi = bounds if bounds is not None else (-extent, extent)
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0)) if transparent else Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(img)
    last = size - 1
    px = (np.asarray(points[:, 0]) - lo) / (hi - lo) * last
    py = (hi - np.asarray(points[:, 1])) / (hi - lo) * last
    if not transparent:  # axes through the origin, light grey
        x0, y0 = (0 - lo) / (hi - lo) * last, (hi - 0) / (hi - lo) * last
        draw.line([(0, y0), (size, y0)], fill=(220, 220, 220))
        draw.line([(x0, 0), (x0, size)], fill=(220, 220, 220))
    for x, y, label in zip(px, py, np.asarray(labels)):
        draw.ellipse([x - dot, y - dot, x + dot, y + dot], fill=_hex_to_rgb(DIGIT_COLORS[int(label) % 10]))
    return img


def mark_point(picture: Image.Image, z: tuple[float, float], extent: float = 4.0) -> bytes:
    """PNG of `picture` (from scatter_picture) with a cross-hair at z; the input is not changed."""
    img = picture.copy()
    size = img.size[0]
    centre = (size - 1) / 2
    x = (z[0] / extent + 1) * centre
    y = (1 - z[1] / extent) * centre
    draw = ImageDraw.Draw(img)
    r = max(6, size // 40)
    draw.ellipse([x - r, y - r, x + r, y + r], outline="black", width=3)
    draw.line([(x - 2 * r, y), (x - r, y)], fill="black", width=2)
    draw.line([(x + r, y), (x + 2 * r, y)], fill="black", width=2)
    draw.line([(x, y - 2 * r), (x, y - r)], fill="black", width=2)
    draw.line([(x, y + r), (x, y + 2 * r)], fill="black", width=2)
    buffer = io.BytesIO()
    img.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
