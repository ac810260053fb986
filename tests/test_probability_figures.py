"""The Typicality page's charts (vae/figures.py) built from real results: the score among the
reference scores, and the per-pixel error map."""

from __future__ import annotations

import numpy as np

from vae.data import fixed_binarization
from vae.evidence import reconstruction_error_map
from vae.figures import error_map_figure, score_histogram
from vae.typicality import typicality


def test_score_histogram_pins_a_far_score_to_the_edge() -> None:
    reference = np.random.default_rng(0).normal(-100, 20, 500)
    result = typicality(-2000.0, reference)
    hist = score_histogram(reference, result.score, result.bands, result.percentile)
    assert "off scale" in hist.layout.annotations[-1].text  # far away: pinned to the edge
    assert len(hist.layout.shapes) == 3  # two bands and the score


def test_error_map_figure(shipped) -> None:
    digit = fixed_binarization("test", seed=0)[0][0]
    err = error_map_figure(reconstruction_error_map(shipped.model, digit))
    assert err.data[0].z.shape == (28, 28)
