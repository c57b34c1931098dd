"""Forensic metric kernels (issue 14 point 6) against direct numpy/scipy computations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from degradebench.evaluators.metrics import (
    FORENSIC_METRICS,
    auc,
    balanced_accuracy,
    eer,
    fit_map,
    forensic_metrics,
    localization_scores,
    mae,
    no_score_band,
    pixel_auc,
    pixel_f1,
    pixel_f1_best,
    pixel_iou,
    pixel_mcc,
    pixel_mcc_best,
    rmse,
    threshold_at_fpr,
    tpr_at_fpr,
    within_5,
)
from degradebench.generators.core.errors import ConfigError
from degradebench.generators.ops.resize import resize_image
from scipy import stats

PIXEL = {
    "pixel_f1": pixel_f1,
    "pixel_mcc": pixel_mcc,
    "pixel_f1_best": pixel_f1_best,
    "pixel_mcc_best": pixel_mcc_best,
    "pixel_iou": pixel_iou,
    "pixel_auc": pixel_auc,
}


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(list(name.encode()))


def _square_mask(n: int = 16, lo: int = 4, hi: int = 10) -> np.ndarray:
    m = np.zeros((n, n), dtype=bool)
    m[lo:hi, lo:hi] = True
    return m


def _random_map(name: str, shape: tuple[int, int], levels: int = 11) -> np.ndarray:
    """Map values on a coarse grid so thresholds and ties matter."""
    return _rng(name).integers(0, levels, size=shape) / (levels - 1)


# ---- direct computations ---------------------------------------------------------------------


def _f1_direct(pred: np.ndarray, truth: np.ndarray) -> float:
    tp = np.sum(pred & truth)
    return 2 * tp / (2 * tp + np.sum(pred & ~truth) + np.sum(~pred & truth))


def _mcc_direct(pred: np.ndarray, truth: np.ndarray) -> float:
    """MCC is Pearson's correlation of the two binary variables (0 when one is constant)."""
    if pred.all() or not pred.any() or truth.all() or not truth.any():
        return 0.0
    return float(np.corrcoef(pred.ravel().astype(float), truth.ravel().astype(float))[0, 1])


def _auc_pairs(scores: np.ndarray, truth: np.ndarray) -> float:
    pos, neg = scores[truth], scores[~truth]
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0) + 0.5 * (diff == 0)).mean())


# ---- detection -------------------------------------------------------------------------------


def test_auc_is_mann_whitney_with_ties():
    rng = _rng("auc")
    scores = rng.integers(0, 6, size=40) / 5  # many ties
    truth = rng.random(40) < 0.4
    u = stats.mannwhitneyu(scores[truth], scores[~truth]).statistic
    want = u / (truth.sum() * (~truth).sum())
    assert auc(scores, truth) == pytest.approx(want)
    assert auc(scores, truth) == pytest.approx(_auc_pairs(scores, truth))


def test_auc_perfect_reversed_constant_and_one_class():
    truth = np.array([0, 0, 1, 1, 1], dtype=bool)
    s = np.array([0.1, 0.2, 0.7, 0.8, 0.9])
    assert auc(s, truth) == 1.0
    assert auc(1 - s, truth) == 0.0
    assert auc(np.full(5, 0.3), truth) == 0.5
    assert np.isnan(auc(s, np.ones(5, dtype=bool)))


def test_balanced_accuracy_by_hand():
    truth = np.array([1, 1, 1, 1, 0, 0], dtype=bool)
    s = np.array([0.9, 0.5, 0.4, 0.2, 0.6, 0.1])
    # TPR 2/4 (0.5 counts as manipulated), TNR 1/2
    assert balanced_accuracy(s, truth) == pytest.approx((2 / 4 + 1 / 2) / 2)
    assert balanced_accuracy(s, truth, threshold=0.3) == pytest.approx((3 / 4 + 1 / 2) / 2)
    assert np.isnan(balanced_accuracy(s, np.zeros(6, dtype=bool)))


