"""vae/holes.py: the aggregate posterior on a grid (one matmul) against the pointwise mixture
(a log-sum-exp over the data), its normalisation, and the holes it leaves under the prior."""

from __future__ import annotations

import numpy as np
import pytest

from vae.holes import aggregate_posterior_density_grid, aggregate_posterior_log_density, hole_mask


def test_aggregate_posterior_grid_matches_pointwise_and_finds_holes() -> None:
    rng = np.random.default_rng(0)
    mu = np.concatenate([rng.normal(-2, 0.3, (200, 2)), rng.normal(2, 0.3, (200, 2))])
    logvar = np.full_like(mu, 2 * np.log(0.2))
    axis = np.linspace(-4, 4, 41)
    dens = aggregate_posterior_density_grid(axis, axis, mu, logvar)
    zz = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
    np.testing.assert_allclose(np.log(dens.ravel()), aggregate_posterior_log_density(zz, mu, logvar), atol=1e-9)
    assert dens.sum() * (axis[1] - axis[0]) ** 2 == pytest.approx(1.0, abs=0.01)
    holes = hole_mask(np.array([[-2.0, -2.0], [2.0, 2.0], [2.0, -2.0], [0.0, 0.0]]), mu, logvar)
    assert holes.tolist() == [False, False, True, True]
