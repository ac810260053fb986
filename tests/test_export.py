"""The decoder export for the browser: format, sizes, and a numpy re-implementation of the
exported weights that must decode exactly like model.decode."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from vae import VAE, VAEConfig
from vae.export import (
    EXPORT_FORMAT, EXPORT_VERSION, SUPPORTED_IN_BROWSER, decoder_bytes, decoder_export, quantize_decoder,
)
from vae.model import ACTIVATIONS
from vae.train import build_parser

ROOT = Path(__file__).resolve().parent.parent

Z = np.array([[0.0, 0.0], [1.5, -2.0], [-3.9, 3.9], [4.0, 4.0], [0.3, 0.01], [-1.0, -1.0]], dtype=np.float32)


def load_export(raw: bytes) -> tuple[dict[str, Any], list[tuple[np.ndarray, np.ndarray]]]:
    """(header, the (weight [out, in], bias [out]) float32 pairs) of an export file, checked
    against its sizes: a reader written from the format's description alone (the browser has its
    own, in JS)."""
    if raw[:4] != b"LXDC" or len(raw) < 8:
        raise ValueError("not a decoder file")
    (length,) = struct.unpack("<I", raw[4:8])
    data = json.loads(raw[8:8 + length].decode("utf-8"))
    if data.get("format") != EXPORT_FORMAT or data.get("version") != EXPORT_VERSION:
        raise ValueError(f"not a {EXPORT_FORMAT} v{EXPORT_VERSION} export")
    at, pairs = 8 + length, []

    def take(n: int, dtype: str) -> np.ndarray:  # the next n items, then padding to 4 bytes
        nonlocal at
        size = np.dtype(dtype).itemsize
        if at + n * size > len(raw):
            raise ValueError("layer byte length does not match its sizes")
        out = np.frombuffer(raw, dtype, n, at)
        at += n * size + (-(n * size) % 4)
        return out

    for layer in data["layers"]:
        n_in, n_out = int(layer["in"]), int(layer["out"])
        if layer["dtype"] == "q8":  # weight = float32(k * scale[row])
            scale = take(n_out, "<f4")
            weight = (take(n_in * n_out, "i1").reshape(n_out, n_in).astype(np.float32) * scale[:, None]).astype(np.float32)
        else:
            weight = take(n_in * n_out, "<f4").reshape(n_out, n_in)
        pairs.append((weight, take(n_out, "<f4")))
    if at != len(raw):
        raise ValueError("bytes left over after the last layer")
    return data, pairs


# Written out by hand, not taken from torch: what the browser's plane.js computes.
_NUMPY_ACTIVATIONS = {
    "elu": lambda h: np.where(h > 0, h, np.expm1(np.minimum(h, 0))),
    "relu": lambda h: np.maximum(h, 0),
    "tanh": np.tanh,
}


def decode_numpy(raw: bytes, z: np.ndarray, label: int | None = None) -> np.ndarray:
    """E[x|z(, label)] from an export file in numpy float64: z [N, D] -> [N, P]; `label` only
    (and always) for a conditional decoder, as one_hot(label) [C] after z."""
    data, pairs = load_export(raw)
    h = np.asarray(z, dtype=np.float64).reshape(-1, int(data["latent_dim"]))
    num_classes = int(data.get("num_classes", 0))
    if (label is not None) != (num_classes > 0):
        raise ValueError("pass a label for a conditional decoder, and only then")
    if num_classes:
        h = np.concatenate([h, np.tile(np.eye(num_classes)[label], (len(h), 1))], axis=1)  # [N, D + C]
    for i, (weight, bias) in enumerate(pairs):
        h = h @ weight.astype(np.float64).T + bias  # [N, out]
        if i < len(pairs) - 1:
            h = _NUMPY_ACTIVATIONS[data["activation"]](h)
    return 1.0 / (1.0 + np.exp(-h))


def test_one_table_of_activations_for_model_cli_export_and_browser() -> None:
    assert set(ACTIVATIONS) == {"elu", "relu", "tanh"} == set(SUPPORTED_IN_BROWSER) == set(_NUMPY_ACTIVATIONS)
    cli = next(a for a in build_parser()._actions if a.dest == "activation")
    assert set(cli.choices) == set(ACTIVATIONS)
    plane_js = ROOT / "ui" / "latent_plane" / "plane.js"
    if plane_js.exists():  # the browser's decoder implements exactly these
        block = re.search(r"export const ACTIVATIONS = \{(.*?)\n\};", plane_js.read_text(), re.S)
        assert block is not None, "plane.js: no ACTIVATIONS table"
        assert set(re.findall(r"^\s*(\w+):", block.group(1), re.M)) == set(ACTIVATIONS)


def _torch_decode(model: VAE, z: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return model.decode(torch.from_numpy(z)).reshape(len(z), -1).numpy()


def test_export_header_and_sizes(small_model: VAE) -> None:
    data = decoder_export(small_model)
    assert data["format"] == EXPORT_FORMAT and data["version"] == EXPORT_VERSION
    assert data["sizes"] == [2, 64, 64, 784]
    assert data["latent_dim"] == 2 and data["num_classes"] == 0 and data["image_shape"] == [1, 28, 28]
    assert data["activation"] == "elu" and data["output"] == "sigmoid"
    assert [(layer["in"], layer["out"], layer["dtype"]) for layer in data["layers"]] == [
        (2, 64, "f32"), (64, 64, "f32"), (64, 784, "f32")]
    assert data["params"] == sum(p.numel() for p in small_model.decoder.parameters())
    raw = decoder_bytes(small_model)
    (length,) = struct.unpack("<I", raw[4:8])
    assert length % 4 == 0 and len(raw) == 8 + length + 4 * data["params"]  # float32, nothing else
    assert load_export(raw)[0] == data


def test_weights_round_trip_exactly(small_model: VAE) -> None:
    _, pairs = load_export(decoder_bytes(small_model))
    linears = [m for m in small_model.decoder if isinstance(m, nn.Linear)]
    for (weight, bias), layer in zip(pairs, linears, strict=True):
        assert np.array_equal(weight, layer.weight.detach().numpy())  # [out, in], torch's layout
        assert np.array_equal(bias, layer.bias.detach().numpy())


def test_a_quantised_decoder_is_stored_in_a_quarter_of_the_bytes_and_decodes_the_same(small_model: VAE) -> None:
    before_bytes, before = len(decoder_bytes(small_model)), _torch_decode(small_model, Z)
    quantize_decoder(small_model)
    data = decoder_export(small_model)
    assert [layer["dtype"] for layer in data["layers"]] == ["q8", "q8", "q8"]
    raw = decoder_bytes(small_model)
    assert len(raw) < 0.3 * before_bytes  # int8 weights plus a float32 scale per row
    # The export is lossless: the browser's weights are torch's, number for number.
    linears = [m for m in small_model.decoder if isinstance(m, nn.Linear)]
    for (weight, bias), layer in zip(load_export(raw)[1], linears, strict=True):
        assert np.array_equal(weight, layer.weight.detach().numpy()) and np.array_equal(bias, layer.bias.detach().numpy())
    assert np.abs(decode_numpy(raw, Z) - _torch_decode(small_model, Z)).max() < 1e-5
    # Quantising moved each weight by at most half a step of its row's grid.
    assert np.abs(_torch_decode(small_model, Z) - before).max() < 0.1
    quantize_decoder(small_model)  # a fixed point: quantising again changes nothing
    assert decoder_bytes(small_model) == raw


def test_a_weight_off_the_grid_is_stored_as_float32(small_model: VAE) -> None:
    quantize_decoder(small_model)
    with torch.no_grad():
        small_model.decoder[0].weight[0, 0] += 1e-4  # no longer k * scale
    assert [layer["dtype"] for layer in decoder_export(small_model)["layers"]] == ["f32", "q8", "q8"]
    assert np.abs(decode_numpy(decoder_bytes(small_model), Z) - _torch_decode(small_model, Z)).max() < 1e-5


def test_numpy_decode_of_the_export_matches_model_decode(small_model: VAE) -> None:
    assert np.abs(decode_numpy(decoder_bytes(small_model), Z) - _torch_decode(small_model, Z)).max() < 1e-5


def test_shipped_checkpoint_export_matches_model_decode(shipped) -> None:
    raw = decoder_bytes(shipped.model)
    assert decoder_export(shipped.model)["sizes"][0] == 2
    assert np.abs(decode_numpy(raw, Z) - _torch_decode(shipped.model, Z)).max() < 1e-5


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_other_activations_export_and_match(activation: str) -> None:
    torch.manual_seed(1)
    model = VAE(VAEConfig(encoder_hidden=(16,), decoder_hidden=(32,), activation=activation)).eval()
    assert decoder_export(model)["activation"] == activation
    assert np.abs(decode_numpy(decoder_bytes(model), Z) - _torch_decode(model, Z)).max() < 1e-5


def test_conditional_decoder_takes_z_then_a_one_hot_label() -> None:
    torch.manual_seed(2)
    model = VAE(VAEConfig(encoder_hidden=(16,), decoder_hidden=(32, 32), num_classes=10)).eval()
    data, raw = decoder_export(model), decoder_bytes(model)
    assert data["num_classes"] == 10 and data["latent_dim"] == 2 and data["sizes"][0] == 12
    for label in (0, 3, 9):
        with torch.inference_mode():
            expected = model.decode(torch.from_numpy(Z), label).reshape(len(Z), -1).numpy()
        assert np.abs(decode_numpy(raw, Z, label) - expected).max() < 1e-5
    with pytest.raises(ValueError, match="label"):
        decode_numpy(raw, Z)


def test_content_id_tracks_the_weights(small_model: VAE) -> None:
    first = decoder_export(small_model)["sha256"]
    assert decoder_export(small_model)["sha256"] == first  # deterministic
    with torch.no_grad():
        small_model.decoder[0].bias[0] += 1.0
    assert decoder_export(small_model)["sha256"] != first


def test_refuses_a_decoder_the_browser_cannot_run(small_model: VAE) -> None:
    small_model.decoder[1] = nn.GELU()
    with pytest.raises(ValueError, match="no GELU activation"):
        decoder_export(small_model)
    small_model.decoder = nn.Sequential(nn.Linear(2, 784), nn.Sigmoid())
    with pytest.raises(ValueError, match="Linear/activation"):
        decoder_export(small_model)
    small_model.decoder = nn.Sequential(nn.Linear(2, 8), nn.ELU(alpha=0.5), nn.Linear(8, 784))
    with pytest.raises(ValueError, match="alpha"):
        decoder_export(small_model)
    small_model.decoder = nn.Sequential(nn.Linear(2, 8), nn.ELU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 784))
    with pytest.raises(ValueError, match="mixes"):
        decoder_export(small_model)
    small_model.decoder = nn.Sequential(nn.Linear(12, 8), nn.ELU(), nn.Linear(8, 784))  # 12 inputs, C = 0
    with pytest.raises(ValueError, match="input layout"):
        decoder_export(small_model)
    small_model.decoder = nn.Sequential(nn.Linear(2, 8), nn.ELU(), nn.Linear(8, 100))
    with pytest.raises(ValueError, match="784 pixels"):
        decoder_export(small_model)


def test_refuses_non_finite_weights(small_model: VAE) -> None:
    with torch.no_grad():
        small_model.decoder[0].weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        decoder_export(small_model)


def test_load_export_rejects_foreign_or_truncated_data(small_model: VAE) -> None:
    raw = decoder_bytes(small_model)
    with pytest.raises(ValueError, match="not a decoder file"):
        load_export(b"PK\x03\x04" + raw[4:])
    with pytest.raises(ValueError, match="byte length"):
        load_export(raw[:-8])
    with pytest.raises(ValueError, match="left over"):
        load_export(raw + b"\0" * 4)
