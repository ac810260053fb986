"""Synthetic phone photos of digits on paper, deterministic by seed: the test set of
tests/test_photos.py and of `python -m bench.run photos` (bench/photos.py).

Each photo is one digit, 0-9, from one of three sources in turn: typeset in one of the TrueType
fonts found on this machine (/usr/share/fonts; DejaVu and Liberation here), drawn as
handwriting-like strokes (jittered polylines and arcs, slanted, with round caps), or real
handwriting: an MNIST *test* digit (people the model never saw; its kNN references are the
training digits) traced as a smooth pen stroke of random weight. In pen, pencil or marker, on textured paper
(grey, beige or off-white; grain, blotches and fibres), lit unevenly (a gradient, a vignette, a
soft-edged shadow, a colour cast), rotated up to +-15 degrees with a slight perspective, blurred,
with sensor noise, JPEG-compressed (or HEIF), at phone-photo sizes (1000-3000 px).

Nothing here knows how vae.preprocess works: the photos are built from what a camera sees.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_ROOT = Path("/usr/share/fonts")
# Digit shapes a font draws unlike any hand (a mathematical font's glyph table; monospaced
# zeros with a dot or slash) are left out; every other TrueType face found is used.
_SKIP_FONTS = ("Math", "Mono")


# Where a photo's digit comes from (make_photo's style): a font, drawn strokes, real handwriting.
STYLES = ("font", "hand", "mnist")


def font_files() -> list[Path]:
    """The TrueType fonts the set draws with (sorted, so a seed means the same photo)."""
    if not FONT_ROOT.is_dir():
        return []
    return sorted(p for p in FONT_ROOT.rglob("*.ttf") if not any(s in p.name for s in _SKIP_FONTS))


# --- handwriting-like strokes ----------------------------------------------------------------
# Each digit: strokes in a unit box (x right, y down); a stroke is a list of parts, a part a
# ("line", [(x, y), ...]) or an ("arc", (cx, cy, rx, ry, deg_from, deg_to)) (0 deg = right,
# 90 deg = down). Variants are picked at random (an open or closed 4, a 1 with or without flag).
Part = tuple[str, object]
_HAND: dict[int, list[list[list[Part]]]] = {
    0: [[[("arc", (0.5, 0.5, 0.42, 0.48, -100, 268))]]],
    1: [[[("line", [(0.55, 0.02), (0.47, 0.98)])]],
        [[("line", [(0.15, 0.25), (0.62, 0.02), (0.52, 0.98)])]]],
    2: [[[("arc", (0.5, 0.3, 0.4, 0.28, 190, 380)), ("line", [(0.86, 0.4), (0.06, 0.97), (0.95, 0.95)])]]],
    3: [[[("arc", (0.47, 0.27, 0.38, 0.25, -160, 95)), ("arc", (0.47, 0.73, 0.43, 0.26, -95, 160))]]],
    4: [[[("line", [(0.3, 0.02), (0.06, 0.62), (0.95, 0.62)])], [("line", [(0.7, 0.22), (0.68, 0.98)])]],
        [[("line", [(0.72, 0.98), (0.72, 0.02), (0.04, 0.66), (0.96, 0.66)])]]],
    5: [[[("line", [(0.88, 0.03), (0.24, 0.03), (0.18, 0.44)]), ("arc", (0.5, 0.66, 0.4, 0.31, -125, 155))]]],
    6: [[[("line", [(0.78, 0.02), (0.42, 0.26), (0.15, 0.62)]), ("arc", (0.5, 0.72, 0.37, 0.26, 180, 540))]]],
    7: [[[("line", [(0.05, 0.04), (0.94, 0.04), (0.38, 0.98)])]]],
    8: [[[("arc", (0.5, 0.26, 0.32, 0.24, 90, 450))], [("arc", (0.5, 0.74, 0.4, 0.25, -90, 270))]]],
    9: [[[("arc", (0.48, 0.28, 0.4, 0.27, 0, 360)), ("line", [(0.88, 0.28), (0.82, 0.62), (0.7, 0.98)])]]],
}


def _stroke_points(parts: list[Part], rng: np.random.Generator, jitter: float) -> list[tuple[float, float]]:
    """One stroke's parts -> a polyline in the unit box, each control value jittered."""
    points: list[tuple[float, float]] = []
    for kind, spec in parts:
        if kind == "line":
            points += [(x + rng.normal(0, jitter), y + rng.normal(0, jitter)) for x, y in spec]  # type: ignore[union-attr]
        else:
            cx, cy, rx, ry, a0, a1 = spec  # type: ignore[misc]
            cx, cy = cx + rng.normal(0, jitter), cy + rng.normal(0, jitter)
            rx, ry = rx * rng.uniform(0.9, 1.1), ry * rng.uniform(0.9, 1.1)
            a0, a1 = a0 + rng.normal(0, 8), a1 + rng.normal(0, 8)
            for t in np.linspace(math.radians(a0), math.radians(a1), 40):
                points.append((cx + rx * math.cos(t), cy + ry * math.sin(t)))
    return points


