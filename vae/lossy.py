"""The lossy mode of the Compress page: send only z = mu of q(z|x), each axis quantised to b
bits on the Gaussian-quantile scale (2^b bins of equal prior mass), and show E[x|z]; the
rate-distortion curve over test digits, saved per weights (vae/arraycache.py) so that a cold
server's Compress page does not decode thousands of digits. The lossless coder is
vae/compress.py."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from .arraycache import cached_array
from .checkpoint import Checkpoint
from .data import fixed_binarization
from .model import VAE


def quantise_z(z: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """z [..., 2] -> (bin indices int64 [..., 2] in 0..2^bits-1, the bins' centres z [..., 2]):
    each axis cut into 2^bits bins of equal prior mass (Phi(z) uniform), centre = Phi^-1 of
    the bin's middle."""
    if not 1 <= bits <= 16:
        raise ValueError(f"bits per axis must be 1..16, got {bits}")
    levels = 1 << bits
    u = torch.special.ndtr(torch.as_tensor(np.asarray(z, np.float64)))
    index = torch.clamp(torch.floor(u * levels), 0, levels - 1)
    centre = torch.special.ndtri((index + 0.5) / levels)
    return index.long().numpy(), centre.numpy()


@torch.inference_mode()
def rate_distortion(model: VAE, x: np.ndarray, bits: list[int]) -> dict[str, np.ndarray]:
    """For binary images x [N, 28, 28]: z = mu of q(z|x) quantised to b bits per axis, E[x|z]
    thresholded at 0.5 -> {"bits": rate in bits per image [B] (= 2b), "wrong": mean fraction
    of wrong pixels [B], "wrong_mu": the same with mu unquantised (the floor) [1]}."""
    x_flat = torch.as_tensor(np.asarray(x, np.float32).reshape(len(x), -1))  # [N, P]
    mu = model.encode(x_flat)[0].double().numpy()  # [N, 2]

    def wrong(z: np.ndarray) -> float:
        guess = model.decode(torch.as_tensor(z, dtype=torch.float32)).reshape(len(z), -1) >= 0.5  # [N, P]
        return float((guess != (x_flat >= 0.5)).float().mean())

    return {"bits": np.array([2 * b for b in bits], np.float64),
            "wrong": np.array([wrong(quantise_z(mu, b)[1]) for b in bits]),
            "wrong_mu": np.array([wrong(mu)])}


RD_VERSION = 1  # bump when rate_distortion or its images change
RD_DIGITS = 500  # test digits behind the Compress page's rate-distortion curve
RD_BITS = [1, 2, 3, 4, 5, 6, 7, 8, 10]  # bits per axis


def rd_digits() -> np.ndarray:
    """The curve's digits: the first RD_DIGITS test digits as the evaluation protocol
    binarises them, uint8 {0, 1} [RD_DIGITS, 28, 28]."""
    return fixed_binarization("test", seed=0)[0][:RD_DIGITS, 0].numpy().astype(np.uint8)


def rd_key(ckpt: Checkpoint, x: np.ndarray, bits: list[int]) -> dict[str, object]:
    """What names a saved lossy curve: the weights, torch's version, the images, the bits."""
    return {"what": "rate distortion", "version": RD_VERSION, "weights_sha256": ckpt.weights_sha256,
            "torch": torch.__version__, "images_sha256": hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest(),
            "bits": list(bits), "dtype": "float64", "shape": [len(bits) + 1]}


def saved_rate_distortion(ckpt: Checkpoint, x: np.ndarray, bits: list[int],
                          directory: Path | None = None) -> dict[str, np.ndarray]:
    """rate_distortion(ckpt.model, x, bits), computed once per weights and images and kept on
    disk (vae/arraycache.py; the shipped models' are in checkpoints/scores/): the Compress
    page's curve costs a cold server 4,500 decodes otherwise."""
    key = rd_key(ckpt, x, bits)

    def compute() -> np.ndarray:
        rd = rate_distortion(ckpt.model, x, bits)
        return np.concatenate([rd["wrong"], rd["wrong_mu"]])  # [B + 1]

    saved = cached_array(key, compute, directory)
    return {"bits": np.array([2 * b for b in bits], np.float64), "wrong": saved[:-1], "wrong_mu": saved[-1:]}
