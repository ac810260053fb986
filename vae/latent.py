"""Operations on the latent plane: grids, decoding, encoding, interpolation, ellipses, samples.

Pure functions: arrays in, numpy arrays out; randomness only through an explicit seed.
All decoding runs under torch.inference_mode().
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from .data import image_rows
from .model import VAE, ConditionedVAE

Spacing = Literal["linear", "gaussian"]
Interpolation = Literal["linear", "slerp"]

# Probability range of the Gaussian-quantile grid: Kingma & Welling (2014), Fig. 4, map a
# uniform grid on the unit square through the inverse CDF; the ends are kept off 0 and 1.
QUANTILE_EPS = 0.02


@dataclass(frozen=True)
class Manifold:
    """A decoded n x n grid of E[x|z].

    image: float32 [n*H, n*W] in [0, 1]; cell (row r, col c) shows z = (z1[c], z2[n-1-r]),
    i.e. z2 grows upwards as on a plot. z1, z2: float64 [n], the cell centres in z units.
    """

    image: np.ndarray
    z1: np.ndarray
    z2: np.ndarray
    spacing: Spacing
    radius: float

    @property
    def n(self) -> int:
        return len(self.z1)


def grid_axis(n: int, spacing: Spacing = "linear", radius: float = 3.0) -> np.ndarray:
    """n cell centres along one latent axis, ascending, float64 [n].

    linear: evenly over [-radius, radius]; gaussian: the standard normal's quantiles of
    evenly spaced probabilities in [QUANTILE_EPS, 1 - QUANTILE_EPS] (equal prior mass per cell).
    """
    if n < 1:
        raise ValueError("n must be >= 1")
    if spacing == "linear":
        return np.linspace(-radius, radius, n) if n > 1 else np.zeros(1)
    if spacing == "gaussian":
        probs = np.linspace(QUANTILE_EPS, 1 - QUANTILE_EPS, n) if n > 1 else np.full(1, 0.5)
        return torch.special.ndtri(torch.from_numpy(probs)).numpy()
    raise ValueError(f"spacing must be 'linear' or 'gaussian', got {spacing!r}")


def grid_points(z1: np.ndarray, z2: np.ndarray) -> np.ndarray:
    """All (z1, z2) pairs in display order: row-major from the top row (largest z2). [n2*n1, 2]."""
    zz1, zz2 = np.meshgrid(z1, z2[::-1])
    return np.stack([zz1.ravel(), zz2.ravel()], axis=1)


@torch.inference_mode()
def decode_points(model: VAE, z: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """E[x|z] for z [N, D] -> float32 [N, H, W] in [0, 1]."""
    z_t = torch.as_tensor(np.asarray(z, dtype=np.float32).reshape(-1, model.config.latent_dim))
    out = [model.decode(z_t[i : i + batch_size]) for i in range(0, len(z_t), batch_size)]
    images = torch.cat(out) if out else torch.empty(0, *model.config.image_shape)
    return images[:, 0].numpy()


def decode_one(model: VAE, z: tuple[float, float] | np.ndarray) -> np.ndarray:
    """E[x|z] for one z -> float32 [H, W]."""
    return decode_points(model, np.asarray(z, dtype=np.float32).reshape(1, -1))[0]


def tile(images: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """[rows*cols, H, W] -> one [rows*H, cols*W] image, row-major."""
    n, h, w = images.shape
    if n != rows * cols:
        raise ValueError(f"need {rows * cols} images to tile {rows}x{cols}, got {n}")
    return images.reshape(rows, cols, h, w).transpose(0, 2, 1, 3).reshape(rows * h, cols * w)


def style_row(model: "VAE", z: tuple[float, float] | np.ndarray) -> np.ndarray:
    """A conditional VAE's "same z, every digit": E[x|z, y] for y = 0..C-1 -> [C, H, W]."""
    if model.config.num_classes == 0:
        raise ValueError("a style row needs a conditional VAE")
    z_t = torch.as_tensor(np.asarray(z, dtype=np.float32).reshape(1, -1))
    with torch.inference_mode():
        labels = torch.arange(model.config.num_classes)
        images = model.decode(z_t.expand(len(labels), -1), labels)
    return images[:, 0].numpy()


def decode_grid(model: VAE, n: int = 20, spacing: Spacing = "linear", radius: float = 3.0) -> Manifold:
    """Decode an n x n grid of z into one tiled image (the manifold of E[x|z])."""
    if not 1 <= n <= 100:
        raise ValueError("n must be between 1 and 100")
    z1 = grid_axis(n, spacing, radius)
    z2 = grid_axis(n, spacing, radius)
    images = decode_points(model, grid_points(z1, z2))  # [n*n, H, W]
    return Manifold(image=tile(images, n, n), z1=z1, z2=z2, spacing=spacing, radius=radius)


