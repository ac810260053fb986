"""The one checkpoint format: a single `.safetensors` file.

Tensors are the model's state dict; the safetensors header's string metadata holds
  format        "latent-explorer-vae"
  format_version "1"
  config        VAEConfig as JSON
  metrics       JSON object (nats per image, accuracies in [0, 1])
  train_command the command that produced the weights
  data_sha256   sha256 of the MNIST archive it was trained on
  extra         JSON object (training time, epochs, ...)
safetensors never unpickles anything, so a hostile file cannot run code. Writes are atomic
(vae/atomic.py): a reader sees the old file or the new one, never a mix.

CHECKPOINT_DIR is the project's checkpoints/ unless LATENT_EXPLORER_CHECKPOINT_DIR points
elsewhere (an operator's models folder; the tests' copy, so they never write into the repo).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save as safetensors_save

from .atomic import atomic_write
from .model import VAE, VAEConfig

FORMAT_NAME = "latent-explorer-vae"
FORMAT_VERSION = 1
SUFFIX = ".safetensors"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
CHECKPOINT_DIR = Path(os.environ.get("LATENT_EXPLORER_CHECKPOINT_DIR") or PROJECT_ROOT / "checkpoints").resolve()
DEFAULT_MODEL = "mnist-2d"  # the shipped model the app opens on and the command-line tools use


class CheckpointError(RuntimeError):
    """A checkpoint could not be read or written; the message names the file and the reason."""


@dataclass
class Checkpoint:
    """A loaded model (eval mode) with everything its file says about it."""

    model: VAE
    config: VAEConfig
    metrics: dict[str, Any]
    train_command: str
    data_sha256: str
    path: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return checkpoint_name(self.path)

    @cached_property
    def weights_sha256(self) -> str:
        """Content id of the loaded model: its config and every tensor's bytes, as read (a file
        rewritten since then does not change it). Keys caches of results computed from it."""
        return weights_digest(self.model)


def weights_digest(model: VAE) -> str:
    """sha256 (hex) over a model's config and every tensor's bytes: what names the results
    computed from these weights (vae/arraycache.py), wherever the model came from."""
    digest = hashlib.sha256(json.dumps(model.config.to_dict(), sort_keys=True).encode("utf-8"))
    for key, value in sorted(model.state_dict().items()):
        digest.update(key.encode("utf-8"))
        digest.update(value.detach().contiguous().cpu().numpy().tobytes())
    return digest.hexdigest()


def resolve_path(path: str | os.PathLike[str]) -> Path:
    """"checkpoints/mnist-2d" or "checkpoints/mnist-2d.safetensors" -> the file's Path."""
    p = Path(path)
    if p.suffix != SUFFIX:
        p = p.with_name(p.name + SUFFIX)
    return p


def checkpoint_name(path: Path) -> str:
    """A short display name: the path under checkpoints/ without the suffix."""
    p = Path(path).resolve()
    try:
        rel = p.relative_to(CHECKPOINT_DIR)
    except ValueError:
        rel = Path(p.name)
    return str(rel)[: -len(SUFFIX)] if str(rel).endswith(SUFFIX) else str(rel)


def list_checkpoints(root: Path = CHECKPOINT_DIR) -> list[Path]:
    """Checkpoint files under `root` (including user/), sorted, shipped ones first."""
    if not root.is_dir():
        return []
    files = [p for p in root.rglob(f"*{SUFFIX}") if p.is_file() and not p.is_symlink()]
    return sorted(files, key=lambda p: (len(p.relative_to(root).parts), str(p)))


def save_checkpoint(
    path: str | os.PathLike[str],
    model: VAE,
    metrics: dict[str, Any] | None = None,
    train_command: str = "",
    data_sha256: str = "",
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write the model atomically; returns the final path."""
    target = resolve_path(path)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    metadata = {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        "config": json.dumps(model.config.to_dict()),
        "metrics": json.dumps(metrics or {}),
        "train_command": train_command,
        "data_sha256": data_sha256,
        "extra": json.dumps(extra or {}),
    }
    payload = safetensors_save(tensors, metadata=metadata)
    try:
        atomic_write(target, lambda fh: fh.write(payload), mode=0o644)  # shared: not mkstemp's 0600
    except OSError as exc:
        raise CheckpointError(f"could not write checkpoint {target}: {exc}") from exc
    return target


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Load a checkpoint; the model is returned in eval mode on the CPU.

    Raises CheckpointError for a missing, truncated, foreign or mismatched file.
    """
    file = resolve_path(path)
    if not file.is_file():
        raise CheckpointError(f"checkpoint not found: {file}")
    try:
        with safe_open(str(file), framework="pt", device="cpu") as fh:
            metadata = fh.metadata() or {}
            tensors = {key: fh.get_tensor(key) for key in fh.keys()}
    except Exception as exc:  # safetensors raises several types for damaged headers/data
        raise CheckpointError(
            f"{file.name} is not a readable checkpoint (truncated or not safetensors): {exc}"
        ) from None
    if metadata.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{file.name} is a safetensors file but not a {FORMAT_NAME} checkpoint")
    version = metadata.get("format_version", "?")
    if version != str(FORMAT_VERSION):
        raise CheckpointError(
            f"{file.name} has checkpoint format version {version}; this code reads {FORMAT_VERSION}"
        )
    try:
        config = VAEConfig.from_dict(json.loads(metadata["config"]))
        metrics = json.loads(metadata.get("metrics", "{}"))
        extra = json.loads(metadata.get("extra", "{}"))
    except (KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{file.name} has an invalid config or metrics: {exc}") from None
    # The expected shapes come from a model on the meta device (no memory): a config that
    # declares enormous layers is refused by the checks below instead of allocating them.
    with torch.device("meta"):
        expected = VAE(config).state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{file.name} does not match its config: missing tensors {missing[:4]}, "
            f"unexpected tensors {unexpected[:4]}"
        )
    for key, value in tensors.items():
        if value.shape != expected[key].shape:
            raise CheckpointError(
                f"{file.name}: tensor {key} has shape {tuple(value.shape)}, "
                f"the config needs {tuple(expected[key].shape)}"
            )
        if not torch.isfinite(value).all():
            raise CheckpointError(f"{file.name}: tensor {key} holds NaN or infinite values")
    model = VAE(config)
    model.load_state_dict(tensors)
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return Checkpoint(
        model=model,
        config=config,
        metrics=metrics if isinstance(metrics, dict) else {},
        train_command=metadata.get("train_command", ""),
        data_sha256=metadata.get("data_sha256", ""),
        path=file,
        extra=extra if isinstance(extra, dict) else {},
    )


def update_metrics(path: str | os.PathLike[str], metrics: dict[str, Any]) -> Path:
    """Merge `metrics` into a checkpoint's recorded metrics (atomic rewrite, same weights)."""
    ckpt = load_checkpoint(path)
    merged = {**ckpt.metrics, **metrics}
    return save_checkpoint(
        ckpt.path, ckpt.model, merged, ckpt.train_command, ckpt.data_sha256, ckpt.extra
    )
