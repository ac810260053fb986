"""The browser's decoder (ui/latent_plane/plane.js, run here by node) against the model's own
decode, for every shipped checkpoint; the activation names the browser runs against
vae.model.ACTIVATIONS. (The JS unit tests, tests/js/, run on `node --test` from make test.)"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from vae import list_checkpoints, load_checkpoint
from vae.checkpoint import checkpoint_name
from vae.export import SUPPORTED_IN_BROWSER, decoder_bytes

ROOT = Path(__file__).resolve().parents[1]
PLANE_JS = ROOT / "ui" / "latent_plane" / "plane.js"
SHIPPED = [p for p in list_checkpoints(ROOT / "checkpoints") if "user" not in p.parts]
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

# Reads {file: base64 of the export file, zs: [[z1, z2, label]...]} on stdin, prints the decoded
# images as JSON (the browser's own reader and forward pass).
_RUN = """
import { makeDecoder, parseDecoder, ACTIVATIONS } from %s;
let text = '';
for await (const chunk of process.stdin) text += chunk;
const { file, zs } = JSON.parse(text);
if (!file) { console.log(JSON.stringify(Object.keys(ACTIVATIONS))); process.exit(0); }
const bytes = Buffer.from(file, 'base64');
const dec = makeDecoder(parseDecoder(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)));
console.log(JSON.stringify(zs.map(([a, b, y]) => Array.from(dec.forward(a, b, y)))));
"""


def _node(payload: dict) -> object:
    script = _RUN % json.dumps(PLANE_JS.as_uri())
    done = subprocess.run([NODE, "--input-type=module", "-e", script], input=json.dumps(payload),
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout)


def test_the_browser_runs_exactly_the_exportable_activations() -> None:
    assert sorted(_node({"file": None})) == sorted(SUPPORTED_IN_BROWSER)


@pytest.mark.parametrize("path", SHIPPED, ids=[checkpoint_name(p) for p in SHIPPED])
def test_browser_decode_matches_the_model(path: Path) -> None:
    model = load_checkpoint(path).model
    classes = model.config.num_classes
    rng = np.random.default_rng(0)
    zs = [[float(a), float(b), int(rng.integers(classes)) if classes else None]
          for a, b in rng.uniform(-4, 4, size=(12, 2))]
    file = base64.b64encode(decoder_bytes(model)).decode("ascii")
    got = np.array(_node({"file": file, "zs": zs}))  # [12, 784]
    with torch.inference_mode():
        for row, (a, b, y) in zip(got, zs):
            want = model.conditioned(y).decode(torch.tensor([[a, b]], dtype=torch.float32))
            np.testing.assert_allclose(row, want.reshape(-1).numpy(), atol=1e-3)

