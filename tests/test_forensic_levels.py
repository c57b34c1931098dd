"""Forensic figures per level (issue 14, point 6): pixel means and detection figures with
source-grouped bootstrap CIs, checked against direct numpy computations on hand-made predictions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from degradebench.evaluators import metrics as M
from degradebench.evaluators.metrics import forensic_boot as FB
from degradebench.evaluators.metrics import forensic_detect as FD
from degradebench.evaluators.metrics.pairing import is_clean

PIXEL = ("pixel_f1", "pixel_mcc", "pixel_f1_best", "pixel_mcc_best", "pixel_iou", "pixel_auc")


def _row(src, axis, level, manipulated, score=math.nan, map_score=math.nan, px=math.nan,
         manipulation=None, level_value=math.nan, suite="forgery"):  # fmt: skip
    r = {"variant_id": f"{src}/{axis}/{level}/{manipulation}", "source_id": src, "model": "m",
         "suite": suite, "axis": axis, "level": level, "level_value": level_value,
         "manipulated": manipulated,
         "manipulation": manipulation or ("splice" if manipulated else "none"),
         "score": score, "map_score": map_score}  # fmt: skip
    for i, n in enumerate(PIXEL):
        r[n] = (px + 0.01 * i) if manipulated else math.nan
    return r


def _frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows)


def _get(df: pd.DataFrame, metric: str, level: str | None = None) -> pd.Series:
    sel = df[(df["metric"] == metric) & ((df["level"] == level) if level else True)]
    assert len(sel) == 1, (metric, level, sel)
    return sel.iloc[0]


def _boot(df, n_boot=0, weights=None):
    boot = M.Bootstrap(df["source_id"], n_boot=n_boot, seed=0)
    if weights is not None:
        boot.weights = np.asarray(weights, dtype=np.float64)
        boot.n_boot = boot.weights.shape[0]
    return boot


def _twin_level(pos, neg, level="quality=70", lv=70.0, axis="forgery-jpeg", col="score"):
    """One source per (pos, neg) pair: a manipulated variant and its authentic twin."""
    rows = []
    for i, (p, n) in enumerate(zip(pos, neg)):
        rows.append(_row(f"s{i}", axis, level, True, **{col: p}, px=0.1 * i, level_value=lv))
        rows.append(_row(f"s{i}", axis, level, False, **{col: n}, level_value=lv))
    return rows


def _clean(scores, col="score"):
    return [_row(f"s{i}", "clean", "clean", False, **{col: s}) for i, s in enumerate(scores)]


# ---- pixel rows ---------------------------------------------------------------------------


def test_pixel_means_equal_direct_numpy_over_manipulated_rows():
    rows = _twin_level([0.9, 0.8, 0.7], [0.1, 0.2, 0.3]) + _clean([0.1, 0.2, 0.3])
    rows[4]["pixel_f1"] = math.nan  # s2's manipulated variant: no scored pixel -> skipped
    df = _frame(rows)
    out = M.forensic_level_metrics(df, _boot(df), clean=is_clean(df)).summary
    manip = df[(df["axis"] == "forgery-jpeg") & df["manipulated"]]
    for n in PIXEL:
        r = _get(out, n, "quality=70")
        vals = manip[n].dropna().to_numpy()
        assert r["value"] == pytest.approx(np.mean(vals))
        assert r["n"] == r["n_variants"] == len(vals)
        assert math.isnan(r["ci_low"]) and math.isnan(r["ci_high"])  # n_boot = 0
        assert math.isnan(r["delta_clean"]) and r["n_paired"] == 0  # clean has no pixel figure
        assert r["level_value"] == 70.0 and r["suite"] == "forgery" and r["model"] == "m"
    assert list(out.columns) == M.SUMMARY_COLUMNS


def test_two_variants_of_one_source_count_once():
    rows = [
        _row("a", "ax", "l1", True, px=0.2, score=0.9), _row("a", "ax", "l1", True, px=0.4, score=0.8),
        _row("a", "ax", "l1", False, score=0.1),
        _row("b", "ax", "l1", True, px=0.9, score=0.6), _row("b", "ax", "l1", False, score=0.7),
    ]  # fmt: skip
    df = _frame(rows)
    out = M.forensic_level_metrics(df, _boot(df)).summary
    r = _get(out, "pixel_f1")
    assert r["value"] == pytest.approx((0.3 + 0.9) / 2)  # not the mean of 3 variants (0.5)
    assert (r["n"], r["n_variants"]) == (2, 3)
    # Detection: a's rows weigh 1/3 each, b's 1/2: weighted Mann-Whitney by hand.
    w = {"a": 1 / 3, "b": 1 / 2}
    pos = [(0.9, w["a"]), (0.8, w["a"]), (0.6, w["b"])]
    neg = [(0.1, w["a"]), (0.7, w["b"])]
    num = sum(wp * wn * ((sp > sn) + 0.5 * (sp == sn)) for sp, wp in pos for sn, wn in neg)
    den = sum(wp for _, wp in pos) * sum(wn for _, wn in neg)
    a = _get(out, "auc")
    assert a["value"] == pytest.approx(num / den)
    assert (a["n"], a["n_variants"]) == (2, 5)
    # Copying a source's rows (same source id) leaves every figure unchanged.
    doubled = _frame(rows + [dict(r, variant_id=r["variant_id"] + "#2") for r in rows[:3]])
    out2 = M.forensic_level_metrics(doubled, _boot(doubled)).summary
    for m in ("pixel_f1", "auc", "balanced_accuracy", "eer"):
        assert _get(out2, m)["value"] == pytest.approx(_get(out, m)["value"])


def test_a_level_with_only_authentic_images_has_no_pixel_or_detection_rows():
    rows = _twin_level([0.9, 0.8], [0.1, 0.2]) + _clean([0.1, 0.2])
    rows += [_row(f"s{i}", "forgery-jpeg", "authentic", False, score=0.3) for i in range(2)]
    df = _frame(rows)
    out = M.forensic_level_metrics(df, _boot(df)).summary
    assert set(out["level"]) == {"quality=70"}  # not clean, not authentic
    assert {"pixel_f1", "auc", "tpr_at_fpr"} <= set(out["metric"])


def test_per_manipulation_rows():
    rows = []
    vals = {"splice": [0.2, 0.6], "copy_move": [0.9, 0.5]}
    for op, v in vals.items():
        for i, x in enumerate(v):
            rows.append(_row(f"s{i}", "ax", "l", True, px=x, manipulation=op))
    rows += [_row(f"s{i}", "ax", "l", False) for i in range(2)]
    df = _frame(rows)
    out = M.forensic_level_metrics(df, _boot(df)).summary
    assert _get(out, "pixel_f1[splice]")["value"] == pytest.approx(0.4)
    assert _get(out, "pixel_f1[copy_move]")["value"] == pytest.approx(0.7)
    assert _get(out, "pixel_auc[copy_move]")["value"] == pytest.approx(0.7 + 0.05)
    assert _get(out, "pixel_f1[splice]")["n_variants"] == 2
    assert _get(out, "pixel_f1")["value"] == pytest.approx(np.mean([0.2, 0.6, 0.9, 0.5]))
    assert not any(m.startswith("pixel_mcc[") or "[none]" in m for m in out["metric"])


# ---- detection rows ------------------------------------------------------------------------


def _auc_direct(pos, neg):
    pos, neg = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(np.mean((pos > neg) + 0.5 * (pos == neg)))


def test_detection_values_equal_direct_formulas():
    pos = [0.9, 0.4, 0.55, 0.7, 0.3]
    neg = [0.6, 0.1, 0.55, 0.2, 0.45]
    df = _frame(_twin_level(pos, neg) + _clean(neg))
    out = M.forensic_level_metrics(df, _boot(df), fpr=0.2).summary
    p, n = np.array(pos), np.array(neg)
    assert _get(out, "auc")["value"] == pytest.approx(_auc_direct(p, n))
    ba = ((p >= 0.5).mean() + (n < 0.5).mean()) / 2
    assert _get(out, "balanced_accuracy")["value"] == pytest.approx(ba)
    assert _get(out, "eer")["value"] == pytest.approx(FD.eer(np.r_[p, n], np.r_[p * 0 + 1, n * 0]))
    # Threshold from the clean scores (the same numbers here): 0.55, one of five above.
    assert _get(out, "tpr_at_fpr")["value"] == pytest.approx(np.mean(p > 0.55))
    a = _get(out, "auc")
    assert (a["n"], a["n_variants"], a["higher_is_better"]) == (5, 10, True)
    assert math.isnan(a["delta_clean"]) and a["n_paired"] == 0  # clean has one class


def test_eer_by_hand_and_perfect_separator():
    df = _frame(_twin_level([0.9, 0.4], [0.6, 0.1]) + _clean([0.6, 0.1]))
    out = M.forensic_level_metrics(df, _boot(df)).summary
    assert _get(out, "eer")["value"] == pytest.approx(0.5)  # (FPR, FNR) = (0.5, 0.5) at t=0.6
    df = _frame(_twin_level([0.9, 0.8, 0.6], [0.1, 0.4, 0.3]) + _clean([0.1, 0.4, 0.3]))
    out = M.forensic_level_metrics(df, _boot(df, n_boot=50)).summary
    assert _get(out, "eer")["value"] == 0.0
    assert _get(out, "auc")["value"] == 1.0
    assert _get(out, "balanced_accuracy")["value"] == 1.0
    assert _get(out, "eer")["ci_high"] == 0.0 and _get(out, "auc")["ci_low"] == 1.0


def test_tpr_at_fpr_threshold_is_fixed_on_clean_authentic_images():
    clean = [i / 10 for i in range(10)]  # 0.0 .. 0.9
    pos = [0.65, 0.7, 0.75, 0.95, 0.85, 0.71, 0.2, 0.9, 0.1, 0.3]
    neg = [0.99] * 10  # the level's own authentic images must not move the threshold
    df = _frame(_twin_level(pos, neg) + _clean(clean))
    for fpr, t in ((0.2, 0.7), (0.05, 0.9), (0.0, 0.9), (1.0, -np.inf), (0.5, 0.4)):
        out = M.forensic_level_metrics(df, _boot(df), fpr=fpr).summary
        assert t == FD.threshold_at_fpr(np.array(clean), fpr)
        assert _get(out, "tpr_at_fpr")["value"] == pytest.approx(np.mean(np.array(pos) > t)), fpr
    # Ties: 4 clean images at 0.5 and 6 below; at FPR 0.3 the threshold cannot sit inside the
    # tie, so it is 0.5 itself (0 above) and only scores strictly above 0.5 count.
    tied = [0.5] * 4 + [0.1] * 6
    df = _frame(_twin_level([0.5, 0.6, 0.4] * 3 + [0.7], neg) + _clean(tied))
    out = M.forensic_level_metrics(df, _boot(df), fpr=0.3).summary
    assert _get(out, "tpr_at_fpr")["value"] == pytest.approx(4 / 10)


def test_no_clean_authentic_image_means_no_tpr_row_and_a_warning():
    df = _frame(_twin_level([0.9, 0.8], [0.1, 0.2]))
    res = M.forensic_level_metrics(df, _boot(df))
    assert "tpr_at_fpr" not in set(res.summary["metric"])
    assert "image_tpr_at_fpr" not in set(res.summary["metric"])
    assert {"auc", "eer", "balanced_accuracy"} <= set(res.summary["metric"])
    assert len(res.warnings) == 1  # map_score is all NaN here: no image_* rows, no warning
    assert res.warnings[0].startswith("tpr_at_fpr: suite 'forgery' has no clean authentic")
    df["map_score"] = df["score"]
    res = M.forensic_level_metrics(df, _boot(df))
    assert len(res.warnings) == 2
    assert "suite 'forgery'" in res.warnings[0] and "clean" in res.warnings[0]
    assert {w.split(":")[0] for w in res.warnings} == {"tpr_at_fpr", "image_tpr_at_fpr"}


def test_image_metrics_come_from_map_score_and_no_score_drops_score_rows():
    rows = _twin_level([0.9, 0.8], [0.1, 0.2], col="map_score") + _clean([0.1, 0.2], "map_score")
    df = _frame(rows)  # score is all NaN: no score-based rows
    out = M.forensic_level_metrics(df, _boot(df)).summary
    names = set(out["metric"])
    assert {"image_auc", "image_balanced_accuracy", "image_tpr_at_fpr", "image_eer"} <= names
    assert not names & {"auc", "balanced_accuracy", "tpr_at_fpr", "eer"}
    assert _get(out, "image_auc")["value"] == 1.0
    df["score"] = 1.0 - df["map_score"]
    assert _get(M.forensic_level_metrics(df, _boot(df)).summary, "auc")["value"] == 0.0
    out = M.forensic_level_metrics(df, _boot(df), no_score=True).summary
    assert "auc" not in set(out["metric"]) and "image_auc" in set(out["metric"])


def test_direction_flags():
    df = _frame(_twin_level([0.9, 0.4], [0.6, 0.1]) + _clean([0.6, 0.1]))
    df["map_score"] = df["score"]
    out = M.forensic_level_metrics(df, _boot(df)).summary
    lower = {"eer", "image_eer"}
    assert len(out) == 6 + 2 + 8  # pixel, per-manipulation (splice), detection
    for _, r in out.iterrows():
        assert r["higher_is_better"] is (r["metric"] not in lower), r["metric"]
        base = r["metric"].split("[")[0]
        assert r["higher_is_better"] is M.FORENSIC_METRICS.get(base).higher_is_better
    assert out["higher_is_better"].dtype == bool


# ---- bootstrap -----------------------------------------------------------------------------


def _uneven():
    """Sources with different row counts per cell, so row weights 1/count matter."""
    rows = _twin_level([0.9, 0.4, 0.55, 0.7], [0.6, 0.1, 0.55, 0.2]) + _clean([0.6, 0.1, 0.5, 0.2])
    rows += [_row("s0", "forgery-jpeg", "quality=70", True, score=0.3, px=0.7, level_value=70.0,
                  manipulation="copy_move"),
             _row("s1", "forgery-jpeg", "quality=70", True, score=0.45, px=0.2, level_value=70.0,
                  manipulation="copy_move")]  # fmt: skip
    for r in rows:
        r["map_score"] = r["score"] ** 2
    return _frame(rows)


def test_one_all_ones_replicate_equals_the_point_value():
    df = _uneven()
    res = M.forensic_level_metrics(df, _boot(df, weights=np.ones((1, 4))), fpr=0.25)
    for tab in (res.summary, res.curves):
        assert len(tab) == 6 + 4 + 8  # pixel, per-manipulation (2 ops), detection
        np.testing.assert_allclose(tab["ci_low"], tab["value"], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(tab["ci_high"], tab["value"], rtol=1e-12, atol=1e-12)


def test_a_replicate_weighs_each_source_by_its_draw_count():
    df = _uneven()
    w = np.array([[2.0, 0.0, 1.0, 1.0]])  # s0 twice, s1 not drawn
    out = M.forensic_level_metrics(df, _boot(df, weights=w), fpr=0.25).summary
    lvl = df[df["axis"] == "forgery-jpeg"]
    # Row weights are draw count / the source's rows in the cell: s0 2/3 (3 rows), s2 and s3
    # 1/2 (2 rows), s1 0. Times 6, as row copies: 4, 3, 3, 0 (the unweighted kernels agree).
    copies = lvl["source_id"].map({"s0": 4, "s1": 0, "s2": 3, "s3": 3}).to_numpy()
    s = np.repeat(lvl["score"].to_numpy(), copies)
    y = np.repeat(lvl["manipulated"].to_numpy(), copies)
    assert _get(out, "auc")["ci_low"] == pytest.approx(FD.auc(s, y))
    assert _get(out, "eer")["ci_low"] == pytest.approx(FD.eer(s, y))
    assert _get(out, "balanced_accuracy")["ci_low"] == pytest.approx(FD.balanced_accuracy(s, y))
    # The replicate fixes its own threshold on the reweighted clean images: 0.6 (0.5 unweighted).
    cl = df[df["axis"] == "clean"]
    t = FD.threshold_at_fpr(np.repeat(cl["score"].to_numpy(), [2, 0, 1, 1]), 0.25)
    # point: threshold 0.5; positives above: s0 0.9 (weight 1/3), s2 0.55 and s3 0.7 (1/2 each)
    # of a total 7/3 -> 4/7
    assert (t, _get(out, "tpr_at_fpr")["value"]) == (0.6, pytest.approx(4 / 7))
    assert _get(out, "tpr_at_fpr")["ci_low"] == pytest.approx(np.mean(s[y] > t))
    px = lvl[lvl["manipulated"]].groupby("source_id")["pixel_f1"].mean()
    assert _get(out, "pixel_f1")["ci_low"] == pytest.approx(
        (2 * px["s0"] + px["s2"] + px["s3"]) / 4
    )


def test_bootstrap_intervals_are_seeded_and_bracket_the_value():
    rng = np.random.default_rng(3)
    pos, neg = rng.random(40) * 0.7 + 0.3, rng.random(40) * 0.7
    df = _frame(_twin_level(pos, neg) + _clean(rng.random(40) * 0.7))
    a = M.forensic_level_metrics(df, _boot(df, n_boot=200)).summary
    b = M.forensic_level_metrics(df, _boot(df, n_boot=200)).summary
    pd.testing.assert_frame_equal(a, b)
    for _, r in a.iterrows():
        assert r["ci_low"] <= r["value"] <= r["ci_high"], r["metric"]
        assert r["ci_low"] < r["ci_high"], r["metric"]


@pytest.mark.parametrize("seed", range(5))
def test_weighted_kernels_equal_repeated_rows(seed):
    rng = np.random.default_rng(seed)
    n = 25
    s = np.round(rng.random(n), 1)  # ties
    y = rng.random(n) < 0.5
    w = rng.integers(0, 3, size=(6, n)).astype(float)
    t = FB.weighted_threshold_at_fpr(s[~y], w[:, ~y], 0.2)
    got = {"auc": FB.weighted_auc(s, y, w), "eer": FB.weighted_eer(s, y, w),
           "ba": FB.weighted_balanced_accuracy(s, y, w), "tpr": FB.weighted_tpr_above(s, y, w, t)}  # fmt: skip
    for r in range(6):
        k = w[r].astype(int)
        ss, yy = np.repeat(s, k), np.repeat(y, k)
        both = yy.any() and (~yy).any()
        want = {"auc": FD.auc(ss, yy), "eer": FD.eer(ss, yy), "ba": FD.balanced_accuracy(ss, yy),
                "tpr": FD.tpr_at_fpr(ss, yy, fpr=0.2) if both else math.nan}  # fmt: skip
        for key, v in want.items():
            if math.isnan(v):
                assert math.isnan(got[key][r]), (key, r)
            else:
                assert got[key][r] == pytest.approx(v), (key, r)


# ---- curves --------------------------------------------------------------------------------


def test_curve_rows_follow_the_accuracy_conventions():
    rows = _clean([0.1, 0.2, 0.3])
    for lvl, lv, shift in (("quality=90", 90.0, 0.0), ("quality=50", 50.0, 0.3)):
        rows += _twin_level([0.9 - shift, 0.8 - shift, 0.7 - shift], [0.1, 0.2, 0.3], lvl, lv)
    df = _frame(rows)
    res = M.forensic_level_metrics(df, _boot(df))
    cur = res.curves
    assert list(cur.columns) == M.CURVE_COLUMNS
    assert "clean" not in set(cur["axis"])
    auc = cur[(cur["metric"] == "auc")].sort_values("rank")
    assert list(auc["point"]) == ["quality=50", "quality=90"]  # level_value ascending
    assert list(auc["x"]) == [50.0, 90.0] and list(auc["series"]) == ["all", "all"]
    for _, r in cur.iterrows():
        s = _get(res.summary, r["metric"], r["point"])
        assert r["value"] == pytest.approx(s["value"]) and r["n"] == s["n"]
    assert set(cur["metric"]) == set(res.summary["metric"])


# ---- a classification model with a boolean --target ----------------------------------------


def test_detection_metrics_for_a_boolean_target():
    pos = [0.9, 0.4, 0.55, 0.7]
    neg = [0.6, 0.1, 0.55, 0.2]
    df = _frame(_twin_level(pos, neg) + _clean(neg))
    df["label"] = np.where(df["manipulated"], "true", "false")
    df["label_index"] = np.where(df["manipulated"], 1, 0)
    df["probs"] = [np.array([1 - s, s], dtype=np.float32) for s in df["score"]]
    df = df.drop(columns=["manipulated", "score", "map_score", *PIXEL])
    res = M.detection_metrics_for_target(df, _boot(df), clean=None, fpr=0.25)
    out = res.summary
    assert set(out["metric"]) == {"auc", "balanced_accuracy", "tpr_at_fpr", "eer"}
    assert _get(out, "auc")["value"] == pytest.approx(_auc_direct(pos, neg), abs=1e-6)
    t = FD.threshold_at_fpr(np.array(neg, dtype=np.float32).astype(float), 0.25)
    p32 = np.array(pos, dtype=np.float32).astype(float)
    assert _get(out, "tpr_at_fpr")["value"] == pytest.approx(np.mean(p32 > t))
    assert res.warnings == [] and len(res.curves) == 4
    rev = M.detection_metrics_for_target(df, _boot(df), clean=None, positive_index=0).summary
    assert _get(rev, "auc")["value"] == pytest.approx(1 - _get(out, "auc")["value"], abs=1e-6)
    none = M.detection_metrics_for_target(df[df["label"] == "false"], _boot(df), clean=None)
    assert none.summary.empty and list(none.summary.columns) == M.SUMMARY_COLUMNS


def test_replicates_computed_in_chunks_equal_one_pass(monkeypatch):
    from degradebench.evaluators.metrics import forensic_levels as FL

    df = _uneven()
    whole = M.forensic_level_metrics(df, _boot(df, n_boot=40), fpr=0.25).summary
    monkeypatch.setattr(FL, "_MAX_CELLS", 7)  # 1 replicate per chunk (cells of 10 rows)
    pd.testing.assert_frame_equal(
        M.forensic_level_metrics(df, _boot(df, n_boot=40), fpr=0.25).summary, whole
    )


def test_a_repeated_index_does_not_mix_cells_up():
    df = _uneven()
    want = M.forensic_level_metrics(df, _boot(df, n_boot=20)).summary
    messy = df.set_axis([0] * len(df))  # e.g. frames concatenated without ignore_index
    got = M.forensic_level_metrics(messy, _boot(df, n_boot=20)).summary
    pd.testing.assert_frame_equal(got, want)
