"""The Posterior page's gallery: test images worth a look (vae/gallery.py), computed once per
model from scores the app already keeps, each one click from the Posterior page."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st

from vae.data import load_mnist
from vae.gallery import Shelf, candidate_modes, shelves

from .cache import per_model
from .images import show_digits
from .models import ModelHandle, quadrature_grid, ranked_scores, test_latents

@per_model(st.cache_data, show_spinner="Picking images worth a look (once per model)…", max_entries=8)
def gallery(handle: ModelHandle) -> list[Shelf]:
    log_px, elbo = ranked_scores(handle, "log p(x)"), ranked_scores(handle, "ELBO")  # [n] each
    mu, _, labels = test_latents(handle)
    modes = candidate_modes(handle.ckpt, log_px, elbo, labels, lambda label: quadrature_grid(handle, label))
    return shelves(log_px, elbo, mu[: len(log_px)], labels[: len(log_px)], modes)


def show_gallery(handle: ModelHandle, on_pick: Callable[[int], None]) -> None:
    """Each shelf: what to look for, its thumbnails, and a button per image: on_pick(test index)
    runs as the button's callback (before the rerun that shows that image)."""
    images, _ = load_mnist("test")
    for shelf in gallery(handle):
        st.markdown(f"**{shelf.title}**: {shelf.look_for}")
        show_digits(images[list(shelf.indices)].astype(np.float32) / 255.0,
                    [f"#{i} · {v:.2f} {shelf.unit}" for i, v in zip(shelf.indices, shelf.values)], per_row=4, size=56)
        buttons = st.columns(len(shelf.indices))
        for column, i in zip(buttons, shelf.indices):
            column.button(f"Open #{i}", key=f"gallery_{shelf.title}_{i}", on_click=on_pick, args=(i,),
                          icon=":material/open_in_new:", width="stretch")
