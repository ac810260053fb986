"""`python -m vae.compress`: lossless streams of binarised digits, and the benchmark.

    python -m vae.compress encode IMAGE... -o DIR     # DIR/<stem>.lxz, one stream per image
    python -m vae.compress decode STREAM... -o DIR    # DIR/<stem>.png, 28x28, values 0/255
    python -m vae.compress bench [--limit N] [--json] # the test set: sizes, speeds, round trips
    (all take --model PATH, default checkpoints/mnist-2d)

An IMAGE is a 28x28 picture (ink light, as in MNIST); one that is not black-and-white is
binarised at 0.5 and the command says so. Every failure (an unreadable image, another model's
stream, a truncated or random one) is one line on stderr and a non-zero exit status (1; 2 for a
bad command line or model), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from . import codecs
from .atomic import atomic_write
from .compress import (HEADER_BYTES, MAX_PAYLOAD_BYTES, STREAM_SUFFIX, CodingTable, StreamError, coding_table,
                       decode, encode, rate_distortion)
from .checkpoint import CheckpointError, load_checkpoint
from .data import DataError, fixed_binarization
from .model import VAE

DEFAULT_MODEL = "checkpoints/mnist-2d"
# Published bits per dimension on binarised MNIST (Townsend et al. 2019, "Practical lossless
# compression with latent variables using bits back coding", Table 2; BB-ANS with a 40-D latent).
ANCHORS_BITS_PER_DIM = {"BB-ANS (40-D latent)": 0.19, "bz2": 0.25, "gzip": 0.33, "PNG": 0.78}
LOSSY_BITS = [1, 2, 3, 4, 5, 6, 8, 10]


def read_image(path: Path) -> tuple[np.ndarray, bool]:
    """A 28x28 picture -> (bits uint8 {0, 1} [28, 28] with ink = 1, whether it had to be
    binarised). ValueError / OSError with a message for anything else."""
    with Image.open(path, formats=["PNG", "BMP", "GIF", "WEBP", "JPEG"]) as img:
        if img.size != (28, 28):
            raise ValueError(f"expected a 28x28 image, got {img.size[0]}x{img.size[1]}")
        grey = np.asarray(img.convert("L"), np.uint8)
    return (grey >= 128).astype(np.uint8), not np.isin(grey, (0, 255)).all()


def _encode_files(table: CodingTable, paths: list[Path], out: Path) -> int:
    failed = 0
    for path in paths:
        try:
            bits, binarised = read_image(path)
            stream = encode(table, bits).stream
            target = out / f"{path.stem}{STREAM_SUFFIX}"
            atomic_write(target, lambda fh, s=stream: fh.write(s), mode=0o644)
        except (OSError, ValueError) as exc:  # PIL's UnidentifiedImageError is an OSError
            print(f"error: {path}: {exc}", file=sys.stderr)
            failed += 1
            continue
        note = " (not black-and-white: binarised at 0.5)" if binarised else ""
        print(f"{path} -> {target}: {len(stream)} bytes ({8 * (len(stream) - HEADER_BYTES)} payload bits){note}")
    return failed


def _decode_files(table: CodingTable, paths: list[Path], out: Path) -> int:
    failed = 0
    for path in paths:
        try:
            with open(path, "rb") as fh:
                stream = fh.read(HEADER_BYTES + MAX_PAYLOAD_BYTES + 1)  # a huge file is not read whole
            pixels = (decode(table, stream) * 255).astype(np.uint8)
            target = out / f"{path.stem}.png"
            atomic_write(target, lambda fh, p=pixels: Image.fromarray(p, "L").save(fh, format="PNG"), mode=0o644)
        except (OSError, StreamError) as exc:
            print(f"error: {path}: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"{path} -> {target}")
    return failed


# ---------------------------------------------------------------- the benchmark
_TABLE: CodingTable | None = None  # set before the workers fork: they share it read-only


def _round_trip(i_bits: tuple[int, np.ndarray]) -> tuple[int, int, float, float, float, bool]:
    """(index, stream bytes, information bits, encode ms, decode ms, exact) for one digit."""
    i, bits = i_bits
    start = time.perf_counter()
    enc = encode(_TABLE, bits)
    middle = time.perf_counter()
    back = decode(_TABLE, enc.stream)
    end = time.perf_counter()
    return (i, len(enc.stream), enc.information_bits, 1e3 * (middle - start), 1e3 * (end - middle),
            bool(np.array_equal(back, bits)))


def _p50_p95(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50": round(statistics.median(ordered), 2),
            "p95": round(ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))], 2)}


def benchmark(model: VAE, limit: int = 10_000, workers: int = 2) -> dict[str, object]:
    """The first `limit` binarised test digits (the evaluation protocol's draw): round trips,
    stream sizes against the exact -log2 p(x) (quadrature), speeds, the general codecs, and the
    lossy mode's rate-distortion curve."""
    global _TABLE
    from .quadrature import quadrature_log_px

    started = time.perf_counter()
    x = fixed_binarization("test", seed=0)[0][:limit, 0].numpy().astype(np.uint8)  # [N, 28, 28]
    exact_bits = -quadrature_log_px(model, x.astype(np.float32)).numpy() / np.log(2.0)  # [N] (uint8 would be /255)
    _TABLE = coding_table(model)
    jobs = list(enumerate(x))
    if workers > 1:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            rows = pool.map(_round_trip, jobs, chunksize=16)
    else:
        rows = [_round_trip(job) for job in jobs]
    n = len(rows)
    payload = np.array([8 * (r[1] - HEADER_BYTES) for r in rows], np.float64)
    per_digit = {name: [] for name in codecs.CODECS}
    for bits in x:
        for name, size in codecs.sizes(bits).items():
            per_digit[name].append(size)
    whole = codecs.set_sizes(x)
    lossy = rate_distortion(model, x[:1000], LOSSY_BITS)
    dims = 784.0
    return {
        "n_digits": n, "round_trips_exact": int(sum(r[5] for r in rows)),
        "exact_neg_log2_px_bits": round(float(exact_bits.mean()), 3),
        "information_bits": round(float(np.mean([r[2] for r in rows])), 3),
        "payload_bits": round(float(payload.mean()), 3),
        "stream_bits": round(float(payload.mean()) + 8 * HEADER_BYTES, 3),
        "payload_over_exact_pct": round(100 * (payload.mean() / exact_bits.mean() - 1), 2),
        "information_over_exact_pct": round(100 * (np.mean([r[2] for r in rows]) / exact_bits.mean() - 1), 3),
        "bits_per_dim": {"payload": round(payload.mean() / dims, 4), "exact": round(exact_bits.mean() / dims, 4),
                         "stream": round((payload.mean() + 8 * HEADER_BYTES) / dims, 4)},
        "encode_ms": _p50_p95([r[3] for r in rows]), "decode_ms": _p50_p95([r[4] for r in rows]),
        "per_digit_bytes": {"ours (stream)": round(HEADER_BYTES + payload.mean() / 8, 2),
                            **{k: round(float(np.mean(v)), 2) for k, v in per_digit.items()}, "raw": 98},
        # The set as one file: the payloads after one header (a stream's own header is per digit).
        "whole_set_bits_per_dim": {"ours (payloads)": round((payload.sum() + 8 * HEADER_BYTES) / (n * dims), 4),
                                   "ours (one stream per digit)": round((payload.sum() + 8 * HEADER_BYTES * n) / (n * dims), 4),
                                   **{k: round(8 * v / (n * dims), 4) for k, v in whole.items()}},
        "lossy": {"bits_per_axis": LOSSY_BITS, "rate_bits": lossy["bits"].tolist(),
                  "wrong_pixels_pct": [round(100 * v, 2) for v in lossy["wrong"]],
                  "wrong_pixels_pct_unquantised": round(100 * float(lossy["wrong_mu"][0]), 2), "n_digits": min(n, 1000)},
        "anchors_bits_per_dim": ANCHORS_BITS_PER_DIM, "workers": workers,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _print_bench(r: dict[str, object]) -> None:
    print(f"{r['n_digits']:,} test digits, {r['round_trips_exact']:,} round trips exact")
    print(f"exact -log2 p(x): {r['exact_neg_log2_px_bits']:.2f} bits; code length {r['information_bits']:.2f}; "
          f"payload {r['payload_bits']:.2f} bits ({r['payload_over_exact_pct']:+.2f} %); "
          f"stream with header {r['stream_bits']:.2f} bits")
    print(f"encode {r['encode_ms']['p50']} ms (p95 {r['encode_ms']['p95']}), decode {r['decode_ms']['p50']} ms "
          f"(p95 {r['decode_ms']['p95']}) per digit")
    print("bytes per digit:  " + ", ".join(f"{k} {v}" for k, v in r["per_digit_bytes"].items()))
    print("whole set, bits/dim:  " + ", ".join(f"{k} {v}" for k, v in r["whole_set_bits_per_dim"].items()))
    print("published anchors, bits/dim:  " + ", ".join(f"{k} {v}" for k, v in r["anchors_bits_per_dim"].items()))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vae.compress", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    for name, what in (("encode", "28x28 images"), ("decode", f"{STREAM_SUFFIX} streams")):
        c = sub.add_parser(name, help=f"{name} {what}")
        c.add_argument("paths", nargs="+", type=Path, metavar="IMAGE" if name == "encode" else "STREAM")
        c.add_argument("-o", "--out", type=Path, required=True, help="output folder (created if missing)")
        c.add_argument("--model", default=DEFAULT_MODEL)
    b = sub.add_parser("bench", help="the benchmark on the binarised test set")
    b.add_argument("--limit", type=int, default=10_000, help="the first N test digits (default all 10,000)")
    b.add_argument("--workers", type=int, default=2, help="processes for the round trips")
    b.add_argument("--json", action="store_true")
    b.add_argument("--model", default=DEFAULT_MODEL)
    args = p.parse_args(argv)
    try:
        model = load_checkpoint(args.model).model
        if args.command == "bench":
            if not 1 <= args.limit <= 10_000:
                p.error("--limit must be 1..10000")
            result = benchmark(model, args.limit, max(1, args.workers))
            print(json.dumps(result, indent=2) if args.json else "", end="\n" if args.json else "")
            if not args.json:
                _print_bench(result)
            return 0
        table = coding_table(model)
    except (CheckpointError, DataError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"error: cannot create {args.out}: {exc.strerror}", file=sys.stderr)
        return 1
    run = _encode_files if args.command == "encode" else _decode_files
    return 1 if run(table, args.paths, args.out) else 0


if __name__ == "__main__":
    raise SystemExit(main())