def test_tpr_at_fpr_by_hand():
    neg = np.arange(20) / 20  # 0.00 .. 0.95; FPR 5% allows one negative above the threshold
    pos = np.array([0.5, 0.91, 0.95, 0.99])
    s = np.r_[pos, neg]
    truth = np.r_[np.ones(4, bool), np.zeros(20, bool)]
    assert threshold_at_fpr(neg, 0.05) == pytest.approx(0.9)
    assert tpr_at_fpr(s, truth) == pytest.approx(3 / 4)  # 0.91, 0.95, 0.99 > 0.9
    assert tpr_at_fpr(s, truth, fpr=0.0) == pytest.approx(1 / 4)  # only 0.99 > 0.95
    assert tpr_at_fpr(s, truth, fpr=0.5) == pytest.approx(1.0)  # threshold 0.45
    # the threshold comes from the given negatives (clean authentic images) when passed
    assert tpr_at_fpr(pos, np.ones(4, bool), negatives=np.full(10, 0.92)) == pytest.approx(2 / 4)


def test_tpr_at_fpr_never_exceeds_the_rate_with_ties():
    neg = np.full(10, 0.5)
    t = threshold_at_fpr(neg, 0.05)
    assert t == 0.5 and np.mean(neg > t) <= 0.05
    # a positive tied with the negatives is not called manipulated (that would raise the FPR)
    assert tpr_at_fpr(np.array([0.5, 0.6]), np.ones(2, bool), negatives=neg) == 0.5
    with pytest.raises(ConfigError, match="fpr"):
        threshold_at_fpr(neg, 5)


def test_eer_by_hand():
    # ROC (FPR, FNR): (0, 2/3) at 0.9, (1/3, 2/3) at 0.8, (1/3, 1/3) at 0.7: they meet at 1/3
    s = np.array([0.9, 0.7, 0.4, 0.8, 0.3, 0.2])
    truth = np.array([1, 1, 1, 0, 0, 0], dtype=bool)
    assert eer(s, truth) == pytest.approx(1 / 3)
    # FNR stays 1/3 while FPR goes 0 -> 1/2: the crossing is interpolated at 1/3
    s2 = np.array([0.9, 0.8, 0.3, 0.7, 0.2])
    t2 = np.array([1, 1, 1, 0, 0], dtype=bool)
    assert eer(s2, t2) == pytest.approx(1 / 3)
    assert eer(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1], bool)) == 0.0
    assert eer(np.array([0.9, 0.8, 0.2, 0.1]), np.array([0, 0, 1, 1], bool)) == 1.0


def test_detection_rejects_nan_and_length_mismatch():
    with pytest.raises(ValueError, match="NaN"):
        auc(np.array([0.1, np.nan]), np.array([0, 1], bool))
    with pytest.raises(ValueError, match="one per score"):
        auc(np.array([0.1, 0.2]), np.array([0, 1, 1], bool))


# ---- localization ----------------------------------------------------------------------------


def test_f1_perfect_zero_and_all_one_maps():
    mask = _square_mask()
    p = mask.mean()
    assert pixel_f1(mask.astype(float), mask) == 1.0
    assert pixel_f1(np.zeros(mask.shape), mask) == 0.0
    assert pixel_f1(np.ones(mask.shape), mask) == pytest.approx(2 * p / (1 + p))
    assert pixel_mcc(mask.astype(float), mask) == 1.0
    assert pixel_iou(mask.astype(float), mask) == 1.0
    assert pixel_iou(np.ones(mask.shape), mask) == pytest.approx(p)
    assert pixel_auc(mask.astype(float), mask) == 1.0
    assert pixel_auc(1.0 - mask, mask) == 0.0


