"""Process-wide settings for the Streamlit server: OpenMP's thread count on import (before torch
loads), the rest applied once by app.py before any page runs.

Why they exist (measured with bench/browser.py's rss_mb, after visiting every page once):
- glibc's malloc gives each thread that contends for the heap its own arena (up to 8 per core)
  and raises its mmap threshold every time a large block is freed. Streamlit runs every session's
  script in a fresh thread and our pages make tens of MB of short-lived tensors (encoding the
  test set, decoding a quadrature grid), so freed memory piled up in many arenas: the server held
  1.34 GB after one visit to each page. With at most two arenas, blocks of 1 MiB and more taken
  from (and handed straight back to) the kernel, and the heap trimmed above 1 MiB, it holds what
  the caches really keep.
- One intra-op thread for torch: the app's tensors are tiny (one z, a 40x40 grid) and sessions
  run in parallel threads; with two threads per op a busy machine made one decode 44 ms instead
  of 0.2 ms (OpenMP threads waiting on each other).
- ...in every thread. torch.set_num_threads(1) reaches only the thread that calls it: Streamlit
  runs each rerun (a fragment's too) in a new thread, where OpenMP still used two threads, and
  after a pause between two slider steps the sleeping second one made a 0.25 ms decode take
  10 ms. OMP_NUM_THREADS=1, set before torch (and its OpenMP runtime) loads, is every thread's
  default. This module sets it on import; `ui/__init__.py` imports it first, so any page or
  app.py that imports from ui/ does so before torch. (A training job from the Train page runs
  in its own process, vae/jobs.py, which inherits the setting: one core, the other left to the
  sessions.)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
import sys

# Before torch is imported anywhere in this process (see the module docstring).
os.environ.setdefault("OMP_NUM_THREADS", "1")

# glibc <malloc.h> parameter numbers for mallopt().
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8

MALLOC_ARENAS = 2
MALLOC_MMAP_THRESHOLD = 1 << 20  # bytes: a 1600 x 512 float32 activation (3.3 MB) is mmapped
MALLOC_TRIM_THRESHOLD = 1 << 20

_configured = False


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt  # noqa: B018 - glibc only (musl has no mallopt)
    except (OSError, AttributeError):
        return None
    return libc


def tune_malloc() -> bool:
    """At most MALLOC_ARENAS arenas, blocks >= 1 MiB mmapped, heap trimmed above 1 MiB.
    False where there is no glibc malloc to tune."""
    libc = _libc()
    if libc is None:
        return False
    return all(libc.mallopt(param, value) == 1 for param, value in (
        (_M_ARENA_MAX, MALLOC_ARENAS),
        (_M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD),
        (_M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD),
    ))


def configure_process() -> None:
    """Malloc and thread settings for a long-lived server (idempotent)."""
    global _configured
    if _configured:
        return
    _configured = True
    import torch

    torch.set_num_threads(1)
    tune_malloc()


APP = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "app.py")


def warm_imports() -> None:
    """Import torch and every backend module now, in the server's main thread, so the first
    visitor's page does not wait for them (torch alone takes 1.5-2 s here; a cold Typicality
    visit spent most of its time importing). Nothing of Streamlit's runtime is touched."""
    import importlib
    import pkgutil

    import vae

    for module in pkgutil.iter_modules(vae.__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"vae.{module.name}")
    import plotly.graph_objects  # noqa: F401 - the charts' builder, imported by several pages


def prebuild_tables() -> subprocess.Popen | None:
    """Start `python -m vae.model_tables` at the lowest priority for the checkpoints in the checkpoint
    folder (the default model first): their grids and coding tables are built into the array
    cache before most first visits need them (Compress's first visit on a fresh clone waited
    ~4 s for its coding grid), in a process of its own, so none of its transient memory (a
    160 MB float64 decode) stays with the server. A second start finds the files: ~2 s of one
    core at nice 19, then it exits. LATENT_EXPLORER_PREBUILD=0 turns it off."""
    if os.environ.get("LATENT_EXPLORER_PREBUILD", "1") == "0":
        return None
    from vae.checkpoint import CHECKPOINT_DIR, DEFAULT_MODEL, SUFFIX

    shipped = sorted(CHECKPOINT_DIR.glob(f"*{SUFFIX}"), key=lambda p: (p.stem != DEFAULT_MODEL, p.name))
    if not shipped:
        return None
    return subprocess.Popen([sys.executable, "-m", "vae.model_tables", "--nice", "19", *map(str, shipped)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def command(port: int, address: str = "127.0.0.1") -> list[str]:
    """The one command line that starts the app (`make run`'s, a benchmark's, a test's, each
    replica of `make serve`): this module as the launcher, headless, no file watcher."""
    return [sys.executable, "-m", "ui.server", "--server.port", str(port), "--server.address", address,
            "--server.headless", "true", "--server.fileWatcherType", "none",
            "--browser.gatherUsageStats", "false"]


def main(argv: list[str] | None = None) -> None:
    """`python -m ui.server [streamlit options]`: `streamlit run app.py [options]` in a process
    whose settings are applied and heavy imports done before the server listens."""
    configure_process()
    warm_imports()
    from streamlit.web.cli import main as streamlit_main

    from ui.shell import use_app_navigation

    use_app_navigation()  # app.py's st.navigation from the first request (ui/shell.py)
    prebuild_tables()

    sys.argv = ["streamlit", "run", APP, *(sys.argv[1:] if argv is None else argv)]
    streamlit_main(prog_name="streamlit")


if __name__ == "__main__":  # run as a script this file is a second copy: use the package's
    from ui.server import main as _main

    _main()
