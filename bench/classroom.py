"""A class on one machine (`python -m bench.run classroom`): many human-paced sessions through
HAProxy to N replicas (deploy/serve.py, the deployment `make serve` starts), then a ramp against
one replica to find how many sessions it holds.

Sessions are protocol-level (bench/protocol.py): the browser's own decoder messages, recorded
once in Chromium, replayed over each session's websocket, with the images of every run fetched
over HTTP, as a browser does. Each session, like a student:
- arrives at a random time in the first ARRIVAL_S seconds; its first visit is the decoder page's
  HTML (which sets the proxy's sticky cookie) with the JS and CSS it names, the websocket, and
  the page's first run, z from the link;
- then, every 1-3 s (PACE_S, uniform), moves z1 by one slider step (an arrow key), or now and
  then (VISIT_P) opens another page and comes back to the decoder on its next move.

Reported (key `classroom`): sessions, replicas, seconds; errors (timeouts, failed runs,
exceptions or st.error on a page, a decoder that showed another z than sent; target 0);
p50 / p95 of the replies (one script run: message sent -> run finished and its images
fetched; every run counts, first runs and page visits included), and the same for moves only,
for page visits and for first visits (HTML, assets, websocket, first run); RSS per replica
(MB, at the end and the peak); and `one_replica`: the ramp (RAMP sessions in steps of STEP_S
seconds, directly against one replica, sessions kept and added at each step) with each step's
p95, stopped at the first step whose p95 is over 1 s or that has errors; `max_sessions_p95_1s`
is the last step that held. The load generator runs on the same machine as the replicas;
load_avg_1m says how busy the machine was otherwise.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from deploy.serve import launched

from .backend import summarize
from .browser import copy_checkpoints, rss_mb
from .chromium import free_port
from .protocol import STEP, ProtocolSession, record_decoder, set_z

SESSIONS = 100
REPLICAS = 2
SECONDS = 150.0  # the whole run, arrivals included
ARRIVAL_S = 30.0
PACE_S = (1.0, 3.0)
VISIT_P = 0.06
PAGES = ["", "model", "manifold", "interpolate", "encode", "generate"]  # the decoder's neighbours
RAMP = (10, 20, 30, 40, 50, 60, 80, 100)
STEP_S = 30.0  # per ramp step: ARRIVAL_STEP_S of arrivals, then measured
ARRIVAL_STEP_S = 6.0
P95_LIMIT_MS = 1000.0
MODEL = "mnist-2d"


@dataclass
class Log:
    """What the sessions of a run saw, appended from their threads (list.append is atomic)."""
    replies: list[tuple[float, float, str]] = field(default_factory=list)  # (t done, ms, kind)
    first_visits: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    replicas: list[str] = field(default_factory=list)  # the replica each session's first visit met


def _student(url: str, template, seed: int, delay: float, stop: threading.Event, log: Log) -> None:  # noqa: ANN001
    rng = random.Random(seed)
    if stop.wait(delay):
        return
    z1, z2 = round(rng.uniform(-2, 2) / STEP) * STEP, round(rng.uniform(-2, 2) / STEP) * STEP
    direction = rng.choice((-1, 1))
    session = ProtocolSession(url, timeout_s=30.0)

    def record(run, kind: str, expect_z1: float | None = None) -> None:  # noqa: ANN001
        if not run.ok:
            log.errors.append(f"{kind}: no reply ({'timeout' if session.timeouts else session.last_failure})")
            return
        log.replies.append((time.monotonic(), run.ms, kind))
        if run.exceptions or run.error_alerts:
            log.errors.append(f"{kind}: {run.exceptions} exceptions, {run.error_alerts} errors shown")
        if expect_z1 is not None and (run.shown_z1 is None or abs(run.shown_z1 - expect_z1) > 1e-3):
            log.errors.append(f"{kind}: showed z1 {run.shown_z1}, sent {expect_z1}")

    try:
        query = f"model={MODEL}&z1={z1:.2f}&z2={z2:.2f}"
        start = time.perf_counter()
        session.load_page("decoder", query, assets=True)
        session.connect()
        run = session.first_run("decoder", query, template=template)
        record(run, "first", z1)
        if run.ok:
            log.first_visits.append((time.perf_counter() - start) * 1000)
        log.replicas.append(session.replica or "direct")
        on = "decoder"
        move = type(template)()
        move.CopyFrom(template)
        del move.rerun_script.cached_message_hashes[:]  # a fresh client: nothing cached
        while not stop.wait(rng.uniform(*PACE_S)):
            query = f"model={MODEL}&z1={z1:.2f}&z2={z2:.2f}"
            if on != "decoder":
                on = "decoder"
                record(session.visit("decoder", query), "visit /decoder")
            elif rng.random() < VISIT_P:
                on = rng.choice(PAGES)
                record(session.visit(on, f"model={MODEL}"), f"visit /{on}")
            else:
                if abs(z1 + direction * STEP) > 3.9:
                    direction = -direction
                z1 = round(z1 + direction * STEP, 2)
                move.rerun_script.query_string = query  # the URL before the move, as the browser sends it
                set_z(move, z1, z2)
                record(session.run(move), "move", z1)
    except Exception as exc:  # noqa: BLE001 - a session that breaks is an error, not a crash
        log.errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        try:
            session.close()
        except Exception:  # noqa: BLE001
            pass


def _summary(ms: list[float]) -> dict[str, float | int | None]:
    if not ms:
        return {"p50": None, "p95": None, "n": 0}
    s = summarize(ms)
    return {"p50": round(s["p50"], 1), "p95": round(s["p95"], 1), "n": s["n"]}


def _students(url: str, template, count: int, arrival_s: float, stop: threading.Event, log: Log,  # noqa: ANN001
              first_seed: int = 0) -> list[threading.Thread]:
    threads = []
    for i in range(count):
        delay = random.Random(10_000 + first_seed + i).uniform(0, arrival_s)
        t = threading.Thread(target=_student, args=(url, template, first_seed + i, delay, stop, log), daemon=True)
        t.start()
        threads.append(t)
    return threads


def _class(url: str, template, pids: dict[str, int]) -> dict[str, object]:  # noqa: ANN001
    log, stop = Log(), threading.Event()
    peak = {name: 0.0 for name in pids}
    started = time.monotonic()
    threads = _students(url, template, SESSIONS, ARRIVAL_S, stop, log)
    while time.monotonic() - started < SECONDS:
        time.sleep(5)
        for name, pid in pids.items():
            peak[name] = max(peak[name], rss_mb(pid))
        print(f"[classroom] {time.monotonic() - started:.0f} s: {len(log.replies)} replies, "
              f"{len(log.errors)} errors", flush=True)
    rss_end = {name: rss_mb(pid) for name, pid in pids.items()}
    stop.set()
    for t in threads:
        t.join(60)
    everything = [ms for _, ms, _ in log.replies]
    return {
        "sessions": SESSIONS, "replicas": len(pids), "seconds": SECONDS, "arrival_s": ARRIVAL_S,
        "errors": len(log.errors), "error_examples": sorted(set(log.errors))[:5],
        "sessions_per_replica": {name: log.replicas.count(name) for name in sorted(set(log.replicas))},
        "replies": len(everything), "p50": _summary(everything)["p50"], "p95": _summary(everything)["p95"],
        "moves_ms": _summary([ms for _, ms, kind in log.replies if kind == "move"]),
        "visits_ms": _summary([ms for _, ms, kind in log.replies if kind.startswith("visit")]),
        "first_visit_ms": _summary(log.first_visits),
        "rss_mb_per_replica": rss_end, "rss_mb_per_replica_peak": peak,
    }


def _ramp(url: str, template, pid: int) -> dict[str, object]:  # noqa: ANN001
    """Sessions against one replica, more at each step; each step's replies after its arrivals."""
    log, stop = Log(), threading.Event()
    steps, threads, held = [], [], 0
    try:
        for level in RAMP:
            errors_before = len(log.errors)
            threads += _students(url, template, level - len(threads), ARRIVAL_STEP_S, stop, log,
                                 first_seed=100_000 + len(threads))
            t0 = time.monotonic() + ARRIVAL_STEP_S
            time.sleep(STEP_S)
            window = [ms for t, ms, _ in log.replies if t >= t0]
            s = _summary(window)
            step = {"sessions": level, "p50": s["p50"], "p95": s["p95"], "replies": s["n"],
                    "errors": len(log.errors) - errors_before, "rss_mb": rss_mb(pid),
                    "error_examples": sorted(set(log.errors[errors_before:]))[:3]}
            steps.append(step)
            print(f"[classroom] one replica, {level} sessions: {step}", flush=True)
            if step["errors"] or s["p95"] is None or s["p95"] > P95_LIMIT_MS:
                break
            held = level
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    return {"steps": steps, "max_sessions_p95_1s": held, "step_s": STEP_S, "p95_limit_ms": P95_LIMIT_MS}


