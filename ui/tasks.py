"""Per-model caches of the pages that put p(x) to work: Compress, Denoise & inpaint and the
Typicality page's out-of-distribution measurements. The computations live in vae/ (compress,
inpaint, anomaly); this only keeps their results per model (ui/cache.py `per_model`)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st

from vae.anomaly import OodScores, ood_scores
from vae.gridcoder import CodingTable
from vae.lossy import RD_BITS, rd_digits, saved_rate_distortion
from vae.model_tables import table_opener

from .cache import per_model
from .models import ModelHandle, quadrature_grid


# The table is 50 MB (25,600 grid points x 784 pixels as 16-bit counts, and its watch points):
# built once per weights (~1 s; the launcher builds the shipped models' in the background) into
# the array cache, then mapped from there for each use (vae/model_tables.py), so the server holds none
# of it between runs and the kernel keeps one copy for every session and replica. Only the
# opener (a few kB) is cached here.
@per_model(st.cache_resource, show_spinner="Decoding the coding grid (once for these weights)…", max_entries=16)
def _coding_table_opener(handle: ModelHandle) -> Callable[[], CodingTable]:
    return table_opener(handle.ckpt)


def coding_table_for(handle: ModelHandle) -> CodingTable:
    """The lossless coder's shared model (vae/gridcoder.py), mapped read-only: hold it for one
    run, don't cache it. ValueError for a CVAE."""
    return _coding_table_opener(handle)()


@per_model(st.cache_data, show_spinner="Measuring the lossy mode on test digits…", max_entries=4)
def rate_distortion_curve(handle: ModelHandle) -> dict[str, np.ndarray]:
    """vae.lossy.rate_distortion on RD_DIGITS test digits at RD_BITS bits per axis (saved on
    disk per weights; shipped for the shipped models)."""
    return saved_rate_distortion(handle.ckpt, rd_digits(), RD_BITS)


OOD_PER_SET = 60  # images per out-of-distribution set on the Typicality page (the benchmark: 300)


@per_model(st.cache_data, show_spinner="Scoring the out-of-distribution sets (once per model, about a minute)…",
           max_entries=4)
def ood_scores_for(handle: ModelHandle, per_set: int) -> OodScores:
    """vae.anomaly.ood_scores (kept in data/cache/ across restarts); an unconditional model."""
    return ood_scores(handle.ckpt, per_set, quadrature_grid(handle))
