"""ui/server.py: the process settings app.py applies. The malloc settings are checked by their
effect, in fresh processes: memory freed by a worker thread goes back to the kernel."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# In a worker thread (as Streamlit runs each script), allocate and free 8 MiB blocks a few
# times, then print how much more resident memory the process holds than before (MiB).
_PROBE = """
import sys, threading
sys.path.insert(0, {root!r})
if {tune}:
    from ui.server import tune_malloc
    assert tune_malloc()
import ctypes
def rss():
    return int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1]) / 1024
def work():
    for _ in range(4):
        blocks = [bytearray(8 << 20) for _ in range(4)]
        small = [bytearray(1000) for _ in range(100)]  # pins the heap's top, as real work does
        del blocks
    work.keep = small
before = rss()
t = threading.Thread(target=work); t.start(); t.join()
print(rss() - before)
"""


def _retained_mib(tune: bool) -> float:
    out = subprocess.run([sys.executable, "-c", _PROBE.format(root=str(ROOT), tune=tune)],
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc only")
def test_tuned_malloc_gives_freed_blocks_back() -> None:
    untuned, tuned = _retained_mib(False), _retained_mib(True)
    assert tuned < 4, tuned
    assert untuned > tuned + 8, (untuned, tuned)  # the default keeps them (the probe is fair)


def test_configure_process_sets_one_torch_thread() -> None:
    import torch

    from ui import server

    before = torch.get_num_threads()
    server._configured = False
    try:
        server.configure_process()
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


# In a fresh process: import (or not) ui first, then torch; ask OpenMP, in a new thread (as
# Streamlit runs each rerun), how many threads an op there would use.
_OPENMP_PROBE = """
import sys, threading, ctypes, os
sys.path.insert(0, {root!r})
os.environ.pop("OMP_NUM_THREADS", None)
if {ui_first}:
    import ui  # noqa: F401
import torch
torch.set_num_threads(1)  # in this (main) thread only
gomp = next(line.split()[-1] for line in open('/proc/self/maps') if 'libgomp' in line)
out = []
t = threading.Thread(target=lambda: out.append(ctypes.CDLL(gomp).omp_get_max_threads()))
t.start(); t.join()
print(out[0])
"""


def _openmp_threads_in_a_new_thread(ui_first: bool) -> int:
    out = subprocess.run([sys.executable, "-c", _OPENMP_PROBE.format(root=str(ROOT), ui_first=ui_first)],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux") or (os.cpu_count() or 1) < 2,
                    reason="needs Linux (/proc/self/maps) and 2+ cores to tell 1 thread from the default")
def test_every_thread_uses_one_openmp_thread_once_ui_is_imported() -> None:
    assert _openmp_threads_in_a_new_thread(ui_first=False) >= 2  # the trap: set_num_threads is per thread
    assert _openmp_threads_in_a_new_thread(ui_first=True) == 1
