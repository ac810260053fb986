"""vae/arraycache.py: computed once per key, read back after, recomputed when damaged."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vae.arraycache import cached_array, key_path


def test_computed_once_then_read_back(tmp_path) -> None:
    calls = []

    def compute() -> np.ndarray:
        calls.append(1)
        return np.arange(5, dtype=np.float64) * 1.5

    key = {"what": "demo", "n": 5, "dtype": "float64", "shape": [5]}
    first = cached_array(key, compute, tmp_path)
    second = cached_array(key, compute, tmp_path)  # as a restarted server would
    assert len(calls) == 1 and np.array_equal(first, second)
    assert [p.name for p in tmp_path.iterdir()] == [key_path(key, tmp_path).name]  # no temp files left
    cached_array({**key, "n": 6, "shape": [5]}, compute, tmp_path)  # another key, another file
    assert len(calls) == 2 and len(list(tmp_path.iterdir())) == 2


def test_damaged_or_mismatched_files_are_recomputed(tmp_path) -> None:
    key = {"what": "demo", "dtype": "float64", "shape": [3]}
    path = key_path(key, tmp_path)
    path.write_bytes(b"\x93NUMPY garbage")
    assert cached_array(key, lambda: np.ones(3), tmp_path).tolist() == [1.0, 1.0, 1.0]
    np.save(path, np.zeros(4))  # wrong shape for the key: not trusted
    assert cached_array(key, lambda: np.full(3, 2.0), tmp_path).tolist() == [2.0, 2.0, 2.0]
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)  # a pickle is never loaded
    assert cached_array(key, lambda: np.full(3, 3.0), tmp_path).tolist() == [3.0, 3.0, 3.0]


def test_an_unwritable_cache_still_gives_the_result(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert cached_array({"what": "demo"}, lambda: np.ones(2), blocker / "sub").tolist() == [1.0, 1.0]


def test_weights_hash_is_the_loaded_content(tmp_path) -> None:
    from vae import list_checkpoints, load_checkpoint, save_checkpoint

    path = next(p for p in list_checkpoints() if p.stem == "mnist-2d")
    ckpt = load_checkpoint(path)
    copy = load_checkpoint(save_checkpoint(tmp_path / "copy", ckpt.model, {"other": 1.0}, "x", "y"))
    assert copy.weights_sha256 == ckpt.weights_sha256  # same weights, other file and metadata
    with torch.no_grad():
        copy.model.decoder[0].bias[0] += 1e-3
    assert load_checkpoint(path).weights_sha256 == ckpt.weights_sha256
    del copy.__dict__["weights_sha256"]
    assert copy.weights_sha256 != ckpt.weights_sha256


def test_shipped_folder_is_read_first_and_never_written(tmp_path, monkeypatch) -> None:
    from vae import arraycache

    shipped, cache = tmp_path / "shipped", tmp_path / "cache"
    shipped.mkdir()
    monkeypatch.setattr(arraycache, "SHIPPED_DIR", shipped)
    monkeypatch.setattr(arraycache, "CACHE_DIR", cache)
    key = {"what": "demo", "dtype": "float64", "shape": [2]}
    np.save(key_path(key, shipped), np.array([4.0, 5.0]))
    np.save(key_path(key, cache.mkdir() or cache), np.array([6.0, 7.0]))  # shipped wins
    assert cached_array(key, lambda: np.zeros(2)).tolist() == [4.0, 5.0]
    other = {**key, "n": 1}
    assert cached_array(other, lambda: np.ones(2)).tolist() == [1.0, 1.0]
    assert [p.name for p in shipped.iterdir()] == [key_path(key, shipped).name]  # not written
    assert key_path(other, cache).exists()
    assert arraycache.load_saved(other).tolist() == [1.0, 1.0] and arraycache.load_saved({"what": "x"}) is None


def test_saved_arrays_are_computed_once_then_mapped_for_each_use(tmp_path) -> None:
    from vae.arraycache import saved_arrays

    calls = []

    def compute() -> dict[str, np.ndarray]:
        calls.append(1)
        return {"big": np.arange(12, dtype=np.int32).reshape(3, 4), "small": np.array([0.5])}

    key = {"what": "demo table", "version": 1}
    first = saved_arrays(key, ("big", "small"), compute, tmp_path)()
    again = saved_arrays(key, ("big", "small"), compute, tmp_path)  # another process would do this
    arrays = again()
    assert len(calls) == 1 and len(list(tmp_path.iterdir())) == 2
    assert isinstance(arrays["big"], np.memmap)
    expected = np.arange(12, dtype=np.int32).reshape(3, 4)
    np.testing.assert_array_equal(first["big"], expected)
    np.testing.assert_array_equal(arrays["big"], expected)
    assert arrays["small"].tolist() == [0.5]
    arrays["big"][0, 0] = 99  # copy-on-write: neither the file nor another opening sees it
    assert again()["big"][0, 0] == 0 and len(calls) == 1
    del first, arrays  # (a file damaged in place shows through its mappings; atomic writes never do that)
    # Damaged after the opener was made: computed again, and still right.
    key_path({**key, "part": "big"}, tmp_path).write_bytes(b"\x93NUMPY garbage")
    np.testing.assert_array_equal(again()["big"], expected)
    assert len(calls) == 2
    with pytest.raises(ValueError, match="expected the arrays"):
        saved_arrays({"what": "other"}, ("big", "missing"), compute, tmp_path)


def test_saved_arrays_without_a_writable_cache_are_held_in_memory(tmp_path) -> None:
    from vae.arraycache import saved_arrays

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    opener = saved_arrays({"what": "demo"}, ("a",), lambda: {"a": np.ones(3)}, blocker / "sub")
    assert opener()["a"].tolist() == [1.0, 1.0, 1.0] and not isinstance(opener()["a"], np.memmap)
