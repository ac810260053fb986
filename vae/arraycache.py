"""Arrays that are slow to compute and fixed by their inputs, kept on disk in data/cache/.

The typicality page scores 1,000 validation and 1,000 test images by quadrature per model
(about 20 s on one thread); with this, a restarted server reads them back in milliseconds. A
file's name is the sha256 of its key (what produced it: the weights' content hash, the split,
the score, the method's version...), so a retrained checkpoint or a change of method gets new
files and old ones are never read as new. Files are plain .npy read with allow_pickle=False,
written atomically (vae/atomic.py), and only under the project's data/ folder (unless an
operator sets LATENT_EXPLORER_CACHE_DIR). A missing, damaged or mismatched file is recomputed.

Big read-only tables (a model's decoded quadrature grid, 31 MB; the lossless coder's table,
50 MB) are kept here too, by `saved_arrays`, and memory-mapped on each use instead of held by
the server: the kernel's page cache keeps one copy for every session and every replica, and a
server holds none of it between uses (a server after visiting every page: 761 -> 648 MB).

SHIPPED_DIR (checkpoints/scores/, in the repository) holds the same kind of files for the shipped
checkpoints, written by `python -m vae.typicality --precompute` (`make train` runs it): it is
read first and never written by the app, so a fresh clone has them without computing.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .atomic import atomic_write
from .checkpoint import CHECKPOINT_DIR
from .data import PROJECT_ROOT

# The project's data/cache/; an operator (or a benchmark wanting a cold cache) may point
# LATENT_EXPLORER_CACHE_DIR elsewhere.
CACHE_DIR = Path(os.environ.get("LATENT_EXPLORER_CACHE_DIR") or PROJECT_ROOT / "data" / "cache")
# Beside the checkpoints they were computed from (and moved with them by
# LATENT_EXPLORER_CHECKPOINT_DIR); read-only for the app.
SHIPPED_DIR = CHECKPOINT_DIR / "scores"


def key_path(key: dict[str, object], directory: Path | None = None) -> Path:
    """The file that holds the array for `key` (JSON-serialisable values), in `directory`
    (default CACHE_DIR)."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode("utf-8")).hexdigest()
    return Path(directory or CACHE_DIR) / f"{digest[:32]}.npy"


def cached_array(key: dict[str, object], compute: Callable[[], np.ndarray],
                 directory: Path | None = None) -> np.ndarray:
    """compute() once per key; later calls (in any process) read the saved array back.

    The saved file is trusted only if it loads without pickle and has the dtype and shape of
    `key["dtype"]` / `key["shape"]` when the key names them; otherwise it is computed again.
    A cache that cannot be written (read-only disk) only costs the saving, never the result.
    Without `directory`, SHIPPED_DIR is read first (and not written).
    """
    path = key_path(key, directory)
    array = load_saved(key, directory)
    if array is not None:
        return array
    array = np.asarray(compute())
    try:
        atomic_write(path, lambda fh: np.save(fh, array, allow_pickle=False))
    except (OSError, ValueError):  # a read-only disk, or an array np.save refuses without pickle
        pass
    return array


def load_saved(key: dict[str, object], directory: Path | None = None, mmap: bool = False) -> np.ndarray | None:
    """The saved array for `key` (in `directory`, or SHIPPED_DIR then CACHE_DIR), or None if no
    trustworthy file holds it (then cached_array would compute). With mmap, mapped copy-on-write:
    read from the shared page cache, and a write (none is meant) would stay in this mapping,
    never reaching the file or another caller's mapping."""
    folders = [directory] if directory is not None else [SHIPPED_DIR, CACHE_DIR]
    for folder in folders:
        try:
            array = np.load(key_path(key, folder), allow_pickle=False, mmap_mode="c" if mmap else None)
        except (OSError, ValueError, EOFError):
            continue
        if _matches(array, key):
            return array
    return None


def _matches(array: np.ndarray, key: dict[str, object]) -> bool:
    if "dtype" in key and str(array.dtype) != key["dtype"]:
        return False
    return "shape" not in key or list(array.shape) == list(key["shape"])  # type: ignore[arg-type]


def saved_arrays(key: dict[str, object], names: tuple[str, ...],
                 compute: Callable[[], dict[str, np.ndarray]],
                 directory: Path | None = None) -> Callable[[], dict[str, np.ndarray]]:
    """compute() -> the arrays `names`, once per key (in any process: each saved as its own file,
    keyed by `key` and its name); returns an opener that maps them (copy-on-write) on each call. A
    mapping lives as long as the arrays it returned (and tensors made from them): callers hold
    them for one use, never in a cache. Where the files cannot be written (a read-only disk) or
    read back, the opener returns the computed arrays, then held in memory."""
    parts = {name: {**key, "part": name} for name in names}
    held: dict[str, np.ndarray] = {}

    def mapped() -> dict[str, np.ndarray] | None:
        arrays = {name: load_saved(k, directory, mmap=True) for name, k in parts.items()}
        return None if any(a is None for a in arrays.values()) else arrays  # type: ignore[return-value]

    def computed() -> dict[str, np.ndarray]:
        arrays = compute()
        if set(arrays) != set(names):
            raise ValueError(f"expected the arrays {sorted(names)}, got {sorted(arrays)}")
        return {name: np.ascontiguousarray(arrays[name]) for name in names}

    if mapped() is None:
        arrays = computed()
        try:
            for name, array in arrays.items():
                atomic_write(key_path(parts[name], directory or CACHE_DIR),
                             lambda fh, a=array: np.save(fh, a, allow_pickle=False))
        except (OSError, ValueError):
            held.update(arrays)  # nowhere to save them: keep them in memory
        del arrays

    def open_arrays() -> dict[str, np.ndarray]:
        arrays = None if held else mapped()
        if arrays is None:  # unsaved, or deleted or damaged since it was saved
            if not held:
                held.update(computed())
            return dict(held)
        return arrays

    return open_arrays
