"""`python -m vae.site checkpoints/NAME --out DIR`: the explorer as a static folder, no server.

The folder holds index.html (vae/site_files/site.html with the latent plane's markup), the
app's one latent-plane component (ui/latent_plane/plane.js and plane.css, copied at build time),
the page's own site.js and site.css, a small GIF encoder (gif.js), the manifold picture and
data.js: the decoder's weights (vae/export.py's file) and the data's means as data: URLs, the
layers (vae/scenes.py, as the app's pages draw them) and the model card (name, config, metrics
recorded in the checkpoint, training command). Open index.html from disk (file://) or put the
folder on any static host: the browser decodes E[x|z] itself and asks no server for anything.

Browsers refuse module scripts and fetch() of files under file://, so the ES modules are
rewritten as classic scripts (`classic_script`: the same code, its exports gathered into
globalThis.__latentSiteModules) and the binary payloads travel as data: URLs (fetch() of a
data: URL is allowed from any page). The app offers the same folder as a zip on its model card
(`site_zip`).
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint import PROJECT_ROOT, Checkpoint
from .export import decoder_bytes, decoder_export
from .latent import Spacing, decode_grid, encode_images
from .plane import Layer, Plane
from .scenes import manifold_layer, means_layer

SITE_FILES = Path(__file__).resolve().parent / "site_files"
PLANE_DIR = PROJECT_ROOT / "ui" / "latent_plane"
MODULES = "__latentSiteModules"
PAD_PX = 560  # the plane's side on a wide screen (a 20 x 20 manifold at one pixel per pixel)

_IMPORT = re.compile(r"^\s*import\b", re.M)
_EXPORT_DEFAULT = re.compile(r"^export\s+default\s+function\b", re.M)
_EXPORT = re.compile(r"^export\s+(?:async\s+function\*?|function\*?|const|let|var|class)\s+([A-Za-z_$][\w$]*)", re.M)
_LEFT = re.compile(r"^\s*export\b", re.M)


def classic_script(source: str, name: str) -> str:
    """An ES module without imports -> a classic script that runs the same code and puts its
    exports in globalThis.__latentSiteModules[name] (default: the default export): what a
    page opened from file:// can load with <script src>. ValueError for a module this simple
    rewrite does not handle (imports, `export { ... }` lists)."""
    if _IMPORT.search(source):
        raise ValueError(f"{name}: a module with imports cannot be rewritten as a classic script")
    names = _EXPORT.findall(source)
    body = _EXPORT.sub(lambda m: m.group(0)[len("export"):].lstrip(), source)
    has_default = bool(_EXPORT_DEFAULT.search(body))
    body = _EXPORT_DEFAULT.sub("function __default", body)
    if _LEFT.search(body):
        raise ValueError(f"{name}: an export this rewrite does not handle")
    exported = ", ".join([*names, *(["default: __default"] if has_default else [])])
    return (f"// {name}: built by vae/site.py from an ES module (the same code as a classic script:\n"
            "// browsers refuse module scripts under file://); its exports are in "
            f"globalThis.{MODULES}[{name!r}].\n"
            "(function () {\n'use strict';\n" + body.rstrip() + "\n"
            f"(globalThis.{MODULES} ||= {{}})[{json.dumps(name)}] = Object.freeze({{ {exported} }});\n"
            "})();\n")


def _data_url(blob: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(blob).decode('ascii')}"


def architecture(ckpt: Checkpoint) -> str:
    """One line on the model's shape and objective (as the app's model card writes it)."""
    c = ckpt.config
    enc = "-".join(map(str, c.encoder_hidden))
    dec = "-".join(map(str, c.decoder_hidden))
    bound = "ELBO" if c.train_iwae_k == 1 else f"IWAE k={c.train_iwae_k}"
    cond = f", conditional on the digit class ({c.num_classes} classes)" if c.num_classes else ""
    return (f"Encoder {c.input_dim}-{enc}-2×{c.latent_dim}, decoder {c.latent_dim}-{dec}-{c.input_dim}, "
            f"{c.activation.upper()}, Bernoulli likelihood, β = {c.beta:g}, training bound: {bound}{cond}.")


def site_files(ckpt: Checkpoint, *, n: int = 20, spacing: Spacing = "linear", radius: float = 3.0,
               points: int = 5000, size: int = PAD_PX,
               latents: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, bytes]:
    """The static explorer of `ckpt` as {file name: bytes} (see the module's docstring).

    n, spacing, radius: the manifold drawn on the plane (vae.latent.decode_grid); points: how
    many test-set latent means are drawn (0: none); latents: (mu [N, 2], labels [N]) if the
    caller has them, else the MNIST test set is encoded here (a few seconds).
    ValueError for a model the browser cannot decode (vae.export) or whose latent is not 2-D.
    """
    model = ckpt.model
    if ckpt.config.latent_dim != 2:
        raise ValueError("the static explorer needs a model with a 2-D latent space")
    header = decoder_export(model)  # ValueError if the browser cannot run this decoder
    label = 0 if model.conditional else None
    plane = Plane.of_manifold(n, spacing, radius)
    layers: list[Layer] = [manifold_layer(decode_grid(model.conditioned(label), n, spacing, radius), size, legend=True)]
    if points > 0:
        if latents is None:
            from .data import load_mnist

            images, labels = load_mnist("test")
            mu, _ = encode_images(model, images[:points], labels[:points])
            latents = (mu, labels[:points])
        layers.append(means_layer(latents[0], latents[1], points))

    files: dict[str, bytes] = {}

    def url_for(blob: bytes, suffix: str) -> str:
        # A picture is a file beside index.html (an <img> may load it from file://); what the
        # plane fetch()es (points) travels as a data: URL.
        if suffix == "png":
            name = f"picture-{hashlib.sha256(blob).hexdigest()[:12]}.png"
            files[name] = blob
            return name
        return _data_url(blob, "application/octet-stream")

    z = plane.clamp((0.0, 0.0))
    title = f"Manifold E[x|z], {n}×{n}" + (f" (digit {label})" if label is not None else "")
    data: dict[str, Any] = {
        "model": header["sha256"],
        "decoder_src": _data_url(decoder_bytes(model), "application/octet-stream"),
        "side": int(ckpt.config.image_size),
        "plane": {"z1": z[0], "z2": z[1], "unset": False, "spacing": plane.spacing, "lo": plane.lo,
                  "hi": plane.hi, "ticks": ",".join(f"{t:g}" for t in plane.ticks), "view": "",
                  "label": label, "size": int(size), "title": title, "dark": True, "hover": True,
                  "commit": True, "digit_title": "E[x|z]"},
        "layers": [layer.to_data(url_for) for layer in layers],
        "card": _card(ckpt, header),
    }
    files["data.js"] = ("// The model's data for the static explorer (vae/site.py): decoder, layers, model card.\n"
                        "globalThis.__latentSiteData = "
                        + json.dumps(data, ensure_ascii=True, separators=(",", ":")) + ";\n").encode("ascii")
    markup = (PLANE_DIR / "plane.html").read_text(encoding="utf-8")
    page = (SITE_FILES / "site.html").read_text(encoding="utf-8")
    page = page.replace("{{PLANE_MARKUP}}", markup.strip()).replace("{{NAME}}", html.escape(ckpt.name))
    files["index.html"] = page.encode("utf-8")
    for name, folder in (("plane.js", PLANE_DIR), ("gif.js", SITE_FILES), ("site.js", SITE_FILES)):
        files[name] = classic_script((folder / name).read_text(encoding="utf-8"), name).encode("utf-8")
    files["plane.css"] = (PLANE_DIR / "plane.css").read_bytes()
    files["site.css"] = (SITE_FILES / "site.css").read_bytes()
    return files


def _card(ckpt: Checkpoint, header: dict[str, Any]) -> dict[str, Any]:
    sizes = " → ".join(str(s) for s in header["sizes"])
    return {
        "name": ckpt.name,
        "architecture": architecture(ckpt),
        "decoder": (f"Your browser runs the decoder: an MLP {sizes}, {header['params']:,} numbers "
                    f"(content id {header['sha256'][:12]}), in this folder's data.js."),
        "config": ckpt.config.to_dict(),
        "metrics": ckpt.metrics,
        "train_command": ckpt.train_command,
        "training": ckpt.extra,
    }


def write_site(files: dict[str, bytes], out: str | Path) -> Path:
    """Write the files into folder `out` (made if missing; other files in it are left alone)."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    for name, blob in files.items():
        (folder / name).write_bytes(blob)
    return folder


def site_zip(files: dict[str, bytes], folder: str = "latent-explorer") -> bytes:
    """The files as a zip archive, all inside one folder (unzipped: open folder/index.html)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(f"{folder}/{name}", date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    return buffer.getvalue()


def folder_name(ckpt: Checkpoint) -> str:
    """latent-explorer-<model name> (a name safe for a file system)."""
    return "latent-explorer-" + re.sub(r"[^\w.-]+", "_", ckpt.name)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m vae.site CHECKPOINT --out DIR`: write the static explorer of CHECKPOINT."""
    import argparse
    import time

    from .checkpoint import CheckpointError, load_checkpoint
    from .data import DataError

    parser = argparse.ArgumentParser(
        prog="python -m vae.site",
        description="Write a static, self-contained explorer of a checkpoint: open DIR/index.html "
                    "from disk or serve DIR from any static host.")
    parser.add_argument("checkpoint", help="e.g. checkpoints/mnist-2d")
    parser.add_argument("--out", required=True, help="the folder to write (made if missing)")
    parser.add_argument("--grid", type=int, default=20, help="manifold cells per side (default 20)")
    parser.add_argument("--spacing", choices=["linear", "gaussian"], default="linear")
    parser.add_argument("--radius", type=float, default=3.0, help="linear spacing: z from -r to r (default 3)")
    parser.add_argument("--points", type=int, default=5000,
                        help="test-set latent means drawn on the plane (default 5000, 0: none)")
    parser.add_argument("--zip", action="store_true", help="also write DIR.zip")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        ckpt = load_checkpoint(args.checkpoint)
        files = site_files(ckpt, n=args.grid, spacing=args.spacing, radius=args.radius, points=args.points)
    except (CheckpointError, DataError, ValueError, OSError) as exc:
        print(f"python -m vae.site: {exc}")
        return 1
    folder = write_site(files, args.out)
    total = sum(len(b) for b in files.values())
    print(f"{ckpt.name}: {len(files)} files, {total / 1e6:.2f} MB in {folder} "
          f"({time.perf_counter() - start:.1f} s); open {folder.resolve() / 'index.html'}")
    if args.zip:
        archive = folder.with_name(folder.name + ".zip")
        archive.write_bytes(site_zip(files, folder.name))
        print(f"and {archive} ({archive.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
