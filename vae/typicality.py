"""Typicality: is an image like the data? Its score (log p(x) by quadrature, or the ELBO) placed
among the scores of a reference set, with percentile bands and a verdict that counts both tails
(a likelihood far *above* the data's is as atypical as one far below, Nalisnick et al. 2019).

Scoring 1,000 reference images by quadrature takes ~20 s per model, so `split_scores` keeps them
on disk (vae/arraycache.py), keyed by the loaded weights' content hash.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from .arraycache import cached_array
from .checkpoint import Checkpoint
from .data import Split, fixed_binarization, image_rows, load_mnist
from .model import VAE
from .quadrature import PriorGrid, elbo_on_q_box, prior_grid, quadrature_log_px

Score = Literal["log p(x)", "ELBO"]


# Part of the key of saved scores (vae/arraycache.py): bump it when typicality_scores' numbers change.
TYPICALITY_SCORES_VERSION = 1


@torch.inference_mode()
def typicality_scores(model: VAE, x: np.ndarray | torch.Tensor, score: Score = "log p(x)",
                      prior: PriorGrid | None = None, batch_size: int = 128) -> np.ndarray:
    """The score a typicality check compares, for a reference set and for the image placed among
    it alike, x [N, ...] -> float64 [N] nats: log p(x) by adaptive quadrature (REFINE_TOL 3e-3,
    ~370 decodes per image, mean error ~0.01 nats) or the ELBO on a 16 x 16 grid over q's box."""
    x_flat = image_rows(x, model.config.input_dim)  # [N, P]
    if score == "ELBO":
        parts = [elbo_on_q_box(model, x_flat[s : s + batch_size], 16) for s in range(0, len(x_flat), batch_size)]
        return torch.cat(parts).numpy() if parts else np.zeros(0)
    if score != "log p(x)":
        raise ValueError(f"score must be 'log p(x)' or 'ELBO', got {score!r}")
    return quadrature_log_px(model, x_flat, prior, tol=3e-3, batch_size=batch_size).numpy()


def _split_images(split: Split, n: int, binarize: bool) -> tuple[np.ndarray, np.ndarray]:
    """The first n images of a split, float32 [n, 28, 28] in [0, 1] (binarised as in evaluation,
    `fixed_binarization`), and their labels int64 [n]."""
    if binarize:
        x, labels = fixed_binarization(split, seed=0)
        return x[:n, 0].numpy(), labels[:n]
    images, labels = load_mnist(split)
    return images[:n].astype(np.float32) / 255.0, labels[:n]


def split_scores(ckpt: Checkpoint, split: Split, n: int, binarize: bool, score: Score,
                 grid_for_label: Callable[[int | None], PriorGrid] | None = None) -> np.ndarray:
    """`typicality_scores` of the first n images of a split -> float64 [n] nats, computed once per
    loaded weights and kept in data/cache/ (vae/arraycache.py) for later processes.

    A CVAE scores log p(x|y), each image with its own label. grid_for_label(label): the decoded
    quadrature level 0 of the model with that label (None: unconditional), e.g. a cached one.
    """
    grid_for_label = grid_for_label or (lambda label: prior_grid(ckpt.model.conditioned(label)))
    # The loaded weights' hash (not the file's: it may have been rewritten since it was loaded)
    # and torch's version (the binarisation's random stream and the numerics come from it).
    key = {"what": "typicality scores", "version": TYPICALITY_SCORES_VERSION,
           "weights_sha256": ckpt.weights_sha256, "torch": torch.__version__, "split": split,
           "n": n, "binarize": binarize, "score": score, "dtype": "float64", "shape": [n]}

    def compute() -> np.ndarray:
        x, labels = _split_images(split, n, binarize)
        if not ckpt.model.conditional:
            return typicality_scores(ckpt.model, x, score, grid_for_label(None))
        out = np.zeros(len(x))
        for digit in range(ckpt.config.num_classes):
            rows = labels == digit
            if rows.any():
                out[rows] = typicality_scores(ckpt.model.conditioned(digit), x[rows], score, grid_for_label(digit))
        return out

    return cached_array(key, lambda: np.asarray(compute(), np.float64))


Verdict = Literal["typical", "unusual", "anomalous"]


@dataclass(frozen=True)
class Bands:
    """Percentiles of the reference scores: the 25-75 % and 1-99 % bands."""

    p1: float
    p25: float
    p75: float
    p99: float


@dataclass(frozen=True)
class Typicality:
    score: float
    percentile: float  # % of reference scores below the score (ties count half), 0-100
    verdict: Verdict  # typical: inside 25-75 %; unusual: inside 1-99 %; anomalous: outside
    bands: Bands


def bands(reference: np.ndarray) -> Bands:
    p1, p25, p75, p99 = np.percentile(np.asarray(reference, np.float64), [1, 25, 75, 99])
    return Bands(float(p1), float(p25), float(p75), float(p99))


def percentiles(scores: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Percentile rank of each score among the reference scores, 0-100, mid-rank for ties
    (so it is non-decreasing in the score) -> float64 [N]."""
    ref = np.sort(np.asarray(reference, np.float64))
    if ref.size == 0:
        raise ValueError("empty reference")
    s = np.asarray(scores, np.float64)
    return 100.0 * (np.searchsorted(ref, s, side="left") + np.searchsorted(ref, s, side="right")) / (2 * ref.size)


def percentile_of(score: float, reference: np.ndarray) -> float:
    """Percentile rank of one score among reference scores (see `percentiles`)."""
    return float(percentiles(np.array([score]), reference)[0])


def rank_by_typicality(scores: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Indices of `scores` from the most typical (percentile nearest 50 %) to the least (farthest
    into either tail) -> int [N]."""
    return np.argsort(np.abs(percentiles(scores, reference) - 50.0), kind="stable")


def typicality(score: float, reference: np.ndarray) -> Typicality:
    """Where a score falls among reference scores (both tails count: a likelihood far *above*
    the data's is as atypical as one far below, cf. Nalisnick et al. 2019)."""
    b = bands(reference)
    if b.p25 <= score <= b.p75:
        verdict: Verdict = "typical"
    elif b.p1 <= score <= b.p99:
        verdict = "unusual"
    else:
        verdict = "anomalous"
    return Typicality(score=float(score), percentile=percentile_of(score, reference), verdict=verdict, bands=b)

