"""Backend latency (median / p95 over many calls) on the shipped checkpoint, one torch thread
(as in the app: `bench.run` imports ui.server, the app's process settings, before torch)."""

from __future__ import annotations

import io
import statistics
import threading
import time
from typing import Callable

import numpy as np
import torch
from PIL import Image, ImageDraw

from vae import load_checkpoint
from vae.latent import decode_grid, decode_one, encode_images
from vae.preprocess import prepare_image


def timings(fn: Callable[[], object], repeat: int, warmup: int = 3, idle_s: float = 0.0,
            other_thread: bool = False) -> dict[str, float]:
    """{p50, p95} in ms of `repeat` calls after `warmup` untimed ones. idle_s: each timed call
    comes after an untimed pause of that length (as a call between user actions does);
    other_thread: all of it runs in a thread other than the main one (as Streamlit runs
    scripts), where torch.set_num_threads from the main thread does not reach OpenMP."""
    samples: list[float] = []

    def measure() -> None:
        for _ in range(warmup):
            fn()
        for _ in range(repeat):
            if idle_s:
                time.sleep(idle_s)
            start = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - start) * 1000.0)

    if other_thread:
        worker = threading.Thread(target=measure)
        worker.start()
        worker.join()
    else:
        measure()
    return summarize(samples)


def summarize(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"p50": round(statistics.median(ordered), 3), "p95": round(p95, 3), "n": len(ordered)}


def photo_of_a_digit(size: int = 1000) -> bytes:
    """A 1000x1000 JPEG of a dark digit on light, slightly noisy paper (a phone-photo stand-in)."""
    rng = np.random.default_rng(0)
    paper = (225 + rng.normal(0, 6, (size, size))).clip(0, 255).astype(np.uint8)
    img = Image.fromarray(paper, "L").convert("RGB")
    ImageDraw.Draw(img).line([(300, 250), (700, 250), (450, 800)], fill=(30, 30, 40), width=70)
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def run(checkpoint: str = "checkpoints/mnist-2d") -> dict[str, object]:
    torch.set_num_threads(1)  # as the app does (ui/server.py): tiny ops, parallel sessions
    model = load_checkpoint(checkpoint).model
    jpeg = photo_of_a_digit()
    results: dict[str, object] = {
        "decode_ms": timings(lambda: decode_one(model, (0.5, -0.3)), repeat=500),
        # The call as a slider step makes it: in a script thread, after a pause. With OpenMP's
        # default of two threads in such a thread (see ui/server.py) it took 10 ms.
        "decode_after_idle_ms": timings(lambda: decode_one(model, (0.5, -0.3)), repeat=60, idle_s=0.03,
                                        other_thread=True),
        "grid20_ms": timings(lambda: decode_grid(model, 20), repeat=100),
        "grid40_ms": timings(lambda: decode_grid(model, 40), repeat=50),
        "upload_to_mu_ms": timings(lambda: encode_images(model, prepare_image(jpeg, model)), repeat=100),
    }
    try:  # the exact posterior grid (issue 4); absent in older trees
        from vae.data import load_mnist
        from vae.quadrature import exact_posterior, prior_grid

        x = load_mnist("test")[0][0].astype(np.float32) / 255.0
        prior = prior_grid(model)  # cached per model in the app (the prior's bulk, decoded once)
        results["quadrature_ms"] = timings(lambda: exact_posterior(model, x, prior), repeat=30)
    except ImportError:
        pass
    return results


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
