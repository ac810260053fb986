"""The decoder's weights for the browser: a compact, versioned JSON a plain-JS decoder can run.

The in-browser latent plane (ui/latent_plane/) decodes E[x|z] on every animation frame while the
user drags, with no server round trip; it needs the decoder as numbers, not as a torch module.

Format (version 1), a JSON object:
  format       "latent-explorer-decoder"
  version      1
  latent_dim   D, the size of z
  num_classes  C: 0 for a VAE; for a conditional VAE the decoder's input is z followed by
               one_hot(label) [C], i.e. D + C numbers (vae.model.VAE._with_label's layout)
  image_shape  [C, H, W]; the output has C*H*W pixels, row-major (as model.decode reshapes)
  sizes        [D + C, h_1, ..., h_k, P]: the width of every layer, input first
  activation   a name in vae.model.ACTIVATIONS ("elu" | "relu" | "tanh"; SUPPORTED_IN_BROWSER),
               applied after every Linear except the last
  output       "sigmoid": E[x|z] = sigmoid(last Linear), the Bernoulli means
  dtype        "float32", byte_order "little"
  layers       one per Linear, in order: {"in": n_in, "out": n_out,
                 "weight": base64 of float32 LE [n_out, n_in] row-major (torch's layout),
                 "bias": base64 of float32 LE [n_out]}
  sha256       hex digest of all weight and bias bytes in layer order: a content id, so a
               browser can cache the parsed weights per model and never parse them twice
  params       total number of weights and biases

Pure functions: a model in, a dict / str out; no IO, no streamlit. (The reader side of the format
is the browser's, in ui/latent_plane/plane.js; tests/test_export.py has a numpy one.)
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import numpy as np
import torch
from torch import nn

from .model import ACTIVATIONS, VAE

EXPORT_FORMAT = "latent-explorer-decoder"
EXPORT_VERSION = 1

# The activation names the browser's decoder runs: every one a model can be built with (the
# table in vae/model.py); the export writes the name, ui/latent_plane/plane.js implements each.
SUPPORTED_IN_BROWSER: tuple[str, ...] = tuple(ACTIVATIONS)
_NAME_OF: dict[type[nn.Module], str] = {ACTIVATIONS[name]: name for name in SUPPORTED_IN_BROWSER}


def _b64_float32(array: np.ndarray) -> tuple[str, bytes]:
    """float32 little-endian bytes of `array` (C order) -> (base64 text, the raw bytes)."""
    raw = np.ascontiguousarray(array, dtype="<f4").tobytes()
    return base64.b64encode(raw).decode("ascii"), raw


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
def decoder_export(model: VAE) -> dict[str, Any]:
    """The decoder of `model` as a JSON-ready dict (format above).

    Raises ValueError for a decoder the JS forward pass cannot run: not an MLP of Linear layers
    with one ELU/ReLU/Tanh type between them, an input that is not z (+ a one-hot label), an
    output size that is not the image's pixel count, or non-finite weights.
    """
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
    params = 0
    for layer in linears:
        weight = layer.weight.detach().to("cpu", torch.float32).numpy()  # [out, in]
        bias = layer.bias.detach().to("cpu", torch.float32).numpy()  # [out]
        if not (np.isfinite(weight).all() and np.isfinite(bias).all()):
            raise ValueError("the decoder holds NaN or infinite weights")
        weight_b64, weight_raw = _b64_float32(weight)
        bias_b64, bias_raw = _b64_float32(bias)
        digest.update(weight_raw)
        digest.update(bias_raw)
        params += weight.size + bias.size
        layers.append({"in": layer.in_features, "out": layer.out_features,
                       "weight": weight_b64, "bias": bias_b64})
    # Activation and sizes are part of the identity too (same numbers, other function).
    digest.update(json.dumps([activation, [layers[0]["in"], *(l["out"] for l in layers)]]).encode())
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "latent_dim": latent_dim,
        "num_classes": num_classes,
        "image_shape": list(config.image_shape),
        "sizes": [n_in, *(layer["out"] for layer in layers)],
        "activation": activation,
        "output": "sigmoid",
        "dtype": "float32",
        "byte_order": "little",
        "layers": layers,
        "sha256": digest.hexdigest(),
        "params": int(params),
    }


def decoder_export_json(model: VAE) -> str:
    """`decoder_export(model)` as compact JSON text (about 4/3 bytes per weight byte)."""
    return json.dumps(decoder_export(model), separators=(",", ":"))
