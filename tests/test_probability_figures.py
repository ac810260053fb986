"""The Typicality page's charts (vae/figures.py) built from real results: the score among the
reference scores, and the per-pixel error map."""

from __future__ import annotations

import numpy as np

from vae.data import fixed_binarization
from vae.evidence import reconstruction_error_map
from vae.figures import error_map_figure, log_ticks, rate_distortion_figure, score_histogram
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


def test_the_rate_axis_labels_say_20_not_2_and_the_lossless_star_is_not_clipped() -> None:
    bits = np.array([6.0, 12.0, 24.0, 48.0])
    fig = rate_distortion_figure(bits, np.array([30.0, 20, 12, 9]), np.array([28.0, 19, 11, 8]), 140.0, 7.5)
    axis = fig.layout.xaxis
    assert axis.type == "log" and list(axis.ticktext) == ["10", "20", "50", "100"]
    assert list(axis.tickvals) == [10, 20, 50, 100]  # within 6..140: each a tick where its label says
    assert fig.data[2].cliponaxis is False and list(fig.data[2].y) == [0.0]
    assert log_ticks(0.0, 5.0) == [] and log_ticks(3.0, 3.0) == []
