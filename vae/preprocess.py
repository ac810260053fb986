"""Turn an uploaded picture (or a drawing) into an MNIST-like tensor [1, 28, 28]. Everything a
user can get wrong raises `ImageError`, whose message is fit to show them as it is.

Pipeline for an upload (`prepare_image`):
  bytes --open_image--> PIL image (size-checked, decoded, frame 0, EXIF orientation applied)
        --grey--> one band, transparency flattened onto white, 16-bit scaled by its range
        --shrink--> longest side <= ~512 px (cheap box reduction; JPEGs decode at 1/2..1/8,
                    HEIC from its embedded thumbnail when one is big enough)
        --vae/paper.py--> ink = 1, paper = 0 (MNIST is light ink on 0), either polarity; the
                    light, the paper's tone and texture taken out
        --_ink_to_mnist--> crop to the ink; (uploads) paper.mnist_shape: deskewed to MNIST's mean
                           slant, strokes far from MNIST's width redrawn at it (given a model:
                           vae.photo_variants, a few slants and widths, the model picks); fit
                           into 20x20 keeping aspect ratio (anti-aliased), centre of mass at
                           (14, 14) in 28x28 (LeCun's recipe)

`prepare_array` feeds a drawing (ink 1 on 0) into `_ink_to_mnist` without the shape step: the
app's pen draws at an MNIST-like width, and vae/anomaly.py builds its letters through it."""

from __future__ import annotations

import io
import math
import warnings

import numpy as np
import pillow_heif
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .model import VAE

# iPhones save HEIC. pillow-heif adds the "HEIF" decoder to Pillow (libheif with libde265); only
# ALLOWED_FORMATS below ever reach a decoder. No depth or auxiliary images are read; embedded
# thumbnails are, so a big photo can decode from one (Image.draft).
pillow_heif.register_heif_opener(thumbnails=True, depth_images=False, aux_images=False)

__all__ = [
    "ALLOWED_FORMATS",
    "MAX_PIXELS",
    "MAX_UPLOAD_BYTES",
    "UPLOAD_EXTENSIONS",
    "ImageError",
    "open_image",
    "prepare_array",
    "preview_png",
    "prepare_image",
    "to_grayscale_paper",
]

# --- limits and formats ----------------------------------------------------------------------

# 8 MiB: a phone photo is 2-6 MB. The server's maxUploadSize is the real gate (the widget's
# limit is only checked in the browser); this check makes the function safe on its own.
MAX_UPLOAD_BYTES = 8 * 1024 * 1024

# 25 megapixels (e.g. 5000x5000, a 24 MP camera fits). Deliberately far below Pillow's default
# MAX_IMAGE_PIXELS (~89 M, where it only *warns*): a decoded 25 MP RGBA image is 100 MB, which
# bounds the memory one upload can take. Checked from the header, before any pixel is decoded.
MAX_PIXELS = 25_000_000

# Decoders Pillow may use (Image.open(formats=...)); SVG, HTML, text, TIFF, PSD, EPS (which
# would start Ghostscript) are refused before a plugin sees them. A multi-picture JPEG opens as
# "MPO" (frame 0 is the ordinary JPEG); "HEIF" (pillow-heif) reads .heic/.heif's primary image.
ALLOWED_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "HEIF")

# For st.file_uploader(type=...): a best-effort browser-side filter only; open_image decides.
UPLOAD_EXTENSIONS: list[str] = ["png", "jpg", "jpeg", "gif", "bmp", "webp", "heic", "heif"]

# --- MNIST geometry (LeCun et al.: "size normalized to fit in a 20x20 pixel box while
# preserving their aspect ratio ... centered in a 28x28 image by computing the center of mass")
IMAGE_SIZE, FIT_SIZE = 28, 20
# Centre of mass in index coordinates (row = sum(i * v) / sum(v)). Measured on the MNIST test
# set: mean (13.99, 14.00), sd 0.29 -- i.e. 14, placed with an integer shift.
CENTRE = 14.0

# Working resolution: big images are box-reduced until the longest side is <= WORK_SIZE (a 20x20
# result needs no more), the short side kept >= MIN_WORK_SIDE (a 10000x20 strip keeps its rows)
# unless more than WORK_PIXELS would remain (bounds every later float array: ~4 MB each).
WORK_SIZE = 512
MIN_WORK_SIDE = 16
WORK_PIXELS = 1_000_000

