"""Benchmark `compression`: `python -m vae.compress bench` on all LIMIT = 10,000 binarised test
digits (vae/compress_cli.py `benchmark`): each digit as its own stream (round trips, sizes,
encode/decode ms) and the whole set as one stream (`encode_many`: the end's byte rounding paid
once), both against the exact -log2 p(x) by quadrature; the general codecs per digit and on the
set as one file; the lossy mode. The heavy parts run in 2 worker processes (CPU a digit: encode
and decode ~25 ms each, the set's decode ~25 ms, the quadrature ~35 ms, the codecs ~5 ms): about
10 minutes on 2 idle cores, 15 (888 s) measured while other jobs shared them."""

from __future__ import annotations

from vae import load_checkpoint
from vae.compress_cli import benchmark

LIMIT = 10_000


def run(checkpoint: str = "checkpoints/mnist-2d", limit: int = LIMIT) -> dict[str, object]:
    return {"compression": benchmark(load_checkpoint(checkpoint).model, limit=limit, workers=2)}
