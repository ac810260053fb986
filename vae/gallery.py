"""Test images worth a look on the Posterior page, picked from numbers the app already has:
the largest ELBO gaps (q(z|x) far from p(z|x)), posteriors with more than one mode, the most and
least likely images, and images on the border between two digits in the latent plane. Pure:
arrays in, test indices out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .quadrature import PosteriorGrid


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


def shelves(log_px: np.ndarray, elbo: np.ndarray, mu: np.ndarray, labels: np.ndarray,
            posteriors: dict[int, PosteriorGrid], per_shelf: int = 4) -> list[Shelf]:
    """The gallery of the first n test images: log_px, elbo [n] (nats, binarised images), their
    latent means mu [n, 2] and labels [n]; `posteriors` holds the exact posteriors of the
    candidates for the multimodal shelf (e.g. the largest gaps)."""
    gap = np.asarray(log_px) - np.asarray(elbo)
    order_gap = np.argsort(-gap)
    likely = np.argsort(-np.asarray(log_px))
    border = border_scores(np.asarray(mu)[: len(gap)], np.asarray(labels)[: len(gap)])
    order_border = np.argsort(-border, kind="stable")
    modes = {i: count_modes(post.view_posterior) for i, post in posteriors.items()}
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
