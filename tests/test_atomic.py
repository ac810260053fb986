"""vae/atomic.py: a write that fails half-way leaves the old file as it was and no temp file.

A process killed with SIGKILL between writing and renaming (the worst moment) is tested through
the checkpoint writer, which uses atomic_write: tests/test_kill_training.py."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from vae.atomic import atomic_write


def test_a_write_replaces_the_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "f.bin"  # the folder is made
    atomic_write(target, lambda fh: fh.write(b"old"))
    atomic_write(target, lambda fh: fh.write(b"new"), mode=0o644)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["f.bin"]


def test_an_exception_mid_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    target.write_bytes(b"old contents")

    def half_then_fail(fh) -> None:  # noqa: ANN001
        fh.write(b"half of the new")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        atomic_write(target, half_then_fail)
    assert target.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]  # the temp file is gone
