"""Shared fixtures: the real shipped checkpoint, a small random model, the real MNIST file."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import tempfile  # noqa: E402

# Saved arrays (vae/arraycache.py) go to a folder of this test session, not the project's
# data/cache/: every run computes what a fresh install would (the shipped models' typicality
# scores come with the checkpoints, in checkpoints/scores/, as in a fresh clone).
# Set before any app server is started (tests/e2e inherit it through the environment).
_CACHE = tempfile.TemporaryDirectory(prefix="latent-explorer-tests-cache-")
os.environ["LATENT_EXPLORER_CACHE_DIR"] = _CACHE.name
# Likewise the checkpoint folder (vae.checkpoint.CHECKPOINT_DIR, and the Train page's user/ in
# it): a copy of the shipped checkpoints, so tests that train, save or drop damaged files never
# write into the repo's checkpoints/. Set before vae is imported (CHECKPOINT_DIR is read then).
_CHECKPOINTS = tempfile.TemporaryDirectory(prefix="latent-explorer-tests-checkpoints-")
for _shipped in sorted((ROOT / "checkpoints").glob("*.safetensors")):
    shutil.copy2(_shipped, _CHECKPOINTS.name)
if (ROOT / "checkpoints" / "scores").is_dir():  # their shipped typicality scores, as a clone has them
    shutil.copytree(ROOT / "checkpoints" / "scores", Path(_CHECKPOINTS.name) / "scores")
os.environ["LATENT_EXPLORER_CHECKPOINT_DIR"] = _CHECKPOINTS.name
# Test servers skip the launcher's background build of every model's tables (ui/server.py: ~15 s
# of CPU per fresh cache, competing with the tests' own timings); tests/test_saved_tables.py
# runs it.
os.environ["LATENT_EXPLORER_PREBUILD"] = "0"

from vae import VAE, VAEConfig, arraycache, load_checkpoint  # noqa: E402
from vae.checkpoint import CHECKPOINT_DIR  # noqa: E402

arraycache.CACHE_DIR = Path(_CACHE.name)
assert CHECKPOINT_DIR == Path(_CHECKPOINTS.name).resolve(), "vae was imported before tests/conftest.py"

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
