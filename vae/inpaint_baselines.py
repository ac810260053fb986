"""The honest baselines the exact inpainting (vae/inpaint.py) is measured against. Each returns
P(x_i = 1) for every pixel of a batch, so all are scored alike on the missing pixels' log-likelihood
and accuracy. Images are binary float arrays [N, 784]; masks bool [N, 784] or [784] (observed).

- the encoder on the zero-filled image: E[x | z = mu(x_obs, 0 elsewhere)];
- the encoder on the mean-filled image: missing pixels set to the training set's mean pixel;
- pseudo-Gibbs with the encoder (Rezende et al. 2014): z ~ q(z | x), x_missing ~ p(x | z),
  repeated; the answer is the decoder's mean averaged over the second half of the chain;
- the k nearest training images in pixel space, by Hamming distance on the observed pixels;
  their missing pixels averaged with an add-one-half (Krichevsky-Trofimov) count, (s + 1/2)/(k + 1);
- for noise: a 3 x 3 median filter, and the encoder on the noisy image.
"""

from __future__ import annotations

import numpy as np
import torch

from .model import VAE


def _mask(observed: np.ndarray, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(observed, bool).reshape(-1, 784), (n, 784))


@torch.inference_mode()
def encoder_fill(model: VAE, x: np.ndarray, observed: np.ndarray, fill: np.ndarray | float = 0.0) -> np.ndarray:
    """E[x | mu] for the images with missing pixels set to `fill` (0, or a mean image [784])."""
    m = _mask(observed, len(x))
    filled = np.where(m, x, np.broadcast_to(np.asarray(fill, np.float64), x.shape)).astype(np.float32)
    mu, _ = model.encode(torch.from_numpy(filled))
    return model.decode(mu).reshape(len(x), 784).double().numpy()


@torch.inference_mode()
def pseudo_gibbs(model: VAE, x: np.ndarray, observed: np.ndarray, start: np.ndarray, iterations: int = 50,
                 seed: int = 0) -> np.ndarray:
    """Pseudo-Gibbs with the encoder from the mean-filled image `start` [784]: each iteration
    z ~ q(z | x_current), then the missing pixels ~ p(x | z); returns the decoder's mean averaged
    over the last half of the iterations."""
    g = torch.Generator().manual_seed(seed)
    m = torch.from_numpy(_mask(observed, len(x)).copy())
    current = torch.where(m, torch.from_numpy(x).float(), torch.from_numpy(np.asarray(start, np.float32)).expand(len(x), 784))
    total = torch.zeros(len(x), 784, dtype=torch.float64)
    for it in range(iterations):
        mu, logvar = model.encode(current)
        z = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=g)
        probs = model.decode(z).reshape(len(x), 784)
        if it >= iterations // 2:
            total += probs.double()
        current = torch.where(m, current, torch.bernoulli(probs, generator=g))
    return (total / (iterations - iterations // 2)).numpy()


def nearest_neighbours(train: np.ndarray, x: np.ndarray, observed: np.ndarray, k: int = 10,
                       chunk: int = 256) -> np.ndarray:
    """The k training images [M, 784] (binary) nearest each query on its observed pixels
    (Hamming distance); P(x_i = 1) = (number of them with ink at i + 1/2) / (k + 1)."""
    t = torch.from_numpy(np.asarray(train, np.float32))  # [M, P]
    out = np.empty((len(x), 784))
    for s in range(0, len(x), chunk):
        q = torch.from_numpy(np.asarray(x[s : s + chunk], np.float32))
        m = torch.from_numpy(_mask(observed, len(x))[s : s + chunk].astype(np.float32))
        # sum over observed i of |q_i - t_i| = (q m)·(1 - t) + ((1 - q) m)·t
        dist = (q * m) @ (1 - t).T + ((1 - q) * m) @ t.T  # [B, M]
        nearest = dist.topk(k, largest=False).indices  # [B, k]
        out[s : s + chunk] = ((t[nearest].sum(1) + 0.5) / (k + 1)).double().numpy()
    return out


def median3(x: np.ndarray) -> np.ndarray:
    """A 3 x 3 median filter on binary images [N, 784] (edges replicated) -> [N, 784] in {0, 1}."""
    img = np.asarray(x, np.float64).reshape(-1, 28, 28)
    padded = np.pad(img, ((0, 0), (1, 1), (1, 1)), mode="edge")
    stack = np.stack([padded[:, i : i + 28, j : j + 28] for i in range(3) for j in range(3)])
    return np.median(stack, axis=0).reshape(-1, 784)


def scores(probs: np.ndarray, truth: np.ndarray, where: np.ndarray, eps: float = 1e-6) -> tuple[float, float]:
    """(mean over images of sum over `where` pixels of log P(true value), nats; accuracy of the
    0.5 threshold there) for predictions probs [N, 784] against binary truth [N, 784]."""
    w = _mask(where, len(truth))
    p = np.clip(probs, eps, 1 - eps)
    ll = np.where(truth > 0.5, np.log(p), np.log1p(-p))
    return float((ll * w).sum(1).mean()), float((((probs >= 0.5) == (truth > 0.5)) & w).sum() / w.sum())
