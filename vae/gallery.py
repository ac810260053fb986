"""Test images worth a look on the Posterior page, picked from numbers the app already has:
the largest ELBO gaps (q(z|x) far from p(z|x)), posteriors with more than one mode, the most and
least likely images, and images on the border between two digits in the latent plane. The
shelves are pure (arrays in, test indices out); the one costly input, the mode count of each
candidate's exact posterior, is computed once per weights and kept on disk like the typicality
scores (`candidate_modes`: vae/arraycache.py; the shipped models' ship in checkpoints/scores/),
so a cold server's Posterior page does not spend seconds on it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .arraycache import cached_array
from .checkpoint import Checkpoint
from .data import binarize, load_mnist
from .quadrature import PriorGrid, exact_posterior

CANDIDATES = 12  # exact posteriors computed for the multimodal shelf (~0.1 s each)
MODES_VERSION = 1  # bump when count_modes or the candidates' choice changes


@dataclass(frozen=True)
class Shelf:
    title: str  # e.g. "Largest ELBO gap"
    look_for: str  # what to look for on the Posterior page
    indices: tuple[int, ...]  # test images, most striking first
    values: tuple[float, ...]  # the number that put each there, in `unit`
    unit: str


def count_modes(density: np.ndarray, floor: float = 0.1, radius: int = 3) -> int:
    """Separate peaks of a density raster [m, m]: cells that are the maximum of their
    (2 radius + 1)^2 neighbourhood and hold at least `floor` of the global maximum."""
    d = np.asarray(density, np.float64)
    m = d.shape[0]
    padded = np.pad(d, radius, constant_values=-np.inf)
    local = np.full_like(d, -np.inf)
    for dy in range(2 * radius + 1):  # the neighbourhood maximum, one shifted copy at a time
        for dx in range(2 * radius + 1):
            local = np.maximum(local, padded[dy:dy + m, dx:dx + d.shape[1]])
    return int(((d >= local) & (d >= floor * d.max()) & (d > 0)).sum())


def border_scores(mu: np.ndarray, labels: np.ndarray, k: int = 10) -> np.ndarray:
    """How evenly the k nearest other means [N, 2] split between two digits: the share of the
    runner-up class among the neighbours (0: one class only, 0.5: half and half) -> [N]."""
    d2 = ((mu[:, None, :] - mu[None, :, :]) ** 2).sum(-1)  # [N, N]
    np.fill_diagonal(d2, np.inf)
    nearest = np.argsort(d2, axis=1)[:, :k]  # [N, k]
    counts = np.stack([(labels[nearest] == c).sum(1) for c in range(10)], axis=1)  # [N, 10]
    top2 = np.sort(counts, axis=1)[:, -2:]
    return top2[:, 0] / k


def modes_key(ckpt: Checkpoint, n: int) -> dict[str, object]:
    """What names a model's saved candidate modes (as vae.typicality.scores_key: the loaded
    weights' hash and torch's version, which the binarisation's random stream comes from)."""
    return {"what": "gallery modes", "version": MODES_VERSION, "weights_sha256": ckpt.weights_sha256,
            "torch": torch.__version__, "n": n, "candidates": CANDIDATES, "dtype": "int64",
            "shape": [min(CANDIDATES, n), 2]}


def candidate_modes(ckpt: Checkpoint, log_px: np.ndarray, elbo: np.ndarray, labels: np.ndarray,
                    grid_for_label: Callable[[int | None], PriorGrid], directory: Path | None = None) -> dict[int, int]:
    """{test index: modes of its exact posterior} for the CANDIDATES of the first n = len(log_px)
    test images with the largest ELBO gaps (where several modes hide). Computed once per
    weights, then read back (from `directory`, or the shipped scores then data/cache/)."""
    log_px, elbo = np.asarray(log_px), np.asarray(elbo)

    def compute() -> np.ndarray:
        images, _ = load_mnist("test")
        rows = []
        for i in np.argsort(elbo - log_px)[:CANDIDATES]:
            label = int(labels[i]) if ckpt.model.conditional else None
            x = binarize(images[i].astype(np.float32) / 255.0, 0)
            posterior = exact_posterior(ckpt.model.conditioned(label), x, grid_for_label(label))
            rows.append((int(i), count_modes(posterior.view_posterior)))
        return np.array(rows, np.int64).reshape(-1, 2)  # [CANDIDATES, 2]: index, modes

    saved = cached_array(modes_key(ckpt, len(log_px)), compute, directory)
    return {int(i): int(m) for i, m in saved}


def shelves(log_px: np.ndarray, elbo: np.ndarray, mu: np.ndarray, labels: np.ndarray,
            modes: dict[int, int], per_shelf: int = 4) -> list[Shelf]:
    """The gallery of the first n test images: log_px, elbo [n] (nats, binarised images), their
    latent means mu [n, 2] and labels [n]; `modes` holds the mode counts of the candidates'
    exact posteriors for the multimodal shelf (`candidate_modes`)."""
    gap = np.asarray(log_px) - np.asarray(elbo)
    order_gap = np.argsort(-gap)
    likely = np.argsort(-np.asarray(log_px))
    border = border_scores(np.asarray(mu)[: len(gap)], np.asarray(labels)[: len(gap)])
    order_border = np.argsort(-border, kind="stable")
    multimodal = sorted((i for i, n in modes.items() if n >= 2), key=lambda i: (-modes[i], -gap[i]))

    def shelf(title: str, look_for: str, idx: list[int] | np.ndarray, values: np.ndarray, unit: str) -> Shelf:
        picked = [int(i) for i in list(idx)[:per_shelf]]
        return Shelf(title, look_for, tuple(picked), tuple(float(values[i]) for i in picked), unit)

    out = [
        shelf("Largest ELBO gap", "q(z|x)'s ellipses sit away from, or far wider than, the true "
              "posterior: the encoder's guess costs the most nats here.", order_gap, gap, "nats gap"),
        shelf("Most likely", "clean, simple strokes (often 1s): likelihood also rewards simplicity.",
              likely, np.asarray(log_px), "nats"),
        shelf("Least likely", "odd or broken digits; the posterior is often spread out.", likely[::-1],
              np.asarray(log_px), "nats"),
        shelf("Between two digits", "its neighbours in the latent plane are split between two digits; "
              "hover around it to see one turn into the other.", order_border, border, "runner-up share"),
    ]
    if multimodal:
        out.insert(1, shelf("Posterior with several modes", "p(z|x) has separate islands: no single "
                            "Gaussian q(z|x) can cover them.", multimodal,
                            np.array([modes.get(i, 0) for i in range(len(gap))], float), "modes"))
    return out
