"""Images worth a look (vae/gallery.py): modes counted on densities built by hand, border scores
on points placed by hand, and the Posterior page's gallery opens an image in one click."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st
from streamlit.testing.v1 import AppTest

from vae.gallery import border_scores, count_modes, shelves

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def _bumps(*centres: tuple[float, float, float]) -> np.ndarray:
    g = np.linspace(-3, 3, 61)
    z1, z2 = np.meshgrid(g, g)
    return sum(w * np.exp(-((z1 - a) ** 2 + (z2 - b) ** 2) / 0.1) for a, b, w in centres)


def test_count_modes() -> None:
    assert count_modes(_bumps((0, 0, 1))) == 1
    assert count_modes(_bumps((-1.5, 0, 1), (1.5, 0, 0.6))) == 2
    assert count_modes(_bumps((-1.5, 0, 1), (1.5, 0, 0.05))) == 1  # a speck under the floor
    assert count_modes(_bumps((-2, -2, 1), (2, 2, 1), (2, -2, 1))) == 3


def test_border_scores() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal((-5, 0), 0.3, (30, 2))
    b = rng.normal((5, 0), 0.3, (30, 2))
    middle = np.array([[0.0, 0.0]])
    mu = np.concatenate([a, b, middle, rng.normal((0, 0), 0.05, (10, 2))])
    labels = np.array([3] * 30 + [8] * 30 + [3] + [3] * 5 + [8] * 5)
    scores = border_scores(mu, labels)
    assert scores[:60].max() == 0.0  # deep inside one digit's cluster
    assert scores[60] == 0.5  # amid five 3s and five 8s


def test_shelves_order_by_their_number() -> None:
    log_px = np.array([-100.0, -80.0, -150.0, -90.0, -120.0])
    elbo = log_px - np.array([1.0, 5.0, 0.5, 9.0, 2.0])
    mu = np.random.default_rng(1).normal(size=(5, 2))
    out = {s.title: s for s in shelves(log_px, elbo, mu, np.arange(5), {}, per_shelf=2)}
    assert out["Largest ELBO gap"].indices == (3, 1) and out["Largest ELBO gap"].values == (9.0, 5.0)
    assert out["Most likely"].indices == (1, 3) and out["Least likely"].indices == (2, 4)
    assert "Posterior with several modes" not in out  # no candidate had two modes


def test_the_gallery_opens_an_image_on_the_posterior_page() -> None:
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.switch_page("pages/posterior.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    button = next(b for b in at.button if b.key and b.key.startswith("gallery_Largest ELBO gap_"))
    index = int(button.key.rsplit("_", 1)[1])
    button.click().run()
    assert not at.exception
    assert f"test image {index} (label" in " ".join(m.value for m in at.markdown)


def test_candidate_modes_are_the_exact_posteriors_counted_once_then_read_back(tmp_path, monkeypatch) -> None:
    import vae.gallery as gallery
    from vae import load_checkpoint
    from vae.checkpoint import CHECKPOINT_DIR
    from vae.data import binarize, load_mnist
    from vae.quadrature import exact_posterior, prior_grid

    ckpt = load_checkpoint(CHECKPOINT_DIR / "mnist-2d")
    grid = prior_grid(ckpt.model)
    rng = np.random.default_rng(0)
    log_px = -rng.uniform(80, 160, 40)
    elbo = log_px - rng.uniform(0, 10, 40)  # [40]: the candidates are the 12 largest gaps
    labels = load_mnist("test")[1][:40]
    modes = gallery.candidate_modes(ckpt, log_px, elbo, labels, lambda _label: grid, directory=tmp_path)
    assert sorted(modes) == sorted(int(i) for i in np.argsort(elbo - log_px)[: gallery.CANDIDATES])
    images = load_mnist("test")[0]
    for i in list(modes)[:3]:  # recounted here from the exact posterior, computed again
        post = exact_posterior(ckpt.model, binarize(images[i].astype(np.float32) / 255.0, 0), grid)
        assert modes[i] == count_modes(post.view_posterior) >= 1
    assert len(list(tmp_path.glob("*.npy"))) == 1

    def fail(*_args, **_kwargs):
        raise AssertionError("recomputed")

    monkeypatch.setattr(gallery, "exact_posterior", fail)
    assert gallery.candidate_modes(ckpt, log_px, elbo, labels, lambda _label: grid, directory=tmp_path) == modes
