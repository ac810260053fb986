"""Per-model caches of the pages that put p(x) to work: Compress, Denoise & inpaint and the
Typicality page's out-of-distribution measurements. The computations live in vae/ (compress,
inpaint, anomaly); this only keeps their results per model (ui/cache.py `per_model`)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from vae.anomaly import OodScores, ood_scores
from vae.compress import CodingTable, coding_table
from vae.lossy import RD_BITS, rd_digits, saved_rate_distortion
from vae.inpaint import channel_grid
from vae.quadrature import PriorGrid

from .cache import per_model
from .models import ModelHandle, quadrature_grid


# 40 MB (25,600 grid points x 784 pixels as 16-bit counts): shared read-only by all sessions;
# one model's at a time (another model's page rebuilds its own, ~1 s).
@per_model(st.cache_resource, show_spinner="Decoding the coding grid…", max_entries=1)
def coding_table_for(handle: ModelHandle) -> CodingTable:
    """The lossless coder's shared model (vae/gridcoder.py); ValueError for a CVAE."""
    return coding_table(handle.model)


@per_model(st.cache_data, show_spinner="Measuring the lossy mode on test digits…", max_entries=4)
def rate_distortion_curve(handle: ModelHandle) -> dict[str, np.ndarray]:
    """vae.lossy.rate_distortion on RD_DIGITS test digits at RD_BITS bits per axis (saved on
    disk per weights; shipped for the shipped models)."""
    return saved_rate_distortion(handle.ckpt, rd_digits(), RD_BITS)


# 31 MB each (the 10,000-cell grid's logits seen through one mask and flip rate): only the
# latest stays; another mask or rate is a new one anyway (~0.5 s from the quadrature grid).
@per_model(st.cache_resource, show_spinner=False, max_entries=1)
def channel_grid_for(handle: ModelHandle, observed_bytes: bytes, rho: float) -> PriorGrid:
    """vae.inpaint.channel_grid for a mask (np.packbits of the bool [28, 28], hashable) and rho."""
    observed = np.unpackbits(np.frombuffer(observed_bytes, np.uint8))[:784].astype(bool).reshape(28, 28)
    return channel_grid(quadrature_grid(handle), observed, rho)


OOD_PER_SET = 60  # images per out-of-distribution set on the Typicality page (the benchmark: 300)


@per_model(st.cache_data, show_spinner="Scoring the out-of-distribution sets (once per model, about a minute)…",
           max_entries=4)
def ood_scores_for(handle: ModelHandle, per_set: int) -> OodScores:
    """vae.anomaly.ood_scores (kept in data/cache/ across restarts); an unconditional model."""
    return ood_scores(handle.ckpt, per_set, quadrature_grid(handle))
