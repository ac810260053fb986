"""Heavy bytes for the browser (a decoder's weights, the plane's pictures and point sets) as
static files named by their content hash, so each crosses the network once per browser.

Streamlit serves the folder static/ beside app.py at <base>/app/static/ (`[server]
enableStaticServing` in .streamlit/config.toml) with a Last-Modified date and an ETag but no
Cache-Control, and never answers a revalidation with a 304 (measured: a full 200 every time). So
a browser keeps a file only by the standard heuristic: fresh for a tenth of its age at download
(RFC 9111 §4.2.2). A file written a minute ago was therefore fetched again, whole, on every
revisit (a fresh server's first hour: the 0.8 MB decoder each time). A content-hashed name never
changes meaning, so its date carries nothing: each file is dated FIXED_MTIME (2000-01-01), which
makes it fresh for years in every browser's cache. Files are written atomically (a reader never
sees half a file) into static/gen/ (git-ignored), and the least recently written (by ctime) are
pruned past a cap.
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
FIXED_MTIME = 946_684_800  # 2000-01-01 UTC: a content-named file's Last-Modified (see above)
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
    date_for_caching(path)
    return static_url(filename)


def date_for_caching(path: Path) -> None:
    """Date a content-named file FIXED_MTIME (once; also one written by an older version), so
    that browsers keep it (see above). Its ctime still says when it was written."""
    try:
        if path.stat().st_mtime != FIXED_MTIME:
            os.utime(path, (FIXED_MTIME, FIXED_MTIME))
    except OSError:  # pruned meanwhile by another process: it is written again on next use
        pass


def _prune() -> None:
    """Keep at most MAX_FILES files: the least recently written (ctime: mtime is FIXED_MTIME) go first."""
    files = [p for p in GEN_DIR.iterdir() if p.is_file() and not p.name.startswith(".")]
    if len(files) <= MAX_FILES:
        return
    files.sort(key=lambda p: p.stat().st_ctime)
    for old in files[: len(files) - MAX_FILES]:
        try:
            os.unlink(old)
        except OSError:  # another process pruned it first
            pass
