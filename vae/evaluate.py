"""Metrics of a checkpoint and `python -m vae.evaluate`.

Protocol (also in the README):
- images binarised once: torch.bernoulli(pixels / 255) with a torch.Generator seeded 0;
- elbo / recon / kl: one-sample ELBO terms (generator seeded 1), nats per image, averaged;
- nll_iwae = -log mean_k p(x, z_k) / q(z_k|x), z_k ~ q(z|x), k = --iwae-k (generator seeded 2);
- nll_quadrature (with --quadrature): -log p(x) by quadrature over the 2-D latent plane
  (vae.quadrature.quadrature_log_px: adaptive quadtree over [-5, 5]^2, no sampling);
- knn5_accuracy: 5-nearest-neighbour vote of each test latent mean among the train latent
  means (train images binarised the same way), Euclidean distance in z.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .checkpoint import CheckpointError, load_checkpoint, update_metrics
from .data import DataError, Split, fixed_binarization
from .bounds import elbo_terms, iwae_log_px
from .latent import encode_images
from .model import VAE
from .quadrature import prior_grid, quadrature_log_px


def knn_accuracy(
    query: torch.Tensor,
    query_labels: np.ndarray,
    reference: torch.Tensor,
    reference_labels: np.ndarray,
    k: int = 5,
    num_classes: int = 10,
) -> float:
    """Fraction of queries whose k nearest references (Euclidean) vote for their label.

    Ties go to the class of the nearest neighbour among the tied classes.
    """
    ref_labels = torch.tensor(np.asarray(reference_labels), dtype=torch.long)
    correct = 0
    for start in range(0, len(query), 1000):
        q = query[start : start + 1000]
        dist = torch.cdist(q, reference)  # [B, M]
        nearest = dist.topk(k, largest=False).indices  # [B, k], sorted nearest first
        votes = ref_labels[nearest]  # [B, k]
        counts = torch.zeros(len(q), num_classes).scatter_add_(1, votes, torch.ones_like(votes, dtype=torch.float))
        # Break ties by rank: add a tiny bonus decreasing with the neighbour's rank.
        bonus = torch.zeros(len(q), num_classes).scatter_reduce_(
            1, votes, torch.linspace(1e-3, 1e-4, k).expand(len(q), k), reduce="amax"
        )
        predicted = (counts + bonus).argmax(dim=1).numpy()
        correct += int((predicted == np.asarray(query_labels[start : start + len(q)])).sum())
    return correct / len(query)


def train_latent_means(model: VAE, keep: bool = True) -> tuple[torch.Tensor, np.ndarray]:
    """(mu [50000, D], labels [50000]): the kNN references of knn5_accuracy, the training images
    binarised as the protocol says (a CVAE encodes each with its own label). keep: whether the
    process keeps the training split read for later (vae.data.load_mnist)."""
    x_train, train_labels = fixed_binarization("train", seed=0, keep=keep)
    mu_train, _ = encode_images(model, x_train, train_labels)
    return torch.from_numpy(mu_train), train_labels


def evaluate_model(
    model: VAE,
    split: Split = "test",
    iwae_k: int = 1000,
    limit: int | None = None,
    batch_size: int = 100,
    progress: bool = False,
    quadrature: bool = False,
    on_progress: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """All metrics of one model on one split (see the module docstring for the protocol).

    quadrature: also log p(x) by 2-D grid quadrature (vae.likelihood), as nll_quadrature.
    on_progress(fraction done, 0..1): after each batch and at the end (e.g. a UI's bar; it may
    raise to stop the evaluation).
    """
    start_time = time.perf_counter()
    x, labels = fixed_binarization(split, seed=0)
    if limit:
        x, labels = x[:limit], labels[:limit]
    gen_elbo = torch.Generator().manual_seed(1)
    gen_iwae = torch.Generator().manual_seed(2)
    elbos, recons, kls, log_px, quad = [], [], [], [], []
    grids: dict[int, Any] = {}  # the decoded coarse grid, once per (label) view
    batches = range(0, len(x), batch_size)
    if progress:
        from tqdm import tqdm

        batches = tqdm(batches, desc=f"IWAE k={iwae_k}", unit="batch")
    for start in batches:
        batch = x[start : start + batch_size]
        # A conditional VAE is scored as log p(x|y): each image with its own label.
        groups = ([(model, slice(None))] if not model.conditional else
                  [(model.conditioned(c), torch.from_numpy(labels[start : start + batch_size] == c))
                   for c in range(model.config.num_classes)])
        for view, rows in groups:
            if not batch[rows].shape[0]:
                continue
            terms = elbo_terms(view, batch[rows], generator=gen_elbo)
            elbos.append(terms.elbo)
            recons.append(terms.recon)
            kls.append(terms.kl)
            log_px.append(iwae_log_px(view, batch[rows], iwae_k, generator=gen_iwae))
            if quadrature:
                key = view.label if model.conditional else -1
                if key not in grids:
                    grids[key] = prior_grid(view)
                quad.append(quadrature_log_px(view, batch[rows], grids[key]))
        if on_progress is not None:  # the kNN part below is the last ~10 %
            on_progress(0.9 * min(start + batch_size, len(x)) / len(x))
    mu_test, _ = encode_images(model, x, labels)  # [N, D]; a CVAE's, each image with its own label
    mu_train, train_labels = train_latent_means(model)
    knn = knn_accuracy(torch.from_numpy(mu_test), labels, mu_train, train_labels)
    if on_progress is not None:
        on_progress(1.0)
    extra = {"nll_quadrature": float(-torch.cat(quad).mean())} if quad else {}
    return {
        "split": split,
        "n_images": int(len(x)),
        "elbo": float(torch.cat(elbos).mean()),
        "recon": float(torch.cat(recons).mean()),
        "kl": float(torch.cat(kls).mean()),
        "nll_iwae": float(-torch.cat(log_px).mean()),
        "iwae_k": int(iwae_k),
        "knn5_accuracy": float(knn),
        **extra,
        "eval_time_s": round(time.perf_counter() - start_time, 1),
    }


def format_table(metrics: dict[str, Any]) -> str:
    rows = [
        ("images", f"{metrics['n_images']} ({metrics['split']})"),
        ("ELBO", f"{metrics['elbo']:.2f} nats"),
        ("  reconstruction -E_q[log p(x|z)]", f"{metrics['recon']:.2f} nats"),
        ("  KL(q(z|x) || p(z))", f"{metrics['kl']:.2f} nats"),
        (f"NLL (IWAE, k={metrics['iwae_k']})", f"{metrics['nll_iwae']:.2f} nats"),
        *([("NLL (2-D quadrature)", f"{metrics['nll_quadrature']:.2f} nats")] if "nll_quadrature" in metrics else []),
        ("5-NN accuracy of latent means", f"{100 * metrics['knn5_accuracy']:.2f} %"),
    ]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vae.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoint", help="e.g. checkpoints/mnist-2d")
    p.add_argument("--split", choices=["train", "val", "test"], default="test")
    p.add_argument("--iwae-k", type=int, default=1000)
    p.add_argument("--limit", type=int, default=None, help="first N images only")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--save", action="store_true",
                   help="record the metrics in the checkpoint (prefixed by the split, e.g. test_elbo)")
    p.add_argument("--quadrature", action="store_true",
                   help="also log p(x) by quadrature over the 2-D latent grid (adds nll_quadrature)")
    args = p.parse_args(argv)
    if args.iwae_k < 1 or (args.limit is not None and args.limit < 1):
        p.error("--iwae-k and --limit must be >= 1")
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        ckpt = load_checkpoint(args.checkpoint)
        metrics = evaluate_model(ckpt.model, args.split, args.iwae_k, args.limit,
                                 progress=not args.json, quadrature=args.quadrature)
    except (CheckpointError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.save:
        update_metrics(ckpt.path, {f"{args.split}_{k}": v for k, v in metrics.items() if k != "split"})
    print(json.dumps(metrics) if args.json else format_table(metrics))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
