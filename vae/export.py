"""The decoder's weights for the browser: one compact, versioned binary file a plain-JS decoder
can run (ui/latent_plane/plane.js reads it; ui/static_files.py serves it under its content id,
so a browser fetches it once per model version and its HTTP cache keeps it).

The in-browser latent plane decodes E[x|z] on every animation frame while the user drags, with
no server round trip; it needs the decoder as numbers, not as a torch module.

File layout (version 2), little-endian:
  4 bytes      magic b"LXDC"
  uint32       H, the length of the header
  H bytes      the header, UTF-8 JSON (`decoder_export`):
    format       "latent-explorer-decoder", version 2
    latent_dim   D, the size of z
    num_classes  C: 0 for a VAE; for a conditional VAE the decoder's input is z followed by
                 one_hot(label) [C], i.e. D + C numbers (vae.model.VAE._with_label's layout)
    image_shape  [C, H, W]; the output has C*H*W pixels, row-major (as model.decode reshapes)
    sizes        [D + C, h_1, ..., h_k, P]: the width of every layer, input first
    activation   a name in vae.model.ACTIVATIONS (SUPPORTED_IN_BROWSER), after every Linear
                 but the last
    output       "sigmoid": E[x|z] = sigmoid(last Linear), the Bernoulli means
    layers       one per Linear, in order: {"in": n_in, "out": n_out, "dtype": "f32" | "q8"}
                 "q8" where the weights are exactly int8 k times a per-row float32 scale
                 (`quantize_decoder` makes them so; a check below proves it, else "f32")
    sha256       hex digest of the float32 weights and biases in layer order plus the activation
                 and sizes: a content id (the file's name; the browser parses a model once)
    params       total number of weights and biases
  (the header ends in spaces up to a multiple of 4 bytes)
  per layer    f32: weight [n_out, n_in] float32 row-major (torch's layout), then bias [n_out];
               q8: scale [n_out] float32, k [n_out, n_in] int8 (weight = float32(k * scale[row])),
               then bias [n_out] float32; each array padded with zero bytes to a multiple of 4

Pure functions: a model in, a dict / bytes out; no IO, no streamlit.
"""

from __future__ import annotations

import hashlib
import json
import struct
from typing import Any

import numpy as np
import torch
from torch import nn

from .model import ACTIVATIONS, VAE

EXPORT_FORMAT = "latent-explorer-decoder"
EXPORT_VERSION = 2
EXPORT_MAGIC = b"LXDC"

# The activation names the browser's decoder runs: every one a model can be built with (the
# table in vae/model.py); the export writes the name, ui/latent_plane/plane.js implements each.
SUPPORTED_IN_BROWSER: tuple[str, ...] = tuple(ACTIVATIONS)
_NAME_OF: dict[type[nn.Module], str] = {ACTIVATIONS[name]: name for name in SUPPORTED_IN_BROWSER}


def _pad4(raw: bytes) -> bytes:
    return raw + b"\0" * (-len(raw) % 4)