# Pixels with ink >= INK_THRESHOLD (after contrast normalisation, ink max = 1) form the bounding
# box: ~0.1 ignores JPEG noise and paper texture but keeps the faint anti-aliased stroke edges.
INK_THRESHOLD = 0.1
# If the ink's dynamic range (its maximum over the paper level, on a 0..1 scale) is below this
# (~25 grey levels of 255), the image is blank or uniform: there is nothing to centre.
MIN_INK_CONTRAST = 0.1

_READABLE = "PNG, JPEG, GIF, BMP, WebP, HEIC"
_MB = 1024 * 1024


class ImageError(ValueError):
    """The upload/drawing cannot become a digit; the message says why, in user terms."""


# --- opening ---------------------------------------------------------------------------------


def open_image(data: bytes) -> Image.Image:
    """Decode uploaded bytes into a fully loaded PIL image (frame 0, EXIF orientation applied).

    Raises ImageError for: empty or over-size data, a format outside ALLOWED_FORMATS, more than
    MAX_PIXELS pixels (from the header, before decoding), or a damaged/truncated file. No raw
    PIL error or OSError escapes.
    """
    return _open(data, draft_size=None)


def _open(data: bytes, draft_size: tuple[int, int] | None) -> Image.Image:
    """open_image, optionally letting a JPEG decode at reduced scale (`draft_size` = the least
    size wanted per side; libjpeg then skips most of the IDCT work, 4-8x faster on photos)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"open_image expects bytes, got {type(data).__name__}")
    size = len(data)
    if size == 0:
        raise ImageError("empty file: the upload contains no data")
    if size > MAX_UPLOAD_BYTES:
        # Round *up* to 0.1 MB so 8 MB + 1 byte reads "8.1 MB", not "8.0 MB; the limit is 8 MB".
        shown = math.ceil(size / _MB * 10) / 10
        raise ImageError(f"file is {shown:.1f} MB; the limit is {MAX_UPLOAD_BYTES // _MB} MB")

    try:
        # Image.open only parses the header. Pillow's bomb check warns above MAX_IMAGE_PIXELS
        # (raises above twice that): the warning is made an error too. catch_warnings is not
        # thread-safe (Streamlit sessions are threads); a lost filter is harmless: the
        # width*height check below rejects all the warning covers (25 M < Pillow's ~89 M).
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageError(
            f"image has too many pixels; the limit is {MAX_PIXELS:,} pixels "
            f"({MAX_PIXELS / 1e6:g} megapixels)"
        ) from None
    except UnidentifiedImageError:
        raise ImageError(f"not an image file we can read ({_READABLE})") from None
    except Exception:  # noqa: BLE001 - plugins raise SyntaxError, struct.error, ValueError, ...
        raise ImageError(f"not an image file we can read ({_READABLE}), or it is damaged") from None

    _check_pixels(img)  # width x height from the header: nothing is decoded yet

    try:
        if draft_size is not None and img.format in ("JPEG", "MPO"):
            # "L": libjpeg emits luminance only (we convert to grey anyway). CMYK JPEGs ignore
            # the mode request and only get the scale reduction.
            img.draft("L", draft_size)
        elif draft_size is not None and img.format == "HEIF":
            # pillow-heif: decode an embedded thumbnail instead, if one is a scaled copy of the
            # image at least draft_size large (the mode stays; a 12 MP decode is ~0.3 s).
            img.draft(None, draft_size)
        # Image.open is lazy; force the decode here so a truncated or corrupt file fails now,
        # as an ImageError, rather than later inside some conversion. Frame 0 is the frame
        # Image.open positions on, so animations (GIF, APNG, WebP) give their first frame.
        img.load()
    except Exception:  # noqa: BLE001 - decoders raise OSError, SyntaxError, ValueError, ...
        raise ImageError("the image file is damaged or truncated and could not be decoded") from None

    try:
        # Phones store pixels sideways plus an Orientation tag; apply it so the digit is
        # upright. In place: a copy would double the peak memory of a 25 MP upload.
        ImageOps.exif_transpose(img, in_place=True)
    except Exception:  # noqa: BLE001 - malformed EXIF: the pixels are fine, use them unrotated
        pass
    if getattr(img, "is_animated", False):
        # Detach frame 0 from the file so later code cannot seek to another frame.
        return img.copy()
    return img


def _check_pixels(img: Image.Image) -> None:
    """Refuse more than MAX_PIXELS pixels; works on a lazily opened image (header size)."""
    width, height = img.size
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"image is {width}x{height} pixels; the limit is {MAX_PIXELS:,} pixels "
            f"({MAX_PIXELS / 1e6:g} megapixels, e.g. 5000x5000)"
        )
    if width < 1 or height < 1:
        raise ImageError(f"image is {width}x{height} pixels: it has no pixels")


def _ensure_loaded(img: Image.Image) -> None:
    """A caller's lazily opened image decodes here; its errors become ImageError."""
    try:
        img.load()
    except Exception:  # noqa: BLE001 - see _open
        raise ImageError("the image file is damaged or truncated and could not be decoded") from None


