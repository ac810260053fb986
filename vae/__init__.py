"""Latent Explorer backend: model, data, training, checkpoints, latent maths, figures.

Never imports streamlit (a test checks this).
"""

from .checkpoint import Checkpoint, CheckpointError, list_checkpoints, load_checkpoint, save_checkpoint
from .model import VAE, VAEConfig, VAELoss

__all__ = [
    "VAE",
    "VAEConfig",
    "VAELoss",
    "Checkpoint",
    "CheckpointError",
    "list_checkpoints",
    "load_checkpoint",
    "save_checkpoint",
]
