"""The aggregate posterior q(z) = (1/N) sum_n q(z|x_n) of an encoded data set, and its "holes":
where the prior p(z) has mass but q(z) has little, samples from the prior decode to images unlike
the data (the Generate page marks them)."""

from __future__ import annotations

import math

import numpy as np
import torch

from .model import diagonal_gaussian_log_density, standard_normal_log_density


def aggregate_posterior_log_density(z: np.ndarray, mu: np.ndarray, logvar: np.ndarray,
                                    chunk: int = 2048) -> np.ndarray:
    """log q(z) = log (1/N) sum_n N(z; mu_n, diag(exp(logvar_n))), the encoder's density over a
    data set, at points z [G, 2] (mu, logvar [N, 2]) -> float64 [G].

    Where the prior p(z) has mass but q(z) has little, samples from the prior decode to images
    unlike the data ("holes").
    """
    mu_t = torch.as_tensor(np.asarray(mu), dtype=torch.float64)  # [N, 2]
    lv_t = torch.as_tensor(np.asarray(logvar), dtype=torch.float64)
    z_t = torch.as_tensor(np.asarray(z), dtype=torch.float64).reshape(-1, mu_t.shape[-1])  # [G, 2]
    out = [torch.logsumexp(diagonal_gaussian_log_density(z_t[s : s + chunk, None, :], mu_t[None], lv_t[None]), dim=1)
           for s in range(0, len(z_t), chunk)]  # each [g]
    log_n = math.log(max(1, len(mu_t)))
    return (torch.cat(out) - log_n).numpy() if out else np.zeros(0)


def aggregate_posterior_density_grid(z1: np.ndarray, z2: np.ndarray, mu: np.ndarray,
                                     logvar: np.ndarray) -> np.ndarray:
    """q(z) on the tensor grid z1 [n1] x z2 [n2] -> float64 [n2, n1] (rows z2), a density.

    A diagonal Gaussian factorises, so sum_n N(z1; .) N(z2; .) is one matmul: B^T A / N with
    A [N, n1], B [N, n2] the per-axis densities (far tails underflow to 0, harmless here).
    """
    mu = np.asarray(mu, np.float64)
    sigma = np.exp(0.5 * np.asarray(logvar, np.float64))  # [N, 2]

    def axis_density(axis: np.ndarray, d: int) -> np.ndarray:  # [N, n]
        u = (np.asarray(axis, np.float64)[None, :] - mu[:, d : d + 1]) / sigma[:, d : d + 1]
        return np.exp(-0.5 * u * u) / (sigma[:, d : d + 1] * math.sqrt(2 * math.pi))

    return axis_density(z2, 1).T @ axis_density(z1, 0) / max(1, len(mu))


def prior_log_density(z: np.ndarray) -> np.ndarray:
    """log N(z; 0, I) at points z [G, D] -> float64 [G]."""
    return standard_normal_log_density(torch.as_tensor(np.asarray(z), dtype=torch.float64)).numpy()


HOLE_RATIO = 0.1


def hole_mask(z: np.ndarray, mu: np.ndarray, logvar: np.ndarray, ratio: float = HOLE_RATIO) -> np.ndarray:
    """True where z [G, 2] sits in a "hole": the aggregate posterior q(z) of the encoded data
    (mu, logvar [N, 2]) is below `ratio` times the prior density p(z) there -> bool [G]."""
    log_ratio = aggregate_posterior_log_density(z, mu, logvar) - prior_log_density(z)
    return log_ratio < math.log(ratio)
