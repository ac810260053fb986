"""Turning decoded arrays into pictures: uint8, crisp upscaling, PNG / GIF bytes, strips.
(The latent plane itself is drawn by the browser component, ui/latent_plane/.)
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

# One colour per digit (Tableau 10), for every picture that colours points by digit.
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
