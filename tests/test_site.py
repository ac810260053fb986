"""The static explorer (vae/site.py, `python -m vae.site`): the folder it writes for the shipped
model is small and self-contained, carries the model's exact decoder and layers, its scripts
run as classic scripts with the modules' exports, and the browser's GIF encoder and
interpolation agree with Pillow and vae.latent. (The page in real Chromium: tests/e2e/test_site.py.)"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vae import VAE, VAEConfig, load_checkpoint
from vae.checkpoint import CHECKPOINT_DIR, Checkpoint
from vae.export import decoder_bytes, decoder_export
from vae.latent import interpolate
from vae.site import classic_script, main, site_files, site_zip

ROOT = Path(__file__).resolve().parents[1]
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")
MAX_BYTES = 3_000_000


@pytest.fixture(scope="module")
def ckpt() -> Checkpoint:
    return load_checkpoint(CHECKPOINT_DIR / "mnist-2d")


@pytest.fixture(scope="module")
def built(ckpt: Checkpoint, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped model's site, written by the command line as a user would."""
    out = tmp_path_factory.mktemp("site") / "explorer"
    assert main([str(CHECKPOINT_DIR / "mnist-2d"), "--out", str(out), "--zip"]) == 0
    return out


def _data(folder: Path) -> dict:
    text = (folder / "data.js").read_text("ascii")
    return json.loads(re.search(r"globalThis\.__latentSiteData = (.*);\s*$", text, re.S).group(1))


