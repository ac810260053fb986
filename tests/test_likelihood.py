"""Exact 2-D quantities (vae.likelihood), the demo inputs (vae.demos) and the figures built from
them: the quadrature normalises, matches a brute-force grid and IWAE, bounds the ELBO."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import pytest
import torch

from vae import likelihood as lk
from vae.data import fixed_binarization
from vae.demos import DEMOS, demo_image
from vae.figures import error_map_figure, log_joint_figure, posterior_figure, prior_samples_map, score_histogram
from vae.model import bernoulli_log_likelihood, standard_normal_log_density

N_IMAGES = 20  # test images for the comparisons with IWAE and the ELBO


def _brute_force_log_px(model, x: torch.Tensor, step: float, radius: float = 5.0) -> float:
    """log p(x) on a uniform grid of cells of side `step` over [-radius, radius]^2."""
    n = int(round(2 * radius / step))
    axis = -radius + (torch.arange(n, dtype=torch.float64) + 0.5) * step
    x_flat = x.reshape(1, -1).float()
    parts = []
    with torch.inference_mode():
        for start in range(0, n, 40):
            z = torch.stack(torch.meshgrid(axis, axis[start : start + 40], indexing="xy"), -1).reshape(-1, 2)
            lj = bernoulli_log_likelihood(x_flat, model.decode_logits(z.float())).double()
            parts.append(torch.logsumexp(lj + standard_normal_log_density(z), 0))
    return float(torch.logsumexp(torch.stack(parts), 0)) + 2 * math.log(step)


@pytest.fixture(scope="module")
def test_x() -> torch.Tensor:
    return fixed_binarization("test", seed=0)[0][:N_IMAGES]


@pytest.fixture(scope="module")
def grid(shipped) -> lk.PriorGrid:
    return lk.prior_grid(shipped.model)


@pytest.fixture(scope="module")
def quadrature(shipped, test_x, grid) -> lk.QuadratureScores:
    return lk.quadrature_scores(shipped.model, test_x, grid)


# ---------------------------------------------------------------- the grid itself


def test_prior_grid_tiles_the_box(small_model) -> None:
    g = lk.prior_grid(small_model, radius=2.0, n=8)
    assert g.n == 8 and g.step == pytest.approx(0.5) and g.radius == pytest.approx(2.0)
    np.testing.assert_allclose(g.axis, np.arange(-1.75, 2.0, 0.5))
    assert g.logits.shape == (64, 784) and g.softplus_sum.shape == (64,) and g.log_prior.shape == (64,)


def test_posterior_sums_to_one_on_the_grid(small_model) -> None:
    x = torch.bernoulli(torch.full((28, 28), 0.2), generator=torch.Generator().manual_seed(0))
    post = lk.exact_posterior(small_model, x)
    assert post.total_probability() == pytest.approx(1.0, abs=1e-9)
    # The leaves tile [-5, 5]^2 exactly once.
    assert (post.cell_side ** 2).sum() == pytest.approx(100.0, rel=1e-9)
    assert post.view_log_joint.shape == (len(post.view_z2), len(post.view_z1))
    assert np.isfinite(post.view_log_joint).all()


def test_shipped_posteriors_sum_to_one_and_bound_the_elbo(shipped, test_x, grid) -> None:
    for i in range(3):
        post = lk.exact_posterior(shipped.model, test_x[i], grid)
        assert post.total_probability() == pytest.approx(1.0, abs=1e-9)
        # The density on the view raster integrates to (almost) all of it: the view covers it.
        cell = (post.view_z1[1] - post.view_z1[0]) * (post.view_z2[1] - post.view_z2[0])
        assert post.view_posterior.sum() * cell == pytest.approx(1.0, abs=0.05)
        assert post.elbo <= post.log_px and post.kl_q_to_posterior >= 0
        assert 0.0 <= post.mass_near_q(2.0) <= 1.0 + 1e-9


def test_batched_scores_equal_the_single_image_result(shipped, test_x, grid, quadrature) -> None:
    for i in (0, 1):
        post = lk.exact_posterior(shipped.model, test_x[i], grid, tol=lk.REFINE_TOL, elbo_n=lk.BATCH_ELBO_N)
        assert post.log_px == pytest.approx(quadrature.log_px[i], abs=1e-3)
        assert post.elbo == pytest.approx(quadrature.elbo[i], abs=1e-3)  # float32 batch rounding
    np.testing.assert_allclose(lk.quadrature_log_px(shipped.model, test_x[:2], grid).numpy(),
                               quadrature.log_px[:2], atol=1e-3)


def test_quadrature_matches_a_brute_force_grid_small_model(small_model) -> None:
    x = torch.bernoulli(torch.full((28, 28), 0.3), generator=torch.Generator().manual_seed(1))
    exact = _brute_force_log_px(small_model, x, step=0.05)
    assert lk.exact_posterior(small_model, x).log_px == pytest.approx(exact, abs=0.01)


@pytest.mark.slow
def test_quadrature_matches_a_brute_force_grid_shipped(shipped, test_x, grid) -> None:
    # 250,000 decodes per image; the shipped posteriors are 0.03-0.2 wide.
    for i in (0, 8):
        exact = _brute_force_log_px(shipped.model, test_x[i], step=0.02)
        assert lk.exact_posterior(shipped.model, test_x[i], grid).log_px == pytest.approx(exact, abs=0.1)


# ---------------------------------------------------------------- against IWAE and the ELBO


@pytest.mark.slow
def test_quadrature_agrees_with_iwae_5000(shipped, test_x, grid, quadrature) -> None:
    iwae = lk.iwae_log_px(shipped.model, test_x, 5000, torch.Generator().manual_seed(0)).double().numpy()
    diff = quadrature.log_px - iwae  # IWAE is a stochastic lower bound: diff >= 0 up to noise
    near_q = np.array([lk.exact_posterior(shipped.model, test_x[i], grid).mass_near_q(3.0)
                       for i in range(N_IMAGES)])
    print(f"log p(x) quadrature - IWAE(5000) over {N_IMAGES} test images: mean {diff.mean():.3f}, "
          f"mean |.| {np.abs(diff).mean():.3f}, median |.| {np.median(np.abs(diff)):.3f}, "
          f"max {diff.max():.3f}; p(z|x) mass in q's 3σ ellipse: {np.round(near_q, 2)}")
    assert diff.min() > -0.5  # IWAE never beats the quadrature beyond noise
    assert np.median(np.abs(diff)) < 0.1
    assert np.abs(diff).mean() < 0.5  # the criterion, on the shipped model (0.33 measured)
    # Where q(z|x) covers p(z|x), k = 5000 samples from it find log p(x): within 0.5 nats per
    # image on average. Where the posterior sits beside q (mass in q's 3σ ellipse < 0.8, a
    # trained q can be 10x too wide and a few σ off) IWAE may fall short, never above.
    covered = near_q >= 0.8
    assert covered.sum() >= N_IMAGES // 2
    assert np.abs(diff[covered]).mean() < 0.5


@pytest.mark.slow
def test_elbo_never_exceeds_log_px(shipped, test_x, quadrature) -> None:
    terms = lk.elbo_terms(shipped.model, test_x, num_samples=1000, generator=torch.Generator().manual_seed(0))
    assert (terms.elbo.double().numpy() <= quadrature.log_px).all()
    assert (quadrature.elbo <= quadrature.log_px).all()  # the ELBO by quadrature too


def test_evidence_numbers_are_consistent(shipped, test_x, grid) -> None:
    post = lk.exact_posterior(shipped.model, test_x[0], grid)
    ev = lk.evidence(shipped.model, test_x[0], post, iwae_k=200, elbo_samples=50, seed=3)
    assert ev.elbo == pytest.approx(ev.expected_log_lik - ev.kl, abs=1e-4)
    assert ev.gap == pytest.approx(post.log_px - ev.elbo)
    assert ev.kl > 0 and ev.iwae < post.log_px + 0.5
    again = lk.evidence(shipped.model, test_x[0], post, iwae_k=200, elbo_samples=50, seed=3)
    assert again == ev  # seeded


@pytest.mark.slow
def test_evaluate_cli_adds_nll_quadrature(capsys) -> None:
    import json

    from vae.evaluate import main

    from tests.conftest import SHIPPED

    assert main([str(SHIPPED), "--limit", "20", "--iwae-k", "50", "--quadrature", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert 50 < metrics["nll_quadrature"] < 250
    assert metrics["nll_quadrature"] <= metrics["nll_iwae"] + 0.5  # log p(x) >= IWAE bound


# ---------------------------------------------------------------- per-pixel error, binarisation


def test_error_map_shape_and_sum(shipped, test_x) -> None:
    err = lk.reconstruction_error_map(shipped.model, test_x[0])
    assert err.shape == (28, 28) and err.dtype == np.float32 and (err >= 0).all()
    with torch.inference_mode():
        mu, _ = shipped.model.encode(test_x[:1])
        expected = -bernoulli_log_likelihood(test_x[:1].reshape(1, -1), shipped.model.decode_logits(mu))
    assert err.sum() == pytest.approx(float(expected[0]), rel=1e-4)
    other = lk.reconstruction_error_map(shipped.model, test_x[0], z=np.array([3.0, -3.0]))
    assert other.sum() > err.sum()  # a far-away z explains the digit worse than μ


def test_binarized_is_seeded_and_binary() -> None:
    x = np.linspace(0, 1, 784, dtype=np.float32).reshape(28, 28)
    a, b = lk.binarized(x, 0), lk.binarized(x, 0)
    assert np.array_equal(a, b) and set(np.unique(a)) <= {0.0, 1.0}
    assert not np.array_equal(a, lk.binarized(x, 1))
    assert lk.binarized(np.zeros((28, 28)), 5).sum() == 0 and lk.binarized(np.ones((28, 28)), 5).sum() == 784


# ---------------------------------------------------------------- typicality


def test_typicality_percentile_is_monotone_in_the_score() -> None:
    reference = np.random.default_rng(0).normal(-100, 20, size=1000)
    scores = np.linspace(-250, 50, 301)
    pct = lk.percentiles(scores, reference)
    assert np.all(np.diff(pct) >= 0) and pct[0] == 0.0 and pct[-1] == 100.0
    assert [lk.percentile_of(s, reference) for s in scores[::30]] == list(pct[::30])
    assert lk.percentile_of(float(np.median(reference)), reference) == pytest.approx(50.0, abs=0.2)


def test_typicality_verdicts_use_both_tails() -> None:
    reference = np.arange(1000, dtype=float)  # percentiles are easy to read off
    b = lk.bands(reference)
    assert (b.p1, b.p25, b.p75, b.p99) == pytest.approx((9.99, 249.75, 749.25, 989.01))
    assert lk.typicality(500.0, reference).verdict == "typical"
    assert lk.typicality(100.0, reference).verdict == "unusual"
    assert lk.typicality(900.0, reference).verdict == "unusual"
    assert lk.typicality(-50.0, reference).verdict == "anomalous"
    assert lk.typicality(5000.0, reference).verdict == "anomalous"  # far *more* likely: also odd
    assert lk.typicality(-50.0, reference).percentile == 0.0


def test_rank_by_typicality_orders_from_the_middle_out() -> None:
    reference = np.arange(100, dtype=float)
    order = lk.rank_by_typicality(np.array([0.0, 49.5, 99.0, 30.0, 200.0]), reference)
    assert order[0] == 1 and set(order[-2:]) == {2, 4}


def test_typicality_scores_of_the_shipped_model(shipped, grid) -> None:
    x = fixed_binarization("val", seed=0)[0][:8]
    log_px = lk.typicality_scores(shipped.model, x, "log p(x)", grid)
    elbo = lk.typicality_scores(shipped.model, x, "ELBO", grid)
    assert log_px.shape == elbo.shape == (8,)
    assert (elbo <= log_px + 0.5).all()
    blank = lk.typicality_scores(shipped.model, np.zeros((1, 28, 28)), "log p(x)", grid)[0]
    noise = lk.typicality_scores(shipped.model, lk.binarized(np.full((1, 28, 28), 0.5), 0), "log p(x)", grid)[0]
    assert noise < log_px.min() - 100 < blank  # noise is far less likely than digits; blank is not
    with pytest.raises(ValueError):
        lk.typicality_scores(shipped.model, x, "entropy", grid)  # type: ignore[arg-type]


# ---------------------------------------------------------------- aggregate posterior, holes


def test_aggregate_posterior_grid_matches_pointwise_and_finds_holes() -> None:
    rng = np.random.default_rng(0)
    mu = np.concatenate([rng.normal(-2, 0.3, (200, 2)), rng.normal(2, 0.3, (200, 2))])
    logvar = np.full_like(mu, 2 * np.log(0.2))
    axis = np.linspace(-4, 4, 41)
    dens = lk.aggregate_posterior_density_grid(axis, axis, mu, logvar)
    zz = np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
    np.testing.assert_allclose(np.log(dens.ravel()), lk.aggregate_posterior_log_density(zz, mu, logvar), atol=1e-9)
    assert dens.sum() * (axis[1] - axis[0]) ** 2 == pytest.approx(1.0, abs=0.01)
    holes = lk.hole_mask(np.array([[-2.0, -2.0], [2.0, 2.0], [2.0, -2.0], [0.0, 0.0]]), mu, logvar)
    assert holes.tolist() == [False, False, True, True]


# ---------------------------------------------------------------- demo inputs


def test_demo_inputs() -> None:
    digit = fixed_binarization("test", seed=0)[0][0, 0].numpy()
    images = {name: demo_image(name, digit) for name in DEMOS}
    for name, img in images.items():
        assert img.shape == (28, 28) and img.dtype == np.float32, name
        assert 0.0 <= img.min() and img.max() <= 1.0, name
    assert images["Blank"].sum() == 0
    assert np.array_equal(images["Inverted digit"], 1 - digit)
    assert images["Letter A"].max() == 1.0 and 0.05 < images["Letter A"].mean() < 0.4
    assert images["Rotated digit"].sum() == pytest.approx(digit.sum(), rel=0.1)
    assert not np.array_equal(images["Rotated digit"], digit)
    assert np.array_equal(demo_image("Noise", digit, seed=1), demo_image("Noise", digit, seed=1))
    with pytest.raises(ValueError):
        demo_image("Cat", digit)


# ---------------------------------------------------------------- figures


def test_probability_figures(shipped, test_x, grid) -> None:
    post = lk.exact_posterior(shipped.model, test_x[0], grid)
    joint = log_joint_figure(post)
    assert [type(t) for t in joint.data[:2]] == [go.Heatmap, go.Heatmap]
    assert {t.name for t in joint.data} >= {"μ of q(z|x)", "z_MAP of p(z|x)"}
    posterior = posterior_figure(post)
    names = [t.name for t in posterior.data]
    assert "q(z|x) 1σ" in names and "q(z|x) 2σ" in names
    reference = np.random.default_rng(0).normal(-100, 20, 500)
    result = lk.typicality(-2000.0, reference)
    hist = score_histogram(reference, result.score, result.bands, result.percentile)
    assert "off scale" in hist.layout.annotations[-1].text  # far away: pinned to the edge
    assert len(hist.layout.shapes) == 3  # two bands and the score
    err = error_map_figure(lk.reconstruction_error_map(shipped.model, test_x[0]))
    assert err.data[0].z.shape == (28, 28)
    z = np.array([[0.0, 0.0], [3.0, 3.0]])
    axis = np.linspace(-4, 4, 9)
    gen = prior_samples_map(z, axis, np.ones((9, 9)) / 64, in_hole=np.array([False, True]), temperature=1.5)
    assert isinstance(gen.data[0], go.Heatmap)  # the density lies underneath
    assert {t.name for t in gen.data} >= {"sample", "sample in a hole", "N(0, T²I) 1σ"}
