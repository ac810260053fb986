"""Latent-plane layers that depend on a model and are worth keeping: the test set's latent
means and the decoded manifold. Built once per model (and settings) and shared by all sessions,
read-only (vae.plane.Layer is frozen); the browser then holds their blobs by content id. What
they draw is vae/scenes.py's (the static site, vae/site.py, draws the same)."""

from __future__ import annotations

import streamlit as st

from vae import scenes
from vae.latent import Spacing
from vae.plane import Layer

from .cache import per_model
from .models import ModelHandle, manifold, test_latents


@per_model(st.cache_resource, show_spinner=False, max_entries=16)
def means_layer(handle: ModelHandle, n_points: int = 10_000, visible: bool = True) -> Layer:
    """The first n_points test images' latent means, coloured by digit (a legend entry each)."""
    mu, _, labels = test_latents(handle)
    return scenes.means_layer(mu, labels, n_points, visible)


@per_model(st.cache_resource, show_spinner=False, max_entries=16)
def manifold_layer(handle: ModelHandle, n: int, spacing: Spacing, radius: float, label: int | None,
                   size: int) -> Layer:
    """The decoded n x n manifold at its own resolution (n*28 pixels) filling its plane
    (vae.plane.Plane.of_manifold): crisp pixels when the browser enlarges it, smooth when it
    shrinks it (n*28 > size)."""
    return scenes.manifold_layer(manifold(handle, n, spacing, radius, label), size)
