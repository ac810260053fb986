"""Damaged and hostile checkpoint files in checkpoints/user/: the app lists them as unusable,
never offers them, never unpickles anything, and goes on with the good model (AppTest)."""

from __future__ import annotations

import json
import pickle
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import streamlit as st
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from streamlit.testing.v1 import AppTest

import ui.models
from vae import VAE, VAEConfig
from vae.checkpoint import CHECKPOINT_DIR, CheckpointError, load_checkpoint, save_checkpoint
from test_latent_plane import commit_plane

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
USER_DIR = CHECKPOINT_DIR / "user"  # the tests' copy (tests/conftest.py), never the repo's
SHIPPED_FILE = CHECKPOINT_DIR / "mnist-2d.safetensors"


@contextmanager
def dropped(files: dict[str, bytes]) -> Iterator[dict[str, str]]:
    """Write files into the checkpoint folder's user/ under unique names; yield {key: display name}; always
    remove them again (and the folder, if this made it and it is empty)."""
    made_dir = not USER_DIR.exists()
    USER_DIR.mkdir(parents=True, exist_ok=True)
    tag = uuid.uuid4().hex[:8]
    written: list[Path] = []
    try:
        names = {}
        for key, data in files.items():
            path = USER_DIR / f"zz-hardening-{tag}-{key}.safetensors"
            path.write_bytes(data)
            written.append(path)
            names[key] = f"user/{path.stem}"
        yield names
    finally:
        for path in written:
            path.unlink(missing_ok=True)
        if made_dir:
            try:
                USER_DIR.rmdir()
            except OSError:  # someone else's files are there now
                pass


def _run_app(query: dict[str, str] | None = None) -> AppTest:
    st.cache_data.clear()  # the checks are st.cache_data: start from a clean slate
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _unusable_lines(at: AppTest) -> list[str]:
    """The plain-text lines under the sidebar's "Unusable checkpoints" expander."""
    boxes = [e for e in at.sidebar.get("expander") if e.label.startswith("Unusable checkpoints")]
    assert len(boxes) == 1, [e.label for e in at.sidebar.get("expander")]
    return [t.value for t in boxes[0].get("text")]


def _line_for(lines: list[str], name: str) -> str:
    hits = [line for line in lines if line.startswith(f"{name} — ")]
    assert len(hits) == 1, (name, lines)
    return hits[0]


def test_corrupt_checkpoints_are_listed_unusable_and_the_default_model_works(monkeypatch) -> None:
    good = SHIPPED_FILE.read_bytes()
    reads: Counter[str] = Counter()

    def counting_load(path, *args, **kwargs):
        reads[Path(path).name] += 1
        return load_checkpoint(path, *args, **kwargs)

    monkeypatch.setattr(ui.models, "load_checkpoint", counting_load)
    files = {
        "truncated": good[: len(good) // 2],
        "random": torch.randint(0, 256, (4096,), generator=torch.Generator().manual_seed(0),
                                dtype=torch.uint8).numpy().tobytes(),
        "empty": b"",
    }
    with dropped(files) as names:
        # A link that names a bad file falls back to the default model.
        at = _run_app({"model": names["truncated"]})
        lines = _unusable_lines(at)
        assert "not a readable checkpoint" in _line_for(lines, names["truncated"])
        for key in ("random", "empty"):
            _line_for(lines, names[key])
        assert all("/work/" not in line and str(ROOT) not in line for line in lines)  # no server paths
        picker = at.selectbox(key="model_name")
        assert picker.value == "mnist-2d"
        assert not set(names.values()) & set(picker.options)
        # The default model works: the model card and a decoder step.
        at.switch_page("pages/home.py")
        at.run()
        assert at.title[0].value == "Latent Explorer"
        assert {m.label for m in at.metric} == {"Test ELBO, nats", "Test NLL (IWAE), nats", "5-NN accuracy"}
        at.switch_page("pages/decoder.py")
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        commit_plane(at, "dec_pad", (1.5, 0.0))
        assert not at.exception, [e.value for e in at.exception]
        # The server's picture of E[x|z] names its z (an inline element: ui.images.inline_img).
        assert 'alt="E[x|z] at z = (+1.50, +0.00)"' in " ".join(el.proto.body for el in at.get("html"))
        assert _line_for(_unusable_lines(at), names["random"])  # on every page
        # Each bad file was read once in all those reruns (cached by path and mtime) ...
        bad = {f"{Path(n).name}.safetensors" for n in names.values()}
        assert {k: reads[k] for k in bad} == {k: 1 for k in bad}
        # ... and again once after it changes.
        (USER_DIR / f"{Path(names['random']).name}.safetensors").write_bytes(b"still not a checkpoint")
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert reads[f"{Path(names['random']).name}.safetensors"] == 2
    at.run()  # files gone: the list goes with them
    assert not at.exception
    assert not [e for e in at.sidebar.get("expander")
                if any(n in t.value for t in e.get("text") for n in names.values())]


class _OpensAFile:
    """Unpickling this calls open(marker, "w"): a stand-in for arbitrary code."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickled_checkpoints_named_safetensors_never_run(tmp_path) -> None:
    marker = tmp_path / "pwned"

    def payloads(target: Path) -> dict[str, bytes]:
        raw = pickle.dumps({"state_dict": _OpensAFile(target)})
        torch.save({"state_dict": _OpensAFile(target)}, tmp_path / "zip.pt")  # torch's zip+pickle
        return {"pickle": raw, "torchzip": (tmp_path / "zip.pt").read_bytes()}

    # The trap is real: unpickling either payload does create the file.
    probe = tmp_path / "probe"
    live = payloads(probe)
    pickle.loads(live["pickle"])
    assert probe.exists()
    probe.unlink()
    (tmp_path / "live.pt").write_bytes(live["torchzip"])
    torch.load(tmp_path / "live.pt", weights_only=False)
    assert probe.exists()

    with dropped(payloads(marker)) as names:
        at = _run_app()
        lines = _unusable_lines(at)
        for name in names.values():
            assert "not a readable checkpoint" in _line_for(lines, name)
        assert at.selectbox(key="model_name").value == "mnist-2d"
        assert not set(names.values()) & set(at.selectbox(key="model_name").options)
        at.switch_page("pages/home.py")  # the model card works with the default model
        at.run()
        assert {m.label for m in at.metric} == {"Test ELBO, nats", "Test NLL (IWAE), nats", "5-NN accuracy"}
    assert not marker.exists()


def test_huge_declared_config_is_refused_without_allocating(tmp_path) -> None:
    """A valid file whose config declares 200,000-wide layers (160 GB of weights) is refused
    from the tensor shapes; the model is never built at the declared size."""
    torch.manual_seed(0)
    path = save_checkpoint(tmp_path / "m", VAE(VAEConfig(encoder_hidden=(8,), decoder_hidden=(8,))))
    with safe_open(str(path), framework="pt") as fh:
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}
        meta = dict(fh.metadata())
    config = json.loads(meta["config"])
    config["encoder_hidden"] = [200_000, 200_000]
    save_file(tensors, str(path), metadata={**meta, "config": json.dumps(config)})
    with pytest.raises(CheckpointError, match="does not match its config"):
        load_checkpoint(path)
