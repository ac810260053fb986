"""A model's big read-only tables, built once per weights and mapped from files for each use:
the quadrature's decoded level 0 (vae/quadrature.py, 31 MB a model, a CVAE one per digit), the
lossless coder's table (vae/gridcoder.py, 50 MB) and the training set's latent means the photo
pick reads (vae/photo_variants.py, 0.4 MB, but it spares a server the 39 MB training set). They
are kept in the array cache (vae/arraycache.py `saved_arrays`), named by the weights' content
hash, so every process (each session's run, every replica, a restarted server) maps the same
files and the kernel's page cache holds one copy; a server keeps none of it between uses.

`python -m vae.model_tables CHECKPOINT...` builds them ahead of the first visitor: the app's launcher
(ui/server.py) starts it in the background, at low priority, for the shipped checkpoints, so a
fresh clone's first visit to Compress does not wait for its coding grid. A second run finds the
files and does nothing; a run started while another builds into the same cache (every replica
of `make serve` starts one) leaves the work to it.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
import time
from collections.abc import Callable

from .arraycache import CACHE_DIR
from .checkpoint import Checkpoint, CheckpointError, load_checkpoint
from .gridcoder import CodingTable, saved_coding_table
from .photo_variants import reference_opener
from .quadrature import PriorGrid, saved_prior_grid


def _label(ckpt: Checkpoint, label: int | None) -> int | None:
    """The digit class a table is for: None for an unconditional model (whatever was asked),
    0..9 for a CVAE (its view of None is class 0)."""
    return int(label or 0) if ckpt.model.conditional else None


def weights_key(ckpt: Checkpoint, label: int | None = None) -> dict[str, object]:
    """What names a model's tables in the array cache: its weights' content hash (a retrained
    file is a new model; the same weights copied elsewhere are the same) and, for a CVAE, the
    digit class."""
    return {"weights_sha256": ckpt.weights_sha256, "label": _label(ckpt, label)}


def grid_opener(ckpt: Checkpoint, label: int | None = None) -> Callable[[], PriorGrid]:
    """The quadrature grid of the model (of class `label` for a CVAE), decoded now if no process
    has saved it yet; each call of the result maps it (hold it for one use)."""
    return saved_prior_grid(ckpt.model.conditioned(_label(ckpt, label)), weights_key(ckpt, label))


def table_opener(ckpt: Checkpoint) -> Callable[[], CodingTable]:
    """The lossless coder's table, built now if no process has saved it yet; each call of the
    result maps it. ValueError for a model it cannot code (a CVAE)."""
    return saved_coding_table(ckpt.model, weights_key(ckpt))


def build(ckpt: Checkpoint) -> list[str]:
    """Every table of the model (a CVAE's ten grids; an unconditional model's grid, coding table
    and the photo pick's reference), saved if missing -> what it made or found, for the log."""
    done = []
    for label in (range(10) if ckpt.model.conditional else [None]):
        grid_opener(ckpt, label)
        done.append("grid" if label is None else f"grid {label}")
    if not ckpt.model.conditional:
        table_opener(ckpt)
        reference_opener(ckpt.model)  # the photo pick's neighbourhoods (vae/photo_variants.py)
        done += ["coding table", "photo reference"]
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae.model_tables", description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+", help="checkpoint files or names")
    parser.add_argument("--nice", type=int, default=0, help="lower this process's priority first (e.g. 19)")
    args = parser.parse_args(argv)
    if args.nice:
        os.nice(args.nice)
    # One build at a time per cache folder: two replicas starting together would each spend a
    # core on the same tables. The lock goes with the process (also when it is killed).
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    lock = open(CACHE_DIR / ".model_tables.lock", "w")  # noqa: SIM115 - held until exit
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("another build is running into this cache; leaving the work to it", flush=True)
        return 0
    failed = 0
    for path in args.checkpoints:
        start = time.perf_counter()
        try:
            made = build(load_checkpoint(path))
        except (CheckpointError, OSError, ValueError) as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"{path}: {', '.join(made)} ready ({time.perf_counter() - start:.1f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
