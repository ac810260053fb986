"""Shared fixtures: the real shipped checkpoint, a small random model, the real MNIST file."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import tempfile  # noqa: E402

# Saved arrays (vae/arraycache.py) go to a folder of this test session, not the project's
# data/cache/: every run scores the typicality pages' images itself, as a fresh install would.
# Set before any app server is started (tests/e2e inherit it through the environment).
_CACHE = tempfile.TemporaryDirectory(prefix="latent-explorer-tests-cache-")
os.environ["LATENT_EXPLORER_CACHE_DIR"] = _CACHE.name

from vae import VAE, VAEConfig, arraycache, load_checkpoint  # noqa: E402

arraycache.CACHE_DIR = Path(_CACHE.name)

SHIPPED = ROOT / "checkpoints" / "mnist-2d"

torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def shipped():
    """The real shipped checkpoint (a test fails loudly if it is missing)."""
    return load_checkpoint(SHIPPED)


@pytest.fixture
def small_config() -> VAEConfig:
    return VAEConfig(encoder_hidden=(64,), decoder_hidden=(64, 64))


@pytest.fixture
def small_model(small_config: VAEConfig) -> VAE:
    torch.manual_seed(0)
    return VAE(small_config).eval()