def row_q8(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A weight [out, in] as (scale [out] float32, k [out, in] int8) with k in [-127, 127] and
    scale = float32(max |row| / 127): the per-row symmetric int8 code of it (approximate)."""
    w = np.asarray(weight, np.float32)
    scale = (np.abs(w).max(axis=1) / np.float32(127)).astype(np.float32)  # [out]
    safe = np.where(scale > 0, scale, np.float32(1))
    k = np.clip(np.rint(w / safe[:, None]), -127, 127).astype(np.int8)  # [out, in]
    return scale, k


def _dequant(scale: np.ndarray, k: np.ndarray) -> np.ndarray:
    return (k.astype(np.float32) * scale[:, None]).astype(np.float32)  # float32 products, as the JS


def exact_q8(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """row_q8(weight) if it reproduces `weight` bit for bit (a decoder quantize_decoder made),
    else None: a lossless check, so a browser given the int8 form decodes exactly like torch."""
    scale, k = row_q8(weight)
    return (scale, k) if np.array_equal(_dequant(scale, k), np.asarray(weight, np.float32)) else None


@torch.inference_mode()
def quantize_decoder(model: VAE) -> None:
    """Round the decoder's weights (in place) onto per-row int8 grids, to a fixed point where
    exact_q8 holds, so the export stores them in a quarter of the bytes with no loss. Biases
    stay float32. On the shipped model it moves the mean log p(x) by under 0.01 nats (README)."""
    for layer in _decoder_layers(model)[0]:
        w = layer.weight.detach().cpu().numpy().astype(np.float32)
        for _ in range(8):  # each pass lands on the grid its own maximum defines; 1-2 suffice
            if exact_q8(w) is not None:
                break
            w = _dequant(*row_q8(w))
        if exact_q8(w) is None:
            raise ValueError("quantisation found no fixed point")  # not seen; the export would say f32
        layer.weight.copy_(torch.from_numpy(w))


def _stored(array: np.ndarray, dtype: str = "<f4") -> bytes:
    return _pad4(np.ascontiguousarray(array, dtype=dtype).tobytes())


def _decoder_layers(model: VAE) -> tuple[list[nn.Linear], str]:
    """The decoder's Linear layers and its one activation name; ValueError if the JS decoder
    cannot run it (anything but Linear, act, Linear, ..., act, Linear with a single act type)."""
    decoder = getattr(model, "decoder", None)
    if not isinstance(decoder, nn.Sequential) or len(decoder) == 0:
        raise ValueError("the browser decoder needs model.decoder to be a non-empty nn.Sequential")
    modules = list(decoder)
    linears = modules[0::2]
    activations = modules[1::2]
    if len(modules) % 2 == 0 or not all(isinstance(m, nn.Linear) for m in linears):
        kinds = ", ".join(type(m).__name__ for m in modules)
        raise ValueError(
            f"the browser decoder runs Linear/activation/.../Linear MLPs only; this decoder is [{kinds}]")
    names = set()
    for act in activations:
        name = _NAME_OF.get(type(act))
        if name is None:
            raise ValueError(
                f"the browser decoder has no {type(act).__name__} activation "
                f"(it runs {sorted(SUPPORTED_IN_BROWSER)})")
        if isinstance(act, nn.ELU) and float(act.alpha) != 1.0:
            raise ValueError(f"the browser decoder runs ELU with alpha = 1 only, not {act.alpha}")
        names.add(name)
    if len(names) > 1:
        raise ValueError(f"the browser decoder needs one activation type, this decoder mixes {sorted(names)}")
    for previous, layer in zip(linears[:-1], linears[1:]):
        if previous.out_features != layer.in_features:
            raise ValueError("decoder layer sizes do not chain")
    if any(layer.bias is None for layer in linears):
        raise ValueError("the browser decoder needs every Linear layer to have a bias")
    return linears, (names.pop() if names else "elu")


@torch.inference_mode()
def _export(model: VAE) -> tuple[dict[str, Any], bytes]:
    """(the header, the weights as stored) of `model`'s decoder; see decoder_export."""
    config = model.config
    linears, activation = _decoder_layers(model)
    latent_dim, num_classes = config.latent_dim, config.num_classes
    n_in = linears[0].in_features
    if n_in != latent_dim + num_classes:
        raise ValueError(
            f"the decoder takes {n_in} inputs, not z ({latent_dim}) + a one-hot label ({num_classes}): "
            "an input layout the browser decoder does not know")
    if linears[-1].out_features != config.input_dim:
        raise ValueError(
            f"the decoder outputs {linears[-1].out_features} values, the image has {config.input_dim} pixels")
    digest = hashlib.sha256()
    layers: list[dict[str, Any]] = []
    payload: list[bytes] = []
    params = 0
    for layer in linears:
        weight = layer.weight.detach().to("cpu", torch.float32).numpy()  # [out, in]
        bias = layer.bias.detach().to("cpu", torch.float32).numpy()  # [out]
        if not (np.isfinite(weight).all() and np.isfinite(bias).all()):
            raise ValueError("the decoder holds NaN or infinite weights")
        digest.update(np.ascontiguousarray(weight, "<f4").tobytes())
        digest.update(np.ascontiguousarray(bias, "<f4").tobytes())
        # A quarter of the bytes where it loses nothing: the weights are exactly int8 per row.
        q8 = exact_q8(weight)
        dtype = "q8" if q8 is not None else "f32"
        payload += ([_stored(q8[0]), _stored(q8[1], "i1")] if q8 is not None else [_stored(weight)])
        payload.append(_stored(bias))
        params += weight.size + bias.size
        layers.append({"in": layer.in_features, "out": layer.out_features, "dtype": dtype})
    # Activation and sizes are part of the identity too (same numbers, other function).
    sizes = [n_in, *(layer["out"] for layer in layers)]
    digest.update(json.dumps([activation, sizes]).encode())
    header = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "latent_dim": latent_dim,
        "num_classes": num_classes,
        "image_shape": list(config.image_shape),
        "sizes": sizes,
        "activation": activation,
        "output": "sigmoid",
        "layers": layers,
        "sha256": digest.hexdigest(),
        "params": int(params),
    }
    return header, b"".join(payload)


def decoder_export(model: VAE) -> dict[str, Any]:
    """The header of `model`'s decoder export (format above): sizes, activation, content id.

    Raises ValueError for a decoder the JS forward pass cannot run: not an MLP of Linear layers
    with one ELU/ReLU/Tanh type between them, an input that is not z (+ a one-hot label), an
    output size that is not the image's pixel count, or non-finite weights.
    """
    return _export(model)[0]


def decoder_bytes(model: VAE) -> bytes:
    """The whole export file (format above) of `model`'s decoder; ValueError as decoder_export."""
    header, payload = _export(model)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 4)  # JSON may end in blanks: the weights start 4-byte aligned
    return EXPORT_MAGIC + struct.pack("<I", len(text)) + text + payload


def main(argv: list[str] | None = None) -> int:
    """`python -m vae.export quantize CHECKPOINT...`: put each checkpoint's decoder on per-row
    int8 grids (quantize_decoder), rewritten atomically. Its recorded metrics belong to the old
    weights, so they are dropped: run `python -m vae.evaluate CHECKPOINT --save` after."""
    import argparse

    from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint

    parser = argparse.ArgumentParser(prog="python -m vae.export", description=main.__doc__)
    parser.add_argument("command", choices=["quantize"])
    parser.add_argument("checkpoints", nargs="+")
    args = parser.parse_args(argv)
    for path in args.checkpoints:
        try:
            ckpt = load_checkpoint(path)
            before = len(decoder_bytes(ckpt.model))
            quantize_decoder(ckpt.model)
            extra = {**ckpt.extra, "decoder_weights": "int8 per row, float32 scales (vae.export.quantize_decoder)"}
            kept = {k: v for k, v in ckpt.metrics.items() if not k.startswith(("val_", "test_"))}
            save_checkpoint(ckpt.path, ckpt.model, kept, ckpt.train_command, ckpt.data_sha256, extra)
        except (CheckpointError, ValueError) as exc:
            print(f"{path}: {exc}")
            return 1
        print(f"{ckpt.name}: decoder file {before / 1e6:.2f} MB -> {len(decoder_bytes(ckpt.model)) / 1e6:.2f} MB; "
              "metrics dropped: run python -m vae.evaluate with --save")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
