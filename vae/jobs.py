"""Training in the background for the app: one job at a time for the whole server.

A job's own process (see JobManager) runs the same `vae.train.train` as the CLI, then what the
app's pages need of a model: its test metrics (the Home page's card: `vae.evaluate.evaluate_model` on the first
EVAL_IMAGES test images, IWAE with EVAL_IWAE_K samples) and the Typicality page's reference
scores (`vae.typicality.split_scores`, saved in data/cache/ under the weights' hash). Its
progress lives in a `JobStatus` snapshot that any session may read; only the job's relay thread
writes it. The result is written atomically to checkpoints/user/NAME.safetensors (under
CHECKPOINT_DIR, which LATENT_EXPLORER_CHECKPOINT_DIR may move) only when all of that is done:
a cancelled or failed job leaves no checkpoint behind.

A job belongs to the session that started it: `start(..., owner=token)` keeps the token (never
shown), and only the same token may cancel it. No streamlit here.
"""

from __future__ import annotations

import hmac
import multiprocessing
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

import numpy as np
import torch

from .checkpoint import CHECKPOINT_DIR, SUFFIX, Checkpoint, save_checkpoint
from .data import ARCHIVE_SHA256
from .evaluate import evaluate_model
from .latent import decode_grid
from .model import VAEConfig
from .train import TrainEvent, TrainOptions, command_line, train
from .typicality import PAGE_SETS, split_scores

USER_DIR = CHECKPOINT_DIR / "user"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
LIMITS = {"epochs": (1, 200), "hidden": (16, 1024), "beta": (0.0, 20.0)}
# Larger, faster steps than the shipped models' 128 / 1e-3: a job in the app should be done in
# minutes on the one thread it gets.
JOB_BATCH_SIZE = 256
JOB_LR = 2e-3
JOB_THREADS = 1  # leave the other cores to the people exploring
# The metrics a job records (the Home page's card says so): the first EVAL_IMAGES test images,
# IWAE with EVAL_IWAE_K samples (the shipped models': all 10,000, k = 1000; ~100x the work).
EVAL_IMAGES = 1000
EVAL_IWAE_K = 100
# The job's phases and their shares of its progress bar (measured on 2 cores for 256 hidden
# units, 5 epochs: ~25 s training, ~4 s metrics, ~20 s scores).
PHASES = {"training": 0.55, "metrics": 0.1, "scores": 0.35}


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
    progress: float = 0.0  # 0..1 over the whole job (PHASES' shares)
    phase: str = "training"  # training | metrics | scores (while running)
    detail: str = ""  # what the phase is doing now, e.g. "scoring 340/2,000 images"
    eta_s: float | None = None  # seconds left in the phase, once it can be estimated
    epoch: int = 0
    epochs: int = 0
    history: tuple[dict[str, float], ...] = ()  # one row per epoch
    manifold: np.ndarray | None = field(default=None, repr=False)  # latest [n*28, n*28]
    message: str = ""
    path: Path | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    # The starting session's token: compared, never shown (repr=False keeps it out of logs).
    owner: str = field(default="", repr=False)


class Cancelled(Exception):
    """Raised inside the job's process when its owner cancels it."""


