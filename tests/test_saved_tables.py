"""vae/model_tables.py and the launcher's prebuild: a model's grid and coding table are built once per
weights, in any process, and found by the others without building again."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from vae import arraycache, gridcoder, load_checkpoint, quadrature, save_checkpoint
from vae import model_tables as tables
from vae.model import VAE, VAEConfig


@pytest.fixture
def small_ckpt(tmp_path, small_model):
    return load_checkpoint(save_checkpoint(tmp_path / "models" / "small", small_model, {}, "test", ""))


def _no_building(monkeypatch) -> None:
    from vae import evaluate

    monkeypatch.setattr(quadrature, "prior_grid", lambda *a, **k: pytest.fail("grid decoded again"))
    monkeypatch.setattr(gridcoder, "coding_table", lambda *a, **k: pytest.fail("table built again"))
    monkeypatch.setattr(evaluate, "train_latent_means", lambda *a, **k: pytest.fail("training set encoded again"))


def test_built_in_one_process_and_found_in_another(small_ckpt, tmp_path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setattr(arraycache, "CACHE_DIR", cache)
    monkeypatch.setenv("LATENT_EXPLORER_CACHE_DIR", str(cache))
    run = subprocess.run([sys.executable, "-m", "vae.model_tables", str(small_ckpt.path), str(tmp_path / "missing")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1 and "grid, coding table, photo reference ready" in run.stdout and "missing" in run.stderr
    with monkeypatch.context() as patched:
        _no_building(patched)
        grid, table = tables.grid_opener(small_ckpt)(), tables.table_opener(small_ckpt)()
    np.testing.assert_array_equal(grid.logits.numpy(), quadrature.prior_grid(small_ckpt.model).logits.numpy())
    np.testing.assert_array_equal(table.counts, gridcoder.coding_table(small_ckpt.model).counts)


def test_a_second_build_into_the_same_cache_leaves_the_work_to_the_first(small_ckpt, tmp_path, monkeypatch) -> None:
    import fcntl

    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("LATENT_EXPLORER_CACHE_DIR", str(cache))
    with open(cache / ".model_tables.lock", "w") as held:  # a build in progress (another replica's)
        fcntl.flock(held, fcntl.LOCK_EX)
        run = subprocess.run([sys.executable, "-m", "vae.model_tables", str(small_ckpt.path)],
                             capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and "leaving the work to it" in run.stdout
    assert sorted(p.name for p in cache.iterdir()) == [".model_tables.lock"]  # nothing built twice
    run = subprocess.run([sys.executable, "-m", "vae.model_tables", str(small_ckpt.path)],  # lock released
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and "ready" in run.stdout and len(list(cache.iterdir())) > 1


def test_same_weights_share_tables_other_weights_do_not(small_ckpt, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(arraycache, "CACHE_DIR", tmp_path / "cache")
    assert tables.build(small_ckpt) == ["grid", "coding table", "photo reference"]
    copy = load_checkpoint(save_checkpoint(tmp_path / "elsewhere" / "copy", small_ckpt.model, {"x": 1.0}, "", ""))
    with monkeypatch.context() as patched:
        _no_building(patched)
        tables.build(copy)  # the same weights under another name: nothing to build
    torch.manual_seed(1)
    other = load_checkpoint(save_checkpoint(tmp_path / "other", VAE(small_ckpt.model.config).eval(), {}, "", ""))
    with monkeypatch.context() as patched, pytest.raises(pytest.fail.Exception, match="decoded again"):
        _no_building(patched)
        tables.build(other)


def test_a_cvae_has_a_grid_per_class_and_no_coding_table(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(arraycache, "CACHE_DIR", tmp_path / "cache")
    torch.manual_seed(0)
    cvae = VAE(VAEConfig(encoder_hidden=(32,), decoder_hidden=(32,), num_classes=10)).eval()
    ckpt = load_checkpoint(save_checkpoint(tmp_path / "cvae", cvae, {}, "", ""))
    assert tables.build(ckpt) == [f"grid {d}" for d in range(10)]
    three = tables.grid_opener(ckpt, 3)().logits
    np.testing.assert_array_equal(three.numpy(), quadrature.prior_grid(cvae.conditioned(3)).logits.numpy())
    assert tables.weights_key(ckpt, None) == tables.weights_key(ckpt, 0)  # a CVAE's view of None is class 0
    with pytest.raises(ValueError, match="unconditional"):
        tables.table_opener(ckpt)


def test_the_launcher_prebuilds_the_checkpoint_folder(small_ckpt, tmp_path, monkeypatch) -> None:
    import ui.server
    from vae import checkpoint

    cache = tmp_path / "cache"
    monkeypatch.setattr(checkpoint, "CHECKPOINT_DIR", small_ckpt.path.parent)
    monkeypatch.setenv("LATENT_EXPLORER_CACHE_DIR", str(cache))
    monkeypatch.setenv("LATENT_EXPLORER_PREBUILD", "0")
    assert ui.server.prebuild_tables() is None
    monkeypatch.setenv("LATENT_EXPLORER_PREBUILD", "1")
    proc = ui.server.prebuild_tables()
    assert proc is not None and proc.wait(timeout=300) == 0
    monkeypatch.setattr(arraycache, "CACHE_DIR", cache)
    _no_building(monkeypatch)
    tables.build(small_ckpt)  # all there already


def test_the_photo_reference_is_the_knn_protocols_and_the_training_set_is_not_kept(small_ckpt, tmp_path,
                                                                                 monkeypatch) -> None:
    """The photo pick's neighbourhoods use evaluate.train_latent_means (the 5-NN protocol's
    reference), saved per weights; making it does not leave the 39 MB training split in memory."""
    from vae import data, evaluate, photo_variants

    monkeypatch.setattr(arraycache, "CACHE_DIR", tmp_path / "cache")
    kept = data._MEMO.get(data.DEFAULT_CACHE, {}).get("train")
    if kept is not None:  # another test of this process read it: start without it
        monkeypatch.delitem(data._MEMO[data.DEFAULT_CACHE], "train")
    arrays = photo_variants.reference_opener(small_ckpt.model)()
    assert "train" not in data._MEMO.get(data.DEFAULT_CACHE, {})
    mu, labels = evaluate.train_latent_means(small_ckpt.model, keep=False)
    np.testing.assert_array_equal(arrays["mu"], mu.numpy())
    np.testing.assert_array_equal(arrays["labels"], labels)
    with monkeypatch.context() as patched:
        _no_building(patched)
        photo_variants.reference_opener(small_ckpt.model)()  # saved: read back
