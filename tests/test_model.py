import math

import pytest
import torch

from vae.model import (
    VAE,
    VAEConfig,
    diagonal_gaussian_log_density,
    gaussian_kl_to_standard_normal,
    standard_normal_log_density,
)


def test_shapes_for_image_and_flat_inputs(small_model: VAE) -> None:
    x = torch.rand(5, 1, 28, 28)
    mu, logvar = small_model.encode(x)
    assert mu.shape == (5, 2) and logvar.shape == (5, 2)
    mu_flat, _ = small_model.encode(x.reshape(5, 784))
    torch.testing.assert_close(mu, mu_flat)
    out = small_model.decode(mu)
    assert out.shape == (5, 1, 28, 28)
    assert float(out.detach().min()) >= 0.0 and float(out.detach().max()) <= 1.0


def test_sizes_come_from_the_config() -> None:
    config = VAEConfig(image_size=8, latent_dim=3, encoder_hidden=(16,), decoder_hidden=(16,))
    model = VAE(config)
    mu, _ = model.encode(torch.rand(4, 1, 8, 8))
    assert mu.shape == (4, 3)
    assert model.decode(mu).shape == (4, 1, 8, 8)


def test_kl_is_zero_at_the_prior_and_positive_elsewhere() -> None:
    zero = torch.zeros(3, 2)
    torch.testing.assert_close(gaussian_kl_to_standard_normal(zero, zero), torch.zeros(3))
    mu = torch.tensor([[1.0, -2.0]])
    logvar = torch.tensor([[0.5, -1.0]])
    # Closed form against a Monte Carlo estimate of E_q[log q - log p].
    z = mu + (0.5 * logvar).exp() * torch.randn(200_000, 2, generator=torch.Generator().manual_seed(0))
    mc = (diagonal_gaussian_log_density(z, mu, logvar) - standard_normal_log_density(z)).mean()
    closed = gaussian_kl_to_standard_normal(mu, logvar)[0]
    assert closed > 0
    assert abs(float(mc - closed)) < 0.02


def _reference_terms(model: VAE, x: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(-log p(x|z) [N], KL(q(z|x) || p(z)) [N]) with torch.distributions, for the z that
    model.loss draws with the same seed (z = mu + sigma * eps, eps ~ N(0, I) from that generator)."""
    from torch.distributions import Bernoulli, Independent, Normal, kl_divergence

    mu, logvar = model.encode(x)
    eps = torch.randn((1, *mu.shape), generator=torch.Generator().manual_seed(seed))[0]
    q = Independent(Normal(mu, (0.5 * logvar).exp()), 1)
    prior = Independent(Normal(torch.zeros_like(mu), torch.ones_like(mu)), 1)
    z = mu + (0.5 * logvar).exp() * eps
    recon = -Independent(Bernoulli(logits=model.decode_logits(z)), 1).log_prob(x.reshape(len(x), -1))
    return recon, kl_divergence(q, prior)


def test_loss_terms_match_torch_distributions(small_model: VAE) -> None:
    x = torch.bernoulli(torch.rand(8, 1, 28, 28), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        recon, kl = _reference_terms(small_model, x, seed=1)
        out = small_model.loss(x, generator=torch.Generator().manual_seed(1))
        beta2 = small_model.loss(x, beta=2.0, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(out.per_image_elbo, -(recon + kl), rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(out.recon, recon.mean(), rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(out.kl, kl.mean(), rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(out.total, (recon + kl).mean(), rtol=1e-5, atol=1e-4)  # beta = 1, k = 1
    torch.testing.assert_close(beta2.total, (recon + 2.0 * kl).mean(), rtol=1e-5, atol=1e-4)


def test_iwae_objective_is_tighter_than_the_elbo(small_model: VAE) -> None:
    x = torch.bernoulli(torch.rand(64, 1, 28, 28), generator=torch.Generator().manual_seed(0))
    elbo_loss = small_model.loss(x, iwae_k=1, generator=torch.Generator().manual_seed(1)).total
    iwae_loss = small_model.loss(x, iwae_k=50, generator=torch.Generator().manual_seed(1)).total
    assert iwae_loss < elbo_loss


def test_config_round_trip_and_validation() -> None:
    config = VAEConfig(encoder_hidden=(10, 20), beta=4.0)
    assert VAEConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError):
        VAEConfig.from_dict({**config.to_dict(), "mystery": 1})
    with pytest.raises(ValueError):
        VAEConfig.from_dict({**config.to_dict(), "activation": "swishy"})
    assert math.isclose(VAEConfig().input_dim, 784)


def test_conditional_vae_shapes_labels_and_view() -> None:
    torch.manual_seed(0)
    model = VAE(VAEConfig(encoder_hidden=(32,), decoder_hidden=(32,), num_classes=10)).eval()
    x = torch.rand(4, 1, 28, 28)
    y = torch.tensor([0, 1, 2, 3])
    mu, logvar = model.encode(x, y)
    assert mu.shape == (4, 2)
    z = torch.zeros(2, 2)
    assert not torch.allclose(model.decode(z, 3), model.decode(z, 8))  # the label matters
    with pytest.raises(ValueError, match="needs a digit label"):
        model.decode(z)
    with pytest.raises(ValueError, match="0..9"):
        model.decode(z, 10)
    view = model.conditioned(3)
    torch.testing.assert_close(view.decode(z), model.decode(z, 3))
    torch.testing.assert_close(view.encode(x)[0], model.encode(x, 3)[0])
    out = model.loss(x, y, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(out.total)
    # an unconditional model refuses a label, and its view is itself
    plain = VAE(VAEConfig(encoder_hidden=(8,), decoder_hidden=(8,)))
    assert plain.conditioned(None) is plain
    with pytest.raises(ValueError, match="unconditional"):
        plain.decode(z, 1)


def test_shipped_cvae_decodes_the_asked_digit() -> None:
    """One z, two labels -> two different digits, judged without a classifier: each decoded
    image is nearest (Euclidean) to the mean test image of the label it was given."""
    import numpy as np

    from vae import load_checkpoint
    from vae.data import load_mnist

    cvae = load_checkpoint("checkpoints/mnist-2d-cvae").model
    images, labels = load_mnist("test")
    class_means = np.stack([images[labels == d].mean(0) / 255.0 for d in range(10)])  # [10, 28, 28]
    for z in ([0.0, 0.0], [1.0, -0.5], [-1.2, 0.8]):
        for digit in range(10):
            image = cvae.decode(torch.tensor([z]), digit)[0, 0].numpy()
            nearest = int(np.argmin(((class_means - image) ** 2).sum(axis=(1, 2))))
            assert nearest == digit, (z, digit, nearest)