class JobManager:
    """Runs at most one training job at a time (for the whole process).

    The job itself runs in a child process (`_job_process`, multiprocessing "spawn": a fresh
    interpreter, safe from a server with many threads); a thread here relays its progress
    into `status`. Why a process: training takes ~200 MB of tensors, torch's optimizer imports
    its compiler stack (torch._dynamo and triton, +160 MB) on its first step, and an allocator
    keeps much of it after the last tensor is freed, so a job in the server's own process left it
    ~230 MB larger for good (measured). A child gives all of it back when it exits, and a job
    that crashes or runs out of memory cannot take the server down. The child stops, writing
    nothing, when its owner cancels or the server goes away.
    """

    def __init__(self, root: Path = USER_DIR) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._context = multiprocessing.get_context("spawn")
        self._cancel = self._context.Event()
        self._thread: threading.Thread | None = None
        self._status: JobStatus | None = None
        self._generation = 0  # +1 whenever a job starts or ends
        self.pid: int | None = None  # the running (or last) job's process

    @property
    def status(self) -> JobStatus | None:
        return self._status

    @property
    def generation(self) -> int:
        """Changes when a job starts or ends: a page polls it to know when to redraw itself."""
        return self._generation

    def busy(self) -> bool:
        """A job is running (its state is set to done/cancelled/failed as its last act)."""
        status = self._status
        return (self._thread is not None and self._thread.is_alive()
                and status is not None and status.state == "running")

    def owns(self, owner: str) -> bool:
        """Did the session with this token start the current job?"""
        status = self._status
        return status is not None and hmac.compare_digest(status.owner.encode(), (owner or "").encode())

    def start(self, request: JobRequest, owner: str = "") -> JobStatus:
        request.validate()
        path = user_checkpoint_path(request.name, self.root)
        if path.exists():
            raise JobError(f"a model named {request.name} already exists; choose another name")
        with self._lock:
            if self.busy():
                raise JobError("another training job is running; wait for it or cancel it")
            self._cancel.clear()
            self._status = JobStatus(request=request, epochs=request.epochs, owner=owner)
            self._generation += 1
            self._thread = threading.Thread(target=self._relay, args=(request, path), daemon=True,
                                            name=f"train-{request.name}")
            self._thread.start()
        return self._status

    def cancel(self, owner: str = "") -> None:
        """Stop the running job; only its owner may (JobError otherwise). Nothing is written."""
        if not self.busy():
            return
        if not self.owns(owner):
            raise JobError("only the visitor who started this job can cancel it")
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> JobStatus | None:
        if self._thread is not None:
            self._thread.join(timeout)
        return self._status

    def _update(self, **changes: object) -> None:
        assert self._status is not None
        self._status = replace(self._status, **changes)

    def _relay(self, request: JobRequest, path: Path) -> None:
        """The job's thread: start its process, copy each update it sends into `status`."""
        receiver, sender = self._context.Pipe(duplex=False)
        process = self._context.Process(target=_job_process, args=(request, path, sender, self._cancel, os.getpid()),
                                        name=f"train-{request.name}", daemon=True)
        try:
            process.start()
            self.pid = process.pid
            sender.close()  # the child holds the only writer: EOF here when it exits
            while True:
                try:
                    changes = receiver.recv()
                except EOFError:
                    break
                self._update(**changes)
            process.join()
            if self._status is not None and self._status.state == "running":  # died without a word
                self._update(state="failed", detail="", eta_s=None,
                             message=f"training failed: its process ended with exit code {process.exitcode}")
        except Exception as exc:  # a failed job must not take the server down
            self._update(state="failed", detail="", eta_s=None, message=f"training failed: {exc}")
        finally:
            receiver.close()
            self._generation += 1


def _job_process(request: JobRequest, path: Path, sender: Connection, cancel: EventType, parent: int) -> None:
    """A job's process: `run_job`, its updates sent to the server's relay thread."""
    torch.set_num_threads(JOB_THREADS)

    def cancelled() -> bool:  # the owner cancelled, or the server is gone (we were re-parented)
        return cancel.is_set() or os.getppid() != parent

    try:
        run_job(request, path, sender.send, cancelled)
    finally:
        sender.close()


