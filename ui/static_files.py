"""Heavy bytes for the browser (a decoder's weights, the plane's pictures and point sets) as
static files named by their content hash, so each crosses the network once per browser.

Streamlit serves the folder static/ beside app.py at <base>/app/static/ (`[server]
enableStaticServing` in .streamlit/config.toml) with an ETag: a browser that has a file answers
the next page visit, or a reload, with a 304 of a few hundred bytes. A content-hashed name never
changes meaning, so a cached copy is never stale. Files are written atomically (a reader never
sees half a file) into static/gen/ (git-ignored), and the oldest are pruned past a cap.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import streamlit as st

from vae.atomic import atomic_write

ROOT = Path(__file__).resolve().parents[1]
STATIC_DIR = ROOT / "static"
GEN_DIR = STATIC_DIR / "gen"
MAX_FILES = 2000  # pictures per grid size, spacing and model: a few hundred at most in practice
_SUFFIXES = {"png", "bin", "js", "css"}


def content_id(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def static_url(name: str) -> str:
    """The URL path of static/gen/<name> on this server (its base path included)."""
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    return "/" + "/".join(part for part in (base, "app/static/gen", name) if part)


def publish(data: bytes, suffix: str, name: str | None = None) -> str:
    """Write `data` as static/gen/<name or content id>.<suffix> unless it is there already;
    returns its URL path. `name` must itself identify the content (e.g. a decoder's sha256)."""
    if suffix not in _SUFFIXES:
        raise ValueError(f"suffix must be one of {sorted(_SUFFIXES)}")
    filename = f"{name or content_id(data)}.{suffix}"
    if not filename[:-len(suffix) - 1].isalnum():
        raise ValueError("a static file's name is a hex content id")
    path = GEN_DIR / filename
    if not path.exists():
        GEN_DIR.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda fh: fh.write(data), mode=0o644)
        _prune()
    return static_url(filename)


def _prune() -> None:
    """Keep at most MAX_FILES files: the least recently written go first."""
    files = [p for p in GEN_DIR.iterdir() if p.is_file() and not p.name.startswith(".")]
    if len(files) <= MAX_FILES:
        return
    files.sort(key=lambda p: p.stat().st_mtime)
    for old in files[: len(files) - MAX_FILES]:
        try:
            os.unlink(old)
        except OSError:  # another process pruned it first
            pass
