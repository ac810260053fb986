"""Monte-Carlo bounds on log p(x) for a trained VAE, in nats per image.

  ELBO(x)      = E_q[log p(x|z)] - KL(q(z|x) || p(z))                 (Kingma & Welling, eq. 3)
  log p_k(x)   = log (1/k) sum_k p(x, z_k) / q(z_k|x),  z_k ~ q(z|x)   (Burda et al. 2016)
log p_1 is an unbiased one-sample ELBO; log p_k rises towards log p(x) as k grows. With a 2-D
latent, log p(x) itself is computed without sampling in vae/quadrature.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .model import (
    VAE,
    bernoulli_log_likelihood,
    diagonal_gaussian_log_density,
    gaussian_kl_to_standard_normal,
    standard_normal_log_density,
)


@dataclass
class ElboTerms:
    """Per-image ELBO terms, each [N], nats. elbo = -recon - kl."""

    elbo: torch.Tensor
    recon: torch.Tensor  # -E_q[log p(x|z)], Monte Carlo with `num_samples` draws
    kl: torch.Tensor  # closed form


@torch.inference_mode()
def elbo_terms(
    model: VAE, x: torch.Tensor, num_samples: int = 1, generator: torch.Generator | None = None
) -> ElboTerms:
    """ELBO terms for x in [0, 1], [N, 1, 28, 28] or [N, 784]."""
    x_flat = x.reshape(x.shape[0], model.config.input_dim)
    mu, logvar = model.encode(x_flat)
    z = model.reparameterize(mu, logvar, num_samples, generator)  # [S, N, D]
    recon = -bernoulli_log_likelihood(x_flat, model.decode_logits(z)).mean(dim=0)  # [N]
    kl = gaussian_kl_to_standard_normal(mu, logvar)
    return ElboTerms(elbo=-(recon + kl), recon=recon, kl=kl)


@torch.inference_mode()
def iwae_log_px(
    model: VAE,
    x: torch.Tensor,
    k: int,
    generator: torch.Generator | None = None,
    max_decodes: int = 65_536,
) -> torch.Tensor:
    """IWAE estimate of log p(x) with k samples from q(z|x); x [N, ...] -> [N] nats.

    Samples are drawn in chunks (at most `max_decodes` decoder rows at a time) and the
    log-sum-exp is accumulated, so k = 5000 fits in memory for any N.
    """
    x_flat = x.reshape(x.shape[0], model.config.input_dim)
    mu, logvar = model.encode(x_flat)
    n = x_flat.shape[0]
    chunk = max(1, min(k, max_decodes // max(1, n)))
    running = torch.full((n,), -math.inf, dtype=x_flat.dtype, device=x_flat.device)
    drawn = 0
    while drawn < k:
        s = min(chunk, k - drawn)
        z = model.reparameterize(mu, logvar, s, generator)  # [s, N, D]
        log_w = (
            bernoulli_log_likelihood(x_flat, model.decode_logits(z))
            + standard_normal_log_density(z)
            - diagonal_gaussian_log_density(z, mu, logvar)
        )  # [s, N]
        running = torch.logaddexp(running, torch.logsumexp(log_w, dim=0))
        drawn += s
    return running - math.log(k)
