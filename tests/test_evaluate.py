import numpy as np
import pytest
import torch

from vae.data import fixed_binarization
from vae.evaluate import evaluate_model, knn_accuracy, main
from vae.bounds import elbo_terms, iwae_log_px
from vae.model import gaussian_kl_to_standard_normal


def test_iwae_bound_tightens_with_k_on_the_shipped_model(shipped) -> None:
    x, _ = fixed_binarization("test", seed=0)
    x = x[:20]
    elbo = elbo_terms(shipped.model, x, num_samples=200, generator=torch.Generator().manual_seed(1)).elbo.mean()
    k1 = iwae_log_px(shipped.model, x, 1, generator=torch.Generator().manual_seed(2)).mean()
    k1000 = iwae_log_px(shipped.model, x, 1000, generator=torch.Generator().manual_seed(2)).mean()
    # k = 1 is an unbiased one-sample ELBO: close to the many-sample ELBO estimate.
    assert abs(float(k1 - elbo)) < 5.0
    # k = 1000 is a much tighter bound: log p_1000 > ELBO, i.e. nll_iwae < -ELBO.
    assert float(k1000) > float(elbo) + 1.0


def test_evaluate_on_a_few_images(shipped) -> None:
    metrics = evaluate_model(shipped.model, "test", iwae_k=100, limit=50)
    assert metrics["n_images"] == 50 and metrics["iwae_k"] == 100
    assert metrics["nll_iwae"] < -metrics["elbo"]
    # Against estimates made here from the same 50 binarised images: the closed-form KL exactly,
    # the one-sample ELBO within Monte Carlo error of a 200-sample one.
    x = fixed_binarization("test", seed=0)[0][:50]
    with torch.inference_mode():
        kl = gaussian_kl_to_standard_normal(*shipped.model.encode(x)).mean()
    assert metrics["kl"] == pytest.approx(float(kl), rel=1e-5)
    many = elbo_terms(shipped.model, x, num_samples=200, generator=torch.Generator().manual_seed(5)).elbo.mean()
    assert metrics["elbo"] == pytest.approx(float(many), abs=2.0)
    assert 90 < metrics["nll_iwae"] < 200
    assert metrics["knn5_accuracy"] > 0.6


def test_knn_accuracy_on_separable_points() -> None:
    ref = torch.tensor([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [5.0, 5.0], [5.1, 5.0], [5.0, 5.1]])
    ref_labels = np.array([0, 0, 0, 1, 1, 1])
    query = torch.tensor([[0.05, 0.05], [5.05, 5.05], [0.0, 0.0]])
    assert knn_accuracy(query, np.array([0, 1, 0]), ref, ref_labels, k=3) == 1.0
    assert knn_accuracy(query, np.array([1, 0, 1]), ref, ref_labels, k=3) == 0.0


def test_cli_json(capsys) -> None:
    import json

    assert main(["checkpoints/mnist-2d", "--limit", "10", "--iwae-k", "20", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("n_images", "elbo", "recon", "kl", "nll_iwae", "iwae_k", "knn5_accuracy"):
        assert key in out
    assert out["n_images"] == 10


def test_cli_reports_a_bad_checkpoint(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"garbage")
    assert main([str(bad), "--limit", "2"]) == 2
    assert "error:" in capsys.readouterr().err
