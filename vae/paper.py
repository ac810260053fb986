"""Photos of paper: take out the light and the paper, keep the ink (OpenCV; no streamlit).

`paper_ink` is the step vae/preprocess.py runs between reading an upload as grey and the MNIST
recipe (crop, fit into 20x20, centre). A phone photo of a digit on paper has uneven light (a
gradient, a vignette, a shadow), grey or beige paper with grain and fibres, and a stroke whose
width has nothing to do with MNIST's. Subtracting one paper level (what this replaced) turns
that into a grey box around a thin stroke. Here, on the working image (longest side <= ~512 px,
already reduced by preprocess):

1. polarity: which tail stands out from a local median (half the picture wide), the dark one
   (ink on paper) or the bright one (chalk, a white-on-black screenshot); the picture is turned
   to dark-on-light;
2. background: the paper as it is lit, from a morphological closing (a max then a min filter,
   which fills every dark feature narrower than the kernel -- strokes -- but keeps ramps and
   shadow edges) on a copy reduced to ~128 px, scaled back up; the kernel is a quarter of the
   picture (half, if that finds nothing: a bold digit cropped tightly);
3. divide by it: the ink's darkness relative to its own paper, so light and shadow cancel;
4. contrast: the paper level (the median) and its noise (MAD) measured, a floor at 4 sigma,
   the ink level at the 90th percentile of what clears it; ink above the level is 1;
5. ink mask: pixels over half the ink level; the largest piece (one touching the picture's edge
   counts a fifth) and the sizeable pieces near it are the digit (fibres, specks, a shadow's tip
   elsewhere are not); steps 2-5 run again with a kernel only 3x the strokes' width, which
   follows the light far more closely (a wide closing also fills the light's own dark corners:
   vignettes, a shadow's wedge); only ink within a few pixels of the digit survives;
Then `mnist_shape`, on the digit's crop (preprocess runs it before the 20x20 fit, for uploads):
6. deskew: the classic MNIST deskew by image moments (a shear that makes the ink's second
   moment mu11 zero), but to MNIST's own mean slant rather than upright, so a photo's rotation
   (and a font's upright stance) comes out leaning like the average handwritten digit;
7. stroke width: when it lies outside MNIST's own 10-90 % range (relative to the digit's size),
   the strokes are redrawn at MNIST's median width around their skeleton (a thin pen
   thickened, a marker or a font's thick-and-thin strokes made one even pen-like width).

Time: a few milliseconds on the working image; memory: a few float32 copies of it.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

# Shared servers: the arrays are small (<= ~512 px), threads would only contend.
cv2.setNumThreads(1)

# The background is estimated on a copy whose longest side is BG_SIDE px (light varies slowly;
# 128 px keeps the closing to ~1 ms), with a square kernel of BG_KERNEL x that side: wider than
# any stroke (a marker stroke is at most ~1/5 of a digit that fills the photo).
BG_SIDE = 128
BG_KERNEL = 0.25
# Darker than the paper by less than this fraction is never ink (noise floor minimum).
MIN_FLOOR = 0.04
# MNIST's stroke width over the larger side of the digit's box, with `stroke_width` on the first
# 3,000 training digits scaled x8 and thresholded at 0.5: median 0.126, 10-90 % range 0.092-0.179
# (2-98 %: 0.076-0.237) (`python -m vae.paper --measure` prints them).
MNIST_STROKE = 0.126
# MNIST's mean slant: the moment skew mu11 / mu02 (x shift per row down, about the centre of
# mass; negative = the top leans right) of the same digits: mean -0.147 at 28 px (--measure),
# -0.146 scaled x4; sd 0.29.
MNIST_SLANT = -0.146
# `mnist_shape` works on the digit's crop scaled so its larger side is SHAPE_SIDE px (4x MNIST's
# 20 px box: strokes ~10 px wide, enough for a skeleton, small enough for ~1-3 ms).
SHAPE_SIDE = 80
# A shear larger than this (~27 degrees) is not a slant to undo (a lying stroke, a blob).
MAX_SHEAR = 0.5
# A piece of ink joins the digit if it has at least MIN_PIECE of the largest piece's area and lies
# within MAX_GAP x the digit's size of it (see _main_components).
MIN_PIECE = 0.05
MAX_GAP = 0.15
# Strokes within this factor of MNIST's median are left alone: its 10-90 % range (0.092 / 0.126,
# 0.179 / 0.126), so most real handwriting keeps its pen; the rest is redrawn at the median.
STROKE_BAND = (0.73, 1.42)


def _reduce(image: np.ndarray, side: int) -> np.ndarray:
    """Area-average so the longest side is <= side (each side kept >= min(its size, 8))."""
    h, w = image.shape
    scale = min(1.0, side / max(h, w))
    size = (max(min(w, 8), round(w * scale)), max(min(h, 8), round(h * scale)))  # cv2: (w, h)
    return image if size == (w, h) else cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def dark_ink(small: np.ndarray) -> bool:
    """Is the ink darker than the paper? small: float32 [h, w] in [0, 1], 1 = white.

    The paper is what a median filter half as wide as the image sees (strokes are a minority
    in any such window, even bold ones cropped tightly); the ink is the tail that departs from
    it by more than 3 noise sigmas, summed: the darker tail wins ties (the common case, a blank
    page included).
    """
    k = _kernel_size(small.shape, 2 * BG_KERNEL)
    median = cv2.medianBlur((small * 255).round().astype(np.uint8), k).astype(np.float32) / 255.0
    residual = small - median  # [h, w]
    sigma = 1.4826 * float(np.median(np.abs(residual - np.median(residual))))
    dark = float(np.clip(-residual - 3 * sigma, 0, None).sum())
    bright = float(np.clip(residual - 3 * sigma, 0, None).sum())
    return dark >= bright


def _kernel_size(shape: tuple[int, ...], kernel: float = BG_KERNEL) -> int:
    """The background kernel for a reduced image when the stroke width is unknown."""
    return _odd(math.ceil(kernel * max(shape)))


def _odd(k: int) -> int:
    k = max(3, k)
    return k + 1 - k % 2


def background(light: np.ndarray, stroke: float | None = None, kernel: float = BG_KERNEL) -> np.ndarray:
    """The lit paper under dark ink: float32 [H, W] like `light` (dark-on-light, 1 = white).

    stroke: the ink's stroke width in `light`'s pixels, if known: the kernel is then only a
    few times wider than it (3 x + 3 px), which follows the light far more closely (a closing also
    fills the light's own dark corners and wedges narrower than its kernel: vignettes, the
    tip of a shadow at the photo's edge). Unknown: `kernel` x the longest side.
    """
    small = _reduce(light, BG_SIDE)  # [h, w], h, w <= BG_SIDE
    k = _kernel_size(small.shape, kernel)
    if stroke is not None:
        scale = max(small.shape) / max(light.shape)
        k = min(k, _odd(math.ceil(3 * stroke * scale) + 3))
    # Closing: max then min filter. cv2 ignores the border (its default border value), so ink
    # at the edge of the photo is filled from the paper inside.
    paper = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    paper = cv2.GaussianBlur(paper, (0, 0), 1.0)  # the closing's blocky steps
    h, w = light.shape
    return cv2.resize(paper, (w, h), interpolation=cv2.INTER_LINEAR) if paper.shape != light.shape else paper


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width in pixels of a binary mask [H, W]: 4 x the mean Euclidean distance of
    its pixels to the background, less 2 (across a stroke of width w the distances run 1 .. w/2:
    mean (w/2 + 1)/2). Unlike counting boundary pixels, staircase edges (diagonal strokes, a
    small image scaled up) do not make it read thin."""
    m = mask.astype(np.uint8)
    if not m.any():
        return 0.0
    distance = cv2.distanceTransform(np.pad(m, 1), cv2.DIST_L2, 5)[1:-1, 1:-1]  # outside = background
    return max(1.0, 4.0 * float(distance[mask.astype(bool)].mean()) - 2.0)


def _box_side(mask: np.ndarray) -> int:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1)


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def paper_ink(paper: np.ndarray) -> np.ndarray:
    """A picture of a digit -> its ink, lighting and paper removed.

    paper: float32 [H, W] in [0, 1], 1 = white (vae.preprocess's working image, longest side
    <= ~512 px). Returns float32 [H, W] in [0, 1]: 0 = background; the ink's full strength is
    its contrast against its own paper (1 - ink/paper, at most 1), so a page without contrast
    stays near 0 and preprocess calls it blank.
    """
    small = _reduce(paper, BG_SIDE)
    if not dark_ink(small):
        paper = 1.0 - paper  # light ink on dark: now dark on light, the case below
    # A digit cropped tightly in a bold pen can have strokes wider than the kernel, which then
    # takes them for paper and finds nothing: once more with a kernel twice as wide.
    found = _ink_mask(paper, background(paper)) or _ink_mask(paper, background(paper, kernel=2 * BG_KERNEL))
    if found is None:
        return np.zeros_like(paper)
    # Again with a kernel fitted to the strokes just found (see `background`).
    found = _ink_mask(paper, background(paper, stroke_width(found[3]))) or found
    d, floor, level, mask = found
    # Soft edges kept (MNIST's anti-aliasing comes from them), but only near the kept ink.
    side = _box_side(mask)
    near = cv2.dilate(mask.astype(np.uint8), _disk(max(1, round(0.02 * side))))
    strength = min(1.0, level)  # the ink's contrast, for preprocess's blank check
    ink = np.clip((d - floor) / (level - floor), 0.0, 1.0) * near * np.float32(strength)
    return ink.astype(np.float32)


