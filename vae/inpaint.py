"""Inpainting and denoising by exact quadrature over the 2-D latent plane.

Given an image x with only some pixels observed (a boolean mask), the posterior over z uses only
those pixels' likelihood,

    p(z | x_obs) ∝ p(z) prod_{i observed} p(x_i | z),

and every pixel's completion is E[x_i | x_obs] = sum_z p(z | x_obs) E[x_i | z]. Denoising is the
same posterior under a noisy channel: each observed pixel was flipped with a known rate rho, so
p(y_i = 1 | z) = rho + (1 - 2 rho) P(x_i = 1 | z), and the clean pixel's estimate is
sum_z p(z | y) P(x_i = 1 | y_i, z) (Bayes per pixel). With rho = 0 both are the inpainting
formulas.

The quadrature is vae/quadrature.py's (adaptive quadtree, no sampling), run on the model as seen
through the observation (`ObservedChannel`): each observed pixel a Bernoulli with p(y_i = 1 | z),
each missing pixel certain to read 0 in a zero-filled image, so it adds exactly nothing to the
likelihood. No encoder is involved in the answer: q(z|x) was trained on whole images and has
never seen a half one; `exact_posterior` still reports its guess on the zero-filled input (mu,
logvar), which the page draws beside the true posterior.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .latent import ellipse
from .model import VAE
from .plane import Layer, Plane, density_picture, markers, polyline
from .quadrature import PosteriorGrid, PriorGrid, exact_posterior, prior_grid

TOL = 1e-3  # the quadrature's refinement tolerance (vae/quadrature.py REFINE_TOL)
HIDDEN_LOGIT = -1e4  # a missing pixel: P(reads 1) = 0, and it reads 0, so log-likelihood 0


class ObservedChannel:
    """The model seen through an observation: p(y_i | z) for the observed pixels (flipped with
    probability rho), and a pixel that always reads 0 for the missing ones. Quacks like a VAE
    for vae/quadrature.py (decode_logits, encode, config); owns no weights."""

    conditional = False

    def __init__(self, model: VAE, observed: np.ndarray, rho: float = 0.0) -> None:
        self.model, self.config, self.rho = model, model.config, float(rho)
        self.mask = torch.from_numpy(np.asarray(observed, bool).reshape(-1))  # [P]

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return through(self.model.decode_logits(z), self.mask, self.rho)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.encode(x)  # the plain encoder, on the zero-filled image


def through(logits: torch.Tensor, mask: torch.Tensor, rho: float) -> torch.Tensor:
    """Decoder logits [..., P] -> logits of p(y_i = 1 | z) through the channel (flip rate rho),
    HIDDEN_LOGIT where the bool mask [P] says the pixel is missing."""
    if rho > 0:
        q = rho + (1.0 - 2.0 * rho) * torch.sigmoid(logits)
        logits = torch.log(q) - torch.log1p(-q)
    return torch.where(mask, logits, torch.full_like(logits, HIDDEN_LOGIT))


@dataclass(frozen=True)
class MaskedPosterior:
    """p(z | observed pixels) and what follows from it."""

    grid: PosteriorGrid  # the quadrature's cells; grid.log_px is log p(x_obs); grid.mu/logvar
    #                      are the plain encoder's q on the zero-filled input
    mean: np.ndarray  # float64 [28, 28] the completion E[x_i | x_obs] (denoising: E[x_i | y])
    observed: np.ndarray  # bool [28, 28] the mask used
    rho: float  # the channel's flip rate (0: plain inpainting)

    @property
    def log_evidence(self) -> float:
        """log p(x_obs), nats."""
        return self.grid.log_px


def _check(x: np.ndarray, observed: np.ndarray, rho: float) -> tuple[np.ndarray, np.ndarray]:
    xa, ma = np.asarray(x, np.float64), np.asarray(observed, bool)
    if xa.shape[-2:] != (28, 28) or ma.shape[-2:] != (28, 28):
        raise ValueError(f"expected 28x28 images and masks, got {xa.shape} and {ma.shape}")
    if not 0.0 <= rho < 0.5:
        raise ValueError(f"the flip rate rho must be in [0, 0.5), got {rho}")
    return (xa >= 0.5).astype(np.float64), ma


@torch.inference_mode()
def channel_grid(prior: PriorGrid, observed: np.ndarray, rho: float = 0.0) -> PriorGrid:
    """The decoded level 0 of the quadrature seen through an observation, without decoding.
    With rho = 0 only the observed pixels count: the quadrature reads the grid as x·logits -
    sum softplus(logits) with x = 0 where a pixel is missing, so the prior's logits serve as they
    are (shared, no copy) and only the sum leaves the missing pixels out (80 ms). With rho > 0
    every observed logit changes: a new [G, P] grid (31 MB, 0.26 s), for one computation."""
    mask = torch.from_numpy(np.asarray(observed, bool).reshape(-1))  # [P]
    if rho == 0:
        softplus = torch.nn.functional.softplus(prior.logits) * mask  # [G, P], a temporary
        return PriorGrid(axis=prior.axis, step=prior.step, logits=prior.logits,
                         softplus_sum=softplus.sum(dim=-1), log_prior=prior.log_prior)
    logits = through(prior.logits, mask, float(rho))
    return PriorGrid(axis=prior.axis, step=prior.step, logits=logits,
                     softplus_sum=torch.nn.functional.softplus(logits).sum(dim=-1), log_prior=prior.log_prior)


def _leaf_probabilities(model: VAE, grid: PosteriorGrid, prior: PriorGrid) -> tuple[np.ndarray, np.ndarray]:
    """(p(z|x_obs) of the cells that matter [L'], P(x_i = 1 | z) there [L', P]): level-0 cells
    read from the decoded grid, finer ones decoded."""
    w = grid.cell_probability
    used = np.flatnonzero(w > 1e-12 * w.max())
    z, side = grid.cell_z[used], grid.cell_side[used]
    coarse = side >= prior.step * 0.99
    p = np.empty((len(used), model.config.input_dim))
    cols = np.floor((z[coarse] + prior.radius) / prior.step).astype(int)  # [C, 2] (i, j)
    p[coarse] = torch.sigmoid(prior.logits[cols[:, 1] * prior.n + cols[:, 0]].double()).numpy()
    if (~coarse).any():
        p[~coarse] = torch.sigmoid(model.decode_logits(torch.tensor(z[~coarse], dtype=torch.float32)).double()).numpy()
    return w[used] / w[used].sum(), p


@torch.inference_mode()
def posterior(model: VAE, x: np.ndarray, observed: np.ndarray, rho: float = 0.0,
              prior: PriorGrid | None = None, seen: PriorGrid | None = None, tol: float = TOL,
              view_n: int = 160) -> MaskedPosterior:
    """p(z | x_obs) for one image x [28, 28] (pixels >= 0.5 are ink) and a bool [28, 28] mask of
    observed pixels; rho: the flip rate of the noisy channel (0: the observed pixels are exact).
    Pass a cached `prior_grid(model)` (and `channel_grid(prior, observed, rho)`) to save time."""
    y, obs = _check(x, observed, rho)
    prior = prior if prior is not None else prior_grid(model)
    seen = seen if seen is not None else channel_grid(prior, obs, rho)
    channel = ObservedChannel(model, obs, rho)
    filled = np.where(obs, y, 0.0).astype(np.float32)  # missing pixels read 0 (see HIDDEN_LOGIT)
    grid = exact_posterior(channel, filled, seen, tol=tol, elbo_n=8, view_n=view_n)  # type: ignore[arg-type]
    w, p = _leaf_probabilities(model, grid, prior)
    y_flat, m_flat = y.reshape(-1), obs.reshape(-1)
    if rho > 0:  # the clean pixel given its noisy reading and z
        like1 = np.where(y_flat > 0, 1 - rho, rho)  # p(y_i | x_i = 1)
        like0 = np.where(y_flat > 0, rho, 1 - rho)  # p(y_i | x_i = 0)
        p = np.where(m_flat, p * like1 / (p * like1 + (1 - p) * like0), p)
    mean = w @ p  # [P]
    if rho == 0:
        mean = np.where(m_flat, y_flat, mean)  # observed pixels come back as given
    return MaskedPosterior(grid=grid, mean=mean.reshape(28, 28), observed=obs, rho=float(rho))


def complete(model: VAE, x: np.ndarray, observed: np.ndarray, rho: float = 0.0,
             prior: PriorGrid | None = None, seen: PriorGrid | None = None) -> np.ndarray:
    """E[x_i | x_observed] for every pixel of one image x [28, 28] (float in [0, 1], binary where
    observed) given a boolean [28, 28] mask of observed pixels -> float64 [28, 28]. Observed
    pixels come back as given (rho = 0); with rho > 0 the observed pixels are noisy (each
    flipped with probability rho) and every pixel is estimated."""
    return posterior(model, x, observed, rho, prior, seen).mean


@torch.inference_mode()
def sample_completions(model: VAE, post: MaskedPosterior, x: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """n completions from the posterior: z ~ p(z | x_obs) (a cell by its probability, then
    uniformly inside it), then each pixel ~ its Bernoulli given z (and, when denoising, given
    its noisy value); observed pixels of an inpainting stay as given -> float32 [n, 28, 28]."""
    rng = np.random.default_rng(seed)
    prob = post.grid.cell_probability
    cells = rng.choice(len(prob), size=n, p=prob / prob.sum())
    z = post.grid.cell_z[cells] + (rng.random((n, 2)) - 0.5) * post.grid.cell_side[cells, None]
    p = model.decode(torch.tensor(z, dtype=torch.float32)).reshape(n, 784).double().numpy()
    y = (np.asarray(x, np.float64).reshape(784) >= 0.5).astype(np.float64)
    obs = post.observed.reshape(784)
    if post.rho > 0:
        like1 = np.where(y > 0, 1 - post.rho, post.rho)
        like0 = np.where(y > 0, post.rho, 1 - post.rho)
        p = np.where(obs, p * like1 / (p * like1 + (1 - p) * like0), p)
    draws = (rng.random(p.shape) < p).astype(np.float32)
    if post.rho == 0:
        draws = np.where(obs, y, draws)
    return draws.reshape(n, 28, 28).astype(np.float32)


def uncertainty_bits(mean: np.ndarray) -> np.ndarray:
    """The entropy of each pixel's predictive Bernoulli, bits [same shape]: 0 where the pixel is
    certain, 1 where it is a coin flip."""
    p = np.clip(np.asarray(mean, np.float64), 1e-12, 1 - 1e-12)
    return -(p * np.log2(p) + (1 - p) * np.log2(1 - p))


@torch.inference_mode()
def encoder_guess(model: VAE, x: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the plain encoder makes of the input with its missing pixels set to 0:
    (E[x | z = mu] [28, 28], mu [2], logvar [2])."""
    filled = np.where(np.asarray(observed, bool), np.asarray(x, np.float32) >= 0.5, 0.0).astype(np.float32)
    mu, logvar = model.encode(torch.from_numpy(filled.reshape(1, 784)))
    return model.decode(mu).reshape(28, 28).numpy(), mu[0].double().numpy(), logvar[0].double().numpy()


