"""Image display and the image input shared by the encode, interpolation (and later the
posterior) pages: a test image, an upload, or a drawing -> one MNIST-style 28x28 array."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass

import numpy as np
import streamlit as st

from vae.data import binarize
from vae.model import VAE
from vae.preprocess import MAX_UPLOAD_BYTES, UPLOAD_EXTENSIONS, ImageError, prepare_image, preview_png
from vae.render import png_bytes, strip

from .canvas import drawing_canvas
from .models import test_images
from .urlstate import linked, put, url_number


def inline_img(png: bytes, width: int | None = None, alt: str = "") -> str:
    """An <img> of PNG bytes as a data: URL (pixelated when the browser scales it up): a small
    picture sent inside the page's own message, not fetched from /media after it."""
    style = f"width:{int(width)}px;" if width else ""
    return (f'<img src="data:image/png;base64,{base64.b64encode(png).decode()}" alt="{html.escape(alt)}" '
            f'style="{style}image-rendering:pixelated;max-width:100%;display:block">')


def show_png(png: bytes, caption: str | None = None, width: int | None = None, inline: bool = False,
             alt: str = "") -> None:
    """PNG bytes shown as they are (output_format="PNG": Streamlit would re-encode to JPEG).
    inline: in the page's own message as a data: URL (a small PNG redrawn on every slider step
    then costs no second request to the server's media endpoint after the rerun's reply)."""
    if inline:
        st.html(inline_img(png, width, alt) + (caption_html(caption) if caption else ""))
        return
    st.image(png, output_format="PNG", width=width if width else "content")
    if caption:
        st.caption(caption)


def caption_html(text: str, top: str = "0.5rem") -> str:
    """Plain text (escaped) styled as Streamlit's captions, for an element made with st.html
    (a picture and its words in one element: one update for the browser)."""
    return (f'<p style="font-size:0.875rem;color:rgba(49,51,63,0.6);margin:{top} 0 0;line-height:1.5">'
            f"{html.escape(text)}</p>")


