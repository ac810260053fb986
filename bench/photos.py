"""Photos of paper (`python -m bench.run photos`): 5-NN accuracy of the default model on synthetic
phone photos (tests/photo_digits.py) through `vae.preprocess.prepare_image(data, model)` (the
model picks among a few shapings of each digit: vae.photo_variants) and the encoder.

- photo_knn5_accuracy: the share of photos whose latent mean's 5 nearest training latent means
  (vae.evaluate's knn5 protocol) vote for the digit photographed; also by style (fonts, strokes)
  and by digit (where the 2-D latent's own weak classes show: MNIST's 4, 9, 3, 5, 8)
- photo_set_size, photo_sizes_px: how many photos, and their longest sides
- photo_ms: time per photo, bytes -> [1, 28, 28] (median / p95), one torch thread
- photo_fixed_knn5_accuracy: the same photos through prepare_image without a model (one fixed
  shaping, MNIST's mean slant): what the model's choice adds
- photo_clean_knn5_accuracy: the same digits rendered flat (black on white, no light, paper or
  camera): what the digits themselves allow, so the gap is what the photo costs
"""

from __future__ import annotations

import io
import time
from dataclasses import replace

import numpy as np
import torch

from vae import load_checkpoint
from vae.evaluate import knn_accuracy, train_latent_means
from vae.latent import encode_images
from vae.preprocess import ImageError, prepare_image

from .backend import summarize

SEED = 7  # the test (tests/test_photos.py) uses seed 0: the benchmark's photos are others


def photo_accuracy(model, photos, reference: tuple[torch.Tensor, np.ndarray], choose: bool = True  # noqa: ANN001
                   ) -> tuple[float, np.ndarray, list[float]]:
    """(5-NN accuracy, per-photo correctness [N] bool, ms per photo) of `photos` (Photo); a photo
    prepare_image refuses (ImageError) counts as wrong. choose: prepare_image gets the model (it
    picks the shaping), else prepares without one."""
    xs, ms, refused = [], [], []
    for photo in photos:
        start = time.perf_counter()
        try:
            xs.append(prepare_image(photo.data, model if choose else None))  # [1, 28, 28]
            refused.append(False)
        except ImageError:
            xs.append(torch.zeros(1, 28, 28))
            refused.append(True)
        ms.append((time.perf_counter() - start) * 1000.0)
    mu = torch.from_numpy(encode_images(model, torch.stack(xs))[0])  # [N, 2]
    labels = np.array([p.label for p in photos])
    correct = np.array([not refused[i] and knn_accuracy(mu[i : i + 1], labels[i : i + 1], *reference) == 1.0
                        for i in range(len(photos))])
    return float(correct.mean()), correct, ms


def _flat(photo) -> bytes:  # noqa: ANN001 - tests.photo_digits.Photo
    """The photo's digit alone: same seed, so the same glyph, rotation and perspective, drawn
    black on white (no light, paper, blur, noise or JPEG)."""
    from tests.photo_digits import flat_digit

    buffer = io.BytesIO()
    flat_digit(photo.seed, photo.label, photo.sizes, photo.style).save(buffer, "PNG")
    return buffer.getvalue()


def run(n: int = 600, checkpoint: str = "checkpoints/mnist-2d", seed: int = SEED) -> dict[str, object]:
    from tests.photo_digits import STYLES, photo_set

    torch.set_num_threads(1)  # as the app (ui/server.py)
    model = load_checkpoint(checkpoint).model
    reference = train_latent_means(model)
    photos = photo_set(n, seed=seed)
    accuracy, correct, ms = photo_accuracy(model, photos, reference)
    styles = np.array([p.style for p in photos])
    labels = np.array([p.label for p in photos])
    flat = [replace(p, data=_flat(p)) for p in photos]
    clean_accuracy, clean, _ = photo_accuracy(model, flat, reference)
    fixed_accuracy, fixed, _ = photo_accuracy(model, photos, reference, choose=False)
    sides = [max(p.size) for p in photos]
    return {
        "photo_knn5_accuracy": round(accuracy, 4),
        "photo_knn5_accuracy_by_style": {s: round(float(correct[styles == s].mean()), 4) for s in STYLES},
        "photo_knn5_accuracy_by_digit": {str(d): round(float(correct[labels == d].mean()), 4) for d in range(10)},
        "photo_fixed_knn5_accuracy": round(fixed_accuracy, 4),
        "photo_fixed_knn5_accuracy_by_style": {s: round(float(fixed[styles == s].mean()), 4) for s in STYLES},
        "photo_clean_knn5_accuracy": round(clean_accuracy, 4),
        "photo_clean_knn5_accuracy_by_style": {s: round(float(clean[styles == s].mean()), 4) for s in STYLES},
        "photo_set_size": len(photos),
        "photo_sizes_px": [min(sides), max(sides)],
        "photo_ms": summarize(ms),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
