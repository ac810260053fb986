"""`python -m vae.compress`: lossless streams of binarised digits, and the benchmark.

    python -m vae.compress encode IMAGE... -o DIR     # DIR/<stem>.lxz, one stream per image
    python -m vae.compress encode IMAGE... -o DIR --one-stream NAME
                                                      # DIR/NAME.lxz: all the images in one stream
    python -m vae.compress decode STREAM... -o DIR    # DIR/<stem>.png, 28x28, values 0/255; a set
                                                      # stream: DIR/<stem>-<i>.png, i = 0, 1, ...
    python -m vae.compress bench [--limit N] [--json] # the test set: sizes, speeds, round trips
    (all take --model PATH, default checkpoints/mnist-2d)

An IMAGE is a 28x28 picture (ink light, as in MNIST); one that is not black-and-white is
binarised at 0.5 and the command says so. One stream per image pays the whole-byte rounding of
its end (~2.6 bits) on every digit; --one-stream pays it once for the set (the images in the
order given). Every failure (an unreadable image, another model's stream, a truncated or random
one) is one line on stderr and a non-zero exit status (1; 2 for a bad command line or model),
never a traceback; with --one-stream nothing is written unless every image could be read.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from . import codecs
from .atomic import atomic_write
from .compress import (BYTE_ROUNDING_BITS, HEADER_BYTES, MAX_PAYLOAD_BYTES, MAX_SET_DIGITS, SET_CHECK_BYTES,
                       STREAM_SUFFIX, CodingTable, StreamError, coding_table, decode, decode_many, decode_range,
                       encode, encode_many, is_set_stream)
from .lossy import rate_distortion
from .checkpoint import DEFAULT_MODEL, CheckpointError, load_checkpoint
from .data import DataError, fixed_binarization
from .model import VAE

DEFAULT_MODEL_PATH = f"checkpoints/{DEFAULT_MODEL}"
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


def _encode_one_stream(table: CodingTable, paths: list[Path], out: Path, name: str) -> int:
    images, failed, binarised = [], 0, 0
    for path in paths:
        try:
            bits, grey = read_image(path)
        except (OSError, ValueError) as exc:
            print(f"error: {path}: {exc}", file=sys.stderr)
            failed += 1
            continue
        images.append(bits)
        binarised += grey
    if failed:
        print(f"error: no stream written: {failed} of {len(paths)} images could not be read", file=sys.stderr)
        return failed
    target = out / (name if name.endswith(STREAM_SUFFIX) else name + STREAM_SUFFIX)
    try:
        enc = encode_many(table, np.stack(images))
        atomic_write(target, lambda fh: fh.write(enc.stream), mode=0o644)
    except (OSError, ValueError) as exc:
        print(f"error: {target}: {exc}", file=sys.stderr)
        return 1
    note = f" ({binarised} not black-and-white: binarised at 0.5)" if binarised else ""
    print(f"{len(paths)} images -> {target}: {len(enc.stream)} bytes ({enc.payload_bits} payload bits, "
          f"{enc.payload_bits / len(paths):.1f} a digit; digit i is the i-th image given){note}")
    return 0


def _read_stream(path: Path) -> bytes:
    with open(path, "rb") as fh:
        head = fh.read(HEADER_BYTES + MAX_PAYLOAD_BYTES + 1)  # a huge file is not read whole ...
        if is_set_stream(head):  # ... unless it is a set: its count bounds it
            head += fh.read(HEADER_BYTES + 3 + SET_CHECK_BYTES + MAX_SET_DIGITS * MAX_PAYLOAD_BYTES + 1 - len(head))
    return head


def _decode_files(table: CodingTable, paths: list[Path], out: Path) -> int:
    failed = 0
    for path in paths:
        try:
            stream = _read_stream(path)
            if is_set_stream(stream):
                images = decode_many(table, stream)
                width = len(str(len(images) - 1))
                targets = [out / f"{path.stem}-{i:0{width}d}.png" for i in range(len(images))]
            else:
                images = decode(table, stream)[None]
                targets = [out / f"{path.stem}.png"]
            for target, bits in zip(targets, images):
                pixels = (bits * 255).astype(np.uint8)
                atomic_write(target, lambda fh, p=pixels: Image.fromarray(p, "L").save(fh, format="PNG"), mode=0o644)
        except (OSError, StreamError) as exc:
            print(f"error: {path}: {exc}", file=sys.stderr)
            failed += 1
            continue
        if len(targets) == 1:
            print(f"{path} -> {targets[0]}")
        else:
            print(f"{path} -> {targets[0]} .. {targets[-1].name} ({len(targets)} images)")
    return failed


# ---------------------------------------------------------------- the benchmark
# Set before the workers fork: they share them read-only.
_TABLE: CodingTable | None = None
_MODEL: VAE | None = None
_PRIOR = None  # vae.quadrature.PriorGrid
CHUNK = 50  # digits a job: the exact p(x) by quadrature is batched over them


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)  # two workers on two cores; torch's own threads would only contend


def _chunk(job: tuple[int, np.ndarray]) -> dict[str, object]:
    """One job of CHUNK digits: the exact -log2 p(x) (quadrature), the general codecs, and each
    digit's stream encoded and decoded (timed) -> arrays for the parent."""
    from .quadrature import quadrature_log_px

    start, x = job
    t0 = time.perf_counter()
    exact = -quadrature_log_px(_MODEL, x.astype(np.float32), _PRIOR).numpy() / np.log(2.0)  # uint8 would be /255
    t1 = time.perf_counter()
    sizes = [codecs.sizes(bits) for bits in x]
    n = len(x)
    out = {"start": start, "exact": exact, "quadrature_s": np.array([t1 - t0]),
           "codecs_s": np.array([time.perf_counter() - t1]), "codecs": {k: np.array([s[k] for s in sizes]) for k in codecs.CODECS},
           "bytes": np.zeros(n, np.int64), "information": np.zeros(n), "encode_ms": np.zeros(n),
           "decode_ms": np.zeros(n), "exact_trip": np.zeros(n, bool), "freqs": np.zeros((n, 784), np.int32)}
    for i, bits in enumerate(x):
        t0 = time.perf_counter()
        enc = encode(_TABLE, bits)
        t1 = time.perf_counter()
        back = decode(_TABLE, enc.stream)
        t2 = time.perf_counter()
        out["bytes"][i], out["information"][i] = len(enc.stream), enc.information_bits
        out["encode_ms"][i], out["decode_ms"][i] = 1e3 * (t1 - t0), 1e3 * (t2 - t1)
        out["exact_trip"][i], out["freqs"][i] = np.array_equal(back, bits), enc.frequencies
    return out


