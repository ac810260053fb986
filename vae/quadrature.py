"""log p(x) and the true posterior p(z|x) of a 2-D latent VAE, by adaptive quadrature (no sampling).

With a 2-D latent, log p(x) = log ∫ p(x|z) p(z) dz is a 2-D integral that a grid computes to
any accuracy we pay for. Adaptive quadrature on a quadtree:
  level 0  an n x n grid of square cells tiling the prior's bulk [-r, r]^2 (side 0.1). It does
           not depend on x, so the decoder runs on it once per model (`prior_grid`); log p(x|z)
           there is one matmul, x·logits - sum softplus(logits), for a whole batch of images.
  refine   a cell holding posterior mass whose midpoint value is not to be trusted (a Taylor
           estimate of its error at level 0; afterwards, splitting it changed its mass) is split
           into 2 x 2 children, decoded in one batch for all such cells of all images; down to
           MAX_LEVEL (side 0.1 / 2^7 ≈ 0.0008).
The leaves tile the box exactly once, each with its own area, so
  log p(x)   = logsumexp_leaves (log p(x, z_c) + log area_c)       (the midpoint rule per leaf)
  p(z_c | x) = p(x, z_c) / p(x)                                    (times area_c: a probability)
The refinement follows the posterior wherever it is: a narrow peak a few sigma away from
q(z|x), a second mode, a long thin ridge (a trained q(z|x) can be 10x wider than p(z|x)).
Prior mass outside [-5, 5]^2 is ~1e-6 and left out. Checked against brute-force uniform grids
(1,000 x 1,000 cells of 0.01: within 0.006 nats; tests/test_quadrature.py uses 0.02-0.05).
The Monte-Carlo bounds (ELBO, IWAE) are in vae/bounds.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .arraycache import saved_arrays
from .data import image_rows
from .model import (
    VAE,
    bernoulli_log_likelihood,
    diagonal_gaussian_log_density,
    standard_normal_log_density,
)


COARSE_RADIUS = 5.0
COARSE_N = 100  # level-0 cells of side 0.1
MAX_LEVEL = 7
LEVEL0_TOL = 1e-5  # split a level-0 cell whose estimated error exceeds this fraction of p(x)
REFINE_TOL = 1e-3  # a cell whose split moved more than this fraction of p(x) is split further
MASS_EPS = 1e-6  # cells holding less posterior mass are never split
# Against a converged grid (tol 1e-6, 19k decodes per image) on 24 test images, REFINE_TOL 1e-3
# costs ~600 decodes per image for a mean error of 0.008 nats (max 0.08); 3e-3: ~370, 0.012.
PAGE_TOL = 1e-4  # one image on a page: ~1,800 decodes
# The ELBO by quadrature: an m x m grid over q(z|x)'s box mu ± ELBO_SIGMAS * sigma.
ELBO_SIGMAS = 6.0
ELBO_N = 32  # one image on a page


@dataclass(frozen=True)
class PriorGrid:
    """The x-independent level 0 of the quadrature, decoded once per model.

    Cells tile [-radius, radius]^2. Flat index j * n + i <-> (z1 = axis[i], z2 = axis[j]).
    Treat as read-only (it is shared between callers).
    """

    axis: np.ndarray  # float64 [n], ascending cell centres (both axes)
    step: float  # cell side
    logits: torch.Tensor  # [n*n, P] decoder logits at the cell centres
    softplus_sum: torch.Tensor  # [n*n] sum over pixels of softplus(logits)
    log_prior: torch.Tensor  # [n*n] log N(z; 0, I)

    @property
    def n(self) -> int:
        return len(self.axis)

    @property
    def radius(self) -> float:
        return self.n * self.step / 2.0


@dataclass(frozen=True)
class PosteriorGrid:
    """The exact posterior of one image on the adaptive grid. Arrays are float64 numpy.

    2-D arrays are [rows = z2, cols = z1], z2 ascending (plotly's Heatmap(x=z1, y=z2, z=...)).
    """

    mu: np.ndarray  # [2], mean of q(z|x)
    logvar: np.ndarray  # [2], log variance of q(z|x)
    cell_z: np.ndarray  # [L, 2] centres of the quadrature's leaf cells (they tile [-r, r]^2)
    cell_side: np.ndarray  # [L] side of each (square) leaf
    cell_log_joint: np.ndarray  # [L] log p(x, z) at each centre
    coarse_axis: np.ndarray  # [n] level-0 cell centres (both axes)
    coarse_log_joint: np.ndarray  # [n, n] log p(x, z) at the level-0 centres (refined or not)
    view_z1: np.ndarray  # [m] a raster over the posterior's region (and q's), for pictures
    view_z2: np.ndarray  # [m]
    view_log_joint: np.ndarray  # [m, m] log of p(x, z) averaged over each raster pixel
    log_px: float  # log p(x) by quadrature, nats
    z_map: np.ndarray  # [2], the leaf with the largest p(z|x)
    elbo: float  # E_q[log p(x, z) - log q(z|x)] by quadrature over q's box (no sampling noise)

    @property
    def cell_probability(self) -> np.ndarray:
        """p(z|x) * area of each leaf cell [L]: the posterior as probabilities on the grid."""
        return np.exp(self.cell_log_joint + 2 * np.log(self.cell_side) - self.log_px)

    @property
    def view_posterior(self) -> np.ndarray:
        """p(z|x) as a density on the view raster [m, m]."""
        return np.exp(self.view_log_joint - self.log_px)

    @property
    def view_extent(self) -> tuple[float, float, float, float]:
        """The view raster's edges (z1_lo, z1_hi, z2_lo, z2_hi)."""
        h1 = (self.view_z1[1] - self.view_z1[0]) / 2
        h2 = (self.view_z2[1] - self.view_z2[0]) / 2
        return (self.view_z1[0] - h1, self.view_z1[-1] + h1, self.view_z2[0] - h2, self.view_z2[-1] + h2)

    @property
    def refined_cells(self) -> int:
        """How many leaves are finer than level 0."""
        return int((self.cell_side < self.cell_side.max() * 0.99).sum())

    def mass_near_q(self, n_sigma: float = 2.0) -> float:
        """Posterior probability inside q(z|x)'s n_sigma ellipse: near 1 when q covers p(z|x),
        small when q sits beside the posterior (IWAE with samples from q then misses mass)."""
        u = (self.cell_z - self.mu) / np.exp(0.5 * self.logvar)  # [L, 2]
        return float(self.cell_probability[(u ** 2).sum(axis=1) <= n_sigma ** 2].sum())

    @property
    def kl_q_to_posterior(self) -> float:
        """KL(q(z|x) || p(z|x)) = log p(x) - ELBO, both by quadrature (>= 0)."""
        return self.log_px - self.elbo


def _cell_centres(radius: float, n: int) -> tuple[np.ndarray, float]:
    """(ascending centres [n] of n cells tiling [-radius, radius], the cell side)."""
    step = 2.0 * radius / n
    return -radius + (np.arange(n) + 0.5) * step, step


@torch.inference_mode()
def prior_grid(model: VAE, radius: float = COARSE_RADIUS, n: int = COARSE_N,
               batch_size: int = 4096) -> PriorGrid:
    """Decode the level-0 n x n cell centres over [-radius, radius]^2 (once per model)."""
    if model.config.latent_dim != 2:
        raise ValueError("grid quadrature needs a 2-D latent space")
    axis, step = _cell_centres(radius, n)
    a = torch.tensor(axis, dtype=torch.float32)
    z = torch.stack(torch.meshgrid(a, a, indexing="xy"), dim=-1).reshape(-1, 2)  # [n*n, 2]
    logits = torch.cat([model.decode_logits(z[i : i + batch_size]) for i in range(0, len(z), batch_size)])
    return PriorGrid(axis=axis, step=step, logits=logits,
                     softplus_sum=torch.nn.functional.softplus(logits).sum(dim=-1),
                     log_prior=standard_normal_log_density(z))


def saved_prior_grid(model: VAE, model_key: dict[str, object]) -> Callable[[], PriorGrid]:
    """prior_grid(model), decoded once for the weights model_key names (in any process) and
    kept in the array cache: returns an opener whose PriorGrid maps the 31 MB of logits from that
    file for as long as the caller holds it (a server keeps none of it between uses)."""
    key = {"what": "quadrature level 0", "version": 1, "torch": torch.__version__,
           "radius": COARSE_RADIUS, "n": COARSE_N, **model_key}

    def compute() -> dict[str, np.ndarray]:
        grid = prior_grid(model)
        return {"logits": grid.logits.numpy(), "softplus_sum": grid.softplus_sum.numpy(),
                "log_prior": grid.log_prior.numpy()}

    open_arrays = saved_arrays(key, ("logits", "softplus_sum", "log_prior"), compute)
    axis, step = _cell_centres(COARSE_RADIUS, COARSE_N)

    def open_grid() -> PriorGrid:
        arrays = open_arrays()
        return PriorGrid(axis=axis, step=step, logits=torch.from_numpy(arrays["logits"]),
                         softplus_sum=torch.from_numpy(arrays["softplus_sum"]),
                         log_prior=torch.from_numpy(arrays["log_prior"]))

    return open_grid


def _coarse_points(prior: PriorGrid) -> torch.Tensor:
    """Level-0 centres, float64 [n*n, 2] in the flat order of PriorGrid."""
    a = torch.tensor(prior.axis, dtype=torch.float64)
    return torch.stack(torch.meshgrid(a, a, indexing="xy"), dim=-1).reshape(-1, 2)


def _segment_logsumexp(values: torch.Tensor, index: torch.Tensor, n: int) -> torch.Tensor:
    """logsumexp of values [M] grouped by index [M] in 0..n-1 -> [n] (-inf for empty groups)."""
    top = torch.full((n,), -math.inf, dtype=values.dtype).scatter_reduce(0, index, values, "amax")
    safe = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
    total = torch.zeros(n, dtype=values.dtype).index_add_(0, index, (values - safe[index]).exp())
    return safe + total.log()


def _log_joint_at(model: VAE, x_flat: torch.Tensor, img: torch.Tensor, z: torch.Tensor,
                  max_decodes: int) -> torch.Tensor:
    """log p(x_img, z) for rows img [M] (into x_flat [N, P]) and points z [M, 2] -> float64 [M]."""
    out = torch.empty(len(z), dtype=torch.float64)
    for s in range(0, len(z), max_decodes):
        logits = model.decode_logits(z[s : s + max_decodes].float())  # [B, P]
        out[s : s + max_decodes] = bernoulli_log_likelihood(x_flat[img[s : s + max_decodes]], logits).double()
    return out + standard_normal_log_density(z)


# Offsets of the 4 children of a cell, in units of the parent's half side.
_CHILD_OFFSETS = torch.tensor([[-0.5, -0.5], [0.5, -0.5], [-0.5, 0.5], [0.5, 0.5]], dtype=torch.float64)


@dataclass
class _Adaptive:
    """Internal result of `_adaptive` for N images (float64)."""

    coarse_log_joint: torch.Tensor  # [N, n*n] at the level-0 centres
    coarse_split: torch.Tensor  # [N, n*n] bool: level-0 cell refined
    img: torch.Tensor  # [L] long, the image of each finer leaf
    z: torch.Tensor  # [L, 2] finer leaves' centres
    half: torch.Tensor  # [L] their half sides
    log_joint: torch.Tensor  # [L]
    log_px: torch.Tensor  # [N]


def _adaptive(model: VAE, x_flat: torch.Tensor, prior: PriorGrid, max_level: int = MAX_LEVEL,
              tol: float = REFINE_TOL, mass_eps: float = MASS_EPS, max_decodes: int = 8192,
              tol0: float = LEVEL0_TOL) -> _Adaptive:
    """Adaptive quadtree quadrature of p(x, z) for x_flat [N, P] (see the block comment above)."""
    n_img, s = x_flat.shape[0], prior.step
    log_area0 = 2.0 * math.log(s)
    f0 = (x_flat @ prior.logits.T - prior.softplus_sum + prior.log_prior).double()  # [N, G]
    log_z = torch.logsumexp(f0, dim=1) + log_area0  # [N] first estimate of log p(x)
    mass0 = (f0 + log_area0 - log_z[:, None]).exp()
    # Midpoint rule on a square of side s: relative error ≈ s²/24 (Δf + |∇f|²) for the integrand
    # e^f; derivatives by central differences on the level-0 grid (edges replicated).
    g = torch.nn.functional.pad(f0.reshape(n_img, 1, prior.n, prior.n), (1, 1, 1, 1), mode="replicate")[:, 0]
    c = g[:, 1:-1, 1:-1]
    fx, fy = (g[:, 1:-1, 2:] - g[:, 1:-1, :-2]) / (2 * s), (g[:, 2:, 1:-1] - g[:, :-2, 1:-1]) / (2 * s)
    fxx, fyy = (g[:, 1:-1, 2:] - 2 * c + g[:, 1:-1, :-2]) / s**2, (g[:, 2:, 1:-1] - 2 * c + g[:, :-2, 1:-1]) / s**2
    rel_err = (s * s / 24.0) * (fxx + fyy + fx**2 + fy**2).abs().reshape(n_img, -1)  # [N, G]
    split0 = (mass0 > mass_eps) & (mass0 * rel_err > tol0)
    coarse_lse = torch.logsumexp(torch.where(split0, -math.inf, f0), dim=1) + log_area0  # [N]

    img, gi = split0.nonzero(as_tuple=True)
    z, half, f_parent = _coarse_points(prior)[gi], torch.full((len(gi),), s / 2, dtype=torch.float64), f0[img, gi]
    leaves: list[tuple[torch.Tensor, ...]] = []
    leaf_lse = torch.full((n_img,), -math.inf, dtype=torch.float64)
    for level in range(1, max_level + 1):
        if len(z) == 0:
            break
        zc = (z[:, None, :] + _CHILD_OFFSETS[None] * half[:, None, None]).reshape(-1, 2)  # [4C, 2]
        hc, imgc = (half / 2).repeat_interleave(4), img.repeat_interleave(4)
        fc = _log_joint_at(model, x_flat, imgc, zc, max_decodes)  # [4C]
        wc = fc + 2 * torch.log(2 * hc)  # log p(x, z) * area
        log_z = torch.logsumexp(torch.stack([coarse_lse, leaf_lse, _segment_logsumexp(wc, imgc, n_img)]), dim=0)
        before = (f_parent + 2 * torch.log(2 * half) - log_z[img]).exp()
        after = (torch.logsumexp(wc.reshape(-1, 4), dim=1) - log_z[img]).exp()
        unsettled = ((before - after).abs() > tol).repeat_interleave(4)
        split = unsettled & ((wc - log_z[imgc]).exp() > mass_eps) & (level < max_level)
        keep = ~split
        leaves.append((imgc[keep], zc[keep], hc[keep], fc[keep]))
        leaf_lse = torch.logaddexp(leaf_lse, _segment_logsumexp(wc[keep], imgc[keep], n_img))
        img, z, half, f_parent = imgc[split], zc[split], hc[split], fc[split]
    cat = [torch.cat(parts) if parts else torch.empty(0) for parts in zip(*leaves)] if leaves else \
        [torch.empty(0, dtype=torch.long), torch.empty(0, 2, dtype=torch.float64),
         torch.empty(0, dtype=torch.float64), torch.empty(0, dtype=torch.float64)]
    return _Adaptive(coarse_log_joint=f0, coarse_split=split0, img=cat[0], z=cat[1], half=cat[2],
                     log_joint=cat[3], log_px=torch.logaddexp(coarse_lse, leaf_lse))


def elbo_on_q_box(model: VAE, x_flat: torch.Tensor, m: int, n_sigmas: float = ELBO_SIGMAS,
                   max_decodes: int = 8192) -> torch.Tensor:
    """ELBO = E_q[log p(x, z) - log q(z|x)] by the midpoint rule on an m x m grid over
    mu ± n_sigmas * sigma (q's mass there: 1 - 4e-9 at 6 sigma; weights renormalised) -> [N]."""
    n_img = x_flat.shape[0]
    mu, logvar = (t.double() for t in model.encode(x_flat))  # [N, 2]
    half = n_sigmas * (0.5 * logvar).exp()
    u = (torch.arange(m, dtype=torch.float64) + 0.5) / m * 2 - 1  # [m] in (-1, 1)
    axes = mu[:, None, :] + u[None, :, None] * half[:, None, :]  # [N, m, 2]
    z = torch.stack([axes[:, None, :, 0].expand(n_img, m, m), axes[:, :, None, 1].expand(n_img, m, m)],
                    dim=-1).reshape(-1, 2)  # [N*m*m, 2]
    img = torch.arange(n_img).repeat_interleave(m * m)
    log_joint = _log_joint_at(model, x_flat, img, z, max_decodes).reshape(n_img, m * m)
    log_q = diagonal_gaussian_log_density(z.reshape(n_img, m * m, 2), mu[:, None, :], logvar[:, None, :])
    return (torch.softmax(log_q, dim=1) * (log_joint - log_q)).sum(dim=1)  # cells are equal-area


def _raster(cell_z: np.ndarray, cell_side: np.ndarray, cell_f: np.ndarray, radius: float,
            step0: float, z1: np.ndarray, z2: np.ndarray) -> np.ndarray:
    """The value of the leaf under each raster point (z1 [m] x z2 [m]) -> [m, m] rows z2."""
    p1, p2 = np.meshgrid(z1, z2)  # [m, m]
    out = np.full(p1.shape, -np.inf)
    levels = np.rint(np.log2(step0 / cell_side)).astype(int)
    for level in np.unique(levels):
        sel = levels == level
        size = step0 / 2.0 ** level
        cols = int(round(2 * radius / size))
        lo = cell_z[sel] - cell_side[sel, None] / 2  # lower-left corners
        keys = np.rint((lo[:, 1] + radius) / size).astype(np.int64) * cols + np.rint((lo[:, 0] + radius) / size).astype(np.int64)
        order = np.argsort(keys)
        keys, values = keys[order], cell_f[sel][order]
        pk = np.floor((p2 + radius) / size).astype(np.int64) * cols + np.floor((p1 + radius) / size).astype(np.int64)
        pos = np.clip(np.searchsorted(keys, pk), 0, len(keys) - 1)
        hit = keys[pos] == pk
        out[hit] = values[pos[hit]]
    return out


def _raster_average(cell_z: np.ndarray, cell_side: np.ndarray, cell_f: np.ndarray, radius: float,
                    step0: float, z1: np.ndarray, z2: np.ndarray) -> np.ndarray:
    """Like `_raster`, but each pixel shows the average of exp(f) over it: leaves smaller than a
    pixel add their mass to the pixel holding their centre, so a peak narrower than a pixel
    still shows (point sampling would step over it) -> log values [m, m]."""
    pw, ph = z1[1] - z1[0], z2[1] - z2[0]
    small = cell_side < max(pw, ph)
    ref = float(cell_f.max())
    big = np.exp(_raster(cell_z[~small], cell_side[~small], cell_f[~small], radius, step0, z1, z2) - ref)
    ix = np.floor((cell_z[small, 0] - (z1[0] - pw / 2)) / pw).astype(int)
    iy = np.floor((cell_z[small, 1] - (z2[0] - ph / 2)) / ph).astype(int)
    inside = (ix >= 0) & (ix < len(z1)) & (iy >= 0) & (iy < len(z2))
    mass, area = np.zeros(big.shape), np.zeros(big.shape)
    side = cell_side[small][inside]
    np.add.at(mass, (iy[inside], ix[inside]), np.exp(cell_f[small][inside] - ref) * side ** 2)
    np.add.at(area, (iy[inside], ix[inside]), side ** 2)
    with np.errstate(divide="ignore"):
        return np.log(big * np.clip(1.0 - area / (pw * ph), 0.0, 1.0) + mass / (pw * ph)) + ref


@torch.inference_mode()
def exact_posterior(model: VAE, x: np.ndarray | torch.Tensor, prior: PriorGrid | None = None,
                    tol: float = PAGE_TOL, elbo_n: int = ELBO_N, view_n: int = 160,
                    max_decodes: int = 8192) -> PosteriorGrid:
    """log p(x, z) on the adaptive grid, p(z|x), log p(x), z_MAP and the exact ELBO for one
    image x in [0, 1] ([H, W], [1, H, W] or [P]). Pass a cached `prior_grid(model)` to save
    decoding level 0 (10k decodes) on every call."""
    prior = prior if prior is not None else prior_grid(model)
    x_flat = image_rows(x, model.config.input_dim)
    if x_flat.shape[0] != 1:
        raise ValueError(f"exact_posterior takes one image, got {x_flat.shape[0]}")
    a = _adaptive(model, x_flat, prior, tol=tol, max_decodes=max_decodes)
    n, s = prior.n, prior.step
    f0 = a.coarse_log_joint[0].numpy()
    keep0 = ~a.coarse_split[0].numpy()
    cell_z = np.concatenate([_coarse_points(prior).numpy()[keep0], a.z.numpy()])
    cell_side = np.concatenate([np.full(int(keep0.sum()), s), 2 * a.half.numpy()])
    cell_f = np.concatenate([f0[keep0], a.log_joint.numpy()])
    log_px = float(a.log_px[0])
    mu, logvar = (t[0].double().numpy() for t in model.encode(x_flat))
    # The view: where the posterior has mass (leaves above 1e-6 of it), and q's 2.2-sigma box.
    prob = np.exp(cell_f + 2 * np.log(cell_side) - log_px)
    heavy = cell_z[prob > 1e-6 * prob.max()]
    sigma = np.exp(0.5 * logvar)
    lo = np.minimum(heavy.min(axis=0), mu - 2.2 * sigma)
    hi = np.maximum(heavy.max(axis=0), mu + 2.2 * sigma)
    centre, half = (lo + hi) / 2, np.maximum((hi - lo) / 2 * 1.1, 0.05)
    lo, hi = np.maximum(centre - half, -prior.radius), np.minimum(centre + half, prior.radius)
    view_z1 = lo[0] + (np.arange(view_n) + 0.5) * (hi[0] - lo[0]) / view_n
    view_z2 = lo[1] + (np.arange(view_n) + 0.5) * (hi[1] - lo[1]) / view_n
    view = _raster_average(cell_z, cell_side, cell_f, prior.radius, s, view_z1, view_z2)
    return PosteriorGrid(
        mu=mu, logvar=logvar, cell_z=cell_z, cell_side=cell_side, cell_log_joint=cell_f,
        coarse_axis=prior.axis.copy(), coarse_log_joint=f0.reshape(n, n),
        view_z1=view_z1, view_z2=view_z2, view_log_joint=view, log_px=log_px,
        z_map=cell_z[int(np.argmax(cell_f))].copy(),
        elbo=float(elbo_on_q_box(model, x_flat, elbo_n, max_decodes=max_decodes)[0]),
    )


@torch.inference_mode()
def quadrature_log_px(model: VAE, x: np.ndarray | torch.Tensor, prior: PriorGrid | None = None,
                      tol: float = REFINE_TOL, batch_size: int = 128, max_decodes: int = 8192
                      ) -> torch.Tensor:
    """log p(x) by adaptive quadrature for many images x [N, ...] in [0, 1] (or uint8) -> float64
    [N] nats (cf. vae.bounds.iwae_log_px). Pass a cached `prior_grid(model)` to save level 0."""
    prior = prior if prior is not None else prior_grid(model)
    x_flat = image_rows(x, model.config.input_dim)  # [N, P]
    parts = [_adaptive(model, x_flat[s : s + batch_size], prior, tol=tol, max_decodes=max_decodes).log_px
             for s in range(0, len(x_flat), batch_size)]
    return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.float64)
