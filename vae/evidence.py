"""Every number about one image's evidence: log p(x) by quadrature next to IWAE and the ELBO's
two terms (the Posterior page's table), and where the reconstruction fails, pixel by pixel."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .bounds import elbo_terms, iwae_log_px
from .data import image_rows
from .model import VAE, gaussian_kl_to_standard_normal
from .quadrature import PosteriorGrid


@dataclass(frozen=True)
class Evidence:
    """Every estimate of (a bound on) log p(x) for one image, nats."""

    log_px: float  # quadrature (the reference)
    iwae: float  # IWAE estimate with `iwae_k` samples
    iwae_k: int
    elbo: float  # Monte Carlo: expected_log_lik - kl
    expected_log_lik: float  # E_q[log p(x|z)] with `elbo_samples` draws
    kl: float  # KL(q(z|x) || p(z)), closed form
    elbo_samples: int
    seed: int
    iwae_runs: tuple[float, ...] = ()  # independent IWAE estimates (other seeds): their spread

    @property
    def iwae_mean(self) -> float:
        return float(np.mean(self.iwae_runs)) if self.iwae_runs else self.iwae

    @property
    def iwae_sd(self) -> float:
        return float(np.std(self.iwae_runs, ddof=1)) if len(self.iwae_runs) > 1 else float("nan")

    @property
    def gap(self) -> float:
        """log p(x) - ELBO = KL(q(z|x) || p(z|x)) (up to the ELBO's Monte Carlo error)."""
        return self.log_px - self.elbo


def evidence(model: VAE, x: np.ndarray | torch.Tensor, posterior: PosteriorGrid, iwae_k: int = 1000,
             elbo_samples: int = 100, seed: int = 0, iwae_repeats: int = 10) -> Evidence:
    """ELBO terms (Monte Carlo, seeded) and IWAE next to the quadrature log p(x) of one image.

    IWAE is run `iwae_repeats` times with independent seeds (the first is `iwae`): one estimate is
    random and can land above log p(x); only its expectation is a bound, so the spread is shown."""
    x_flat = image_rows(x, model.config.input_dim)
    terms = elbo_terms(model, x_flat, elbo_samples, torch.Generator().manual_seed(seed))
    runs = tuple(float(iwae_log_px(model, x_flat, iwae_k, torch.Generator().manual_seed(seed + 1 + r))[0])
                 for r in range(max(1, iwae_repeats)))
    return Evidence(log_px=posterior.log_px, iwae=runs[0], iwae_k=iwae_k,
                    elbo=float(terms.elbo[0]), expected_log_lik=float(-terms.recon[0]),
                    kl=float(terms.kl[0]), elbo_samples=elbo_samples, seed=seed, iwae_runs=runs)


@torch.inference_mode()
def reconstruction_error_map(model: VAE, x: np.ndarray | torch.Tensor,
                             z: np.ndarray | None = None) -> np.ndarray:
    """Per-pixel -log p(x_i | z) in nats (Bernoulli), at z = mu(x) unless given -> float32 [H, W].

    It sums to -log p(x|z): the reconstruction term at that z.
    """
    x_flat = image_rows(x, model.config.input_dim)[:1]  # [1, P]
    z_t = model.encode(x_flat)[0] if z is None else torch.tensor(np.asarray(z, np.float32)).reshape(1, -1)
    logits = model.decode_logits(z_t)  # [1, P]
    err = torch.nn.functional.binary_cross_entropy_with_logits(logits, x_flat, reduction="none")
    return err.reshape(model.config.image_size, model.config.image_size).numpy()



@dataclass(frozen=True)
class ExactElbo:
    """One image's ELBO and its pieces with no sampling at all (2-D quadrature), nats."""

    log_px: float  # log p(x)
    elbo: float  # E_q[log p(x|z)] - KL(q(z|x) || p(z)), by quadrature over q's box
    expected_log_lik: float  # E_q[log p(x|z)] = elbo + KL(q || p(z))
    kl_prior: float  # KL(q(z|x) || p(z)), closed form
    gap: float  # log p(x) - ELBO = KL(q(z|x) || p(z|x))


def exact_elbo(posterior: PosteriorGrid) -> ExactElbo:
    """The ELBO's decomposition from a quadrature posterior: the two terms of the ELBO and the
    gap to log p(x), each exact up to the grid's error (no Monte Carlo)."""
    kl_prior = float(gaussian_kl_to_standard_normal(torch.as_tensor(posterior.mu[None], dtype=torch.float64),
                                                    torch.as_tensor(posterior.logvar[None], dtype=torch.float64))[0])
    return ExactElbo(log_px=posterior.log_px, elbo=posterior.elbo, expected_log_lik=posterior.elbo + kl_prior,
                     kl_prior=kl_prior, gap=posterior.kl_q_to_posterior)
