"""vae/inpaint.py and vae/inpaint_baselines.py: completions against a brute-force uniform grid,
the channel's algebra, posterior samples, and the baselines against explicit loops."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vae import inpaint, inpaint_baselines as base
from vae.data import fixed_binarization
from vae.quadrature import prior_grid


@pytest.fixture(scope="module")
def prior(shipped):
    return prior_grid(shipped.model)


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return fixed_binarization("test", seed=0)[0][:8, 0].numpy().astype(np.float64)


@torch.inference_mode()
def brute_force(model, x: np.ndarray, observed: np.ndarray, rho: float, prior, h: float = 0.005) -> np.ndarray:
    """E[x_i | x_obs] on a uniform grid of side h over the box where the level-0 grid sees any
    posterior mass (plus a margin), written out from the formulas, no shared code."""
    y, m = torch.tensor(x.reshape(-1) >= 0.5, dtype=torch.float64), torch.tensor(observed.reshape(-1), dtype=torch.float64)

    def log_lik_and_clean(p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        one = rho + (1 - 2 * rho) * p  # p(y_i = 1 | z)
        ll = (m * (y * torch.log(one) + (1 - y) * torch.log1p(-one))).sum(1)
        l1, l0 = torch.where(y > 0, 1 - rho, rho), torch.where(y > 0, rho, 1 - rho)
        clean = torch.where(m > 0, p * l1 / (p * l1 + (1 - p) * l0), p) if rho > 0 else p
        return ll, clean

    a = torch.tensor(prior.axis)
    coarse = torch.stack(torch.meshgrid(a, a, indexing="xy"), -1).reshape(-1, 2)
    ll0, _ = log_lik_and_clean(torch.sigmoid(prior.logits.double()))
    mass = torch.softmax(ll0 - 0.5 * (coarse ** 2).sum(1), 0)
    box = coarse[mass > 1e-12]
    lo, hi = box.min(0).values - 0.1, box.max(0).values + 0.1
    g1, g2 = (torch.arange(float(lo[d]), float(hi[d]), h, dtype=torch.float64) + h / 2 for d in (0, 1))
    z = torch.stack(torch.meshgrid(g1, g2, indexing="xy"), -1).reshape(-1, 2)
    log_w, clean = [], []
    for s in range(0, len(z), 8192):
        p = model.decode(z[s : s + 8192].float()).reshape(-1, 784).double()
        ll, c = log_lik_and_clean(p)
        log_w.append(ll - 0.5 * (z[s : s + 8192] ** 2).sum(1))
        clean.append(c)
    w = torch.softmax(torch.cat(log_w), 0)
    return (w[:, None] * torch.cat(clean)).sum(0).numpy().reshape(28, 28)


@pytest.mark.parametrize("case", ["bottom half", "random 70 %", "flip noise 0.1"])
def test_complete_agrees_with_a_brute_force_grid(shipped, prior, digits, case) -> None:
    observed, rho = {"bottom half": (inpaint.mask("bottom half missing"), 0.0),
                     "random 70 %": (inpaint.mask("random pixels missing", seed=1, fraction=0.7), 0.0),
                     "flip noise 0.1": (np.ones((28, 28), bool), 0.1)}[case]
    for x in digits[:2]:
        x = x.reshape(28, 28)
        if rho:
            x = np.where(np.random.default_rng(0).random((28, 28)) < rho, 1 - x, x)
        ours = inpaint.complete(shipped.model, x, observed, rho, prior)
        truth = brute_force(shipped.model, x, observed, rho, prior)
        if rho == 0:
            truth = np.where(observed, x, truth)
        np.testing.assert_allclose(ours, truth, atol=5e-3)
    if rho == 0:  # the prior's grid serves as it is: no 31 MB copy per mask
        assert inpaint.channel_grid(prior, observed).logits.data_ptr() == prior.logits.data_ptr()


def test_observed_pixels_come_back_and_bad_input_is_refused(shipped, prior, digits) -> None:
    x = digits[0].reshape(28, 28)
    observed = inpaint.mask("top half missing")
    out = inpaint.complete(shipped.model, x, observed, 0.0, prior)
    np.testing.assert_array_equal(out[observed], x[observed])
    assert out.shape == (28, 28) and 0 <= out.min() and out.max() <= 1
    assert not np.array_equal(out[~observed], np.round(out[~observed]))  # genuine probabilities
    with pytest.raises(ValueError, match="28x28"):
        inpaint.complete(shipped.model, x[:27], observed)
    with pytest.raises(ValueError, match="rho"):
        inpaint.complete(shipped.model, x, observed, rho=0.5)
    with pytest.raises(ValueError, match="unknown mask"):
        inpaint.mask("diagonal")


def test_samples_keep_what_is_observed_and_average_to_the_completion(shipped, prior, digits) -> None:
    x = digits[1].reshape(28, 28)
    observed = inpaint.mask("bottom half missing")
    post = inpaint.posterior(shipped.model, x, observed, 0.0, prior)
    samples = inpaint.sample_completions(shipped.model, post, x, 400, seed=3)
    assert samples.shape == (400, 28, 28) and set(np.unique(samples)) <= {0.0, 1.0}
    assert (samples[:, observed] == x[observed]).all()
    np.testing.assert_allclose(samples.mean(0), post.mean, atol=0.12)  # Monte Carlo, 400 draws
    assert post.grid.cell_probability.sum() == pytest.approx(1.0, abs=1e-9)


def test_uncertainty_bits_is_the_bernoulli_entropy() -> None:
    bits = inpaint.uncertainty_bits(np.array([0.0, 0.5, 1.0, 0.25]))
    np.testing.assert_allclose(bits, [0.0, 1.0, 0.0, -(0.25 * np.log2(0.25) + 0.75 * np.log2(0.75))], atol=1e-9)


def test_nearest_neighbours_match_an_explicit_search() -> None:
    rng = np.random.default_rng(0)
    train = (rng.random((300, 784)) < 0.3).astype(np.float64)
    x = (rng.random((5, 784)) < 0.3).astype(np.float64)
    observed = rng.random(784) < 0.6
    got = base.nearest_neighbours(train, x, observed, k=3)
    for q, row in zip(x, got):
        dist = np.array([np.abs(q - t)[observed].sum() for t in train])
        nearest = np.argsort(dist, kind="stable")[:3]
        if len(set(dist[np.argsort(dist)[:4]])) == 4:  # no tie at the k-th place
            np.testing.assert_allclose(row, (train[nearest].sum(0) + 0.5) / 4)


def test_median_filter_and_scores_match_explicit_loops() -> None:
    rng = np.random.default_rng(1)
    x = (rng.random((2, 784)) < 0.4).astype(np.float64)
    got = base.median3(x).reshape(2, 28, 28)
    img = x.reshape(2, 28, 28)
    for n, r, c in [(0, 0, 0), (0, 5, 7), (1, 27, 13), (1, 14, 27)]:
        window = [img[n, min(max(r + dr, 0), 27), min(max(c + dc, 0), 27)] for dr in (-1, 0, 1) for dc in (-1, 0, 1)]
        assert got[n, r, c] == np.median(window)
    probs = np.full((2, 784), 0.8)
    where = np.zeros(784, bool)
    where[:10] = True
    ll, acc = base.scores(probs, x, where)
    expect = np.mean([sum(np.log(0.8) if v else np.log(0.2) for v in row[:10]) for row in x])
    assert ll == pytest.approx(expect) and acc == pytest.approx(x[:, :10].mean())


def test_encoder_baselines_are_what_they_say(shipped, digits) -> None:
    x = digits[:4].reshape(4, 784)
    observed = inpaint.mask("bottom half missing").reshape(784)
    zero = base.encoder_fill(shipped.model, x, observed, 0.0)
    with torch.inference_mode():
        mu, _ = shipped.model.encode(torch.tensor(np.where(observed, x, 0.0), dtype=torch.float32))
        expect = shipped.model.decode(mu).reshape(4, 784).double().numpy()
    np.testing.assert_allclose(zero, expect, atol=1e-6)
    a = base.pseudo_gibbs(shipped.model, x, observed, np.full(784, 0.13), iterations=10, seed=5)
    b = base.pseudo_gibbs(shipped.model, x, observed, np.full(784, 0.13), iterations=10, seed=5)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (4, 784) and 0 <= a.min() and a.max() <= 1
