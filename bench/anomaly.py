"""Benchmark `anomaly`: out-of-distribution sets (vae/anomaly.py) against the first 1,000 test
digits, for log p(x), the ELBO and the reconstruction error: AUROC and the detection rate at
5 % false alarms (thresholds from 1,000 validation digits), and what each verdict rule flags
among valid test digits."""

from __future__ import annotations

import time

import torch

from vae import load_checkpoint
from vae.anomaly import RULES, detection_table, flag_rate, ood_scores
from vae.quadrature import prior_grid

PER_SET = 300


def run(checkpoint: str = "checkpoints/mnist-2d", per_set: int = PER_SET) -> dict[str, object]:
    torch.set_num_threads(2)
    started = time.perf_counter()
    ckpt = load_checkpoint(checkpoint)
    scores = ood_scores(ckpt, per_set, prior_grid(ckpt.model))
    table = detection_table(scores, 0.05)
    return {"anomaly": {
        "per_set": per_set, "negatives": "first 1,000 test digits", "reference": "first 1,000 validation digits",
        "sets": {name: {det: {"auroc": round(a, 3), "detected_at_5pct": round(d, 3)} for det, (a, d) in row.items()}
                 for name, row in table.items()},
        "rules_flag_test_digits": {rule: {score: round(flag_rate(scores.test[score], scores.reference[score], fa), 3)
                                          for score in ("log p(x)", "ELBO")} for rule, fa in RULES.items()},
        "seconds": round(time.perf_counter() - started, 1)}}


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(per_set=int(sys.argv[1]) if len(sys.argv) > 1 else PER_SET), indent=2))
