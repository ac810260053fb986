"""The one way this project replaces a file: a reader sees the old file or the new one, never a mix.

`atomic_write(path, write)` lets `write` fill a hidden temporary file in the target's folder (the
same file system, so the rename below is atomic), fsyncs it, then `os.replace`s it over the
target. If `write` raises, or the process dies before the rename, the old file is untouched; a
killed process may leave its hidden `.NAME.*.tmp` behind, which no reader mistakes for the file.
Used by checkpoints (vae/checkpoint.py), the MNIST cache (vae/data.py) and saved arrays
(vae/arraycache.py).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], object],
                 mode: int | None = None) -> Path:
    """Write `path` atomically: `write(fh)` fills a temp file beside it, which then replaces it.

    mode: the new file's permission bits (mkstemp makes 0600; e.g. 0o644 for a file meant to be
    shared). Creates the folder if needed. Errors from `write` or the file system propagate,
    with the temp file removed; returns the target's Path.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())  # the bytes are on disk before the name points at them
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target
