"""vae/typicality.py: percentiles against counting by hand, verdicts, the scores of the shipped
model against the quadrature, and the reference scores kept on disk; the demo inputs (vae/demos.py)
the Typicality page offers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vae import arraycache, load_checkpoint
from vae import typicality as ty
from vae.data import binarize, fixed_binarization
from vae.lossy import RD_BITS, rd_digits, saved_rate_distortion
from vae.gallery import candidate_modes
from vae.demos import DEMOS, demo_image
from vae.quadrature import exact_posterior, prior_grid


def test_percentiles_count_the_reference_below_with_ties_half() -> None:
    reference = np.random.default_rng(0).integers(-120, -80, size=1000).astype(float)  # many ties
    scores = np.concatenate([np.linspace(-130, -70, 121), [-100.0, -100.5]])
    by_hand = [100.0 * ((reference < s).sum() + 0.5 * (reference == s).sum()) / len(reference) for s in scores]
    np.testing.assert_allclose(ty.percentiles(scores, reference), by_hand)
    assert [ty.percentile_of(s, reference) for s in scores[::20]] == pytest.approx(by_hand[::20])
    assert np.all(np.diff(ty.percentiles(np.sort(scores), reference)) >= 0)
    with pytest.raises(ValueError):
        ty.percentiles(scores, np.zeros(0))


def test_typicality_verdicts_use_both_tails() -> None:
    reference = np.arange(1000, dtype=float)  # percentiles are easy to read off
    b = ty.bands(reference)
    assert (b.p1, b.p25, b.p75, b.p99) == pytest.approx((9.99, 249.75, 749.25, 989.01))
    assert ty.typicality(500.0, reference).verdict == "typical"
    assert ty.typicality(100.0, reference).verdict == "unusual"
    assert ty.typicality(900.0, reference).verdict == "unusual"
    assert ty.typicality(-50.0, reference).verdict == "anomalous"
    assert ty.typicality(5000.0, reference).verdict == "anomalous"  # far *more* likely: also odd
    assert ty.typicality(-50.0, reference).percentile == 0.0


def test_rank_by_typicality_orders_from_the_middle_out() -> None:
    reference = np.arange(100, dtype=float)
    order = ty.rank_by_typicality(np.array([0.0, 49.5, 99.0, 30.0, 200.0]), reference)
    assert order.tolist()[:2] == [1, 3] and set(order[-2:]) == {2, 4}


def test_typicality_scores_of_the_shipped_model(shipped) -> None:
    grid = prior_grid(shipped.model)
    x = fixed_binarization("val", seed=0)[0][:8]
    log_px = ty.typicality_scores(shipped.model, x, "log p(x)", grid)
    elbo = ty.typicality_scores(shipped.model, x, "ELBO", grid)
    assert log_px.shape == elbo.shape == (8,)
    # The coarse tolerance (3e-3) against the page's fine one (1e-4): within 0.1 nats.
    fine = np.array([exact_posterior(shipped.model, x[i], grid).log_px for i in range(3)])
    np.testing.assert_allclose(log_px[:3], fine, atol=0.1)
    assert (elbo <= log_px + 0.05).all()  # 16 x 16 ELBO grid vs the quadtree
    blank = ty.typicality_scores(shipped.model, np.zeros((1, 28, 28)), "log p(x)", grid)[0]
    noise = ty.typicality_scores(shipped.model, binarize(np.full((1, 28, 28), 0.5), 0), "log p(x)", grid)[0]
    assert noise < log_px.min() - 100 < blank  # noise is far less likely than digits; blank is not
    with pytest.raises(ValueError):
        ty.typicality_scores(shipped.model, x, "entropy", grid)  # type: ignore[arg-type]


def test_split_scores_are_kept_on_disk(tmp_path, monkeypatch, shipped) -> None:
    monkeypatch.setattr(arraycache, "CACHE_DIR", tmp_path)
    first = ty.split_scores(shipped, "val", 6, True, "ELBO")
    x = fixed_binarization("val", seed=0)[0][:6]
    np.testing.assert_array_equal(first, ty.typicality_scores(shipped.model, x, "ELBO"))
    (saved,) = list(tmp_path.iterdir())
    np.save(saved, np.full(6, -7.0))  # what a restarted server would find
    assert ty.split_scores(shipped, "val", 6, True, "ELBO").tolist() == [-7.0] * 6
    assert ty.split_scores(shipped, "val", 6, False, "ELBO").tolist() != [-7.0] * 6  # another key


def test_split_scores_of_a_cvae_use_each_image_s_label(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(arraycache, "CACHE_DIR", tmp_path)
    cvae = load_checkpoint("checkpoints/mnist-2d-cvae")
    scores = ty.split_scores(cvae, "val", 5, True, "ELBO")
    x, labels = fixed_binarization("val", seed=0)
    for i in range(5):  # one image at a time, with its own label: log p(x|y)
        alone = ty.typicality_scores(cvae.model.conditioned(int(labels[i])), x[i : i + 1], "ELBO")[0]
        assert scores[i] == pytest.approx(alone, abs=1e-3)


def test_demo_inputs() -> None:
    digit = fixed_binarization("test", seed=0)[0][0, 0].numpy()
    images = {name: demo_image(name, digit) for name in DEMOS}
    for name, img in images.items():
        assert img.shape == (28, 28) and img.dtype == np.float32, name
        assert 0.0 <= img.min() and img.max() <= 1.0, name
    assert images["Blank"].sum() == 0
    assert np.array_equal(images["Inverted digit"], 1 - digit)
    assert images["Letter A"].max() == 1.0 and 0.05 < images["Letter A"].mean() < 0.4
    assert images["Rotated digit"].sum() == pytest.approx(digit.sum(), rel=0.1)
    assert not np.array_equal(images["Rotated digit"], digit)
    assert np.array_equal(demo_image("Noise", digit, seed=1), demo_image("Noise", digit, seed=1))
    with pytest.raises(ValueError):
        demo_image("Cat", digit)


SHIPPED_NAMES = sorted(p.stem for p in (Path(__file__).resolve().parent.parent / "checkpoints").glob("*.safetensors"))


@pytest.mark.parametrize("name", SHIPPED_NAMES)
def test_the_shipped_models_scores_ship_with_them(name: str) -> None:
    """A fresh clone computes nothing for the Typicality page: every set it reads is in
    checkpoints/scores/, and it holds what the scoring computes."""
    ckpt = load_checkpoint(f"checkpoints/{name}")
    for split, n in ty.PAGE_SETS:
        for score in ty.SCORES:
            for binarized in (True, False):
                assert ty.scores_saved(ckpt, split, n, binarized, score), (split, score, binarized)
    shipped = ty.split_scores(ckpt, "test", ty.RANKED_IMAGES, True, "log p(x)")
    x, labels = fixed_binarization("test", seed=0)
    for i in range(3):  # one image at a time (a CVAE's with its own label)
        view = ckpt.model.conditioned(int(labels[i])) if ckpt.model.conditional else ckpt.model
        assert shipped[i] == pytest.approx(ty.typicality_scores(view, x[i : i + 1], "log p(x)")[0], abs=1e-6)


def test_precompute_saves_every_set_and_the_gallery_modes_once(tmp_path, monkeypatch, small_model) -> None:
    from vae import save_checkpoint

    ckpt = load_checkpoint(save_checkpoint(tmp_path / "small", small_model))
    monkeypatch.setattr(ty, "PAGE_SETS", (("val", 5), ("test", 4)))
    out = tmp_path / "scores"
    seen: list[tuple[int, int]] = []
    assert ty.precompute(ckpt, out, progress=lambda done, total: seen.append((done, total))) == 10
    # 2 sets x 2 scores x 2 binarisations, the gallery's modes and the lossy curve (read back below)
    assert len(list(out.iterdir())) == 10 and seen[-1] == (4 * 9, 4 * 9)
    log_px, elbo = (ty.split_scores(ckpt, "test", 4, True, s, directory=out) for s in ("log p(x)", "ELBO"))
    monkeypatch.setattr("vae.gallery.exact_posterior", lambda *_a, **_k: pytest.fail("recomputed"))
    assert set(candidate_modes(ckpt, log_px, elbo, np.zeros(4, int), None, directory=out)) == {0, 1, 2, 3}
    monkeypatch.setattr("vae.lossy.rate_distortion", lambda *_a, **_k: pytest.fail("recomputed"))
    curve = saved_rate_distortion(ckpt, rd_digits(), RD_BITS, directory=out)
    assert curve["wrong"].shape == (len(RD_BITS),) and 0 <= curve["wrong"].min() <= curve["wrong"].max() <= 1
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert ty.precompute(ckpt, out) == 0  # nothing left to do
    x = fixed_binarization("test", seed=0)[0][:4]
    saved = ty.split_scores(ckpt, "test", 4, True, "ELBO", directory=out)
    np.testing.assert_allclose(saved, ty.typicality_scores(ckpt.model, x, "ELBO"))