def run_job(request: JobRequest, path: Path, update: Callable[[dict[str, object]], None],
            cancelled: Callable[[], bool]) -> None:
    """Train, measure, score and save one model; every change of its status goes to update(dict)."""
    history: list[dict[str, float]] = []
    last_step = {"elbo": float("nan"), "kl": float("nan"), "recon": float("nan")}
    since = time.perf_counter()

    def advance(phase: str, fraction: float, detail: str, since: float, stoppable: bool = True) -> None:
        """Progress `fraction` (0..1) through `phase` -> the job's bar, with the phase's time left
        extrapolated from its pace so far. Raises Cancelled once the owner has cancelled."""
        if stoppable and cancelled():
            raise Cancelled
        shares = list(PHASES.items())
        before = sum(share for name, share in shares[: [n for n, _ in shares].index(phase)])
        elapsed = time.perf_counter() - since
        eta = elapsed * (1.0 - fraction) / fraction if fraction >= 0.05 else None
        update(dict(phase=phase, progress=min(1.0, before + PHASES[phase] * fraction), detail=detail, eta_s=eta))

    def on_event(event: TrainEvent) -> None:
        if event.kind == "step":
            last_step.update(elbo=event.elbo, kl=event.kl, recon=event.recon)
            if event.step % 10 == 0:
                advance("training", event.step / (event.steps_per_epoch * event.epochs),
                        f"epoch {event.epoch}/{event.epochs}", since, stoppable=False)
                update(dict(epoch=event.epoch))
        elif event.kind == "epoch" and event.model is not None:
            history.append({"epoch": event.epoch, "val_elbo": event.val_elbo,
                            "train_elbo": last_step["elbo"], "train_kl": last_step["kl"],
                            "train_recon": last_step["recon"], "seconds": event.elapsed_s})
            view = event.model.conditioned(0) if event.model.conditional else event.model
            was_training = event.model.training
            event.model.eval()
            grid = decode_grid(view, 12).image  # the manifold as it is now
            event.model.train(was_training)
            update(dict(history=tuple(history), manifold=grid, epoch=event.epoch))

    try:
        result = train(request.config(), request.options(), out=None, callbacks=[on_event],
                       should_stop=cancelled, train_command=request.command())
        if result.stopped_early:
            raise Cancelled
        model = result.model.eval()
        # What the Home page's card shows, recorded in the checkpoint like `vae.evaluate --save`.
        since = time.perf_counter()
        found = evaluate_model(model, "test", EVAL_IWAE_K, EVAL_IMAGES, on_progress=lambda f: advance(
            "metrics", f, f"test metrics on {EVAL_IMAGES:,} images (IWAE k={EVAL_IWAE_K})", since))
        metrics = {"val_elbo": history[result.best_epoch - 1]["val_elbo"],
                   **{f"test_{k}": v for k, v in found.items() if k != "split"}}
        update(dict(metrics=metrics))
        # The Typicality page's reference scores (its defaults: log p(x), binarised), saved
        # under the weights' hash, which the checkpoint loaded back will have.
        ckpt = Checkpoint(model=model, config=model.config, metrics=metrics, train_command=request.command(),
                          data_sha256=ARCHIVE_SHA256, path=path)
        since, total = time.perf_counter(), sum(n for _, n in PAGE_SETS)
        done = 0
        for split, n in PAGE_SETS:
            split_scores(ckpt, split, n, True, "log p(x)", progress=lambda k, _t, d=done: advance(
                "scores", (d + k) / total, f"Typicality scores: {d + k:,}/{total:,} images by quadrature", since))
            done += n
        if cancelled():
            raise Cancelled
        saved = save_checkpoint(path, model, metrics=metrics, train_command=request.command(),
                                data_sha256=ARCHIVE_SHA256,
                                extra={"epoch": result.best_epoch, "epochs": request.epochs,
                                       "train_time_s": round(result.elapsed_s, 1)})
        update(dict(state="done", progress=1.0, path=saved, detail="", eta_s=None,
                    message=f"saved {saved.name} (best epoch {result.best_epoch})"))
    except Cancelled:
        update(dict(state="cancelled", detail="", eta_s=None, message="cancelled: nothing was written"))
    except Exception as exc:  # reported to the page; the server itself is another process
        update(dict(state="failed", detail="", eta_s=None, message=f"training failed: {exc}"))
