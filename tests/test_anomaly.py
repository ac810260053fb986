"""vae/anomaly.py: bands and verdicts against counting, AUROC and ROC against brute force, the
out-of-distribution sets' construction, and the detection table on scores made up here."""

from __future__ import annotations

import numpy as np
import pytest

from vae import anomaly as an


def test_bands_hold_their_share_and_the_question_rule_flags_half() -> None:
    rng = np.random.default_rng(0)
    reference, fresh = rng.normal(size=20_000), rng.normal(size=20_000)  # valid digits' scores, two draws
    for fa in (0.01, 0.05, 0.5):
        lo, hi = an.band(reference, fa)
        assert ((reference >= lo) & (reference <= hi)).mean() == pytest.approx(1 - fa, abs=1e-3)
        assert an.flag_rate(fresh, reference, fa) == pytest.approx(fa, abs=0.01)  # the rule's cost
    assert an.RULES["the question's 25–75 % band"] == 0.5


def test_verdicts_name_the_rule_and_the_tail() -> None:
    reference = np.arange(1000, dtype=float)
    assert an.verdict(500.0, reference, 0.05).word == "typical"
    low, high = an.verdict(10.0, reference, 0.05), an.verdict(990.0, reference, 0.05)
    assert (low.word, low.side, high.word, high.side) == ("anomalous", "low", "anomalous", "high")
    assert an.verdict(200.0, reference, 0.05).word == "typical"
    assert an.verdict(200.0, reference, 0.5).word == "unusual"  # outside 25-75 %: half of all digits are
    assert an.verdict(5000.0, reference, 0.01).side == "high"  # far more likely than any digit: flagged


def test_auroc_and_roc_against_counting_pairs() -> None:
    rng = np.random.default_rng(1)
    neg, pos = rng.normal(size=300).round(1), (rng.normal(size=200) + 0.8).round(1)  # ties included
    pairs = np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg])
    assert an.auroc(neg, pos) == pytest.approx(pairs)
    fpr, tpr = an.roc(neg, pos)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert np.trapezoid(tpr, fpr) == pytest.approx(pairs, abs=1e-9)  # ties as diagonal steps


def test_statistics_and_flags() -> None:
    reference = np.arange(100, dtype=float)
    two = an.statistic(np.array([0.0, 49.5, 99.0]), reference, "two")
    assert two[0] == pytest.approx(two[2]) and two[1] < 1
    np.testing.assert_array_equal(an.flagged(np.array([-1.0, 50.0, 200.0]), reference, "two", 0.05), [True, False, True])
    np.testing.assert_array_equal(an.flagged(np.array([-1.0, 50.0, 200.0]), reference, "low", 0.05), [True, False, False])
    np.testing.assert_array_equal(an.flagged(np.array([-1.0, 50.0, 200.0]), reference, "high", 0.05), [False, False, True])


def test_out_of_distribution_sets_are_what_they_say() -> None:
    from vae.data import load_mnist

    digits = load_mnist("test")[0][5000:5004].astype(np.float32) / 255.0
    for name in an.OOD_SETS:
        x = an.ood_images(name, 4)
        assert x.shape == (4, 28, 28) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1, name
    np.testing.assert_array_equal(an.ood_images("rotated 180°", 4), digits[:, ::-1, ::-1])
    np.testing.assert_array_equal(an.ood_images("inverted", 4), 1 - digits)
    assert not an.ood_images("blank", 4).any()
    assert (an.ood_images("thickened", 4) >= digits).all() and (an.ood_images("thinned", 4) <= digits).all()
    shifted = an.ood_images("shifted", 4)
    assert shifted.sum() < digits.sum()  # part of the ink left the frame
    letters = an.letter_images(26)
    assert all(letters[k].sum() > 5 for k in range(26))  # every letter drew something
    assert not np.array_equal(letters[0], letters[1])
    with pytest.raises(ValueError):
        an.ood_images("clouds", 2)


def test_detection_table_on_made_up_scores() -> None:
    rng = np.random.default_rng(2)
    ref = {s: rng.normal(size=2000) for s in an.SCORES}
    test = {s: rng.normal(size=1000) for s in an.SCORES}
    far_low = {s: rng.normal(size=300) - 6 for s in an.SCORES}  # like noise: log p far below
    far_high = {s: rng.normal(size=300) + 6 for s in an.SCORES}  # like a blank page: far above
    table = an.detection_table(an.OodScores(ref, test, {"low": far_low, "high": far_high}), 0.05)
    assert table["low"]["log p(x), low only"][0] > 0.99 and table["low"]["log p(x), two-sided"][1] > 0.95
    assert table["high"]["log p(x), low only"][0] < 0.01  # a one-sided rule calls them most normal
    assert table["high"]["log p(x), two-sided"][1] > 0.95  # a two-sided band catches them