def show_digit(image: np.ndarray, caption: str | None = None, size: int = 140, inline: bool = False,
               alt: str = "") -> None:
    """A grey image in [0, 1] (28x28 or a tiled grid), upscaled with nearest neighbour so
    pixels stay crisp (inline: sent at its own size, the browser upscales it pixelated)."""
    scale = max(1, size // image.shape[-1])
    show_png(png_bytes(image, scale=1 if inline else scale), caption, width=scale * image.shape[-1],
             inline=inline, alt=alt)


def show_digits(images: np.ndarray, captions: list[str] | None = None, per_row: int = 8,
                size: int = 84) -> None:
    """Small digits [N, 28, 28] with captions, as one grid that wraps to the width it has (a
    phone gets fewer per row, not one per row). per_row: the most a row holds on a wide screen."""
    scale = max(1, size // images.shape[-1])
    width = scale * images.shape[-1]
    pngs = [png_bytes(image, scale=scale) for image in images]
    # st.image with a list lays the pictures out edge to edge in rows that wrap; a container
    # per_row pictures wide holds that many a row (Streamlit narrows it to a narrower column:
    # fewer a row there, the rows still full). One st.image a row instead left rows of 8 as
    # 6 + 2 in a column room for 6.
    with st.container(width=per_row * (width + 3)):
        st.image(pngs, caption=captions, width=width, output_format="PNG")


SAMPLES_NOTE = ("E[x|z] is each pixel's probability of ink; the model's own outputs are binary "
                "images drawn from those probabilities, x ~ p(x|z), speckled where the mean is grey.")


def show_samples(means: np.ndarray, seed: int, captions: list[str] | None = None, per_row: int = 8,
                 size: int = 56, as_strip: bool = False) -> None:
    """Binary samples x ~ p(x|z), one per mean image [N, 28, 28] (seeded: the same seed, the same
    samples), with the line that says how they differ from the means. as_strip: one picture (one
    request) instead of one per sample, for a page that redraws them on every slider step."""
    samples = binarize(np.asarray(means, np.float32), int(seed))  # [N, 28, 28] of {0, 1}
    if as_strip:  # one element: the strip and its note
        show_digit(strip(samples), SAMPLES_NOTE, size=size * len(samples), inline=True,
                   alt="binary samples x ~ p(x|z)")
        return
    show_digits(samples, captions, per_row=per_row, size=size)
    st.caption(SAMPLES_NOTE)


@dataclass
class InputImage:
    """What an image input produced: the 28x28 model input and where it came from."""

    x: np.ndarray  # float32 [28, 28] in [0, 1], ink = 1
    source: str  # human-readable, e.g. "test image 42 (label 7)" or "upload digit.png"
    label: int | None = None  # known for test images
    test_index: int | None = None
    original: bytes | None = None  # the upload / drawing as a small PNG (preview_png), to show as given


SOURCES = ("Test image", "Upload", "Draw")


def image_input(key: str, default_index: int = 0, sources: tuple[str, ...] = SOURCES,
                query_param: str | None = None, model: VAE | None = None) -> InputImage | None:
    """Pick an image: test set index / random digit, upload, or drawing. Shows errors in place.

    With `query_param`, a test index is read from and written to the URL (?{query_param}=42).
    With `model`, an upload or drawing is shaped to MNIST the way this model reads best
    (vae.photo_variants: a few slants and widths, the model's pick); without, one fixed way.
    """
    source = st.radio("Source", sources, key=f"{key}_source", horizontal=True)
    if source == "Test image":
        images, labels = test_images()
        index_key = f"{key}_index"
        if index_key not in st.session_state or (query_param and linked(query_param)):  # a link's image wins
            st.session_state[index_key] = (url_number(query_param, 0, len(images) - 1, default_index, integer=True)
                                           if query_param else default_index)
        cols = st.columns([3, 2, 2])
        with cols[1]:
            digit = st.selectbox("Random digit", list(range(10)), key=f"{key}_digit")
        with cols[2]:
            st.write("")
            if st.button("Random", icon=":material/casino:", key=f"{key}_random", help="A random test image of that digit"):
                candidates = np.flatnonzero(labels == digit)
                rng = np.random.default_rng()
                st.session_state[index_key] = int(rng.choice(candidates))
        with cols[0]:
            index = st.number_input("Test image index", 0, len(images) - 1, step=1, key=index_key)
        if query_param:
            put(query_param, str(int(index)))
        x = images[int(index)].astype(np.float32) / 255.0
        return InputImage(x=x, source=f"test image {int(index)} (label {int(labels[int(index)])})",
                          label=int(labels[int(index)]), test_index=int(index))
    if source == "Upload":
        upload = st.file_uploader(
            f"Image of one digit ({', '.join(UPLOAD_EXTENSIONS)}; up to {MAX_UPLOAD_BYTES // 2**20} MB)",
            type=UPLOAD_EXTENSIONS, key=f"{key}_upload")
        if upload is None:
            st.caption("Dark ink on light paper or light on dark both work; photos too.")
            return None
        data = upload.getvalue()
        return _prepare(data, f"upload {safe_file_name(upload.name)}", model)
    data = drawing_canvas(key=f"{key}_canvas")
    if data is None:
        return None
    return _prepare(data, "your drawing", model)


def required_image(key: str, default_index: int = 0, query_param: str | None = None,
                   model: VAE | None = None) -> InputImage:
    """image_input for a page that has nothing to show without an image: the page stops there
    (the input's own hint or error stays on screen) until there is one."""
    inp = image_input(key, default_index=default_index, query_param=query_param, model=model)
    if inp is None:
        st.stop()
    return inp


def safe_file_name(name: str) -> str:
    """A visitor's file name reduced to letters, digits, '.', '-', '_' and spaces (60 chars):
    safe to show anywhere, including Markdown captions."""
    return re.sub(r"[^A-Za-z0-9._ -]", "_", name)[:60] or "file"


def _prepare(data: bytes, source: str, model: VAE | None) -> InputImage | None:
    try:
        x = prepare_image(data, model)[0].numpy()
    except ImageError as exc:
        # `source` holds a file name already reduced to safe characters (safe_file_name).
        st.error(f"Could not use {source}: {exc}")
        return None
    try:
        original = preview_png(data)  # HEIC shown as PNG; a small picture, not the whole photo
    except ImageError:
        original = None
    return InputImage(x=x, source=source, original=original)


def input_label(handle, inp: InputImage, key: str) -> int | None:  # noqa: ANN001 - ModelHandle
    """The digit label a conditional VAE needs for this input: known for test images, asked for
    otherwise. None for an unconditional model."""
    if not handle.conditional:
        return None
    if inp.label is not None:
        return inp.label
    return st.selectbox("Which digit is it? (the CVAE encodes q(z|x, y))", list(range(10)), key=key)