def _ink_mask(light: np.ndarray, bg: np.ndarray) -> tuple[np.ndarray, float, float, np.ndarray] | None:
    """(darkness d [H, W] with the paper at 0, noise floor, ink level, ink mask [H, W] bool) of
    dark-on-light `light` under the lit paper `bg`; None when nothing clears the floor."""
    d = 1.0 - light / np.maximum(bg, np.float32(0.02))  # [H, W] darkness relative to the paper
    level0 = float(np.median(d))  # most pixels are paper
    sigma = 1.4826 * float(np.median(np.abs(d - level0)))
    d -= np.float32(level0)
    floor = max(4.0 * sigma, MIN_FLOOR)
    candidates = d[d > floor]
    if candidates.size == 0:
        return None
    level = max(float(np.percentile(candidates, 90)), floor + 1e-3)
    mask = _main_components(d > max(floor, 0.5 * level))
    return (d, floor, level, mask) if mask.any() else None


def _main_components(mask: np.ndarray) -> np.ndarray:
    """The digit's connected components (8-neighbour) in a bool mask [H, W]: the largest, then
    each other (not touching the edge) with at least MIN_PIECE of its area lying within MAX_GAP x
    the size of what is kept so far (a digit written in two strokes, a stroke broken by the threshold), until none
    joins. Fibres, specks and shadows' tips away from the digit stay out."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 2:
        return mask
    stats = stats[1:]  # label 0 is the background
    x0, y0 = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    x1, y1 = x0 + stats[:, cv2.CC_STAT_WIDTH], y0 + stats[:, cv2.CC_STAT_HEIGHT]
    areas = stats[:, cv2.CC_STAT_AREA]
    h, w = mask.shape
    # The seed: the largest piece, but one touching the photo's edge counts a fifth (a shadow's
    # tip, the desk, the paper's edge end there; a framed digit does not).
    edge = (x0 == 0) | (y0 == 0) | (x1 == w) | (y1 == h)
    first = int(np.argmax(areas * np.where(edge, 0.2, 1.0)))
    keep = {first}
    box = [x0[first], y0[first], x1[first], y1[first]]
    candidates = [int(i) for i in np.argsort(-areas) if areas[i] >= MIN_PIECE * areas[first] and not edge[i]]
    grown = True
    while grown:
        grown = False
        reach = MAX_GAP * max(box[2] - box[0], box[3] - box[1])
        for i in candidates:
            gap = max(box[0] - x1[i], x0[i] - box[2], box[1] - y1[i], y0[i] - box[3])
            if i not in keep and gap <= reach:
                keep.add(i)
                box = [min(box[0], x0[i]), min(box[1], y0[i]), max(box[2], x1[i]), max(box[3], y1[i])]
                grown = True
    return np.isin(labels, np.array(sorted(keep)) + 1)


def mnist_shape(crop: np.ndarray, target_slant: float = MNIST_SLANT, stroke: float | None = None) -> np.ndarray:
    """A digit's ink, cropped to its box (float32 [h, w], 0 = background, peak 1) -> the same
    digit deskewed to `target_slant` (MNIST's mean; vae.photo_variants tries others) and, if its
    strokes are far from MNIST's width, redrawn at that width: float32 [H, W] in [0, 1], its
    larger side about SHAPE_SIDE (+ a margin). `stroke` (over the digit's size): always redrawn
    at that width instead.

    Everything is relative to the digit's size, so the crop's resolution does not matter (it is
    scaled to SHAPE_SIDE first: a 5 px digit up, a 400 px one down)."""
    h, w = crop.shape
    scale = SHAPE_SIDE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))  # cv2: (w, h)
    ink = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    ink = np.clip(ink, 0.0, None)
    peak = float(ink.max())
    if not peak > 0.0:
        return crop
    ink = np.pad(np.minimum(ink * np.float32(1.0 / peak), 1.0), 8)  # room for the shear, the pen
    ink = deskew(ink, target_slant)
    mask = ink >= 0.5
    if not mask.any():
        return ink
    side = _box_side(mask)
    ratio = stroke_width(mask) / side
    if stroke is None and STROKE_BAND[0] * MNIST_STROKE <= ratio <= STROKE_BAND[1] * MNIST_STROKE:
        return ink
    return redraw(skeleton(mask), (MNIST_STROKE if stroke is None else stroke) * side)


def slant(ink: np.ndarray) -> tuple[float, float]:
    """(mu11 / mu02, the centre of mass's row) of ink [H, W]: the x shift per row down that
    a line fitted through the ink's mass has (0 = upright; NaN when the ink is one row high)."""
    total = float(ink.sum())
    rows = np.arange(ink.shape[0], dtype=np.float64)
    cols = np.arange(ink.shape[1], dtype=np.float64)
    cy = float(ink.sum(axis=1) @ rows) / total
    cx = float(ink.sum(axis=0) @ cols) / total
    dy, dx = rows - cy, cols - cx
    mu02 = float(ink.sum(axis=1) @ dy**2) / total
    mu11 = float(dy @ ink @ dx) / total
    return (mu11 / mu02 if mu02 > 1.0 else math.nan), cy


def deskew(ink: np.ndarray, target: float = 0.0) -> np.ndarray:
    """Shear ink [H, W] (x' = x - (s - target) * (y - cy)) so its slant becomes `target`; the
    width grows to keep all of it. Left alone if the slant is undefined or beyond MAX_SHEAR."""
    s, cy = slant(ink)
    shear = s - target
    if not abs(shear) <= MAX_SHEAR or abs(shear) < 0.01:
        return ink
    h, w = ink.shape
    pad = math.ceil(abs(shear) * max(cy, h - cy)) + 1
    ink = np.pad(ink, ((0, 0), (pad, pad)))
    # Inverse map: output (x, y) reads input (x + shear * (y - cy), y).
    matrix = np.float32([[1, shear, -shear * cy], [0, 1, 0]])
    return cv2.warpAffine(ink, matrix, (w + 2 * pad, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)


def skeleton(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a bool mask [H, W] -> its one-pixel-wide skeleton (bool).
    Each pass peels one layer from every side: as many passes as half the widest stroke."""
    img = np.pad(mask.astype(np.uint8), 1)
    while True:
        changed = False
        for step in (0, 1):
            p2, p3, p4 = img[:-2, 1:-1], img[:-2, 2:], img[1:-1, 2:]
            p5, p6, p7 = img[2:, 2:], img[2:, 1:-1], img[2:, :-2]
            p8, p9 = img[1:-1, :-2], img[:-2, :-2]
            ring = (p2, p3, p4, p5, p6, p7, p8, p9, p2)
            neighbours = sum(p.astype(np.int8) for p in ring[:8])
            transitions = sum(((a == 0) & (b == 1)).astype(np.int8) for a, b in zip(ring[:8], ring[1:]))
            if step == 0:
                side = ((p2 & p4 & p6) == 0) & ((p4 & p6 & p8) == 0)
            else:
                side = ((p2 & p4 & p8) == 0) & ((p2 & p6 & p8) == 0)
            peel = (img[1:-1, 1:-1] == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & side
            if peel.any():
                img[1:-1, 1:-1][peel] = 0
                changed = True
        if not changed:
            return img[1:-1, 1:-1].astype(bool)


def redraw(skel: np.ndarray, width: float) -> np.ndarray:
    """Strokes `width` px wide around a skeleton [H, W] bool, anti-aliased (1 px ramp):
    float32 [H, W] in [0, 1]."""
    distance = cv2.distanceTransform((~skel).astype(np.uint8), cv2.DIST_L2, 5)
    return np.clip(np.float32(width / 2 + 0.5) - distance, 0.0, 1.0)


def _measure_mnist(n: int = 3000) -> None:
    """Print MNIST_STROKE's and MNIST_SLANT's measurements (stroke width / box side; moment
    slant) over n training digits."""
    from .data import load_mnist

    images, _ = load_mnist("train")
    ratios: list[float] = []
    for digit in images[:n]:
        big = cv2.resize(digit.astype(np.float32) / 255.0, (224, 224), interpolation=cv2.INTER_LINEAR)
        mask = big >= 0.5
        if mask.any():
            ratios.append(stroke_width(mask) / _box_side(mask))
    lo, p10, mid, p90, hi = np.percentile(ratios, [2, 10, 50, 90, 98])
    print(f"MNIST stroke width / box side over {len(ratios)} digits: median {mid:.3f}, "
          f"10-90 % {p10:.3f}-{p90:.3f}, 2-98 % {lo:.3f}-{hi:.3f}")
    slants = [slant(digit.astype(np.float32))[0] for digit in images[:n]]
    print(f"MNIST slant (mu11 / mu02): mean {np.nanmean(slants):.3f}, sd {np.nanstd(slants):.3f}")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m vae.paper", description="MNIST_STROKE's and MNIST_SLANT's measurement.")
    parser.add_argument("--measure", action="store_true", help="measure MNIST's stroke width and slant")
    parser.add_argument("-n", type=int, default=3000)
    args = parser.parse_args()
    if args.measure:
        _measure_mnist(args.n)
