"""ui/static_files.py: content-named files for the browser, dated so that browsers keep them
(Streamlit's static route sends no Cache-Control and never a 304), pruned by when they were
written."""

from __future__ import annotations

import os
import time

import pytest

import ui.static_files as static_files


@pytest.fixture
def gen_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(static_files, "GEN_DIR", tmp_path / "gen")
    return tmp_path / "gen"


def test_a_published_file_is_named_by_its_content_and_dated_for_caching(gen_dir) -> None:
    url = static_files.publish(b"weights", "bin")
    path = gen_dir / f"{static_files.content_id(b'weights')}.bin"
    assert url == f"/app/static/gen/{path.name}" and path.read_bytes() == b"weights"
    # A browser keeps a response without Cache-Control for a tenth of its age (RFC 9111
    # 4.2.2): a file dated 2000 is fresh for years, one dated now for seconds.
    age_years = (time.time() - path.stat().st_mtime) / (365.25 * 86400)
    assert path.stat().st_mtime == static_files.FIXED_MTIME and age_years / 10 > 2
    inode = path.stat().st_ino
    assert static_files.publish(b"weights", "bin") == url and path.stat().st_ino == inode  # not rewritten


def test_a_file_written_before_gets_its_date_when_published_again(gen_dir) -> None:
    gen_dir.mkdir()
    path = gen_dir / f"{static_files.content_id(b'old')}.png"
    path.write_bytes(b"old")  # as an older version wrote it: dated now
    static_files.publish(b"old", "png")
    assert path.stat().st_mtime == static_files.FIXED_MTIME


def test_pruning_drops_the_least_recently_written(gen_dir, monkeypatch) -> None:
    monkeypatch.setattr(static_files, "MAX_FILES", 2)
    names = []
    for blob in (b"first", b"second", b"third"):
        names.append(static_files.publish(blob, "bin").rsplit("/", 1)[1])
        time.sleep(0.02)  # distinct ctimes (every file's mtime is the same fixed date)
    assert sorted(os.listdir(gen_dir)) == sorted(names[1:])
