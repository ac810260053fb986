"""Anomaly detection with a likelihood model, calibrated and measured.

Rules. A verdict compares a score with a reference set's (the validation digits). A two-sided
band at false-alarm rate a is [the a/2 and 1 - a/2 quantiles]: a valid digit falls outside it
with probability a, by construction. The question's rule, "valid if inside the 25-75 % band",
is the same band at a = 50 %: it flags half of all valid digits. Calibrated bands at 1 % and
5 % keep false alarms rare and still catch what lies far out in either tail.

Both tails count. Likelihood also measures simplicity: a blank page or a clean 1 has few
uncertain pixels, so the model gives it a *higher* log p(x) than almost any real digit
(Nalisnick et al. 2019, "Do deep generative models know what they don't know?"). A rule that
only flags low likelihood calls them the most normal inputs of all; a two-sided band flags them.
What neither can do is flag an input whose likelihood happens to land among the digits' (a
rotated or shifted digit, a letter): measured below, for three scores (log p(x), the ELBO, the
reconstruction error at z = mu), on out-of-distribution sets made here from the test digits and
from the fonts in /usr/share/fonts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from .arraycache import cached_array
from .checkpoint import Checkpoint
from .data import binarize, fixed_binarization, image_rows, load_mnist
from .model import VAE
from .preprocess import ImageError, prepare_array
from .quadrature import PriorGrid
from .typicality import percentiles, split_scores, typicality_scores

RULES: dict[str, float] = {"1 % false alarms": 0.01, "5 % false alarms": 0.05, "the question's 25–75 % band": 0.50}
SCORES: tuple[str, ...] = ("log p(x)", "ELBO", "reconstruction error")
# (score, which values are flagged): "two" = outside the central band, "low" / "high" = one tail.
DETECTORS: dict[str, tuple[str, str]] = {
    "log p(x), two-sided": ("log p(x)", "two"), "log p(x), low only": ("log p(x)", "low"),
    "ELBO, two-sided": ("ELBO", "two"), "ELBO, low only": ("ELBO", "low"),
    "reconstruction error, high": ("reconstruction error", "high")}
OOD_SETS: tuple[str, ...] = ("noise", "blank", "inverted", "rotated 90°", "rotated 180°", "shifted",
                             "thickened", "thinned", "letters")
FONT_DIRS = (Path("/usr/share/fonts"),)
OOD_VERSION = 1  # part of the saved arrays' key: bump when the sets or scores change
REFERENCE_N = 1000  # validation digits behind the bands; the first 1000 test digits are the negatives


@dataclass(frozen=True)
class Verdict:
    word: str  # "typical", "anomalous" (calibrated rules) or "unusual" (the question's rule)
    inside: bool
    side: str  # "" inside, "low" or "high": which tail it is in
    lo: float  # the band
    hi: float
    false_alarm: float  # the rule's rate of flagging a valid digit
    percentile: float  # among the reference scores


def band(reference: np.ndarray, false_alarm: float) -> tuple[float, float]:
    """The two-sided band holding 1 - false_alarm of the reference scores."""
    lo, hi = np.quantile(np.asarray(reference, np.float64), [false_alarm / 2, 1 - false_alarm / 2])
    return float(lo), float(hi)


def verdict(score: float, reference: np.ndarray, false_alarm: float) -> Verdict:
    """Inside the band at this false-alarm rate: typical; outside: anomalous (called "unusual"
    under the question's 50 % rule, which flags half of all valid digits)."""
    lo, hi = band(reference, false_alarm)
    inside = lo <= score <= hi
    word = "typical" if inside else ("unusual" if false_alarm >= 0.5 else "anomalous")
    side = "" if inside else ("low" if score < lo else "high")
    pct = float(percentiles(np.array([score]), reference)[0])
    return Verdict(word, inside, side, lo, hi, false_alarm, pct)


def flag_rate(values: np.ndarray, reference: np.ndarray, false_alarm: float) -> float:
    """The fraction of values outside the reference's band at that false-alarm rate."""
    lo, hi = band(reference, false_alarm)
    v = np.asarray(values, np.float64)
    return float(((v < lo) | (v > hi)).mean())


# ---------------------------------------------------------------- out-of-distribution sets
def _fonts() -> list[Path]:
    found = sorted({p for d in FONT_DIRS if d.is_dir() for p in d.rglob("*.ttf")})
    return [p for p in found if "Math" not in p.name][:12]


def letter_images(n: int) -> np.ndarray:
    """Capital letters A-Z in the fonts found under /usr/share/fonts (PIL's default font if none),
    each fitted and centred like an MNIST digit -> float32 [n, 28, 28] in [0, 1]."""
    fonts = _fonts() or [None]
    out = []
    for k in range(n):
        char, font_path = chr(ord("A") + k % 26), fonts[(k // 26) % len(fonts)]
        canvas = Image.new("L", (256, 256), 0)
        font = ImageFont.truetype(str(font_path), 200) if font_path else ImageFont.load_default(size=200)
        ImageDraw.Draw(canvas).text((128, 128), char, fill=255, font=font, anchor="mm")
        try:
            out.append(prepare_array(np.asarray(canvas, np.float32) / 255.0)[0].numpy())
        except ImageError:  # a font without the glyph draws nothing
            out.append(np.zeros((28, 28), np.float32))
    return np.stack(out).astype(np.float32)


def _morph(img: np.ndarray, grow: bool) -> np.ndarray:
    """3 x 3 max (thicken) or min (thin) filter on grey images [N, 28, 28]."""
    padded = np.pad(img, ((0, 0), (1, 1), (1, 1)))
    stack = np.stack([padded[:, i : i + 28, j : j + 28] for i in range(3) for j in range(3)])
    return stack.max(axis=0) if grow else stack.min(axis=0)


def ood_images(name: str, n: int, seed: int = 0) -> np.ndarray:
    """An out-of-distribution set: float32 [n, 28, 28] grey in [0, 1] (binarised later, like the
    test digits). Digit-based sets transform test digits 5000.. (not those used as negatives)."""
    digits = load_mnist("test")[0][5000 : 5000 + n].astype(np.float32) / 255.0
    rng = np.random.default_rng(seed)
    if name == "noise":
        return rng.random((n, 28, 28), dtype=np.float32)
    if name == "blank":
        return np.zeros((n, 28, 28), np.float32)
    if name == "inverted":
        return 1.0 - digits
    if name in ("rotated 90°", "rotated 180°"):
        return np.ascontiguousarray(np.rot90(digits, 1 if name == "rotated 90°" else 2, axes=(1, 2)))
    if name == "shifted":  # 7 pixels towards a random corner: the ink partly leaves the frame
        out = np.zeros_like(digits)
        for i, (dy, dx) in enumerate(rng.choice([-7, 7], size=(n, 2))):
            out[i] = np.roll(digits[i], (dy, dx), axis=(0, 1))
            out[i, (slice(None, dy) if dy > 0 else slice(dy, None))] = 0
            out[i, :, (slice(None, dx) if dx > 0 else slice(dx, None))] = 0
        return out
    if name in ("thickened", "thinned"):
        return _morph(digits, name == "thickened")
    if name == "letters":
        return letter_images(n)
    raise ValueError(f"unknown set {name!r}; one of {OOD_SETS}")


@torch.inference_mode()
def reconstruction_error(model: VAE, x: np.ndarray) -> np.ndarray:
    """-log p(x | z = mu(x)) per image, nats [N]."""
    x_flat = image_rows(x, model.config.input_dim)
    logits = model.decode_logits(model.encode(x_flat)[0])
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, x_flat, reduction="none").sum(1).double().numpy()


def scores_of(model: VAE, x: np.ndarray, prior: PriorGrid) -> dict[str, np.ndarray]:
    """The three scores of binary images x [N, 28, 28]."""
    return {"log p(x)": typicality_scores(model, x, "log p(x)", prior), "ELBO": typicality_scores(model, x, "ELBO", prior),
            "reconstruction error": reconstruction_error(model, x)}


@dataclass(frozen=True)
class OodScores:
    reference: dict[str, np.ndarray]  # score -> the validation digits' [REFERENCE_N]
    test: dict[str, np.ndarray]  # score -> the first REFERENCE_N test digits' (the negatives)
    sets: dict[str, dict[str, np.ndarray]]  # set -> score -> [per_set]


def ood_scores(ckpt: Checkpoint, per_set: int, prior: PriorGrid) -> OodScores:
    """Scores of the validation and test digits and of every out-of-distribution set (binarised
    with seed 0), each kept in data/cache/ by the weights' hash (an unconditional model)."""
    model = ckpt.model
    if model.conditional:
        raise ValueError("the out-of-distribution measurement needs an unconditional model")

    def saved(what: str, n: int, compute) -> np.ndarray:  # noqa: ANN001
        key = {"what": f"ood scores: {what}", "version": OOD_VERSION, "weights_sha256": ckpt.weights_sha256,
               "torch": torch.__version__, "n": n, "dtype": "float64", "shape": [n]}
        return cached_array(key, lambda: np.asarray(compute(), np.float64))

    def split(name: str) -> dict[str, np.ndarray]:
        out = {s: split_scores(ckpt, name, REFERENCE_N, True, s, lambda _label: prior) for s in ("log p(x)", "ELBO")}
        x = fixed_binarization(name, seed=0)[0][:REFERENCE_N, 0].numpy()
        out["reconstruction error"] = saved(f"{name} reconstruction", REFERENCE_N, lambda: reconstruction_error(model, x))
        return out

    sets = {}
    for name in OOD_SETS:
        x = binarize(ood_images(name, per_set), 0)
        rows = 1 if name == "blank" else per_set  # blank pages are all alike: score one
        sets[name] = {s: np.resize(saved(f"{name} {s}", rows, lambda s=s: scores_of(model, x[:rows], prior)[s]), per_set)
                      for s in SCORES}
    return OodScores(reference=split("val"), test=split("test"), sets=sets)


def statistic(values: np.ndarray, reference: np.ndarray, kind: str) -> np.ndarray:
    """How anomalous each value looks to a detector (larger = more): distance from the middle in
    percentile for "two", the negated score for "low", the score for "high"."""
    v = np.asarray(values, np.float64)
    if kind == "two":
        return np.abs(percentiles(v, reference) - 50.0)
    return -v if kind == "low" else v


def flagged(values: np.ndarray, reference: np.ndarray, kind: str, false_alarm: float) -> np.ndarray:
    """Which values the detector flags at that false-alarm rate on the reference."""
    v, ref = np.asarray(values, np.float64), np.asarray(reference, np.float64)
    if kind == "two":
        lo, hi = band(ref, false_alarm)
        return (v < lo) | (v > hi)
    if kind == "low":
        return v < np.quantile(ref, false_alarm)
    return v > np.quantile(ref, 1 - false_alarm)


def auroc(negatives: np.ndarray, positives: np.ndarray) -> float:
    """P(a positive's statistic > a negative's), ties counting half (Mann-Whitney)."""
    neg, pos = np.sort(np.asarray(negatives, np.float64)), np.asarray(positives, np.float64)
    below = np.searchsorted(neg, pos, side="left")
    equal = np.searchsorted(neg, pos, side="right") - below
    return float((below + 0.5 * equal).sum() / (len(neg) * len(pos)))


def roc(negatives: np.ndarray, positives: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false-alarm rate, detection rate) at every threshold, from (0, 0) to (1, 1)."""
    thresholds = np.unique(np.concatenate([negatives, positives]))[::-1]
    fpr = np.array([0.0, *[(negatives >= t).mean() for t in thresholds]])
    tpr = np.array([0.0, *[(positives >= t).mean() for t in thresholds]])
    return fpr, tpr


def detection_table(s: OodScores, false_alarm: float = 0.05) -> dict[str, dict[str, tuple[float, float]]]:
    """set -> detector -> (AUROC against the test digits, detection rate at the false-alarm
    rate calibrated on the validation digits)."""
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for name, by_score in s.sets.items():
        out[name] = {}
        for det, (score, kind) in DETECTORS.items():
            ref = s.reference[score]
            area = auroc(statistic(s.test[score], ref, kind), statistic(by_score[score], ref, kind))
            out[name][det] = (area, float(flagged(by_score[score], ref, kind, false_alarm).mean()))
    return out