def _draw_hand(label: int, height: int, rng: np.random.Generator) -> Image.Image:
    """A handwriting-like digit: "L" alpha (255 = ink), about `height` px tall, tightly boxed."""
    variants = _HAND[label]
    strokes = variants[int(rng.integers(len(variants)))]
    aspect = rng.uniform(0.35, 0.5) if label == 1 else rng.uniform(0.55, 0.8)
    slant = rng.uniform(-0.1, 0.3)  # x shift per unit of height (most hands lean right)
    width = max(2, int(height * rng.uniform(0.06, 0.14)))
    pad = width + int(0.3 * height)
    canvas = Image.new("L", (int(height * (aspect + 0.6)) + 2 * pad, height + 2 * pad), 0)
    draw = ImageDraw.Draw(canvas)
    for stroke in strokes:
        pts = [(pad + (x + slant * (1.0 - y)) * aspect * height, pad + y * height)
               for x, y in _stroke_points(stroke, rng, 0.025)]
        draw.line(pts, fill=255, width=width, joint="curve")
        r = width / 2.0
        for x, y in (pts[0], pts[-1]):  # round caps
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return canvas.crop(canvas.getbbox())


def _draw_font(label: int, height: int, font: Path, rng: np.random.Generator) -> Image.Image:
    """A typeset digit: "L" alpha, about `height` px tall; sometimes traced with a thicker pen."""
    face = ImageFont.truetype(str(font), size=int(height * 1.38))  # digit height ~0.72 em
    bold = int(height * rng.choice([0.0, 0.0, 0.02, 0.04]))
    box = face.getbbox(str(label), stroke_width=bold)
    canvas = Image.new("L", (box[2] - box[0] + 4, box[3] - box[1] + 4), 0)
    ImageDraw.Draw(canvas).text((2 - box[0], 2 - box[1]), str(label), fill=255, font=face,
                                stroke_width=bold, stroke_fill=255)
    return canvas


def _draw_mnist(label: int, height: int, rng: np.random.Generator) -> Image.Image:
    """A handwritten digit from the MNIST test split, traced as a pen stroke: "L" alpha, about
    `height` px tall (the 28x28 grey digit scaled up smoothly, its outline at a random level
    between thin and bold, so the pen's weight varies)."""
    from vae.data import load_mnist

    images, labels = load_mnist("test")
    digit = images[int(rng.choice(np.flatnonzero(labels == label)))].astype(np.float32) / 255.0
    rows, cols = np.flatnonzero(digit.max(axis=1) > 0), np.flatnonzero(digit.max(axis=0) > 0)
    digit = np.pad(digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], 2)  # [h, w] + margin
    scale = height / digit.shape[0]
    big = Image.fromarray(digit, "F").resize((max(1, round(digit.shape[1] * scale)), round(digit.shape[0] * scale)),
                                              Image.Resampling.BICUBIC)
    level, soft = rng.uniform(0.3, 0.6), 0.08  # where the pen's edge is, and its softness
    alpha = np.clip((np.asarray(big, np.float32) - level) / soft + 0.5, 0.0, 1.0)
    return Image.fromarray((alpha * 255).astype(np.uint8), "L")


