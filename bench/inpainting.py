"""Benchmark `inpainting`: the exact completion (vae/inpaint.py) against the baselines
(vae/inpaint_baselines.py) on the binarised test digits (the evaluation protocol's draw).

- bottom half missing, the first N_INPAINT test digits: mean log-likelihood of the true missing
  pixels (nats per digit, each method's per-pixel probabilities, clipped to [1e-6, 1 - 1e-6])
  and pixel accuracy there; the exact method's joint log p(x_missing | x_obs) = log p(x) -
  log p(x_obs) beside it;
- flip noise at rho = 0.1 and 0.2 on the first N_NOISE digits: pixel accuracy after denoising.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from vae import load_checkpoint
from vae import inpaint_baselines as base
from vae.data import fixed_binarization
from vae.inpaint import channel_grid, mask, posterior
from vae.quadrature import prior_grid, quadrature_log_px

N_INPAINT = 1000
N_NOISE = 300
RHOS = (0.1, 0.2)


def _exact(model, x: np.ndarray, observed: np.ndarray, rho: float, prior) -> tuple[np.ndarray, np.ndarray]:
    seen = channel_grid(prior, observed, rho)
    posts = [posterior(model, xi.reshape(28, 28), observed, rho, prior, seen, view_n=4) for xi in x]
    return np.stack([p.mean.reshape(784) for p in posts]), np.array([p.log_evidence for p in posts])


def run(checkpoint: str = "checkpoints/mnist-2d", n_inpaint: int = N_INPAINT, n_noise: int = N_NOISE) -> dict[str, object]:
    torch.set_num_threads(2)
    started = time.perf_counter()
    model = load_checkpoint(checkpoint).model
    prior = prior_grid(model)
    test = fixed_binarization("test", seed=0)[0][:, 0].reshape(-1, 784).numpy().astype(np.float64)
    train = fixed_binarization("train", seed=0)[0][:, 0].reshape(-1, 784).numpy()
    mean_image = train.mean(axis=0)
    observed = mask("bottom half missing")
    missing = ~observed.reshape(784)
    x = test[:n_inpaint]

    exact, log_obs = _exact(model, x, observed, 0.0, prior)
    log_px = quadrature_log_px(model, x.astype(np.float32), prior).numpy()
    methods = {
        "exact p(z | x_obs) by quadrature": exact,
        "encoder, zero-filled": base.encoder_fill(model, x, observed, 0.0),
        "encoder, mean-filled": base.encoder_fill(model, x, observed, mean_image),
        "pseudo-Gibbs with the encoder, 50 iterations": base.pseudo_gibbs(model, x, observed, mean_image, 50),
        "nearest training image (k = 1)": base.nearest_neighbours(train, x, observed, k=1),
        "10 nearest training images": base.nearest_neighbours(train, x, observed, k=10),
    }
    inpaint = {name: dict(zip(("loglik_nats", "accuracy"), (round(v, 3) for v in base.scores(p, x, missing))))
               for name, p in methods.items()}
    exact_ll = inpaint["exact p(z | x_obs) by quadrature"]["loglik_nats"]
    beaten = {name: r["loglik_nats"] < exact_ll for name, r in inpaint.items() if not name.startswith("exact")}

    rng = np.random.default_rng(0)
    noise: dict[str, object] = {}
    everything = np.ones((28, 28), bool)
    for rho in RHOS:
        clean = test[:n_noise]
        noisy = np.where(rng.random(clean.shape) < rho, 1.0 - clean, clean)
        denoised, _ = _exact(model, noisy, everything, rho, prior)
        guesses = {"exact p(z | y) by quadrature": denoised, "the noisy image itself": noisy,
                   "3 x 3 median filter": base.median3(noisy),
                   "encoder on the noisy image": base.encoder_fill(model, noisy, everything)}
        noise[f"rho={rho}"] = {name: round(base.scores(p, clean, everything)[1], 4) for name, p in guesses.items()}

    return {"inpainting": {
        "bottom_half": {"n_digits": len(x), "missing_pixels": int(missing.sum()), "methods": inpaint,
                        "exact_joint_loglik_nats": round(float((log_px - log_obs).mean()), 3)},
        "exact_beats_every_baseline_on_loglik": all(beaten.values()), "beaten": beaten,
        "denoising_accuracy": noise, "n_noise_digits": n_noise,
        "seconds": round(time.perf_counter() - started, 1),
    }}


if __name__ == "__main__":
    import json
    import sys

    limit = int(sys.argv[1]) if len(sys.argv) > 1 else N_INPAINT
    print(json.dumps(run(n_inpaint=limit, n_noise=min(limit, N_NOISE)), indent=2))