def run() -> dict[str, object]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    load_before = round(os.getloadavg()[0], 1)
    with tempfile.TemporaryDirectory(prefix="latent-explorer-classroom-") as tmp:
        models = copy_checkpoints(Path(tmp) / "checkpoints")  # the shipped models, no user/ ones
        with launched(REPLICAS, port, Path(tmp) / "run", env={"LATENT_EXPLORER_CHECKPOINT_DIR": str(models)}) as state:
            pids = {r["name"]: r["pid"] for r in state["replicas"]}
            template = record_decoder(url)
            for r in state["replicas"]:  # each replica's first model load before the clock starts
                with ProtocolSession(f"http://127.0.0.1:{r['port']}") as warm:
                    warm.connect()
                    warm.first_run("decoder", f"model={MODEL}", template=template)
            result = _class(url, template, pids)
            time.sleep(5)
            first = state["replicas"][0]
            result["one_replica"] = _ramp(f"http://127.0.0.1:{first['port']}", template, first["pid"])
            result["haproxy_rss_mb"] = rss_mb(state["haproxy_pid"])
    result["interactions_per_session_per_s"] = round(1 / statistics.mean(PACE_S), 2)
    # The machine's 1-minute load average before and after (other work on it skews the figures).
    result["load_avg_1m"] = {"before": load_before, "after": round(os.getloadavg()[0], 1)}
    return {"classroom": result}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
