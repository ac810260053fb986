"""Training in the background for the app: one job at a time for the whole server.

The worker thread runs the same `vae.train.train` as the CLI. Its progress lives in a
`JobStatus` snapshot that any session may read; only the job's own thread writes it. The
result is written atomically to checkpoints/user/NAME.safetensors (under CHECKPOINT_DIR, which
LATENT_EXPLORER_CHECKPOINT_DIR may move) only when the job finishes: a cancelled or failed job
leaves nothing behind. No streamlit here.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from .checkpoint import CHECKPOINT_DIR, SUFFIX, save_checkpoint
from .data import ARCHIVE_SHA256
from .latent import decode_grid
from .model import VAEConfig
from .train import TrainEvent, TrainOptions, command_line, train

USER_DIR = CHECKPOINT_DIR / "user"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
LIMITS = {"epochs": (1, 200), "hidden": (16, 1024), "beta": (0.0, 20.0)}
# Larger, faster steps than the shipped models' 128 / 1e-3: a job in the app should be done in
# minutes on the one thread it gets.
JOB_BATCH_SIZE = 256
JOB_LR = 2e-3
JOB_THREADS = 1  # leave the other cores to the people exploring


class JobError(ValueError):
    """A job request that cannot be run; the message is fit to show a user."""


def user_checkpoint_path(name: str, root: Path = USER_DIR) -> Path:
    """checkpoints/user/NAME.safetensors for a safe NAME; anything else raises JobError.

    Only letters, digits, '-' and '_' (1-40 characters, not starting with '-' or '_'): no
    separators, no dots, so the path cannot leave the folder.
    """
    if not NAME_PATTERN.fullmatch(name or ""):  # fullmatch: "$" would admit a trailing newline
        raise JobError("name: use 1-40 letters, digits, '-' or '_' (e.g. beta4-run1)")
    path = (root / f"{name}{SUFFIX}").resolve()
    if path.parent != root.resolve():
        raise JobError("name must not contain a path")
    return path


@dataclass(frozen=True)
class JobRequest:
    name: str
    epochs: int = 10
    hidden: int = 512
    beta: float = 1.0
    conditional: bool = False
    seed: int = 0
    train_limit: int | None = None  # first N training images (quick demos, tests)

    def config(self) -> VAEConfig:
        return VAEConfig(encoder_hidden=(self.hidden, self.hidden), decoder_hidden=(self.hidden, self.hidden),
                         beta=self.beta, num_classes=10 if self.conditional else 0)

    def validate(self) -> None:
        lo, hi = LIMITS["epochs"]
        if not lo <= self.epochs <= hi:
            raise JobError(f"epochs must be between {lo} and {hi}")
        lo, hi = LIMITS["hidden"]
        if not lo <= self.hidden <= hi:
            raise JobError(f"hidden size must be between {lo} and {hi}")
        lo, hi = LIMITS["beta"]
        if not lo <= self.beta <= hi:
            raise JobError(f"beta must be between {lo:g} and {hi:g}")

    def options(self) -> TrainOptions:
        return TrainOptions(epochs=self.epochs, batch_size=JOB_BATCH_SIZE, lr=JOB_LR, seed=self.seed,
                            train_limit=self.train_limit)

    def command(self) -> str:
        """The CLI command that reproduces this job, built from the same config and options the
        job trains with (the comment after it says where it came from)."""
        out = f"checkpoints/user/{self.name}"
        return command_line(out, self.config(), self.options(), JOB_THREADS) + "  # from the app's Train page"


@dataclass(frozen=True)
class JobStatus:
    """A snapshot: immutable, replaced as a whole by the worker."""

    request: JobRequest
    state: str = "running"  # running | done | cancelled | failed
    progress: float = 0.0  # 0..1 over all steps
    epoch: int = 0
    epochs: int = 0
    history: tuple[dict[str, float], ...] = ()  # one row per epoch
    manifold: np.ndarray | None = field(default=None, repr=False)  # latest [n*28, n*28]
    message: str = ""
    path: Path | None = None
    started: float = field(default_factory=time.time)


class JobManager:
    """Runs at most one training job at a time (for the whole process)."""

    def __init__(self, root: Path = USER_DIR) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._status: JobStatus | None = None

    @property
    def status(self) -> JobStatus | None:
        return self._status

    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, request: JobRequest) -> JobStatus:
        request.validate()
        path = user_checkpoint_path(request.name, self.root)
        if path.exists():
            raise JobError(f"a model named {request.name} already exists; choose another name")
        with self._lock:
            if self.busy():
                raise JobError("another training job is running; wait for it or cancel it")
            self._cancel.clear()
            self._status = JobStatus(request=request, epochs=request.epochs)
            self._thread = threading.Thread(target=self._run, args=(request, path), daemon=True,
                                            name=f"train-{request.name}")
            self._thread.start()
        return self._status

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> JobStatus | None:
        if self._thread is not None:
            self._thread.join(timeout)
        return self._status

    def _update(self, **changes: object) -> None:
        assert self._status is not None
        self._status = replace(self._status, **changes)

    def _run(self, request: JobRequest, path: Path) -> None:
        history: list[dict[str, float]] = []
        last_step = {"elbo": float("nan"), "kl": float("nan"), "recon": float("nan")}

        def on_event(event: TrainEvent) -> None:
            if event.kind == "step":
                last_step.update(elbo=event.elbo, kl=event.kl, recon=event.recon)
                if event.step % 10 == 0:
                    self._update(progress=event.step / (event.steps_per_epoch * event.epochs),
                                 epoch=event.epoch)
            elif event.kind == "epoch" and event.model is not None:
                history.append({"epoch": event.epoch, "val_elbo": event.val_elbo,
                                "train_elbo": last_step["elbo"], "train_kl": last_step["kl"],
                                "train_recon": last_step["recon"], "seconds": event.elapsed_s})
                view = event.model.conditioned(0) if event.model.conditional else event.model
                was_training = event.model.training
                event.model.eval()
                grid = decode_grid(view, 12).image  # the manifold as it is now
                event.model.train(was_training)
                self._update(history=tuple(history), manifold=grid, epoch=event.epoch)

        try:
            torch.set_num_threads(JOB_THREADS)
            result = train(request.config(), request.options(), out=None, callbacks=[on_event],
                           should_stop=self._cancel.is_set, train_command=request.command())
            if result.stopped_early:
                self._update(state="cancelled", message="cancelled: nothing was written")
                return
            saved = save_checkpoint(path, result.model,
                                    metrics={"val_elbo": history[result.best_epoch - 1]["val_elbo"]},
                                    train_command=request.command(), data_sha256=ARCHIVE_SHA256,
                                    extra={"epoch": result.best_epoch, "epochs": request.epochs,
                                           "train_time_s": round(result.elapsed_s, 1)})
            self._update(state="done", progress=1.0, path=saved,
                         message=f"saved {saved.name} (best epoch {result.best_epoch})")
        except Exception as exc:  # a failed job must not take the server down
            self._update(state="failed", message=f"training failed: {exc}")
