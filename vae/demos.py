"""Demo inputs for the typicality page: images far from (or near) the data, one click each.

Pure functions: a digit in, MNIST-style float32 [28, 28] arrays in [0, 1] out (ink = 1).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .preprocess import prepare_array

DEMOS: tuple[str, ...] = ("Blank", "Noise", "Inverted digit", "Letter A", "Rotated digit")


def blank() -> np.ndarray:
    """No ink at all."""
    return np.zeros((28, 28), np.float32)


def noise(seed: int = 0) -> np.ndarray:
    """Uniform grey noise, seeded."""
    return np.random.default_rng(seed).random((28, 28), dtype=np.float32)


def inverted(digit: np.ndarray) -> np.ndarray:
    """Dark ink on white: the digit's negative."""
    return (1.0 - np.asarray(digit, np.float32)).astype(np.float32)


def rotated(digit: np.ndarray, degrees: float = 90.0) -> np.ndarray:
    """The digit turned counter-clockwise about the image centre (bilinear)."""
    img = Image.fromarray(np.asarray(digit, np.float32), mode="F")
    return np.clip(np.asarray(img.rotate(degrees, resample=Image.Resampling.BILINEAR), np.float32), 0.0, 1.0)


def letter(char: str = "A") -> np.ndarray:
    """A letter drawn with PIL's default font, then fitted and centred like an MNIST digit."""
    canvas = Image.new("L", (256, 256), 0)
    font = ImageFont.load_default(size=200)
    ImageDraw.Draw(canvas).text((128, 128), char, fill=255, font=font, anchor="mm")
    return prepare_array(np.asarray(canvas))[0].numpy()


def demo_image(name: str, digit: np.ndarray, seed: int = 0) -> np.ndarray:
    """One of DEMOS; `digit` [28, 28] in [0, 1] is the source of the inverted / rotated ones."""
    if name == "Blank":
        return blank()
    if name == "Noise":
        return noise(seed)
    if name == "Inverted digit":
        return inverted(digit)
    if name == "Letter A":
        return letter("A")
    if name == "Rotated digit":
        return rotated(digit)
    raise ValueError(f"unknown demo {name!r}; one of {DEMOS}")
