"""A few MNIST-like readings of one digit's ink, and the one the model explains best (no streamlit).

`vae.preprocess.prepare_image(..., model=...)` runs this instead of the single `paper.mnist_shape`
step. Typeset and drawn digits differ from MNIST's handwriting in ways one fixed normalisation
cannot undo: fonts are wider or narrower (a typeset 8 fitted into 20x20 reads as a 3), upright
or leaning more than the mean hand, in thinner pens. So the ink is shaped at a few slants and
squeezed or widened by a few factors (`SLANTS` x `SQUEEZES`), and also redrawn with a bold pen
(`BOLD`, at MNIST's slant, `BOLD_SQUEEZES`): 17 images, each through the same 20x20 fit and
centring. The model chooses: the variant whose reconstruction at its latent mean is most alike
(cosine similarity) to the variant itself. No label is read; the first variant is the
model-free pipeline's.

Why cosine and not the ELBO or log p(x): those are sums over pixels and favour whichever variant
has the least ink (a squeezed, thin digit always wins; measured: worse than no choice at all).
The cosine ignores the amount of ink: it asks whether the decoder can draw this shape.

Measured (5-NN accuracy of the default model, photos of tests/photo_digits.py; the variant set
tuned on 1,200 photos of seeds 11 and 13): 0.688 -> 0.792 (fonts 0.50 -> 0.64, drawn strokes
0.75 -> 0.88, MNIST handwriting 0.81 -> 0.85). Confirmed once on bench/photos.py's seed 7:
0.657 -> 0.762 (fonts 0.455 -> 0.595, strokes 0.75 -> 0.885, MNIST 0.765 -> 0.805). Larger sets
(more slants, widths, serif pruning) and other criteria measured no better: the choice gets
noisier as it widens. Time: ~8-10 ms more per photo (one torch thread).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from .model import VAE
from .paper import MNIST_SLANT, mnist_shape

# The slants a digit is shaped to (paper.deskew's mu11 / mu02): MNIST's mean first (what the
# model-free path uses), then a strong right lean and a slight left lean (MNIST's sd is 0.29).
SLANTS: tuple[float, ...] = (MNIST_SLANT, -0.4, 0.1)
# Width factors (< 1 squeezes): 1 first (the model-free path). Fonts are mostly wider than the
# hands MNIST holds, condensed ones narrower.
SQUEEZES: tuple[float, ...] = (1.0, 1.2, 0.85, 0.7, 0.55)
# The bold pen, over the digit's size: about MNIST's 90th percentile of stroke width (0.179,
# paper.py). Measured: bolder (0.20), thinner (0.09) or more bold variants did not help; this
# pair mostly rescues typeset 8s and drawn strokes.
BOLD = 0.17
BOLD_SQUEEZES: tuple[float, ...] = (1.0, 0.7)


def _squeezed(ink: np.ndarray, factor: float) -> np.ndarray:
    """ink [h, w] with its width scaled by `factor` (area-averaged)."""
    if factor == 1.0:
        return ink
    height, width = ink.shape
    return cv2.resize(ink, (max(1, round(width * factor)), height), interpolation=cv2.INTER_AREA)


def shaped_variants(crop: np.ndarray, every: bool = True) -> list[np.ndarray]:
    """A digit's ink cropped to its box (float32 [h, w], 0 = background, peak 1) -> its shaped
    variants, each float32 [h', w'] (paper.mnist_shape's output, then squeezed), not yet cropped
    or fitted. The first is the plain MNIST shape (slant MNIST_SLANT, no squeeze); `every=False`
    returns only that one."""
    if not every:
        return [mnist_shape(crop)]
    shapes = [mnist_shape(crop, slant) for slant in SLANTS]  # the costly step: once per slant
    out = [_squeezed(shape, factor) for shape in shapes for factor in SQUEEZES]
    bold = mnist_shape(crop, MNIST_SLANT, stroke=BOLD)
    return out + [_squeezed(bold, factor) for factor in BOLD_SQUEEZES]


@torch.inference_mode()
def best_variant(model: VAE, images: np.ndarray) -> int:
    """The index of the image [V, 28, 28] (float32 in [0, 1]) whose reconstruction at its latent
    mean (Bernoulli means) has the highest cosine similarity with it. An unconditional model (a
    CVAE needs a label to encode, which an upload does not have: index 0)."""
    if getattr(model, "conditional", False) or len(images) < 2:
        return 0
    x = torch.as_tensor(images, dtype=torch.float32).reshape(len(images), -1)  # [V, 784]
    mu, _ = model.encode(x)
    recon = torch.sigmoid(model.decode_logits(mu))  # [V, 784]
    cosine = (x * recon).sum(1) / (x.norm(dim=1) * recon.norm(dim=1) + 1e-6)  # [V]
    return int(torch.argmax(cosine))