# --- grey conversion -------------------------------------------------------------------------

_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N")
_HIGH_DEPTH = (*_SIXTEEN_BIT, "I", "F")


def _grey(img: Image.Image) -> tuple[Image.Image, float, float]:
    """Any mode -> (one-band image "L" or "F", lo, hi): value lo means black, hi means white.

    Kept as a PIL image (not numpy) so prepare_image can box-reduce it in C before anything is
    converted to float. Memory: a few full-size 8-bit bands, or one float band (16-bit).
    """
    mode = img.mode
    if mode in _HIGH_DEPTH:
        # convert("L") would clip 16-bit values at 255 (almost everything white). High-depth
        # data has no agreed white level (12-bit sensors, float data), so stretch its actual
        # range; "F" holds I;16/I;16B/I values exactly.
        band = img if mode == "F" else img.convert("F")
        lo, hi = band.getextrema()
        lo, hi = float(lo), float(hi)
        if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
            # Constant (or NaN/inf-laden) data carries no tone: treat it as blank white paper.
            return Image.new("L", img.size, 255), 0.0, 255.0
        return band, lo, hi
    if img.has_transparency_data:
        # LA, PA, RGBA, RGBa, La, and P/L/RGB with a tRNS colour key: composite onto WHITE
        # paper. A plain convert("L") drops alpha and keeps the hidden colour of transparent
        # pixels -- usually black -- so a transparent background would turn into solid ink.
        # convert resolves palette / colour-key transparency into alpha (and copies: skip it
        # when the image already is RGBA).
        rgba = img if mode == "RGBA" else img.convert("RGBA")
        paper = Image.new("L", img.size, 255)
        paper.paste(rgba.convert("L"), mask=rgba.getchannel("A"))  # blends by alpha
        return paper, 0.0, 255.0
    if mode == "L":
        return img, 0.0, 255.0
    if mode not in ("1", "P", "RGB", "RGBX", "CMYK", "YCbCr", "HSV"):
        img = img.convert("RGB")  # e.g. LAB, which has no direct path to L
    return img.convert("L"), 0.0, 255.0  # ITU-R 601 luma; CMYK via Pillow's naive CMYK->RGB


def _to_unit(band: Image.Image, lo: float, hi: float) -> np.ndarray:
    """One-band image -> float32 [H, W] in [0, 1], lo -> 0, hi -> 1."""
    arr = np.asarray(band, dtype=np.float32)
    arr = np.nan_to_num(arr, nan=hi, posinf=hi, neginf=lo)  # only "F" can hold these
    out = (arr - np.float32(lo)) * np.float32(1.0 / (hi - lo))
    return np.clip(out, 0.0, 1.0, out=out)


def to_grayscale_paper(img: Image.Image) -> np.ndarray:
    """Any PIL image -> float32 [H, W] in [0, 1] where 1 = white paper, 0 = black.

    Modes 1, L, LA, P (with or without transparency), RGB, RGBA, CMYK, I;16 / I;16B / I / F.
    Transparent areas count as white paper; high-bit-depth images are stretched over their
    actual value range (a constant one comes out white).
    """
    _check_pixels(img)
    _ensure_loaded(img)
    band, lo, hi = _grey(img)
    return _to_unit(band, lo, hi)