@torch.inference_mode()
def encode_images(model: VAE | ConditionedVAE, images: np.ndarray | torch.Tensor,
                  labels: np.ndarray | None = None, batch_size: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """(mu, logvar) for images: uint8 [N, H, W] (0-255) or float [N, 1, H, W] / [N, H, W] in [0, 1].

    labels [N]: each image's digit, used by a conditional model only (q(z|x, y), each image with
    its own label: how a CVAE encodes a data set); ignored by an unconditional model or a view
    with its label fixed. Returns float32 arrays [N, D] each.
    """
    # image_rows copies (torch.tensor): cached arrays are read-only and torch must not alias them.
    x = image_rows(images, model.config.input_dim)  # [N, P]
    use_labels = model.conditional and labels is not None  # else a CVAE's encode says it needs one
    y = torch.tensor(np.asarray(labels), dtype=torch.long) if use_labels else None  # [N]
    if y is not None and len(y) != len(x):
        raise ValueError(f"a conditional model needs one label per image, got {len(y)} for {len(x)}")
    mus, logvars = [], []
    for i in range(0, len(x), batch_size):
        rows = slice(i, i + batch_size)
        mu, logvar = model.encode(x[rows]) if y is None else model.encode(x[rows], y[rows])
        mus.append(mu)
        logvars.append(logvar)
    if not mus:
        empty = np.zeros((0, model.config.latent_dim), np.float32)
        return empty, empty.copy()
    return torch.cat(mus).numpy(), torch.cat(logvars).numpy()


def interpolate(z_a: np.ndarray, z_b: np.ndarray, steps: int, method: Interpolation = "linear"
                ) -> np.ndarray:
    """`steps` points from z_a to z_b inclusive -> [steps, D].

    slerp follows the great circle between the two directions while the radius changes
    linearly (White 2016, "Sampling generative networks"); in 2-D that is a rotation about
    the origin, so the path is an arc (a spiral when the norms differ).
    """
    if steps < 2:
        raise ValueError("steps must be >= 2")
    a = np.asarray(z_a, dtype=np.float64)
    b = np.asarray(z_b, dtype=np.float64)
    t = np.linspace(0.0, 1.0, steps)[:, None]
    if method == "linear":
        return (1 - t) * a + t * b
    if method != "slerp":
        raise ValueError(f"method must be 'linear' or 'slerp', got {method!r}")
    norm_a, norm_b = np.linalg.norm(a), np.linalg.norm(b)
    if norm_a < 1e-9 or norm_b < 1e-9:
        return (1 - t) * a + t * b  # no direction to rotate from: fall back to a line
    cos = np.clip(np.dot(a, b) / (norm_a * norm_b), -1.0, 1.0)
    omega = math.acos(cos)
    if omega < 1e-6:
        direction = np.repeat((a / norm_a)[None], steps, axis=0)
    else:
        direction = (np.sin((1 - t) * omega) * a / norm_a + np.sin(t * omega) * b / norm_b) / math.sin(omega)
    radius = (1 - t) * norm_a + t * norm_b
    return direction * radius


def ellipse(mu: np.ndarray, logvar: np.ndarray, n_sigma: float = 1.0, points: int = 72) -> np.ndarray:
    """Contour of a diagonal Gaussian at n_sigma standard deviations -> [points, 2] (closed)."""
    angles = np.linspace(0.0, 2 * math.pi, points)
    sigma = np.exp(0.5 * np.asarray(logvar, dtype=np.float64))
    return np.asarray(mu, dtype=np.float64)[None, :2] + n_sigma * np.stack(
        [sigma[0] * np.cos(angles), sigma[1] * np.sin(angles)], axis=1
    )


def sample_prior(n: int, seed: int, dim: int = 2, temperature: float = 1.0) -> np.ndarray:
    """n draws of z ~ N(0, temperature^2 I) -> float32 [n, dim]."""
    generator = torch.Generator().manual_seed(int(seed))
    return (temperature * torch.randn(n, dim, generator=generator)).numpy()


def sample_posterior(mu: np.ndarray, logvar: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n draws of z ~ q(z|x) = N(mu, diag(exp(logvar))) -> float32 [n, D]."""
    generator = torch.Generator().manual_seed(int(seed))
    eps = torch.randn(n, len(mu), generator=generator).numpy()
    return (np.asarray(mu) + np.exp(0.5 * np.asarray(logvar)) * eps).astype(np.float32)


def nearest(query: np.ndarray, points: np.ndarray, k: int = 8) -> np.ndarray:
    """Indices of the k points closest (Euclidean) to query [D], nearest first -> int [k]."""
    dist = np.linalg.norm(np.asarray(points) - np.asarray(query)[None], axis=1)
    k = min(k, len(dist))
    idx = np.argpartition(dist, k - 1)[:k] if k < len(dist) else np.arange(len(dist))
    return idx[np.argsort(dist[idx])]


def main(argv: list[str] | None = None) -> int:
    """`python -m vae.latent CHECKPOINT --out manifold.png`: save a manifold picture."""
    import argparse

    from .checkpoint import load_checkpoint
    from .render import png_bytes, upscale

    p = argparse.ArgumentParser(prog="python -m vae.latent", description=main.__doc__)
    p.add_argument("checkpoint")
    p.add_argument("--out", required=True)
    p.add_argument("--n", type=int, default=20)
    p.add_argument("--spacing", choices=["linear", "gaussian"], default="gaussian")
    p.add_argument("--radius", type=float, default=3.0)
    p.add_argument("--scale", type=int, default=1)
    args = p.parse_args(argv)
    grid = decode_grid(load_checkpoint(args.checkpoint).model, args.n, args.spacing, args.radius)
    with open(args.out, "wb") as fh:
        fh.write(png_bytes(upscale(grid.image, args.scale)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
