"""Training loop (UI-agnostic: progress goes to callbacks) and `python -m vae.train`.

The same `train()` drives the CLI (a tqdm bar) and any UI (its own callback).
Each epoch: dynamic binarisation of the training images, Adam with a cosine learning-rate
decay, then the validation bound on a fixed binarisation of the validation split; the best
epoch so far is written atomically, so Ctrl-C (or a kill) never leaves a half-written file.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import torch

from .checkpoint import save_checkpoint
from .data import ARCHIVE_SHA256, binarize, fixed_binarization, load_mnist, to_float_tensor
from .model import ACTIVATIONS, VAE, VAEConfig


@dataclass
class TrainOptions:
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    device: str = "cpu"
    # Use only the first `train_limit` training images (tests, quick demos); None = all 50,000.
    train_limit: int | None = None
    val_limit: int | None = None
    # Fraction of the steps spent warming the learning rate up linearly.
    warmup_fraction: float = 0.02


@dataclass
class TrainEvent:
    """What a callback receives. kind "step": after each optimiser step; "epoch": after each
    epoch's validation; "done": once at the end."""

    kind: Literal["step", "epoch", "done"]
    epoch: int  # 1-based
    epochs: int
    step: int  # global step, 1-based
    steps_per_epoch: int
    loss: float  # training objective of the last batch (nats / image)
    elbo: float = float("nan")  # last batch ELBO
    kl: float = float("nan")
    recon: float = float("nan")
    val_elbo: float = float("nan")  # validation ELBO (epoch events)
    val_bound: float = float("nan")  # validation training-objective bound, -loss (epoch events)
    best_val_bound: float = float("nan")
    improved: bool = False
    elapsed_s: float = 0.0
    # The model being trained (epoch events only), e.g. for a UI to redraw its manifold.
    # Callbacks must not modify it.
    model: VAE | None = field(default=None, repr=False)


@dataclass
class TrainResult:
    model: VAE
    best_val_bound: float
    best_epoch: int
    history: list[TrainEvent] = field(default_factory=list)
    elapsed_s: float = 0.0
    stopped_early: bool = False
    out: Path | None = None
    # Weights of the best epoch (a copy), loaded back into `model` before train() returns.
    best_state: dict[str, torch.Tensor] | None = field(default=None, repr=False)


Callback = Callable[[TrainEvent], None]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda asked for, but no CUDA device is available")
    return torch.device(name)


@torch.no_grad()
def validation_bounds(
    model: VAE, x: torch.Tensor, y: torch.Tensor | None = None, batch_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """(mean ELBO, mean training-objective bound) on binarised x [N, 1, 28, 28], seeded.

    y: labels [N], used only by a conditional model.
    """
    generator = torch.Generator(device=x.device).manual_seed(seed)
    was_training = model.training
    model.eval()
    elbo_sum, bound_sum = 0.0, 0.0
    for start in range(0, len(x), batch_size):
        batch = x[start : start + batch_size]
        labels = y[start : start + batch_size] if model.conditional else None
        out = model.loss(batch, labels, beta=1.0, generator=generator)
        elbo_sum += out.elbo.item() * len(batch)
        bound_sum += -out.total.item() * len(batch)
    model.train(was_training)
    return elbo_sum / len(x), bound_sum / len(x)


def _lr_at(step: int, total: int, base: float, warmup: int) -> float:
    """Linear warm-up, then cosine decay to 1 % of the base rate."""
    if step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return base * (0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * progress)))