def _warp(glyph: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Rotate by up to +-15 degrees, then a slight perspective (corners moved <= 6 %)."""
    glyph = glyph.rotate(rng.uniform(-15, 15), resample=Image.Resampling.BICUBIC, expand=True)
    w, h = glyph.size
    pad = int(0.1 * max(w, h))
    canvas = Image.new("L", (w + 2 * pad, h + 2 * pad), 0)
    canvas.paste(glyph, (pad, pad))
    w2, h2 = canvas.size
    src = np.array([(0, 0), (w2, 0), (w2, h2), (0, h2)], float)
    dst = src + rng.uniform(-0.06, 0.06, (4, 2)) * (w, h)
    coeffs = _perspective_coeffs(src, dst)
    return canvas.transform(canvas.size, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC)


def _perspective_coeffs(src: np.ndarray, dst: np.ndarray) -> list[float]:
    """PIL's 8 coefficients mapping output (dst) points back to input (src) points."""
    rows = []
    for (x, y), (u, v) in zip(dst, src):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    return np.linalg.solve(np.array(rows), src.reshape(8)).tolist()


# --- paper, light, camera --------------------------------------------------------------------

_PAPERS = {"white": (236, 234, 228), "grey": (200, 200, 198), "beige": (226, 212, 184),
           "recycled": (205, 196, 178)}
# (RGB colour, opacity range) of what the digit is written with.
_INKS = {"pen": ((28, 36, 110), (0.8, 0.95)), "black": ((22, 22, 26), (0.85, 0.97)),
         "pencil": ((80, 80, 86), (0.45, 0.7)), "marker": ((15, 15, 20), (0.9, 1.0))}


def _smooth_field(shape: tuple[int, int], cells: int, rng: np.random.Generator) -> np.ndarray:
    """Low-frequency noise, float32 [H, W], mean 0, sd ~1: a few cells per side, bicubic."""
    h, w = shape
    small = Image.fromarray(rng.normal(0, 1, (cells, cells)).astype(np.float32), "F")
    return np.asarray(small.resize((w, h), Image.Resampling.BICUBIC), np.float32)


def _light(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Illumination gain float32 [H, W] in ~[0.35, 1.05]: a gradient in a random direction, a
    vignette and, usually, a soft-edged shadow (a hand or phone between lamp and paper)."""
    h, w = shape
    lo_h, lo_w = max(8, h // 16), max(8, w // 16)  # built small, then scaled up (smooth anyway)
    y, x = np.mgrid[0:lo_h, 0:lo_w].astype(np.float32)
    x, y = x / (lo_w - 1) - 0.5, y / (lo_h - 1) - 0.5
    angle = rng.uniform(0, 2 * math.pi)
    ramp = x * math.cos(angle) + y * math.sin(angle)  # -0.7..0.7
    gain = 1.0 - rng.uniform(0.15, 0.5) * (ramp + 0.7) / 1.4
    gain *= 1.0 - rng.uniform(0.0, 0.5) * (x ** 2 + y ** 2)
    if rng.random() < 0.8:
        # A half-plane in shade, its edge soft over ~2-8 % of the photo (a penumbra).
        a = rng.uniform(0, 2 * math.pi)
        edge = (x - rng.uniform(-0.4, 0.4)) * math.cos(a) + (y - rng.uniform(-0.4, 0.4)) * math.sin(a)
        shade = 1.0 / (1.0 + np.exp(np.clip(-edge / rng.uniform(0.01, 0.04), -50, 50)))  # 0 lit .. 1 shade
        gain *= 1.0 - rng.uniform(0.25, 0.5) * shade
    gain *= rng.uniform(0.85, 1.05)  # exposure
    return np.asarray(Image.fromarray(gain.astype(np.float32), "F").resize((w, h), Image.Resampling.BILINEAR))


def _paper(shape: tuple[int, int], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, str]:
    """Paper: (base colour float32 [3] in 0..255, tone float32 [H, W] added to every channel:
    blotches, grain and fibres, kind)."""
    h, w = shape
    kind = list(_PAPERS)[int(rng.integers(len(_PAPERS)))]
    base = np.array(_PAPERS[kind], np.float32) + rng.normal(0, 5, 3).astype(np.float32)
    tone = _smooth_field(shape, 12, rng) * np.float32(rng.uniform(2, 6))
    tone += rng.standard_normal((h, w), dtype=np.float32) * np.float32(rng.uniform(2, 6))
    fibres = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(fibres)
    for _ in range(int(rng.integers(40, 160))):
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
        length, a = rng.uniform(0.005, 0.04) * max(w, h), rng.uniform(0, 2 * math.pi)
        bend = rng.normal(0, 0.4)
        pts = [(x0 + t * length * math.cos(a + bend * t), y0 + t * length * math.sin(a + bend * t))
               for t in np.linspace(0, 1, 6)]
        draw.line(pts, fill=int(rng.integers(60, 255)), width=int(rng.integers(1, 3)))
    tone -= np.asarray(fibres, np.float32) * np.float32(rng.uniform(10, 30) / 255.0)
    return base, tone, kind


@dataclass(frozen=True)
class Photo:
    data: bytes  # the encoded file, as a phone would upload it
    label: int
    style: str  # where the digit comes from: one of STYLES
    kind: str  # e.g. "DejaVuSans, grey paper, pencil"
    size: tuple[int, int]  # width, height
    seed: int = 0  # make_photo's arguments: flat_digit(seed, label, sizes) draws the same digit
    sizes: tuple[int, int] = (1000, 3000)


def _scene(rng: np.random.Generator, label: int, sizes: tuple[int, int], style: str | None
           ) -> tuple[int, int, int, int, Image.Image, str]:
    """(w, h, rw, rh, glyph, style, what drew it): the photo's size, the scene's (render) size and the
    digit's alpha, rotated and in perspective, at the scene's scale. The first draws of `rng`."""
    long_side = int(rng.integers(sizes[0], sizes[1] + 1))
    w, h = (long_side, long_side * 3 // 4) if rng.random() < 0.5 else (long_side * 3 // 4, long_side)
    sharp = rng.uniform(0.35, 0.7)
    rw, rh = int(w * sharp), int(h * sharp)  # the scene's resolution
    fonts = font_files()
    style = style or STYLES[int(rng.integers(len(STYLES)))]
    if style == "font" and not fonts:
        style = "hand"
    height = int(min(rw, rh) * rng.uniform(0.3, 0.6))
    if style == "font":
        font = fonts[int(rng.integers(len(fonts)))]
        glyph, style_name = _draw_font(label, height, font, rng), font.stem
    elif style == "mnist":
        glyph, style_name = _draw_mnist(label, height, rng), "mnist"
    else:
        glyph, style_name = _draw_hand(label, height, rng), "hand"
    return w, h, rw, rh, _warp(glyph, rng), style, style_name


def flat_digit(seed: int, label: int, sizes: tuple[int, int] = (1000, 3000), style: str | None = None) -> Image.Image:
    """make_photo's digit alone, black on white, as drawn before light, paper and camera: "L"."""
    rng = np.random.default_rng(seed)
    glyph = _scene(rng, label, sizes, style)[4]
    return Image.eval(glyph, lambda v: 255 - v)


def make_photo(seed: int, label: int | None = None, sizes: tuple[int, int] = (1000, 3000),
               fmt: str = "JPEG", style: str | None = None) -> Photo:
    """One photo, fully determined by its arguments. style: one of STYLES, or None (any).

    The scene is rendered at the lens's resolving power (35-70 % of the pixel count per side:
    phone optics, focus and denoising blur more than one pixel) and scaled up bicubically to
    the sensor's size, which is the blur; the noise is added before, so it is correlated over
    a few pixels, as demosaicing leaves it."""
    if label is None:
        label = int(np.random.default_rng(seed).integers(10))
    rng = np.random.default_rng(seed)
    w, h, rw, rh, glyph, style, style_name = _scene(rng, label, sizes, style)
    gw, gh = min(glyph.size[0], rw), min(glyph.size[1], rh)
    left = int((rw - gw) * rng.uniform(0.25, 0.75))
    top = int((rh - gh) * rng.uniform(0.25, 0.75))
    box = (slice(top, top + gh), slice(left, left + gw))

    base, tone, paper_kind = _paper((rh, rw), rng)
    ink_name = list(_INKS)[int(rng.integers(len(_INKS)))]
    colour, (o_lo, o_hi) = _INKS[ink_name]
    # Pressure: the ink's opacity varies slowly along the strokes.
    opacity = np.clip(rng.uniform(o_lo, o_hi) + 0.06 * _smooth_field((gh, gw), 4, rng), 0, 1)
    a = np.asarray(glyph, np.float32)[:gh, :gw] / np.float32(255.0) * opacity  # [gh, gw]
    light = _light((rh, rw), rng)
    cast = 1.0 + rng.normal(0, 0.04, 3)  # the light's colour
    noise = rng.standard_normal((rh, rw), dtype=np.float32) * np.float32(rng.uniform(1.5, 4))
    channels = []
    for c in range(3):
        x = base[c] + tone  # [rh, rw] paper, 0..255
        x[box] = x[box] * (1.0 - a) + np.float32(colour[c]) * a
        x *= light * np.float32(cast[c])
        x += noise
        channels.append(Image.fromarray(np.clip(x, 0, 255).astype(np.uint8), "L"))
    img = Image.merge("RGB", channels).resize((w, h), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    img.save(buffer, fmt, quality=int(rng.integers(60, 93) if fmt == "JPEG" else rng.integers(50, 85)))
    return Photo(buffer.getvalue(), label, style, f"{style_name}, {paper_kind} paper, {ink_name}", (w, h), seed, sizes)


def photo_set(n: int, seed: int = 0, sizes: tuple[int, int] = (1000, 3000), fmt: str = "JPEG",
              styles: tuple[str, ...] = STYLES) -> list[Photo]:
    """n photos, labels 0-9 in turn and the styles in turn (balanced when n is a multiple of
    10 x len(styles)), each from its own seed (seed * 100003 + i)."""
    return [make_photo(seed * 100_003 + i, label=i % 10, sizes=sizes, fmt=fmt, style=styles[(i // 10) % len(styles)])
            for i in range(n)]
