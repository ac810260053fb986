"""`kill -9` of `python -m vae.train` never leaves a half-written checkpoint in place of a good one.

Saves write a hidden temporary file in the same folder, fsync it and rename it over the target,
so a reader sees the old file or the new one, never a mix. A process killed mid-save can leave
its hidden `.NAME.safetensors.*.tmp` behind; those never count as checkpoints.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from vae import VAE, VAEConfig
from vae.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
TMP_NAME = re.compile(r"^\.k\.safetensors\..+\.tmp$")
RUNS = 6


def _version(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns


def _check_folder(folder: Path, target: Path) -> int:
    """Only the checkpoint and hidden temp files of killed saves; the checkpoint loads.
    Returns how many temp files there are."""
    names = sorted(p.name for p in folder.iterdir())
    strays = [n for n in names if n != target.name and not TMP_NAME.match(n)]
    assert not strays, names
    if target.exists():
        ckpt = load_checkpoint(target)  # raises CheckpointError if half-written
        assert ckpt.config.encoder_hidden == (64,)
        assert list_checkpoints(folder) == [target]  # temp files are not checkpoints
    else:
        assert list_checkpoints(folder) == []
    return len(names) - target.exists()


@pytest.mark.timeout(240)
def test_kill_9_at_random_moments_never_leaves_a_half_written_checkpoint(tmp_path: Path) -> None:
    rng = random.Random(20240607)
    target = tmp_path / "k.safetensors"
    command = [sys.executable, "-m", "vae.train", "--out", str(tmp_path / "k"), "--epochs", "40",
               "--limit", "2000", "--encoder-hidden", "64", "--decoder-hidden", "64", "--quiet",
               "--threads", "1"]
    started = time.monotonic()
    versions_seen, kills_after_save, kills_early = 0, 0, 0
    for run in range(RUNS):
        # A third of the kills land early (imports, data loading: nothing written by this run),
        # the rest at a random moment after this run's first save (epochs end every ~0.3 s
        # and save when the validation bound improves, so most moments are near a save).
        early = run > 0 and rng.random() < 1 / 3
        delay = rng.uniform(0.2, 2.5) if early else rng.uniform(0.0, 1.5)
        before = _version(target)
        proc = subprocess.Popen(command + ["--seed", str(run)], cwd=ROOT, env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            spawned = time.monotonic()
            saved_at = None
            last = before
            while proc.poll() is None:
                now = time.monotonic()
                version = _version(target)
                if version != last:  # a new file was renamed into place: it must load whole
                    last = version
                    versions_seen += 1
                    load_checkpoint(target)
                    saved_at = saved_at or now
                if early and now - spawned >= delay:
                    break
                if saved_at is not None and now - saved_at >= delay:
                    break
                assert now - spawned < 90, "training wrote no checkpoint within 90 s"
                time.sleep(0.01)
            finished = proc.poll() is not None
            proc.send_signal(signal.SIGKILL)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(30)
        stderr = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
        assert finished or proc.returncode == -signal.SIGKILL, stderr[-2000:]
        if finished:
            assert proc.returncode == 0, stderr[-2000:]
        kills_early += early
        kills_after_save += not early and not finished
        temps = _check_folder(tmp_path, target)
        print(f"run {run}: {'early' if early else 'after a save'} +{delay:.2f}s, "
              f"{versions_seen} versions seen so far, {temps} temp files")
    elapsed = time.monotonic() - started
    print(f"{RUNS} runs in {elapsed:.1f}s: {kills_early} early kills, {kills_after_save} after a save, "
          f"{versions_seen} checkpoint versions seen, all loadable")
    assert target.exists() and kills_after_save >= 3 and versions_seen >= kills_after_save


CHILD = textwrap.dedent("""
    import os, sys, time
    import torch
    from vae import VAE, VAEConfig
    from vae import checkpoint

    def stuck(src, dst):  # the temp file is written and fsynced; the rename never comes
        print("WRITTEN", src, flush=True)
        time.sleep(600)

    checkpoint.os.replace = stuck
    torch.manual_seed(1)
    checkpoint.save_checkpoint(sys.argv[1], VAE(VAEConfig(encoder_hidden=(64,), decoder_hidden=(64,))))
""")


@pytest.mark.timeout(120)
def test_kill_9_between_write_and_rename_keeps_the_old_checkpoint(tmp_path: Path) -> None:
    """The worst moment, made certain: the new file is written but not yet renamed."""
    torch.manual_seed(0)
    target = save_checkpoint(tmp_path / "k", VAE(VAEConfig(encoder_hidden=(64,), decoder_hidden=(64,))))
    good = target.read_bytes()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path / "k")], cwd=ROOT, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("WRITTEN"), proc.stderr.read()
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        proc.stdout.close()
        proc.stderr.close()
    temp = Path(line.split(" ", 1)[1].strip())
    assert temp.parent == tmp_path and TMP_NAME.match(temp.name) and temp.exists()
    assert target.read_bytes() == good  # untouched
    assert load_checkpoint(target).config.encoder_hidden == (64,)
    assert _check_folder(tmp_path, target) == 1
    assert list_checkpoints(tmp_path) == [target]