def _shrink(band: Image.Image) -> Image.Image:
    """One-band "L"/"F" image -> the same, box-reduced by an integer factor so the longest side
    is <= WORK_SIZE (short side kept >= MIN_WORK_SIDE) and at most ~WORK_PIXELS remain.
    Image.reduce averages whole blocks in C: anti-aliased, milliseconds for megapixels."""
    width, height = band.size
    factor = math.ceil(max(width, height) / WORK_SIZE)
    factor = min(factor, max(1, min(width, height) // MIN_WORK_SIDE))
    factor = max(factor, math.ceil(math.sqrt(width * height / WORK_PIXELS)))
    return band.reduce(factor) if factor > 1 else band


# --- the shared MNIST step -------------------------------------------------------------------


def _ink_to_mnist(ink: np.ndarray, blank_message: str, shape: bool = False, model: VAE | None = None
                  ) -> torch.Tensor:
    """float32 [H, W], 0 = background, larger = more ink -> float32 tensor [1, 28, 28] in [0, 1].
    The one place that crops, fits and centres (shared by prepare_image and prepare_array).
    shape: bring the digit's slant and stroke width to MNIST's first (vae.paper.mnist_shape);
    with a `model`, several shapings are fitted and the model picks one (vae.photo_variants).
    """
    peak = float(ink.max()) if ink.size else 0.0
    if not peak >= MIN_INK_CONTRAST:  # also catches NaN
        raise ImageError(blank_message)
    ink = np.clip(ink * np.float32(1.0 / peak), 0.0, 1.0)  # ink maximum -> 1
    # Crop to the ink's bounding box before resizing, so the digit, not the canvas, is fitted.
    crop = _crop_to_ink(ink)
    if not shape:
        return torch.from_numpy(_fit_and_centre(crop)).unsqueeze(0)
    from .photo_variants import best_variant, shaped_variants  # OpenCV: see prepare_image
    # Each [h', w'], larger side ~paper.SHAPE_SIDE with a margin; the first is the model-free one.
    shaped = [s for s in shaped_variants(crop, every=model is not None) if (s >= INK_THRESHOLD).any()]
    images = np.stack([_fit_and_centre(_crop_to_ink(s)) for s in shaped or [crop]])  # [V, 28, 28]
    pick = best_variant(model, images) if model is not None else 0
    return torch.from_numpy(images[pick]).unsqueeze(0)  # [1, 28, 28]


def _crop_to_ink(ink: np.ndarray) -> np.ndarray:
    """[H, W] with some ink >= INK_THRESHOLD -> its bounding box's contents [h, w] (contiguous)."""
    mask = ink >= INK_THRESHOLD
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return np.ascontiguousarray(ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], dtype=np.float32)


def _fit_and_centre(crop: np.ndarray) -> np.ndarray:
    """A digit's ink cropped to its box [h, w] -> float32 [28, 28]: fitted into 20x20, centred."""
    # The smaller side is >= 1 px (a 10000x20 strip becomes 20x1). BOX = exact area averaging
    # when shrinking (MNIST's anti-aliasing, no ringing); BICUBIC when enlarging a tiny digit
    # (smooth, small overshoot, clipped below).
    height, width = crop.shape
    scale = FIT_SIZE / max(height, width)
    fit_w, fit_h = min(FIT_SIZE, max(1, round(width * scale))), min(FIT_SIZE, max(1, round(height * scale)))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BICUBIC
    fitted = np.clip(np.asarray(Image.fromarray(crop).resize((fit_w, fit_h), resample), dtype=np.float32), 0.0, 1.0)
    # Averaging thin strokes into 20 px dims them; MNIST digits peak at full intensity.
    top_value = float(fitted.max())
    if top_value > 0.0:
        fitted = fitted * np.float32(1.0 / top_value)
    # Centre of mass (index coordinates) to (CENTRE, CENTRE); the integer shift is clamped so
    # no ink leaves the frame (fit <= 20 leaves >= 8 px of slack).
    total, row_mass, col_mass = float(fitted.sum()), fitted.sum(axis=1), fitted.sum(axis=0)
    com_y, com_x = float(row_mass @ np.arange(fit_h)) / total, float(col_mass @ np.arange(fit_w)) / total
    top = min(max(int(math.floor(CENTRE - com_y + 0.5)), 0), IMAGE_SIZE - fit_h)
    left = min(max(int(math.floor(CENTRE - com_x + 0.5)), 0), IMAGE_SIZE - fit_w)
    canvas = np.zeros((IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    canvas[top : top + fit_h, left : left + fit_w] = fitted
    return canvas


# --- public entry points ---------------------------------------------------------------------


def prepare_image(image: Image.Image | bytes, model: VAE | None = None) -> torch.Tensor:
    """An uploaded picture of a digit -> float32 tensor [1, 28, 28] in [0, 1], MNIST-like
    (0 = background, 1 = ink), either polarity (dark on light or light on dark).

    `model`: the VAE the digit is for; given one, of a few shapings of the digit (slants, widths)
    it keeps the one it reconstructs best (vae.photo_variants). Else MNIST's mean slant only.

    `image`: the uploaded bytes (checked and decoded by open_image), or a PIL image taken as
    it is (already oriented). Raises ImageError if it cannot be read or holds no digit.
    Time and memory are bounded by MAX_UPLOAD_BYTES / MAX_PIXELS.
    """
    if isinstance(image, (bytes, bytearray, memoryview)):
        # The draft only asks for >= WORK_SIZE/2 per side, so _shrink still has real pixels
        # to average (a 1000x1000 JPEG decodes at 500x500).
        img = _open(image, draft_size=(WORK_SIZE // 2, WORK_SIZE // 2))
    elif isinstance(image, Image.Image):
        img = image
        _check_pixels(img)
        _ensure_loaded(img)
    else:
        raise TypeError(f"prepare_image expects bytes or a PIL image, got {type(image).__name__}")

    band, lo, hi = _grey(img)
    paper = _to_unit(_shrink(band), lo, hi)  # [h, w], 1 = white, h, w <= ~512
    # Imported here: OpenCV loads with the first upload, not with every page that imports this.
    from .paper import paper_ink

    # [h, w], 0 = background; its peak is the ink's contrast against its own paper.
    blank = "no digit found: the image is blank (one uniform colour, or almost no contrast)"
    return _ink_to_mnist(paper_ink(paper), blank, shape=True, model=model)


def preview_png(data: bytes, max_side: int = 280) -> bytes:
    """The upload as sent (oriented, frame 0), reduced to fit max_side px, as PNG bytes: what a
    page shows "as given" (browsers cannot show HEIC; a thumbnail, not 5 MB). Checked and
    decoded like open_image (ImageError)."""
    img = _open(data, draft_size=(max_side, max_side))
    if img.mode in _HIGH_DEPTH:  # 16-bit, float: shown as prepare_image reads them (stretched grey)
        band, lo, hi = _grey(img)
        img = Image.fromarray((_to_unit(band, lo, hi) * 255).round().astype(np.uint8))
    else:
        img = img.convert("RGBA" if img.has_transparency_data else "RGB")
    img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()


def prepare_array(pixels: np.ndarray) -> torch.Tensor:
    """A drawing -> float32 tensor [1, 28, 28] in [0, 1], through the same crop/fit/centre step.

    `pixels`: [H, W], 1 = ink on a 0 background (what a canvas gives after conversion to grey).
    Floats are clipped to [0, 1]; integer arrays are read as 0..255; bool as 0/1. An empty
    drawing raises ImageError; a wrong shape or dtype raises ValueError/TypeError.
    """
    arr = np.asarray(pixels)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"prepare_array expects a non-empty [H, W] array, got shape {arr.shape}")
    if arr.size > MAX_PIXELS:
        raise ImageError(
            f"drawing is {arr.shape[1]}x{arr.shape[0]} pixels; the limit is {MAX_PIXELS:,} pixels"
        )
    if arr.dtype == np.bool_:
        arr = arr.astype(np.float32)
    elif np.issubdtype(arr.dtype, np.integer):
        arr = arr.astype(np.float32) / np.float32(255.0)
    elif np.issubdtype(arr.dtype, np.floating):
        arr = np.nan_to_num(arr.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    else:
        raise TypeError(f"prepare_array expects a numeric array, got dtype {arr.dtype}")
    arr = np.clip(arr, 0.0, 1.0)
    # Same bounded working size as uploads (a canvas is usually a few hundred px: no-op).
    ink = np.asarray(_shrink(Image.fromarray(np.ascontiguousarray(arr))), dtype=np.float32)
    return _ink_to_mnist(ink, "no digit found: the drawing is empty")
