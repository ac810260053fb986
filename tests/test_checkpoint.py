import json
import pickle

import pytest
import torch
from safetensors.torch import save_file

from vae import VAE
from vae.checkpoint import CheckpointError, load_checkpoint, save_checkpoint, update_metrics


def test_round_trip_keeps_every_weight_config_and_metrics(tmp_path, small_model: VAE) -> None:
    path = save_checkpoint(tmp_path / "m", small_model, metrics={"val_elbo": -99.5},
                           train_command="python -m vae.train --out m", data_sha256="abc")
    assert path.name == "m.safetensors"
    ckpt = load_checkpoint(tmp_path / "m")  # without the suffix
    assert ckpt.config == small_model.config
    assert ckpt.metrics == {"val_elbo": -99.5}
    assert ckpt.train_command == "python -m vae.train --out m" and ckpt.data_sha256 == "abc"
    assert not ckpt.model.training
    original = small_model.state_dict()
    loaded = ckpt.model.state_dict()
    assert set(original) == set(loaded)
    for key in original:
        assert torch.equal(original[key], loaded[key]), key
    # Same function: the same z decodes to the same image.
    z = torch.randn(4, 2)
    torch.testing.assert_close(small_model.decode(z), ckpt.model.decode(z))
    # Full path also works.
    assert load_checkpoint(path).config == small_model.config


def test_no_temp_files_left_and_update_metrics_is_atomic(tmp_path, small_model: VAE) -> None:
    save_checkpoint(tmp_path / "m", small_model, metrics={"a": 1})
    update_metrics(tmp_path / "m", {"b": 2})
    assert load_checkpoint(tmp_path / "m").metrics == {"a": 1, "b": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]


def test_missing_file(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nothing")


def test_truncated_file(tmp_path, small_model: VAE) -> None:
    path = save_checkpoint(tmp_path / "m", small_model)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(path)


def test_random_bytes(tmp_path) -> None:
    path = tmp_path / "r.safetensors"
    path.write_bytes(torch.randint(0, 256, (5000,), dtype=torch.uint8).numpy().tobytes())
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_foreign_safetensors_file(tmp_path) -> None:
    path = tmp_path / "f.safetensors"
    save_file({"w": torch.zeros(3)}, str(path))
    with pytest.raises(CheckpointError, match="not a latent-explorer-vae checkpoint"):
        load_checkpoint(path)


def _rewrite(path, tensors, metadata):
    save_file(tensors, str(path), metadata=metadata)


def _parts(path):
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        return {k: fh.get_tensor(k) for k in fh.keys()}, dict(fh.metadata())


def test_config_that_does_not_match_the_tensors(tmp_path, small_model: VAE) -> None:
    path = save_checkpoint(tmp_path / "m", small_model)
    tensors, meta = _parts(path)
    config = json.loads(meta["config"])
    config["decoder_hidden"] = [32, 32]
    meta["config"] = json.dumps(config)
    _rewrite(path, tensors, meta)
    with pytest.raises(CheckpointError, match="shape"):
        load_checkpoint(path)


def test_missing_and_extra_tensors(tmp_path, small_model: VAE) -> None:
    path = save_checkpoint(tmp_path / "m", small_model)
    tensors, meta = _parts(path)
    missing = dict(tensors)
    missing.pop(next(iter(missing)))
    _rewrite(path, missing, meta)
    with pytest.raises(CheckpointError, match="missing tensors"):
        load_checkpoint(path)
    _rewrite(path, {**tensors, "surprise": torch.zeros(1)}, meta)
    with pytest.raises(CheckpointError, match="unexpected tensors"):
        load_checkpoint(path)


def test_invalid_config_json_and_wrong_version(tmp_path, small_model: VAE) -> None:
    path = save_checkpoint(tmp_path / "m", small_model)
    tensors, meta = _parts(path)
    _rewrite(path, tensors, {**meta, "config": "{not json"})
    with pytest.raises(CheckpointError, match="invalid config"):
        load_checkpoint(path)
    _rewrite(path, tensors, {**meta, "format_version": "99"})
    with pytest.raises(CheckpointError, match="version 99"):
        load_checkpoint(path)


def test_a_pickle_never_runs(tmp_path) -> None:
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps({"state_dict": Evil()}))
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    assert not marker.exists()