@pytest.mark.parametrize("seed", ["a", "b", "c"])
def test_pixel_metrics_equal_direct_computation(seed):
    mask = _rng(seed + "mask").random((12, 12)) < 0.3
    m = _random_map(seed, (12, 12))
    pred = m >= 0.5
    assert pixel_f1(m, mask) == pytest.approx(_f1_direct(pred, mask))
    assert pixel_mcc(m, mask) == pytest.approx(_mcc_direct(pred, mask))
    iou = np.sum(pred & mask) / np.sum(pred | mask)
    assert pixel_iou(m, mask) == pytest.approx(iou)
    assert pixel_auc(m, mask) == pytest.approx(_auc_pairs(m.ravel(), mask.ravel()))
    thresholds = [*np.unique(m), np.inf]
    best_f1 = max(_f1_direct(m >= t, mask) for t in thresholds)
    best_mcc = max(_mcc_direct(m >= t, mask) for t in thresholds)
    assert pixel_f1_best(m, mask) == pytest.approx(best_f1)
    assert pixel_mcc_best(m, mask) == pytest.approx(best_mcc)
    assert pixel_f1_best(m, mask) >= pixel_f1(m, mask)
    together = localization_scores(m, mask)
    assert together == pytest.approx({n: fn(m, mask) for n, fn in PIXEL.items()})


def test_pixel_auc_brute_force_pairs_on_a_tiny_map():
    m = np.array([[0.9, 0.2, 0.4], [0.4, 0.7, 0.1], [0.0, 0.4, 0.6]])
    mask = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 1]], dtype=bool)
    pairs = [
        1.0 if a > b else 0.5 if a == b else 0.0 for a, b in itertools.product(m[mask], m[~mask])
    ]
    assert pixel_auc(m, mask) == pytest.approx(sum(pairs) / len(pairs))


def test_no_score_band_on_a_tiny_square():
    mask = np.zeros((7, 7), dtype=bool)
    mask[2:5, 2:5] = True
    want = np.zeros((7, 7), dtype=bool)
    want[1:6, 1:6] = True  # within one pixel (8-neighbourhood) of the other class ...
    want[3, 3] = False  # ... except the square's centre, whose neighbours are all inside
    assert np.array_equal(no_score_band(mask, 1), want)
    assert not no_score_band(mask, 0).any()
    # r = 2 covers the whole 3x3 square and the ring of two pixels around it
    want2 = np.zeros((7, 7), dtype=bool)
    want2[0:7, 0:7] = True
    assert np.array_equal(no_score_band(mask, 2), want2)
    # a mask touching the image border: the border itself is no boundary
    edge = np.zeros((5, 5), dtype=bool)
    edge[:, :2] = True
    band = no_score_band(edge, 1)
    assert np.array_equal(band, np.tile([False, True, True, False, False], (5, 1)))
    with pytest.raises(ConfigError, match="no_score_px"):
        no_score_band(mask, -1)


def test_no_score_band_is_left_out_of_scoring():
    mask = np.zeros((7, 7), dtype=bool)
    mask[2:5, 2:5] = True
    band = no_score_band(mask, 1)
    wrong_on_band = np.where(band, 1.0 - mask, mask.astype(float))
    assert pixel_f1(wrong_on_band, mask) < 1.0
    assert pixel_f1(wrong_on_band, mask, no_score_px=1) == 1.0
    # scored pixels: 49 - 24 band pixels = the centre (true) and 24 outside the ring (false)
    assert pixel_iou(np.ones((7, 7)), mask, no_score_px=1) == pytest.approx(1 / 25)
    # r = 2 swallows the whole mask: nothing manipulated left to score
    assert all(np.isnan(v) for v in localization_scores(mask * 1.0, mask, no_score_px=2).values())


def test_half_resolution_map_is_resized_bilinearly_to_the_mask():
    small = np.zeros((4, 4))
    small[1:3, 1:3] = 1.0
    mask = np.zeros((8, 8), dtype=bool)
    mask[2:6, 2:6] = True
    fitted = fit_map(small, mask.shape)
    assert fitted.shape == (8, 8)
    want = resize_image((small * 255).astype(np.uint8), (8, 8), backend="pillow",
                        method="bilinear") / 255.0  # fmt: skip
    assert np.array_equal(fitted, want)
    assert 0.0 < fitted[1, 1] < fitted[2, 2] < 1.0  # interpolated, not nearest neighbour
    # bilinear x2: pixel 2 samples input 0.75 (value 0.75), pixel 1 samples 0.25 (0.25)
    assert pixel_f1(small, mask) == 1.0
    assert pixel_f1(small[None], mask) == 1.0  # a [1, h, w] map as models return it


