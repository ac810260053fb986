"""Benchmark `compression`: `python -m vae.compress bench` on the first LIMIT binarised test
digits (vae/compress_cli.py `benchmark`: round trips, stream sizes against the exact -log2 p(x),
encode/decode ms per digit, the general codecs, the lossy mode). All 10,000 take about ten
minutes on 2 cores; `make bench` measures a stated subset (`python -m vae.compress bench` alone
runs them all)."""

from __future__ import annotations

from vae import load_checkpoint
from vae.compress_cli import benchmark

LIMIT = 2000


def run(checkpoint: str = "checkpoints/mnist-2d", limit: int = LIMIT) -> dict[str, object]:
    return {"compression": benchmark(load_checkpoint(checkpoint).model, limit=limit, workers=2)}