def train(
    config: VAEConfig,
    options: TrainOptions,
    out: str | Path | None = None,
    callbacks: list[Callback] | None = None,
    should_stop: Callable[[], bool] | None = None,
    train_command: str = "",
) -> TrainResult:
    """Train a VAE; if `out` is given, the best epoch is saved there atomically as it happens.

    `should_stop()` is polled after every step (a UI's cancel button); stopping keeps the
    best checkpoint written so far and writes nothing partial.
    """
    callbacks = callbacks or []
    device = resolve_device(options.device)
    torch.manual_seed(options.seed)
    generator = torch.Generator().manual_seed(options.seed)

    train_images, train_labels = load_mnist("train")
    x_val, val_labels = fixed_binarization("val", seed=0)
    if options.train_limit:
        train_images, train_labels = train_images[: options.train_limit], train_labels[: options.train_limit]
    if options.val_limit:
        x_val, val_labels = x_val[: options.val_limit], val_labels[: options.val_limit]
    x_train = to_float_tensor(train_images).to(device)  # [N, 1, 28, 28] intensities
    y_train = torch.tensor(train_labels, device=device)  # [N] int64 (used by a CVAE only)
    x_val, y_val = x_val.to(device), torch.tensor(val_labels, device=device)

    model = VAE(config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=options.lr)
    n = len(x_train)
    steps_per_epoch = math.ceil(n / options.batch_size)
    total_steps = steps_per_epoch * options.epochs
    warmup = max(1, int(options.warmup_fraction * total_steps))

    result = TrainResult(model=model, best_val_bound=-math.inf, best_epoch=0)
    start_time = time.perf_counter()

    def emit(kind: Literal["step", "epoch", "done"], epoch: int, step: int, **values: Any) -> TrainEvent:
        event = TrainEvent(kind=kind, epoch=epoch, epochs=options.epochs, step=step,
                           steps_per_epoch=steps_per_epoch, **values)
        for cb in callbacks:
            cb(event)
        return event

    step = 0
    for epoch in range(1, options.epochs + 1):
        model.train()
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, options.batch_size):
            idx = order[start : start + options.batch_size]
            # Dynamic binarisation: a fresh Bernoulli draw of every image each time it is seen.
            batch = binarize(x_train[idx].cpu(), generator).to(device)
            for group in optimizer.param_groups:
                group["lr"] = _lr_at(step, total_steps, options.lr, warmup)
            losses = model.loss(batch, y_train[idx.to(device)] if model.conditional else None)
            optimizer.zero_grad(set_to_none=True)
            losses.total.backward()
            optimizer.step()
            step += 1
            event = emit("step", epoch, step, loss=losses.total.item(), elbo=losses.elbo.item(),
                         kl=losses.kl.item(), recon=losses.recon.item(), elapsed_s=time.perf_counter() - start_time)
            if should_stop is not None and should_stop():
                result.stopped_early = True
                break
        if result.stopped_early:
            break
        val_elbo, val_bound = validation_bounds(model, x_val, y_val)
        improved = val_bound > result.best_val_bound
        elapsed = time.perf_counter() - start_time
        if improved:
            result.best_val_bound, result.best_epoch = val_bound, epoch
            result.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if out is not None:
                result.out = save_checkpoint(
                    out,
                    model,
                    metrics={"val_elbo": val_elbo, "val_bound": val_bound},
                    train_command=train_command,
                    data_sha256=ARCHIVE_SHA256,
                    extra={"epoch": epoch, "epochs": options.epochs, "train_time_s": round(elapsed, 1),
                           "options": vars(options)},
                )
        event = emit("epoch", epoch, step, loss=event.loss, val_elbo=val_elbo, val_bound=val_bound,
                     best_val_bound=result.best_val_bound, improved=improved, elapsed_s=elapsed, model=model)
        result.history.append(event)
    result.elapsed_s = time.perf_counter() - start_time
    emit("done", result.best_epoch, step, loss=float("nan"), best_val_bound=result.best_val_bound,
         elapsed_s=result.elapsed_s)
    if result.best_state is not None:
        model.load_state_dict(result.best_state)  # "keeps the best": same weights as the file
    model.eval()
    return result


def _int_tuple(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated sizes like 512,512, got {text!r}")
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError("layer sizes must be positive integers")
    return values


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m vae.train",
        description="Train a VAE on dynamically binarised MNIST; the best epoch (validation "
        "bound) is saved atomically to OUT.safetensors.",
    )
    p.add_argument("--out", required=True, help="checkpoint path, e.g. checkpoints/mnist-2d")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--beta", type=float, default=1.0, help="weight of the KL term (beta-VAE)")
    p.add_argument("--latent-dim", type=int, default=2)
    p.add_argument("--encoder-hidden", type=_int_tuple, default=(512, 512), help="e.g. 512,512")
    p.add_argument("--decoder-hidden", type=_int_tuple, default=(512, 512), help="e.g. 512,512")
    p.add_argument("--activation", choices=sorted(ACTIVATIONS), default=VAEConfig.activation)
    p.add_argument("--iwae-k", type=int, default=1, help="importance samples in the objective (1 = ELBO)")
    p.add_argument("--conditional", action="store_true",
                   help="conditional VAE: encoder and decoder also see the digit label")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="cpu")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    p.add_argument("--limit", type=int, default=None, help="train on the first N images only")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


