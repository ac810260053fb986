"""vae/evidence.py: one image's numbers next to independent estimates (the quadrature's ELBO and
log p(x)), and the per-pixel error map against the Bernoulli log-likelihood written out in numpy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vae.data import fixed_binarization
from vae.evidence import evidence, reconstruction_error_map
from vae.quadrature import exact_posterior, prior_grid


@pytest.fixture(scope="module")
def digit() -> torch.Tensor:
    return fixed_binarization("test", seed=0)[0][0]  # [1, 28, 28] in {0, 1}


def test_evidence_agrees_with_the_quadrature(shipped, digit) -> None:
    post = exact_posterior(shipped.model, digit, prior_grid(shipped.model))
    ev = evidence(shipped.model, digit, post, iwae_k=200, elbo_samples=1000, seed=3)
    assert ev.log_px == post.log_px
    # Monte Carlo from q(z|x) against the midpoint rule over q's box (0.1 nats apart measured).
    assert ev.elbo == pytest.approx(post.elbo, abs=0.5)
    assert ev.gap == pytest.approx(post.kl_q_to_posterior, abs=0.5)
    # IWAE with 200 samples: below log p(x) up to noise, and much closer than the ELBO.
    assert post.log_px - 0.5 < ev.iwae < post.log_px + 0.1 and ev.iwae > ev.elbo
    assert ev.kl > 0
    assert evidence(shipped.model, digit, post, iwae_k=200, elbo_samples=1000, seed=3) == ev  # seeded


def test_error_map_is_the_bernoulli_log_likelihood_per_pixel(shipped, digit) -> None:
    err = reconstruction_error_map(shipped.model, digit)
    assert err.shape == (28, 28) and err.dtype == np.float32
    with torch.inference_mode():
        mu, _ = shipped.model.encode(digit[None])
        logits = shipped.model.decode_logits(mu)[0].double().numpy().reshape(28, 28)
    x = digit[0].double().numpy()
    # -log p(x_i | z) = -[x log s(l) + (1 - x) log s(-l)], log s(l) = -log(1 + e^-l), in float64.
    expected = x * np.logaddexp(0.0, -logits) + (1 - x) * np.logaddexp(0.0, logits)
    np.testing.assert_allclose(err, expected, rtol=1e-4, atol=1e-5)
    other = reconstruction_error_map(shipped.model, digit, z=np.array([3.0, -3.0]))
    assert other.sum() > err.sum()  # a far-away z explains the digit worse than μ