def _set_part(job: tuple[bytes, int, int, tuple | None]) -> tuple[int, np.ndarray, float]:
    """Digits start..stop of the one-stream set, decoded from its checkpoint -> (start, bits, s)."""
    stream, start, stop, checkpoint = job
    t0 = time.perf_counter()
    bits = decode_range(_TABLE, stream, start, stop, checkpoint)
    return start, bits, time.perf_counter() - t0


def _p50_p95(values: np.ndarray) -> dict[str, float]:
    ordered = np.sort(np.asarray(values, np.float64))
    return {"p50": round(float(np.median(ordered)), 2),
            "p95": round(float(ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]), 2)}


def benchmark(model: VAE, limit: int = 10_000, workers: int = 2) -> dict[str, object]:
    """The first `limit` binarised test digits (the evaluation protocol's draw): each digit as
    its own stream (round trips, sizes, speeds) and the whole set as one stream (round trip,
    size), both against the exact -log2 p(x) by quadrature; the general codecs, per digit and
    on the set as one file; the lossy mode's rate-distortion curve. The heavy parts run in
    `workers` processes: the digits in jobs of CHUNK, the set's decode in parts from
    checkpoints recorded while encoding (each part decodes the one stream's own bytes)."""
    global _TABLE, _MODEL, _PRIOR
    from .quadrature import prior_grid

    started = time.perf_counter()
    x = fixed_binarization("test", seed=0)[0][:limit, 0].numpy().astype(np.uint8)  # [N, 28, 28]
    n = len(x)
    _TABLE, _MODEL, _PRIOR = coding_table(model), model, prior_grid(model)
    jobs = [(s, x[s : s + CHUNK]) for s in range(0, n, CHUNK)]
    parts_n = max(1, min(n, 4 * workers))  # the set's decode: a few parts a worker
    cuts = [round(i * n / parts_n) for i in range(parts_n + 1)]
    pool = multiprocessing.get_context("fork").Pool(workers, initializer=_worker_init) if workers > 1 else None
    try:
        run = pool.imap_unordered if pool else map
        whole_job = pool.apply_async(codecs.set_sizes, (x,)) if pool else None
        chunks = sorted(run(_chunk, jobs), key=lambda c: c["start"])
        cat = {k: np.concatenate([c[k] for c in chunks]) for k in
               ("exact", "bytes", "information", "encode_ms", "decode_ms", "exact_trip", "freqs", "quadrature_s",
                "codecs_s")}
        t0 = time.perf_counter()
        one = encode_many(_TABLE, x, freqs=cat["freqs"], checkpoints=tuple(cuts[1:-1]))
        set_encode_s = time.perf_counter() - t0
        marks = {0: None, **{c[0]: c for c in one.checkpoints}}
        t0 = time.perf_counter()
        decoded = sorted(run(_set_part, [(one.stream, a, b, marks[a]) for a, b in zip(cuts[:-1], cuts[1:])]))
        set_decode_wall_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        whole = whole_job.get() if whole_job else codecs.set_sizes(x)
        waited_s = time.perf_counter() - t0
    finally:
        if pool:
            pool.close()
            pool.join()
    set_back = np.concatenate([d[1] for d in decoded])
    set_exact = bool(np.array_equal(set_back, x))
    per_digit = {k: np.concatenate([c["codecs"][k] for c in chunks]) for k in codecs.CODECS}
    lossy = rate_distortion(model, x[:1000], LOSSY_BITS)

    exact, info = cat["exact"], cat["information"]
    payload = 8.0 * (cat["bytes"] - HEADER_BYTES)
    dims = 784.0
    set_payload, set_stream = float(one.payload_bits), 8.0 * len(one.stream)
    return {
        "n_digits": n, "round_trips_exact": int(cat["exact_trip"].sum()),
        "exact_neg_log2_px_bits": round(float(exact.mean()), 3),
        "information_bits": round(float(info.mean()), 3),
        "information_over_exact_pct": round(float(100 * (info.sum() / exact.sum() - 1)), 3),
        # One stream per digit: its end rounded up to a whole byte, on every digit.
        "payload_bits": round(float(payload.mean()), 3),
        "stream_bits": round(float(payload.mean()) + 8 * HEADER_BYTES, 3),
        "payload_over_exact_pct": round(float(100 * (payload.sum() / exact.sum() - 1)), 2),
        "byte_rounding_bits": {"measured": round(float((payload - info).mean()), 3),
                               "expected": round(float(BYTE_ROUNDING_BITS), 3)},
        "bits_per_dim": {"payload": round(float(payload.mean()) / dims, 4), "exact": round(float(exact.mean()) / dims, 4),
                         "stream": round((float(payload.mean()) + 8 * HEADER_BYTES) / dims, 4)},
        "encode_ms": _p50_p95(cat["encode_ms"]), "decode_ms": _p50_p95(cat["decode_ms"]),
        # The whole set as one stream (`encode_many`, `--one-stream`): the end paid once.
        "one_stream": {
            "n_digits": n, "round_trip_exact": set_exact, "bytes": len(one.stream),
            "overhead_bytes": one.overhead_bytes,
            "payload_bits_per_digit": round(set_payload / n, 3),
            "stream_bits_per_digit": round(set_stream / n, 3),
            "payload_over_exact_pct": round(float(100 * (set_payload / exact.sum() - 1)), 3),
            "stream_over_exact_pct": round(float(100 * (set_stream / exact.sum() - 1)), 3),
            "payload_minus_information_bits": round(float(set_payload - info.sum()), 1),
            "bits_per_dim": {"payload": round(set_payload / (n * dims), 4), "stream": round(set_stream / (n * dims), 4)},
            "encode_s": round(set_encode_s, 1),
            "decode_s": round(sum(d[2] for d in decoded), 1), "decode_wall_s": round(set_decode_wall_s, 1),
            "decode_parts": len(decoded),
        },
        "per_digit_bytes": {"ours (stream)": round(HEADER_BYTES + payload.mean() / 8, 2),
                            **{k: round(float(v.mean()), 2) for k, v in per_digit.items()}, "raw": 98},
        "whole_set_bits_per_dim": {"ours (one stream)": round(set_stream / (n * dims), 4),
                                   "ours (one stream per digit)": round(float(payload.sum() + 8 * HEADER_BYTES * n) / (n * dims), 4),
                                   **{k: round(8 * v / (n * dims), 4) for k, v in whole.items()}},
        "lossy": {"bits_per_axis": LOSSY_BITS, "rate_bits": lossy["bits"].tolist(),
                  "wrong_pixels_pct": [round(100 * v, 2) for v in lossy["wrong"]],
                  "wrong_pixels_pct_unquantised": round(100 * float(lossy["wrong_mu"][0]), 2), "n_digits": min(n, 1000)},
        "anchors_bits_per_dim": ANCHORS_BITS_PER_DIM, "workers": workers,
        # Where the time goes: seconds summed over the workers (wall-clock inside each job).
        "worker_seconds": {"exact_quadrature": round(float(cat["quadrature_s"].sum()), 1),
                           "codecs_per_digit": round(float(cat["codecs_s"].sum()), 1),
                           "encode": round(float(cat["encode_ms"].sum()) / 1e3, 1),
                           "decode": round(float(cat["decode_ms"].sum()) / 1e3, 1),
                           "one_stream_decode": round(sum(d[2] for d in decoded), 1)},
        "waited_for_whole_set_codecs_s": round(waited_s, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _print_bench(r: dict[str, object]) -> None:
    o = r["one_stream"]
    print(f"{r['n_digits']:,} test digits, {r['round_trips_exact']:,} round trips exact (one stream per digit); "
          f"the set as one stream: round trip {'exact' if o['round_trip_exact'] else 'FAILED'}")
    print(f"exact -log2 p(x): {r['exact_neg_log2_px_bits']:.2f} bits a digit; code length {r['information_bits']:.2f} "
          f"({r['information_over_exact_pct']:+.3f} %)")
    print(f"one stream per digit: payload {r['payload_bits']:.2f} bits ({r['payload_over_exact_pct']:+.2f} %; whole-byte "
          f"rounding {r['byte_rounding_bits']['measured']:.2f} bits, expected {r['byte_rounding_bits']['expected']:.2f}); "
          f"stream with header {r['stream_bits']:.2f} bits")
    print(f"the set as one stream: {o['bytes']:,} bytes, payload {o['payload_bits_per_digit']:.2f} bits a digit "
          f"({o['payload_over_exact_pct']:+.3f} %), stream {o['stream_bits_per_digit']:.2f} ({o['stream_over_exact_pct']:+.3f} %)")
    print(f"encode {r['encode_ms']['p50']} ms (p95 {r['encode_ms']['p95']}), decode {r['decode_ms']['p50']} ms "
          f"(p95 {r['decode_ms']['p95']}) per digit")
    print("bytes per digit:  " + ", ".join(f"{k} {v}" for k, v in r["per_digit_bytes"].items()))
    print("whole set, bits/dim:  " + ", ".join(f"{k} {v}" for k, v in r["whole_set_bits_per_dim"].items()))
    print("published anchors, bits/dim:  " + ", ".join(f"{k} {v}" for k, v in r["anchors_bits_per_dim"].items()))
    print(f"{r['seconds']:.0f} s")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vae.compress", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    for name, what in (("encode", "28x28 images"), ("decode", f"{STREAM_SUFFIX} streams")):
        c = sub.add_parser(name, help=f"{name} {what}")
        c.add_argument("paths", nargs="+", type=Path, metavar="IMAGE" if name == "encode" else "STREAM")
        c.add_argument("-o", "--out", type=Path, required=True, help="output folder (created if missing)")
        c.add_argument("--model", default=DEFAULT_MODEL_PATH)
        if name == "encode":
            c.add_argument("--one-stream", metavar="NAME", help=f"write all the images into one stream, "
                           f"DIR/NAME{STREAM_SUFFIX} (the end's byte rounding paid once, not per image)")
    b = sub.add_parser("bench", help="the benchmark on the binarised test set")
    b.add_argument("--limit", type=int, default=10_000, help="the first N test digits (default all 10,000)")
    b.add_argument("--workers", type=int, default=2, help="processes for the round trips")
    b.add_argument("--json", action="store_true")
    b.add_argument("--model", default=DEFAULT_MODEL_PATH)
    args = p.parse_args(argv)
    if args.command == "encode" and args.one_stream is not None:
        if not args.one_stream or Path(args.one_stream).name != args.one_stream:
            print(f"error: --one-stream takes a file name, not {args.one_stream!r}", file=sys.stderr)
            return 2
        if len(args.paths) > MAX_SET_DIGITS:
            print(f"error: one stream holds at most {MAX_SET_DIGITS:,} images", file=sys.stderr)
            return 2
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
    if args.command == "encode" and args.one_stream is not None:
        return 1 if _encode_one_stream(table, args.paths, args.out, args.one_stream) else 0
    run = _encode_files if args.command == "encode" else _decode_files
    return 1 if run(table, args.paths, args.out) else 0


if __name__ == "__main__":
    raise SystemExit(main())
