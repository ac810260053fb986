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
6. stroke width brought to MNIST's median (relative to the digit's size), by a grey dilation
   or erosion, when it lies outside MNIST's own 2-98 % range.

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
# 3,000 training digits scaled x8 and thresholded at 0.5: median 0.126, 2-98 % range 0.076-0.237
# (`python -m vae.paper --measure` prints them).
MNIST_STROKE = 0.126
# A piece of ink joins the digit if it has at least MIN_PIECE of the largest piece's area and lies
# within MAX_GAP x the digit's size of it (see _main_components).
MIN_PIECE = 0.05
MAX_GAP = 0.15
# Strokes within this factor of MNIST's median are left alone: its 2-98 % range (0.076 / 0.126,
# 0.237 / 0.126), so a real handwritten digit keeps its pen; the rest is brought to the median.
STROKE_BAND = (0.6, 1.87)


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
    return _match_stroke(ink.astype(np.float32), mask, side)


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


def _match_stroke(ink: np.ndarray, mask: np.ndarray, side: int) -> np.ndarray:
    """Grey-dilate (or erode) `ink` so the mask's stroke width nears MNIST_STROKE x side."""
    width = stroke_width(mask)
    target = MNIST_STROKE * side
    ratio = width / target if target > 0 else 1.0
    if STROKE_BAND[0] <= ratio <= STROKE_BAND[1] or width == 0:
        return ink
    if ratio < 1:  # thin pen: thicken to MNIST's width (loops stay open: MNIST's are at that width)
        radius = round((target - width) / 2)
        return cv2.dilate(ink, _disk(radius)) if radius >= 1 else ink
    radius = min(round((width - target) / 2), math.floor(0.3 * width))  # thick marker: thin it
    return cv2.erode(ink, _disk(radius)) if radius >= 1 else ink


def _measure_mnist(n: int = 3000) -> None:
    """Print MNIST_STROKE's measurement: stroke width / box side of n training digits."""
    from .data import load_mnist

    images, _ = load_mnist("train")
    ratios = []
    for digit in images[:n]:
        big = cv2.resize(digit.astype(np.float32) / 255.0, (224, 224), interpolation=cv2.INTER_LINEAR)
        mask = big >= 0.5
        if mask.any():
            ratios.append(stroke_width(mask) / _box_side(mask))
    lo, mid, hi = np.percentile(ratios, [2, 50, 98])
    print(f"MNIST stroke width / box side over {len(ratios)} digits: median {mid:.3f}, 2-98 % {lo:.3f}-{hi:.3f}")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m vae.paper", description="MNIST_STROKE's measurement.")
    parser.add_argument("--measure", action="store_true", help="measure MNIST's stroke width")
    parser.add_argument("-n", type=int, default=3000)
    args = parser.parse_args()
    if args.measure:
        _measure_mnist(args.n)
