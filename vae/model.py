"""The VAE itself: a config dataclass and a pure torch module.

No IO, no device choice, no data loading: sizes come only from `VAEConfig`.

Notation (Kingma & Welling 2014, "Auto-Encoding Variational Bayes"):
  q(z|x) = N(mu(x), diag(exp(logvar(x))))      the encoder / recognition model
  p(z)   = N(0, I)                              the prior
  p(x|z) = prod_i Bernoulli(x_i; sigmoid(logits(z)_i))   the decoder
The decoder's mean E[x|z] = sigmoid(logits(z)) is what every page draws.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class VAEConfig:
    """Everything that decides the shape of a model. The only source of sizes."""

    image_size: int = 28
    image_channels: int = 1
    latent_dim: int = 2
    encoder_hidden: tuple[int, ...] = (512, 512)
    decoder_hidden: tuple[int, ...] = (512, 512)
    activation: str = "elu"
    # Weight of the KL term in the training objective (beta-VAE; 1.0 = the plain ELBO).
    beta: float = 1.0
    # Importance samples in the training objective (1 = ELBO, k > 1 = IWAE bound, Burda et al.).
    train_iwae_k: int = 1
    # 0 for an unconditional model; reserved for a conditional VAE.
    num_classes: int = 0

    @property
    def input_dim(self) -> int:
        """Pixels per image (784 for MNIST)."""
        return self.image_channels * self.image_size * self.image_size

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.image_channels, self.image_size, self.image_size)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["encoder_hidden"] = list(self.encoder_hidden)
        data["decoder_hidden"] = list(self.decoder_hidden)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "VAEConfig":
        """Build a config from JSON data; unknown keys or bad values raise ValueError."""
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        values = dict(data)
        for key in ("encoder_hidden", "decoder_hidden"):
            if key in values:
                values[key] = tuple(int(v) for v in values[key])
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        if self.latent_dim < 1 or self.image_size < 1 or self.image_channels < 1:
            raise ValueError("latent_dim, image_size and image_channels must be positive")
        if any(h < 1 for h in self.encoder_hidden + self.decoder_hidden):
            raise ValueError("hidden layer sizes must be positive")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}")
        if self.beta < 0 or self.train_iwae_k < 1 or self.num_classes < 0:
            raise ValueError("beta must be >= 0, train_iwae_k >= 1, num_classes >= 0")


# The one table of hidden-layer activations, by the name a config (and a checkpoint) records.
# Read by the model below, the train CLI's --activation choices (vae/train.py) and the decoder
# export (vae/export.py), which writes the name for the browser's decoder (ui/latent_plane/plane.js
# implements each of them; a test keeps the two lists equal).
ACTIVATIONS: dict[str, type[nn.Module]] = {"elu": nn.ELU, "relu": nn.ReLU, "tanh": nn.Tanh}


@dataclass
class VAELoss:
    """Loss terms in nats per image, averaged over the batch.

    total = recon + beta * kl is what training minimises (for k = 1);
    elbo = -(recon + kl) is the evidence lower bound on log p(x), whatever beta is.
    """

    total: torch.Tensor  # scalar, the training objective
    recon: torch.Tensor  # scalar, -E_q[log p(x|z)] (one-sample Monte Carlo)
    kl: torch.Tensor  # scalar, KL(q(z|x) || p(z)) in closed form
    elbo: torch.Tensor  # scalar, -(recon + kl)
    per_image_elbo: torch.Tensor = field(repr=False)  # [N]


def _mlp(sizes: list[int], activation: type[nn.Module]) -> nn.Sequential:
    """Linear layers with `activation` between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def gaussian_kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per row, closed form.

    Kingma & Welling (2014), Appendix B: -KL = 1/2 sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2).
    mu, logvar: [N, D] -> [N].
    """
    return 0.5 * torch.sum(mu.pow(2) + logvar.exp() - 1.0 - logvar, dim=-1)


def bernoulli_log_likelihood(x_flat: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """log p(x|z) for Bernoulli pixels, summed over pixels.

    x_flat: [..., P] in [0, 1]; logits: [..., P] (broadcastable) -> [...].
    Uses -BCE-with-logits, which is exact and stable for any logit.
    """
    return -F.binary_cross_entropy_with_logits(
        logits, x_flat.expand_as(logits), reduction="none"
    ).sum(dim=-1)


def standard_normal_log_density(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I), z: [..., D] -> [...]."""
    return -0.5 * (z.pow(2).sum(dim=-1) + z.shape[-1] * LOG_2PI)