def mask(kind: str, seed: int = 0, fraction: float = 0.5) -> np.ndarray:
    """A boolean [28, 28] mask of OBSERVED pixels: "bottom half missing", "top half missing",
    "left half missing", "right half missing", "random pixels missing" (a `fraction` of them,
    seeded), or "none missing"."""
    m = np.ones((28, 28), bool)
    if kind == "bottom half missing":
        m[14:] = False
    elif kind == "top half missing":
        m[:14] = False
    elif kind == "left half missing":
        m[:, :14] = False
    elif kind == "right half missing":
        m[:, 14:] = False
    elif kind == "random pixels missing":
        m = np.random.default_rng(seed).random((28, 28)) >= fraction
    elif kind != "none missing":
        raise ValueError(f"unknown mask {kind!r}")
    return m


def plane_layers(post: MaskedPosterior) -> tuple[Plane, list[Layer], tuple[float, float, float, float]]:
    """The latent plane for a completion: p(z | x_obs) as a density (the quadrature's raster),
    the plain encoder's q(z | zero-filled x) as 1 and 2 sigma ellipses, z_MAP and mu marked;
    opened zoomed on the posterior (and q)."""
    g = post.grid
    plane = Plane.square(float(g.coarse_axis[-1] + (g.coarse_axis[1] - g.coarse_axis[0]) / 2))
    density = g.view_posterior
    name = "p(z | y)" if post.rho > 0 else "p(z | x_obs)"
    layers = [density_picture(name, density, g.view_extent, "inferno", 0.0, float(density.max()), f"{name}, density"),
              polyline("encoder's q, 1σ", ellipse(g.mu, g.logvar, 1.0), "#00e5ff", closed=True),
              polyline("encoder's q, 2σ", ellipse(g.mu, g.logvar, 2.0), "#00e5ff", dash=True, closed=True),
              markers("μ of the encoder's q", g.mu, "#00e5ff", symbol="x", size=12),
              markers(f"z_MAP of {name}", g.z_map, "#ff2d95", symbol="star", size=16)]
    x0, x1, y0, y1 = g.view_extent
    return plane, layers, plane.view_around((x0, y0), (x1, y1), margin=0.0, min_side=0.004)
