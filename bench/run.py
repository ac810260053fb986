"""`make bench`: every benchmark, merged into bench/results.json (times in ms unless _s).

    python -m bench.run                  # all sections (about 15 minutes on 2 cores)
    python -m bench.run backend browser  # only some sections; others keep their last values

Sections: quality (the shipped checkpoints' recorded test metrics, from `vae.evaluate --save`,
beside published 2-D anchors), backend, browser, pad (in-browser decoder), train (training
speed against a reference loop), photos (synthetic phone photos of digits: 5-NN accuracy, time),
cold (a fresh server with an empty cache: the Typicality page and every page's first visit),
classroom (100 human-paced sessions through HAProxy to 2 replicas, then one replica's capacity).
"""

from __future__ import annotations

import ui.server  # noqa: F401 - first: the app's process settings (OMP_NUM_THREADS) before torch loads

import importlib
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
SECTIONS = ("quality", "backend", "browser", "pad", "train", "photos", "cold", "compression", "inpainting",
            "anomaly", "classroom")

# Davidson et al. (2018), "Hyperspherical Variational Auto-Encoders", Table 1, d = 2,
# dynamically binarised MNIST, negative log-likelihood in nats.
ANCHORS = {"gaussian_vae_2d": 135.73, "hyperspherical_vae_2d": 132.50}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    return (f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.machine()}, "
            f"Python {platform.python_version()}, torch {torch.__version__}, no GPU used")


def quality() -> dict[str, object]:
    from vae import list_checkpoints, load_checkpoint

    out: dict[str, object] = {"anchors_nll": ANCHORS, "models": {}}
    for path in list_checkpoints():
        if "user" in path.parts:
            continue
        ckpt = load_checkpoint(path)
        m = ckpt.metrics
        out["models"][ckpt.name] = {k: m.get(f"test_{k}") for k in
                                    ("nll_iwae", "iwae_k", "elbo", "knn5_accuracy", "n_images")}
        out["models"][ckpt.name]["train_time_s"] = ckpt.extra.get("train_time_s")
    main = out["models"].get("mnist-2d", {})
    out.update({"nll_iwae": main.get("nll_iwae"), "elbo": main.get("elbo"),
                "knn5_accuracy": main.get("knn5_accuracy")})
    return out


def pad() -> dict[str, object]:
    try:
        from bench.pad import measure_pad  # provided with the latent pad
    except ImportError:
        return {}
    from bench.browser import start_server, stop_server, wait_health
    from bench.chromium import free_port

    port = free_port()
    server = start_server(port)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_health(url)
        return measure_pad(url)
    finally:
        stop_server(server)


def run(sections: list[str]) -> dict[str, object]:
    results: dict[str, object] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in sections:
        start = time.perf_counter()
        print(f"[bench] {name} ...", flush=True)
        if name == "quality":
            results.update(quality())
        elif name == "backend":
            from bench import backend

            results.update(backend.run())
        elif name == "browser":
            from bench import browser

            results.update(browser.run())
        elif name == "pad":
            results.update(pad())
        elif name == "train":
            from bench import train_speed

            results.update(train_speed.run())
        elif name in ("photos", "cold", "compression", "inpainting", "anomaly", "classroom"):  # bench/<name>.py
            results.update(importlib.import_module(f"bench.{name}").run())
        print(f"[bench] {name} done in {time.perf_counter() - start:.0f}s", flush=True)
        results["measured_at"] = {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                  "machine": machine(),
                                  "command": "make bench (python -m bench.run " + " ".join(sections) + ")"}
        RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return results


def main(argv: list[str]) -> int:
    sections = argv or list(SECTIONS)
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        print(f"unknown sections {unknown}; choose from {SECTIONS}", file=sys.stderr)
        return 2
    results = run(sections)
    print(json.dumps({k: v for k, v in results.items() if k != "models"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
