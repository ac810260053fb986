"""Typicality: is an image like the data? Its score (log p(x) by quadrature, or the ELBO) placed
among the scores of a reference set, with percentile bands and a verdict that counts both tails
(a likelihood far *above* the data's is as atypical as one far below, Nalisnick et al. 2019).

Scoring 1,000 reference images by quadrature takes ~20 s per model, so `split_scores` keeps them
on disk (vae/arraycache.py), keyed by the loaded weights' content hash. The shipped checkpoints'
scores ship in checkpoints/scores/ (`python -m vae.typicality --precompute checkpoints/NAME`,
run by `make train`); a model trained in the app gets its scores from its training job.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from . import arraycache
from .arraycache import cached_array, load_saved
from .checkpoint import Checkpoint, CheckpointError, load_checkpoint
from .data import Split, fixed_binarization, image_rows, load_mnist
from .lossy import RD_BITS, rd_digits, rd_key, saved_rate_distortion
from .gallery import candidate_modes, modes_key
from .model import VAE
from .quadrature import PriorGrid, elbo_on_q_box, prior_grid, quadrature_log_px

Score = Literal["log p(x)", "ELBO"]
SCORES: tuple[Score, ...] = ("log p(x)", "ELBO")
# What the Typicality page compares against: the first REFERENCE_IMAGES validation images (its
# histogram and bands) and ranks: the first RANKED_IMAGES test images.
REFERENCE_IMAGES = 1000
RANKED_IMAGES = 1000
PAGE_SETS: tuple[tuple[Split, int], ...] = (("val", REFERENCE_IMAGES), ("test", RANKED_IMAGES))
# progress(done, total): images scored so far, of how many.
Progress = Callable[[int, int], None]


# Part of the key of saved scores (vae/arraycache.py): bump it when typicality_scores' numbers change.
TYPICALITY_SCORES_VERSION = 1


@torch.inference_mode()
def typicality_scores(model: VAE, x: np.ndarray | torch.Tensor, score: Score = "log p(x)",
                      prior: PriorGrid | None = None, batch_size: int = 128,
                      progress: Progress | None = None) -> np.ndarray:
    """The score a typicality check compares, for a reference set and for the image placed among
    it alike, x [N, ...] -> float64 [N] nats: log p(x) by adaptive quadrature (REFINE_TOL 3e-3,
    ~370 decodes per image, mean error ~0.01 nats) or the ELBO on a 16 x 16 grid over q's box.
    progress(done, N) after each batch (each image's score depends on that image alone)."""
    x_flat = image_rows(x, model.config.input_dim)  # [N, P]
    if score not in SCORES:
        raise ValueError(f"score must be 'log p(x)' or 'ELBO', got {score!r}")
    if score == "log p(x)" and prior is None:
        prior = prior_grid(model)  # level 0, decoded once for all batches
    parts = []
    for s in range(0, len(x_flat), batch_size):
        rows = x_flat[s : s + batch_size]  # [B, P]
        parts.append(elbo_on_q_box(model, rows, 16) if score == "ELBO" else
                     quadrature_log_px(model, rows, prior, tol=3e-3, batch_size=batch_size))
        if progress is not None:
            progress(s + len(rows), len(x_flat))
    return torch.cat(parts).numpy() if parts else np.zeros(0)


def _split_images(split: Split, n: int, binarize: bool) -> tuple[np.ndarray, np.ndarray]:
    """The first n images of a split, float32 [n, 28, 28] in [0, 1] (binarised as in evaluation,
    `fixed_binarization`), and their labels int64 [n]."""
    if binarize:
        x, labels = fixed_binarization(split, seed=0)
        return x[:n, 0].numpy(), labels[:n]
    images, labels = load_mnist(split)
    return images[:n].astype(np.float32) / 255.0, labels[:n]


def scores_key(ckpt: Checkpoint, split: Split, n: int, binarize: bool, score: Score) -> dict[str, object]:
    """What names saved scores (vae/arraycache.py): the loaded weights' hash (not the file's: it
    may have been rewritten since it was loaded) and torch's version (the binarisation's random
    stream and the numerics come from it), the images and the score."""
    return {"what": "typicality scores", "version": TYPICALITY_SCORES_VERSION,
            "weights_sha256": ckpt.weights_sha256, "torch": torch.__version__, "split": split,
            "n": n, "binarize": binarize, "score": score, "dtype": "float64", "shape": [n]}


def scores_saved(ckpt: Checkpoint, split: Split, n: int, binarize: bool, score: Score) -> bool:
    """Are these scores on disk (shipped or cached), so split_scores returns at once?"""
    return load_saved(scores_key(ckpt, split, n, binarize, score)) is not None


def split_scores(ckpt: Checkpoint, split: Split, n: int, binarize: bool, score: Score,
                 grid_for_label: Callable[[int | None], PriorGrid] | None = None,
                 progress: Progress | None = None, directory: Path | None = None) -> np.ndarray:
    """`typicality_scores` of the first n images of a split -> float64 [n] nats, computed once per
    loaded weights and kept on disk (vae/arraycache.py: checkpoints/scores/ for the shipped
    models, data/cache/ for the rest; `directory`: only that folder) for later processes.

    A CVAE scores log p(x|y), each image with its own label. grid_for_label(label): the decoded
    quadrature level 0 of the model with that label (None: unconditional), e.g. a cached one.
    progress(done, n) while computing (never called when the scores are read back).
    """
    grid_for_label = grid_for_label or (lambda label: prior_grid(ckpt.model.conditioned(label)))

    def compute() -> np.ndarray:
        x, labels = _split_images(split, n, binarize)
        if not ckpt.model.conditional:
            return typicality_scores(ckpt.model, x, score, grid_for_label(None), progress=progress)
        out = np.zeros(len(x))
        done = 0
        for digit in range(ckpt.config.num_classes):
            rows = labels == digit
            if rows.any():
                step = None if progress is None else (lambda k, _t, d=done: progress(d + k, len(x)))
                out[rows] = typicality_scores(ckpt.model.conditioned(digit), x[rows], score,
                                              grid_for_label(digit), progress=step)
                done += int(rows.sum())
        return out

    return cached_array(scores_key(ckpt, split, n, binarize, score),
                        lambda: np.asarray(compute(), np.float64), directory)


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



def precompute(ckpt: Checkpoint, directory: Path | None = None, scores: tuple[Score, ...] = SCORES,
               binarize: tuple[bool, ...] = (True, False), progress: Progress | None = None) -> int:
    """Every set the Typicality page reads for this model (PAGE_SETS x scores x binarisation),
    scored and saved in `directory` (default: SHIPPED_DIR, the repository's checkpoints/scores/),
    and beside them the Posterior page's gallery modes (vae.gallery.candidate_modes) and the
    Compress page's lossy curve (vae.lossy.saved_rate_distortion).
    Returns how many arrays were computed (ones already there are kept). progress(done, total)
    counts images over all the sets to compute."""
    directory = directory or arraycache.SHIPPED_DIR
    todo = [(split, n, b, s) for split, n in PAGE_SETS for s in scores for b in binarize
            if load_saved(scores_key(ckpt, split, n, b, s), directory) is None]
    total = sum(n for _, n, _, _ in todo)
    done = 0
    grids: dict[int | None, PriorGrid] = {}  # level 0 per label: decoded once for all sets

    def grid(label: int | None) -> PriorGrid:
        if label not in grids:
            grids[label] = prior_grid(ckpt.model.conditioned(label))
        return grids[label]

    for split, n, b, s in todo:
        step = None if progress is None else (lambda k, _t, d=done: progress(d + k, total))
        split_scores(ckpt, split, n, b, s, grid, progress=step, directory=directory)
        done += n
    # The Posterior page's gallery reads these scores' largest gaps' mode counts: saved beside.
    computed = len(todo)
    ranked = dict(PAGE_SETS)["test"]
    if load_saved(modes_key(ckpt, ranked), directory) is None:
        scored = [split_scores(ckpt, "test", ranked, True, s, grid, directory=directory) for s in ("log p(x)", "ELBO")]
        candidate_modes(ckpt, *scored, load_mnist("test")[1][:ranked], grid, directory=directory)
        computed += 1
    # The Compress page's lossy curve (an unconditional model's: a CVAE is not coded).
    if not ckpt.model.conditional and load_saved(rd_key(ckpt, rd_digits(), RD_BITS), directory) is None:
        saved_rate_distortion(ckpt, rd_digits(), RD_BITS, directory)
        computed += 1
    return computed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vae.typicality",
                                description="Score the sets the Typicality page reads, once, and save them.")
    p.add_argument("--precompute", nargs="+", metavar="CHECKPOINT", required=True,
                   help="e.g. checkpoints/mnist-2d (several may follow)")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for the .npy files (default: checkpoints/scores/, read by the app first)")
    p.add_argument("--prune", action="store_true",
                   help="then delete the folder's .npy files that none of these checkpoints reads "
                        "(scores of weights since retrained); pass every shipped checkpoint")
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    keep: set[Path] = set()
    for path in args.precompute:
        try:
            ckpt = load_checkpoint(path)
        except CheckpointError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        start = time.perf_counter()
        shown = [-1]

        def report(done: int, total: int) -> None:
            if done * 10 // total != shown[0]:
                shown[0] = done * 10 // total
                print(f"  {ckpt.name}: {done:,}/{total:,} images", file=sys.stderr, flush=True)

        count = precompute(ckpt, args.out, progress=report)
        print(f"{ckpt.name}: {count} arrays computed, the rest already there ({time.perf_counter() - start:.0f} s)")
        keep |= {arraycache.key_path(scores_key(ckpt, split, n, b, s), args.out or arraycache.SHIPPED_DIR)
                 for split, n in PAGE_SETS for s in SCORES for b in (True, False)}
        keep.add(arraycache.key_path(modes_key(ckpt, dict(PAGE_SETS)["test"]), args.out or arraycache.SHIPPED_DIR))
        keep.add(arraycache.key_path(rd_key(ckpt, rd_digits(), RD_BITS), args.out or arraycache.SHIPPED_DIR))
    if args.prune:
        stale = [f for f in (args.out or arraycache.SHIPPED_DIR).glob("*.npy") if f not in keep]
        for file in stale:
            file.unlink()
        print(f"pruned {len(stale)} files no checkpoint given reads")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