MNIST_CLASSES = 10  # what --conditional means


def config_from_args(args: argparse.Namespace) -> VAEConfig:
    """The model config that parsed command-line arguments describe."""
    return VAEConfig(latent_dim=args.latent_dim, encoder_hidden=args.encoder_hidden,
                     decoder_hidden=args.decoder_hidden, activation=args.activation, beta=args.beta,
                     train_iwae_k=args.iwae_k, num_classes=MNIST_CLASSES if args.conditional else 0)


def options_from_args(args: argparse.Namespace) -> TrainOptions:
    """The training options that parsed command-line arguments describe."""
    return TrainOptions(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                        device=args.device, train_limit=args.limit)


def command_line(out: str, config: VAEConfig, options: TrainOptions, threads: int = 0) -> str:
    """The `python -m vae.train` command that trains `config` with `options` (what a checkpoint
    records): every flag written out, defaults too, so build_parser() reads back exactly this
    config and these options (`config_from_args`, `options_from_args`) whatever the defaults
    become. ValueError for what the CLI cannot say (another image size, 0 < classes != 10, a
    validation limit or warm-up of its own)."""
    default = TrainOptions()
    sayable = ((config.image_size, config.image_channels) == (VAEConfig.image_size, VAEConfig.image_channels)
               and config.num_classes in (0, MNIST_CLASSES)
               and (options.val_limit, options.warmup_fraction) == (default.val_limit, default.warmup_fraction))
    if not sayable:
        raise ValueError("the train command line cannot express this config or these options")
    parts = ["python -m vae.train", "--out", shlex.quote(str(out)), "--epochs", str(options.epochs),
             "--batch-size", str(options.batch_size), "--lr", repr(float(options.lr)),
             "--beta", repr(float(config.beta)), "--latent-dim", str(config.latent_dim),
             "--encoder-hidden", ",".join(map(str, config.encoder_hidden)),
             "--decoder-hidden", ",".join(map(str, config.decoder_hidden)),
             "--activation", config.activation, "--iwae-k", str(config.train_iwae_k),
             "--seed", str(options.seed), "--device", options.device]
    if config.num_classes:
        parts.append("--conditional")
    if options.train_limit:
        parts += ["--limit", str(options.train_limit)]
    if threads:
        parts += ["--threads", str(threads)]
    return " ".join(parts)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or args.lr <= 0 or args.iwae_k < 1:
        raise SystemExit("--epochs, --batch-size, --iwae-k must be >= 1 and --lr > 0")
    if args.threads:
        torch.set_num_threads(args.threads)
    config, options = config_from_args(args), options_from_args(args)
    command = command_line(args.out, config, options, args.threads)
    from tqdm import tqdm

    bar = tqdm(total=0, disable=args.quiet, unit="step", dynamic_ncols=True)

    def show(event: TrainEvent) -> None:
        if event.kind == "step":
            if bar.total != event.steps_per_epoch * event.epochs:
                bar.reset(total=event.steps_per_epoch * event.epochs)
            bar.update(1)
            if event.step % 20 == 0:
                bar.set_postfix(epoch=event.epoch, loss=f"{event.loss:.2f}", elbo=f"{event.elbo:.2f}")
        elif event.kind == "epoch":
            mark = " *saved" if event.improved else ""
            bar.write(
                f"epoch {event.epoch:4d}/{event.epochs}  val ELBO {event.val_elbo:8.3f}  "
                f"val bound {event.val_bound:8.3f}  {event.elapsed_s:7.0f}s{mark}"
            )

    try:
        result = train(config, options, out=args.out, callbacks=[show], train_command=command)
    except KeyboardInterrupt:
        bar.close()
        print(f"\ninterrupted: the last saved checkpoint (if any) in {args.out} is intact",
              file=sys.stderr)
        return 130
    bar.close()
    print(
        f"best epoch {result.best_epoch}: val bound {result.best_val_bound:.3f} nats, "
        f"{result.elapsed_s:.0f}s; saved {result.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