def test_uint8_map_and_bad_maps():
    mask = _square_mask(8, 2, 5)
    assert pixel_f1(mask.astype(np.uint8) * 255, mask) == 1.0
    assert pixel_f1(np.full(mask.shape, 127, np.uint8), mask) == 0.0  # 127/255 < 0.5
    assert pixel_f1(np.full(mask.shape, 128, np.uint8), mask) > 0.0
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        pixel_f1(np.full(mask.shape, 2.0), mask)
    with pytest.raises(ValueError, match="shape"):
        pixel_f1(np.zeros((2, 8, 8)), mask)


@pytest.mark.parametrize("name", sorted(PIXEL))
def test_authentic_image_gives_no_pixel_value(name):
    empty = np.zeros((8, 8), dtype=bool)
    assert np.isnan(PIXEL[name](np.full((8, 8), 0.7), empty))


def test_map_is_not_modified():
    m = _random_map("keep", (6, 6))
    before = m.copy()
    localization_scores(m, m > 0.5, no_score_px=1)
    assert np.array_equal(m, before)


# ---- regression ------------------------------------------------------------------------------


def test_regression_equals_direct_computation():
    truth = np.array([90, 75, 50, 95, 60], dtype=float)
    pred = np.array([88, 81, 50, 100, 47], dtype=float)
    err = pred - truth
    assert mae(pred, truth) == pytest.approx(np.abs(err).mean())
    assert rmse(pred, truth) == pytest.approx(np.sqrt((err**2).mean()))
    assert within_5(pred, truth) == pytest.approx(3 / 5)  # |-2|, 0, 5 are within; 6, 13 not
    assert mae(truth, truth) == 0.0 and rmse(truth, truth) == 0.0 and within_5(truth, truth) == 1.0


def test_regression_skips_unknown_truth():
    truth = np.array([90, np.nan, 70])
    pred = np.array([80, 10, 70])
    assert mae(pred, truth) == pytest.approx(5.0)
    assert np.isnan(mae(pred[1:2], truth[1:2]))


# ---- registry --------------------------------------------------------------------------------

DIRECTION = {
    "auc": True, "balanced_accuracy": True, "tpr_at_fpr": True, "eer": False,
    "pixel_f1": True, "pixel_mcc": True, "pixel_f1_best": True, "pixel_mcc_best": True,
    "pixel_iou": True, "pixel_auc": True, "mae": False, "rmse": False, "within_5": True,
    "image_auc": True, "image_balanced_accuracy": True, "image_tpr_at_fpr": True,
    "image_eer": False,
}  # fmt: skip


def test_registry_names_tasks_and_direction():
    assert FORENSIC_METRICS.names() == sorted(DIRECTION)
    for name, higher in DIRECTION.items():
        m = FORENSIC_METRICS.get(name)
        assert m.name == name and m.higher_is_better is higher and m.doc
        assert m.optimistic is name.endswith("_best")
    assert [m.name for m in forensic_metrics("detection")] == [
        "auc", "balanced_accuracy", "eer", "image_auc", "image_balanced_accuracy", "image_eer",
        "image_tpr_at_fpr", "tpr_at_fpr",
    ]  # fmt: skip
    assert FORENSIC_METRICS.get("image_eer").fn is FORENSIC_METRICS.get("eer").fn
    assert {m.name for m in forensic_metrics("localization")} == set(PIXEL)
    assert {m.name for m in forensic_metrics("regression")} == {"mae", "rmse", "within_5"}
    assert FORENSIC_METRICS.get("pixel_f1").fn is pixel_f1


def test_registry_answers_unknown_name_with_close_matches():
    with pytest.raises(ConfigError, match=r"unknown forensic metric 'pixel_f'.*'pixel_f1'"):
        FORENSIC_METRICS.get("pixel_f")
    with pytest.raises(ConfigError, match="task"):
        forensic_metrics("segmentation")