def _node(script: str, stdin: str = "") -> str:
    done = subprocess.run([NODE, "--input-type=module", "-e", script], input=stdin, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_folder_is_small_and_asks_no_server(built: Path) -> None:
    files = {p.name: p for p in built.iterdir()}
    assert {"index.html", "plane.js", "plane.css", "site.js", "site.css", "gif.js", "data.js"} <= set(files)
    total = sum(p.stat().st_size for p in files.values())
    assert total <= MAX_BYTES, f"{total / 1e6:.2f} MB"
    for path in files.values():
        assert not re.search(rb"(?i)\b(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", path.read_bytes()), path.name
    # Everything the page loads is a file of the folder (or inline data).
    page = files["index.html"].read_text("utf-8")
    refs = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert refs, "the page loads its scripts and styles"
    for ref in refs:
        assert ref.startswith("data:") or (built / ref).is_file(), ref
    assert 'type="module"' not in page  # module scripts do not load from file://
    assert '<div class="lp" data-testid="latent-pad-root">' in page  # the component's own markup
    assert (built.parent / "explorer.zip").is_file()


def test_the_data_carries_the_models_exact_decoder_layers_and_card(built: Path, ckpt: Checkpoint) -> None:
    data = _data(built)
    prefix = "data:application/octet-stream;base64,"
    assert data["decoder_src"].startswith(prefix)
    assert base64.b64decode(data["decoder_src"][len(prefix):]) == decoder_bytes(ckpt.model)
    assert data["model"] == decoder_export(ckpt.model)["sha256"]
    kinds = {layer["kind"]: layer for layer in data["layers"]}
    assert set(kinds) == {"picture", "points"}
    picture = Image.open(built / kinds["picture"]["src"])
    assert picture.size == (560, 560)  # 20 x 20 cells of 28 pixels
    points = kinds["points"]
    assert points["count"] == 5000 and len(base64.b64decode(points["src"].split(",", 1)[1])) == 9 * 5000
    card = data["card"]
    assert card["name"] == "mnist-2d" and card["metrics"] == ckpt.metrics
    assert card["config"] == ckpt.config.to_dict() and card["train_command"] == ckpt.train_command
    assert data["plane"]["spacing"] == "linear" and data["plane"]["lo"] < -3 < 3 < data["plane"]["hi"]


def test_the_zip_holds_the_same_files_in_one_folder(ckpt: Checkpoint) -> None:
    files = {"index.html": b"<!doctype html>", "data.js": b"x" * 1000}
    with zipfile.ZipFile(io.BytesIO(site_zip(files, "latent-explorer-mnist-2d"))) as archive:
        assert sorted(archive.namelist()) == ["latent-explorer-mnist-2d/data.js", "latent-explorer-mnist-2d/index.html"]
        assert archive.read("latent-explorer-mnist-2d/data.js") == files["data.js"]


def test_only_a_2d_browser_decodable_model_gets_a_site(tmp_path: Path) -> None:
    config = VAEConfig(latent_dim=3, encoder_hidden=(8,), decoder_hidden=(8,))
    ckpt = Checkpoint(VAE(config).eval(), config, {}, "", "", tmp_path / "x.safetensors")
    with pytest.raises(ValueError, match="2-D"):
        site_files(ckpt, points=0)


def test_the_command_line_reports_a_missing_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main([str(tmp_path / "nope"), "--out", str(tmp_path / "out")]) == 1
    assert "nope" in capsys.readouterr().out
    assert not (tmp_path / "out").exists()


def test_classic_script_rewrites_only_what_it_understands() -> None:
    assert "__default" in classic_script("export default function (c) { return c; }\n", "a.js")
    for bad in ("import { x } from './x.js';\n", "const a = 1;\nexport { a };\n"):
        with pytest.raises(ValueError):
            classic_script(bad, "bad.js")


@needs_node
@pytest.mark.parametrize("name", ["plane.js", "gif.js", "site.js"])
def test_classic_scripts_export_what_their_modules_export(built: Path, name: str) -> None:
    source = ROOT / ("ui/latent_plane" if name == "plane.js" else "vae/site_files") / name
    script = f"""
import * as mod from {json.dumps(source.as_uri())};
import vm from 'node:vm';
import fs from 'node:fs';
vm.runInThisContext(fs.readFileSync({json.dumps(str(built / name))}, 'utf8'));
const classic = globalThis.__latentSiteModules[{json.dumps(name)}];
console.log(JSON.stringify([Object.keys(mod).sort(), Object.keys(classic).sort(),
  Object.keys(mod).filter((k) => typeof mod[k] === 'function'
    && String(mod[k]) !== String(classic[k]).replace(/^function __default */, 'function '))]));
"""
    module_keys, classic_keys, differ = json.loads(_node(script))
    assert classic_keys == module_keys and not differ


@needs_node
def test_the_browsers_interpolation_is_vae_latent_interpolate() -> None:
    cases = [([0.5, -1.0], [2.0, 2.5], 7), ([-2.0, 0.1], [1.5, -0.3], 2), ([1.0, 1.0], [2.0, 2.0], 5),
             ([0.0, 0.0], [1.0, -2.0], 4), ([3.0, -0.5], [-2.9, 0.6], 10)]
    script = f"""
import {{ interpolate }} from {json.dumps((ROOT / 'vae/site_files/site.js').as_uri())};
const cases = {json.dumps(cases)};
console.log(JSON.stringify(['linear', 'slerp'].map((m) => cases.map(([a, b, n]) => interpolate(a, b, n, m)))));
"""
    got = json.loads(_node(script))
    for m, method in enumerate(["linear", "slerp"]):
        for c, (a, b, n) in enumerate(cases):
            np.testing.assert_allclose(got[m][c], interpolate(np.array(a), np.array(b), n, method), atol=1e-12)


@needs_node
def test_the_browsers_gif_decodes_in_pillow_frame_for_frame() -> None:
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (28, 28), dtype=np.uint8) for _ in range(3)]
    frames.append(np.full((28, 28), 37, np.uint8))  # a flat frame, and a smooth one
    frames.append(np.tile(np.arange(28, dtype=np.uint8) * 9, (28, 1)))
    script = f"""
import {{ encodeGif }} from {json.dumps((ROOT / 'vae/site_files/gif.js').as_uri())};
let text = '';
for await (const chunk of process.stdin) text += chunk;
const frames = JSON.parse(text).map((f) => Uint8Array.from(f));
process.stdout.write(Buffer.from(encodeGif(frames, 28, 28, {{ delayMs: 120 }})).toString('base64'));
"""
    blob = base64.b64decode(_node(script, json.dumps([f.reshape(-1).tolist() for f in frames])))
    gif = Image.open(io.BytesIO(blob), formats=["GIF"])
    assert gif.n_frames == len(frames) and gif.size == (28, 28)
    assert gif.info.get("loop") == 0
    for i, frame in enumerate(frames):
        gif.seek(i)
        assert gif.info["duration"] == 120
        np.testing.assert_array_equal(np.asarray(gif.convert("L")), frame)
