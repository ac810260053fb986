"""vae.preprocess: uploads and drawings -> MNIST-like [1, 28, 28]. Every input is generated here."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from vae import preprocess
from vae.preprocess import (
    ALLOWED_FORMATS,
    MAX_PIXELS,
    MAX_UPLOAD_BYTES,
    UPLOAD_EXTENSIONS,
    ImageError,
    open_image,
    prepare_array,
    prepare_image,
    to_grayscale_paper,
)
# png_with_declared_size: tests/e2e/test_hostile_uploads.py still imports it from here.
from tests.upload_images import (  # noqa: F401 - `reference` is a fixture
    assert_valid,
    centre_of_mass,
    corr,
    draw_digit,
    encode,
    ink_bbox,
    png_with_declared_size,
    reference,
    same_digit,
)


# --- the plain cases and geometry ------------------------------------------------------------


def test_constants() -> None:
    assert MAX_UPLOAD_BYTES == 8 * 1024 * 1024
    assert MAX_PIXELS == 25_000_000
    assert ALLOWED_FORMATS == ("PNG", "JPEG", "GIF", "BMP", "WEBP", "HEIF")
    assert UPLOAD_EXTENSIONS == ["png", "jpg", "jpeg", "gif", "bmp", "webp", "heic", "heif"]
    assert issubclass(ImageError, ValueError)


def test_module_does_not_import_streamlit() -> None:
    tree = ast.parse(Path(preprocess.__file__).read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any(name.split(".")[0] == "streamlit" for name in names)


@pytest.mark.parametrize("shape", ["zero", "seven"])
def test_dark_on_white_is_centred_and_fitted(shape: str) -> None:
    out = assert_valid(prepare_image(encode(draw_digit(shape=shape), "PNG")))
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1
    h, w = ink_bbox(out)
    assert max(h, w) in (19, 20) and min(h, w) <= 20
    assert (out == 0).mean() > 0.5  # the background really is 0, not paper noise


def test_centring_shift_is_clamped_so_no_ink_leaves_the_frame() -> None:
    # An inverted "T": the heavy bar pulls the centre of mass near the bottom of the 20x20
    # fit, so placing it at row 14 would push the top of the stem out of the frame.
    img = Image.new("L", (200, 200), 255)
    draw = ImageDraw.Draw(img)
    draw.rectangle((20, 150, 180, 190), fill=0)
    draw.rectangle((95, 10, 105, 150), fill=0)
    out = assert_valid(prepare_image(encode(img, "PNG")))
    assert ink_bbox(out)[0] == 20  # nothing cut off
    assert out[0].sum() > 0  # shifted as far as allowed: the stem touches the top


def test_white_on_black_equals_dark_on_white(reference: torch.Tensor) -> None:
    out = prepare_image(encode(draw_digit(ink=255, paper=0), "PNG"))
    assert_valid(out)
    assert corr(out, reference) > 0.99
    assert float((out - reference).abs().max()) < 0.05


def test_off_centre_digit_in_big_canvas(reference: torch.Tensor) -> None:
    # The same 112x196 digit as the reference, near the corner of a 1600x1200 canvas.
    img = draw_digit(size=(1600, 1200), box=(1400, 40, 1512, 236))
    out = assert_valid(prepare_image(encode(img, "PNG")))
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1
    assert max(ink_bbox(out)) <= 20
    assert same_digit(out, reference) > 0.95


def test_grey_paper_and_grey_ink_are_normalised(reference: torch.Tensor) -> None:
    out = prepare_image(encode(draw_digit(ink=90, paper=170), "PNG"))
    assert_valid(out)
    assert corr(out, reference) > 0.98


def test_tiny_5x5_digit() -> None:
    img = Image.new("L", (5, 5), 255)
    for x, y in [(1, 1), (2, 1), (3, 1), (3, 2), (2, 3)]:  # a little "7"
        img.putpixel((x, y), 0)
    out = assert_valid(prepare_image(encode(img, "PNG")))
    assert max(ink_bbox(out)) <= 20
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1


def test_thin_strip_10000x20() -> None:
    img = Image.new("L", (10000, 20), 255)
    ImageDraw.Draw(img).rectangle((500, 6, 9500, 13), fill=0)
    out = assert_valid(prepare_image(encode(img, "PNG")))
    h, w = ink_bbox(out)
    assert w == 20 and 1 <= h <= 2
    assert abs(centre_of_mass(out)[0] - 14) <= 1


def test_one_by_one_image_has_no_digit() -> None:
    for value in (0, 255):
        with pytest.raises(ImageError, match="no digit"):
            prepare_image(encode(Image.new("L", (1, 1), value), "PNG"))


@pytest.mark.parametrize("colour", [(255, 255, 255), (0, 0, 0), (128, 64, 200)])
def test_uniform_images_have_no_digit(colour: tuple[int, int, int]) -> None:
    with pytest.raises(ImageError, match="no digit found"):
        prepare_image(encode(Image.new("RGB", (300, 200), colour), "PNG"))


def test_accepts_a_pil_image_directly(reference: torch.Tensor) -> None:
    assert torch.allclose(prepare_image(draw_digit()), reference)


# --- modes and formats -----------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_transparent_background_counts_as_white_paper(mode: str, reference: torch.Tensor) -> None:
    # Opaque black ink on fully transparent *black* pixels: a plain convert("L") gives an
    # all-black image (no digit, or an inverted blob).
    clear = (0, 0, 0, 0) if mode == "RGBA" else (0, 0)
    opaque = (0, 0, 0, 255) if mode == "RGBA" else (0, 255)
    img = draw_digit(mode=mode, ink=opaque, paper=clear)
    assert np.asarray(img.convert("L")).max() == 0  # the trap is real
    paper = to_grayscale_paper(img)
    assert paper.dtype == np.float32 and paper.shape == (280, 280)
    assert paper[0, 0] == 1.0 and paper.mean() > 0.8  # transparent -> white
    out = prepare_image(encode(img, "PNG"))
    assert_valid(out)
    assert float(out.mean()) < 0.4  # not an all-ink square
    assert corr(out, reference) > 0.99


def test_palette_images(reference: torch.Tensor) -> None:
    pal = draw_digit(ink=(200, 0, 0)).convert("P")  # red ink, palette PNG
    assert Image.open(io.BytesIO(encode(pal, "PNG"))).mode == "P"
    assert same_digit(prepare_image(encode(pal, "PNG")), reference) > 0.97
    # Palette with a transparent index as background (the GIF/PNG-8 way).
    img = draw_digit(mode="P", ink=1, paper=0)
    img.putpalette([0, 0, 0, 0, 0, 0] + [0] * 762)  # index 0 and 1 are both black...
    img.info["transparency"] = 0  # ...but index 0 is transparent
    for fmt in ("PNG", "GIF"):
        out = prepare_image(encode(img, fmt))
        assert_valid(out)
        assert same_digit(out, reference) > 0.97


def test_sixteen_bit_png(reference: torch.Tensor) -> None:
    grey = np.asarray(draw_digit().convert("L"), dtype=np.uint16)
    for scale in (257, 16):  # full 16-bit range, and 12-bit data in a 16-bit file
        img = Image.fromarray(grey * scale)
        data = encode(img, "PNG")
        assert Image.open(io.BytesIO(data)).mode == "I;16"
        paper = to_grayscale_paper(open_image(data))
        assert paper.min() == 0.0 and paper.max() == 1.0  # scaled, not clipped to white
        assert corr(prepare_image(data), reference) > 0.99


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "PA", "RGB", "RGBA", "CMYK", "I;16", "I;16B", "I", "F"])
def test_to_grayscale_paper_modes(mode: str) -> None:
    base = draw_digit(size=(40, 30)).convert("L")  # paper 255, ink 0
    if mode == "I;16B":
        img = Image.frombytes(mode, base.size, (np.asarray(base, ">u2") * 257).tobytes())
    elif mode == "I;16":
        img = Image.fromarray(np.asarray(base, np.uint16) * 257)
    elif mode == "PA":
        img = base.convert("RGBA").convert("PA")
    else:
        img = base.convert(mode)
    assert img.mode == mode
    paper = to_grayscale_paper(img)
    assert paper.dtype == np.float32 and paper.shape == (30, 40)
    assert paper.min() >= 0.0 and paper.max() <= 1.0
    assert paper[0, 0] > 0.95  # paper is white
    assert paper.min() < 0.1  # ink is dark
    assert np.abs(paper - np.asarray(base) / 255.0).mean() < 0.05


def test_cmyk_jpeg(reference: torch.Tensor) -> None:
    data = encode(draw_digit().convert("CMYK"), "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    assert same_digit(prepare_image(data), reference) > 0.97


@pytest.mark.parametrize("fmt", ["JPEG", "GIF", "BMP", "WEBP"])
def test_other_allowed_formats(fmt: str, reference: torch.Tensor) -> None:
    assert same_digit(prepare_image(encode(draw_digit(), fmt)), reference) > 0.97


@pytest.mark.parametrize(
    ("orientation", "transpose"),
    [(6, Image.Transpose.ROTATE_270), (8, Image.Transpose.ROTATE_90)],
)
def test_exif_orientation_is_applied(orientation: int, transpose: Image.Transpose) -> None:
    stored = draw_digit(size=(300, 200))  # as the camera stored it (sideways)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(stored, "JPEG", quality=95, exif=exif)
    assert open_image(data).size == (200, 300)  # upright
    out = prepare_image(data)
    expected = prepare_image(stored.transpose(transpose))
    unrotated = prepare_image(stored)
    assert same_digit(out, expected) > 0.95
    assert same_digit(out, unrotated) < 0.6


def test_animated_gif_uses_first_frame() -> None:
    first = draw_digit(shape="zero")
    second = draw_digit(shape="seven")
    data = encode(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    out = prepare_image(data)
    assert same_digit(out, prepare_image(first)) > 0.97
    assert same_digit(out, prepare_image(second)) < 0.6


def test_mnist_digit_survives_the_pipeline() -> None:
    from vae.data import load_mnist

    images, _ = load_mnist("test")
    for index in range(5):  # image 0, and a few more for good measure
        digit = images[index]  # uint8 [28, 28], 0 = background
        # As a user would photograph/scan it: dark ink on white paper, 10x larger, RGB.
        paper = Image.fromarray(255 - digit).resize((280, 280), Image.Resampling.NEAREST)
        out = assert_valid(prepare_image(encode(paper.convert("RGB"), "PNG")))
        # Same fit-to-20x20 and centre-of-mass recipe as MNIST itself, after the shape step
        # (deskewed to MNIST's mean slant; its strokes already MNIST's): the photo of the digit
        # comes out as the digit itself through that recipe, not pixel-exact as the raw digit
        # (a "1" leaning far right is straightened). The 5-NN vote over 500 test digits this
        # way: tests/test_photos.py.
        direct = preprocess._ink_to_mnist(digit.astype(np.float32) / 255.0, "blank", shape=True)
        assert same_digit(out, direct) > 0.95
        assert max(ink_bbox(out)) in (19, 20)


def test_jpeg_draft_decode_matches_full_decode() -> None:
    data = encode(draw_digit(size=(1000, 1000), shape="zero"), "JPEG", quality=90)
    fast = prepare_image(data)  # decoded at 1/2 scale by libjpeg
    full = prepare_image(open_image(data))  # decoded in full, then box-reduced
    assert_valid(fast)
    assert same_digit(fast, full) > 0.98


def test_large_jpeg_is_decoded_at_reduced_scale(monkeypatch) -> None:
    # libjpeg's draft mode skips most of the decoding work (how fast that is: bench/).
    data = encode(draw_digit(size=(4000, 3000), shape="zero"), "JPEG", quality=85)
    decoded: list[tuple[int, int]] = []
    shrink = preprocess._shrink
    monkeypatch.setattr(preprocess, "_shrink", lambda band: decoded.append(band.size) or shrink(band))
    assert_valid(prepare_image(data))
    assert decoded and max(decoded[0]) <= 4000 // 4


# --- drawings --------------------------------------------------------------------------------


def test_prepare_array_matches_prepare_image(reference: torch.Tensor) -> None:
    canvas = 1.0 - np.asarray(draw_digit().convert("L"), dtype=np.float32) / 255.0
    out = assert_valid(prepare_array(canvas))
    # The uploads' crop/fit/centre, without their shape step (deskew, pen width: drawings skip it).
    assert corr(out, preprocess._ink_to_mnist(canvas, "blank")) > 0.999
    assert corr(preprocess._ink_to_mnist(canvas, "blank", shape=True), reference) > 0.999
    assert same_digit(out, reference) > 0.8  # the same 7, its slant and pen brought to MNIST's
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 1 and abs(cx - 14) <= 1
    as_uint8 = prepare_array((canvas * 255).round().astype(np.uint8))
    assert corr(as_uint8, out) > 0.999


def test_prepare_array_edge_cases() -> None:
    with pytest.raises(ImageError, match="no digit found"):
        prepare_array(np.zeros((280, 280), dtype=np.float32))
    out = assert_valid(prepare_array(np.array([[1.0]])))  # one dot, fitted to 20x20
    assert ink_bbox(out) == (20, 20)
    with pytest.raises(ValueError):
        prepare_array(np.zeros((28, 28, 4)))
    with pytest.raises(ValueError):
        prepare_array(np.zeros((0, 5)))


# --- the model's choice among shapings (vae.photo_variants) ----------------------------------


def test_without_a_model_the_first_variant_is_the_answer() -> None:
    """prepare_image(data) is the model-free pipeline: variant 0 (MNIST's slant, no squeeze)."""
    from vae import photo_variants

    variants = photo_variants.shaped_variants(np.pad(np.ones((60, 12), np.float32), 4))
    pv = photo_variants
    assert len(variants) == len(pv.SLANTS) * len(pv.SQUEEZES) + len(pv.BOLD_SQUEEZES)
    alone = photo_variants.shaped_variants(np.pad(np.ones((60, 12), np.float32), 4), every=False)
    assert len(alone) == 1 and np.array_equal(alone[0], variants[0])


def test_the_model_picks_the_shape_it_can_draw(shipped) -> None:
    """Of a noise field, a bar and the model's own drawing of a digit, the drawing is chosen:
    cosine similarity to its reconstruction, not the amount of ink."""
    from vae.photo_variants import best_variant

    with torch.inference_mode():
        drawn = torch.sigmoid(shipped.model.decode_logits(torch.tensor([[0.5, -0.8]]))).reshape(28, 28).numpy()
    noise = np.random.default_rng(0).uniform(0, 1, (28, 28)).astype(np.float32)
    bar = np.zeros((28, 28), np.float32)
    bar[4:24, 4:8] = 1.0
    assert best_variant(shipped.model, np.stack([noise, drawn, bar])) == 1


def test_model_choice_keeps_prepare_image_valid_and_refuses_what_it_refused(shipped) -> None:
    from vae import VAE, VAEConfig

    data = encode(draw_digit(), "PNG")
    assert_valid(prepare_image(data, shipped.model))
    assert_valid(prepare_image(draw_digit(), shipped.model))  # a PIL image, too
    with pytest.raises(ImageError):
        prepare_image(encode(Image.new("RGB", (300, 200), "white"), "PNG"), shipped.model)
    # A conditional model cannot encode without a label: the model-free answer, unchanged.
    cvae = VAE(VAEConfig(encoder_hidden=(16,), decoder_hidden=(16,), num_classes=10)).eval()
    assert torch.equal(prepare_image(data, cvae), prepare_image(data))