def diagonal_gaussian_log_density(
    z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))), broadcasting over leading dims -> [...]."""
    return -0.5 * (((z - mu).pow(2) / logvar.exp()) + logvar + LOG_2PI).sum(dim=-1)


class VAE(nn.Module):
    """MLP encoder and decoder; Gaussian q(z|x), N(0, I) prior, Bernoulli p(x|z)."""

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        act = ACTIVATIONS[config.activation]
        c = config.num_classes  # a conditional VAE appends a one-hot label [C] to both inputs
        # Encoder: [N, P (+C)] -> [N, 2 * D] holding (mu, logvar).
        self.encoder = _mlp([config.input_dim + c, *config.encoder_hidden, 2 * config.latent_dim], act)
        # Decoder: [N, D (+C)] -> [N, P] Bernoulli logits.
        self.decoder = _mlp([config.latent_dim + c, *config.decoder_hidden, config.input_dim], act)

    @property
    def conditional(self) -> bool:
        return self.config.num_classes > 0

    def _with_label(self, t: torch.Tensor, y: torch.Tensor | int | None) -> torch.Tensor:
        """Append one_hot(y) to the last dim of t [..., F] -> [..., F + C] (CVAE only).

        y: an int (one label for all rows) or labels broadcastable to t.shape[:-1].
        """
        if not self.conditional:
            if y is not None:
                raise ValueError("this model is unconditional: do not pass a label")
            return t
        if y is None:
            raise ValueError("this conditional VAE needs a digit label (0-9)")
        y_t = torch.as_tensor(y, dtype=torch.long, device=t.device)
        if y_t.min() < 0 or y_t.max() >= self.config.num_classes:
            raise ValueError(f"label must be in 0..{self.config.num_classes - 1}")
        one_hot = F.one_hot(y_t, self.config.num_classes).to(t.dtype)
        return torch.cat([t, one_hot.expand(*t.shape[:-1], self.config.num_classes)], dim=-1)

    def conditioned(self, label: int | None) -> "VAE | ConditionedVAE":
        """A view with the same encode/decode API whose label is fixed (self if unconditional).

        Lets every latent operation (grids, interpolation, likelihoods) serve a CVAE unchanged.
        """
        return self if not self.conditional else ConditionedVAE(self, int(label if label is not None else 0))

    # ----------------------------------------------------------------- encoder
    def encode(self, x: torch.Tensor, y: torch.Tensor | int | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """x in [0, 1], [N, 1, 28, 28] or [N, 784] -> (mu [N, D], logvar [N, D]).

        y: the digit label(s), only for a conditional VAE.
        """
        h = self.encoder(self._with_label(x.reshape(x.shape[0], self.config.input_dim), y))
        mu, logvar = h.chunk(2, dim=-1)
        # Bounds keep exp(logvar) finite for inputs far from the data (a user's upload);
        # trained posteriors sit well inside (sigma ~ 0.01-1), so no gradient is lost there.
        logvar = logvar.clamp(-20.0, 10.0)
        return mu, logvar

    # ----------------------------------------------------------------- decoder
    def decode_logits(self, z: torch.Tensor, y: torch.Tensor | int | None = None) -> torch.Tensor:
        """z [..., D] -> Bernoulli logits [..., P]; y: label(s) for a conditional VAE."""
        return self.decoder(self._with_label(z, y))

    def decode(self, z: torch.Tensor, y: torch.Tensor | int | None = None) -> torch.Tensor:
        """z [N, D] -> E[x|z], Bernoulli means in [0, 1], [N, C, H, W]."""
        return torch.sigmoid(self.decode_logits(z, y)).reshape(z.shape[0], *self.config.image_shape)

    # ----------------------------------------------------------------- sampling
    @staticmethod
    def reparameterize(
        mu: torch.Tensor,
        logvar: torch.Tensor,
        num_samples: int = 1,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """z = mu + sigma * eps; returns [num_samples, N, D]."""
        eps = torch.randn(
            (num_samples, *mu.shape), generator=generator, dtype=mu.dtype, device=mu.device
        )
        return mu + (0.5 * logvar).exp() * eps

    def forward(self, x: torch.Tensor, y: torch.Tensor | int | None = None) -> torch.Tensor:
        """Reconstruction E[x|mu(x)], [N, C, H, W] (deterministic)."""
        mu, _ = self.encode(x, y)
        return self.decode(mu, y)

    # ----------------------------------------------------------------- objectives
    def loss(
        self,
        x: torch.Tensor,
        y: torch.Tensor | None = None,
        beta: float | None = None,
        iwae_k: int | None = None,
        generator: torch.Generator | None = None,
    ) -> VAELoss:
        """Training objective and ELBO terms for a batch x in [0, 1], nats per image.

        With iwae_k = 1 (default from the config) the objective is the (beta-)ELBO.
        With iwae_k > 1 it is the IWAE bound -log mean_k w_k (Burda et al. 2016), which is
        tighter than the ELBO; recon/kl/elbo are still reported from the first sample.
        y: labels [N], only for a conditional VAE.
        """
        beta = self.config.beta if beta is None else beta
        k = self.config.train_iwae_k if iwae_k is None else iwae_k
        x_flat = x.reshape(x.shape[0], self.config.input_dim)
        mu, logvar = self.encode(x_flat, y)
        z = self.reparameterize(mu, logvar, k, generator)  # [k, N, D]
        log_px_z = bernoulli_log_likelihood(x_flat, self.decode_logits(z, y))  # [k, N]
        kl = gaussian_kl_to_standard_normal(mu, logvar)  # [N]
        recon = -log_px_z[0]  # [N]
        per_image_elbo = -(recon + kl)
        if k == 1:
            total = (recon + beta * kl).mean()
        else:
            # log w_k = log p(x|z_k) + beta * (log p(z_k) - log q(z_k|x)); beta = 1 is IWAE.
            log_w = log_px_z + beta * (
                standard_normal_log_density(z) - diagonal_gaussian_log_density(z, mu, logvar)
            )
            total = -(torch.logsumexp(log_w, dim=0) - math.log(k)).mean()
        return VAELoss(
            total=total,
            recon=recon.mean(),
            kl=kl.mean(),
            elbo=per_image_elbo.mean(),
            per_image_elbo=per_image_elbo,
        )


class ConditionedVAE:
    """A conditional VAE with its label fixed: the VAE API without the label argument.

    Not an nn.Module on purpose: it owns no weights, it only forwards to the shared model.
    """

    def __init__(self, model: VAE, label: int) -> None:
        if not 0 <= label < model.config.num_classes:
            raise ValueError(f"label must be in 0..{model.config.num_classes - 1}")
        self.model = model
        self.label = label
        self.config = model.config
        self.reparameterize = model.reparameterize

    @property
    def conditional(self) -> bool:
        return False  # the label is already given

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.encode(x, self.label)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.model.decode_logits(z, self.label)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.model.decode(z, self.label)
