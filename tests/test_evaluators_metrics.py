"""Metrics: figures match a recomputation from predictions.parquet; bootstrap, CE, SP Cup, McNemar."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _evalfix import TINY_CONFIG, ConstantNet, TinyNet, make_manifest
from degradebench.evaluators import evaluate, model_from_module
from degradebench.evaluators import metrics as M


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    return make_manifest(tmp_path_factory.mktemp("m"), per_class=(3, 2, 1))


@pytest.fixture(scope="module")
def tiny_result(manifest, tmp_path_factory):
    model = model_from_module(TinyNet(seed=3), name="tiny", input_config=TINY_CONFIG)
    out = tmp_path_factory.mktemp("r")
    return evaluate(manifest, model, out, device="cpu", workers=0, n_boot=200, progress=False,
                    topk=(2,))  # fmt: skip


def test_constant_model_accuracy_is_class_share_and_never_flips(manifest, tmp_path):
    model = model_from_module(ConstantNet(1), name="const", input_config=TINY_CONFIG)
    res = evaluate(manifest, model, tmp_path / "r", device="cpu", workers=0, progress=False)
    s = res.summary
    share = 2 / 6  # class index 1 = "cam_b", 2 of the 6 sources
    acc = s[s["metric"] == "accuracy"]
    assert len(acc) == res.predictions.groupby(["axis", "level"]).ngroups
    np.testing.assert_allclose(acc["value"], share)
    flips = s[s["metric"] == "flip_rate"]
    assert (flips["value"] == 0).all()
    np.testing.assert_allclose(s[s["metric"] == "tv_clean"]["value"], 0, atol=1e-6)
    per_class = s[s["metric"].str.startswith("class_accuracy[")]
    assert set(per_class.loc[per_class["value"] == 1, "metric"]) == {"class_accuracy[cam_b]"}


def _ece(df: pd.DataFrame, bins: int = 15) -> float:
    conf = df["confidence"].to_numpy()
    corr = df["correct"].astype(float).to_numpy()
    b = np.minimum((conf * bins).astype(int), bins - 1)
    total = 0.0
    for k in range(bins):
        sel = b == k
        if sel.any():
            total += sel.sum() / len(df) * abs(corr[sel].mean() - conf[sel].mean())
    return total


def test_summary_equals_recomputation_from_predictions_file(tiny_result):
    pred = pd.read_parquet(tiny_result.out / "predictions.parquet")
    summary = pd.read_parquet(tiny_result.out / "summary.parquet")
    assert list(summary.columns[:9]) == [
        "model", "axis", "level", "level_value", "metric", "value", "ci_low", "ci_high", "n",
    ]  # fmt: skip
    assert summary["value"].dtype == np.float64
    checked = 0
    for (axis, level), g in pred.groupby(["axis", "level"]):
        s = summary[(summary["axis"] == axis) & (summary["level"] == level)].set_index("metric")
        expect = {
            "accuracy": g["correct"].astype(float).mean(),
            "top2_accuracy": g["top2_correct"].astype(float).mean(),
            "flip_rate": g["flipped"].astype(float).mean(),
            "tv_clean": g["tv_clean"].mean(),
            "kl_clean": g["kl_clean"].mean(),
            "confidence": g["confidence"].mean(),
            "ece": _ece(g),
            "class_accuracy[cam_a]": g.loc[g["label"] == "cam_a", "correct"].astype(float).mean(),
        }
        for metric, value in expect.items():
            assert s.loc[metric, "value"] == pytest.approx(value, abs=1e-12), (axis, level, metric)
            checked += 1
        assert s.loc["accuracy", "n"] == len(g)
        # flipped vs the clean variant of the same source, recomputed by hand
        clean = pred[pred["axis"] == "clean"].set_index("source_id")["pred"]
        assert (g["flipped"] == (g["pred"] != g["source_id"].map(clean))).all()
    assert checked > 50


def test_predictions_columns_and_label_indices(tiny_result):
    p = tiny_result.predictions
    for col in ("variant_id", "model", "axis", "level", "pred", "label_index", "correct",
                "flipped", "topk", "probs", "top2_correct"):  # fmt: skip
        assert col in p.columns
    assert dict(zip(p["label"], p["label_index"])) == {"cam_a": 0, "cam_b": 1, "cam_c": 2}
    np.testing.assert_allclose(np.stack(p["probs"]).sum(1), 1, atol=1e-5)
    assert (p["correct"] == (p["pred"] == p["label_index"])).all()


def test_every_interval_contains_its_point_estimate(tiny_result):
    s = tiny_result.summary.dropna(subset=["ci_low"])
    assert len(s) > 0
    assert (s["ci_low"] <= s["value"] + 1e-12).all() and (s["value"] <= s["ci_high"] + 1e-12).all()


def _synthetic(n_sources: int, seed: int = 0, p: float = 0.7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_sources):
        skill = rng.random() < p  # correlated within a source, as real variants are
        for level in ("90", "50", "10"):
            rows.append({"model": "m", "source_id": f"s{s}", "axis": "jpeg", "level": level,
                         "level_value": float(level), "correct": bool(skill or rng.random() < 0.2),
                         "flipped": False, "label": "a"})  # fmt: skip
    df = pd.DataFrame(rows)
    df["correct"] = df["correct"].astype("boolean")
    df["flipped"] = df["flipped"].astype("boolean")
    return df


def test_bootstrap_intervals_contain_estimate_and_shrink_with_more_sources():
    acc = M.METRICS.get("accuracy")
    widths = []
    for n in (20, 80, 320):
        df = _synthetic(n)
        boot = M.Bootstrap(df["source_id"], n_boot=500, seed=1)
        cell = M._cell(acc, df, boot)
        lo, hi = boot.interval(cell.reps)
        assert lo <= cell.value <= hi
        assert cell.value == pytest.approx(df["correct"].astype(float).mean())
        widths.append(hi - lo)
    assert widths[0] > widths[1] > widths[2]
    assert widths[0] / widths[2] > 2.5  # about sqrt(16) = 4 in theory


def test_bootstrap_is_seeded_and_grouped_by_source():
    df = _synthetic(30)
    a = M.Bootstrap(df["source_id"], n_boot=100, seed=5)
    b = M.Bootstrap(df["source_id"], n_boot=100, seed=5)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert a.weights.shape == (100, 30)  # one weight per source, not per variant
    assert (a.weights.sum(axis=1) == 30).all()


def _axis_frame(acc_by_level: dict[str, float], n: int = 100, clean: float = 1.0) -> pd.DataFrame:
    rows = []
    for s in range(n):
        rows.append({"model": "m", "source_id": f"s{s}", "axis": "clean", "level": "clean",
                     "level_value": np.nan, "axis_params": "{}", "psnr": np.inf,
                     "correct": s < clean * n})  # fmt: skip
        for i, (level, acc) in enumerate(acc_by_level.items()):
            rows.append({"model": "m", "source_id": f"s{s}", "axis": "jpeg", "level": level,
                         "level_value": float(level), "axis_params": json.dumps({"quality": 1}),
                         "psnr": 50.0 - 10 * i, "correct": s < acc * n})  # fmt: skip
    df = pd.DataFrame(rows)
    df["correct"] = df["correct"].astype("boolean")
    df["flipped"] = pd.array([False] * len(df), dtype="boolean")
    df["tv_clean"] = 0.0
    df["kl_clean"] = 0.0
    df["confidence"] = 0.9
    df["label"] = "a"
    return df


def _axis_summary(df, **kw):
    boot = M.Bootstrap(df["source_id"], n_boot=50, seed=0)
    _, cells = M.level_metrics(df, boot)
    curves, ccells = M.curve_metrics(df, boot)
    return M.axis_summary(df, cells, ccells, curves, boot, **kw), curves


@pytest.mark.parametrize(("points", "expected"), [(5.0, "10"), (3.0, "50"), (60.0, None)])
def test_breaking_level_is_first_level_below_clean_minus_n_points(points, expected):
    df = _axis_frame({"90": 1.0, "50": 0.96, "10": 0.5})
    ax, _ = _axis_summary(df, break_points=points)
    row = ax[(ax["axis"] == "jpeg") & (ax["metric"] == "breaking_level")].iloc[0]
    assert row["level"] == expected
    drop = ax[(ax["axis"] == "jpeg") & (ax["metric"] == "max_accuracy_drop")]["value"].iloc[0]
    assert drop == pytest.approx(0.5)


def test_auc_is_trapezoid_mean_over_level_values():
    df = _axis_frame({"90": 1.0, "50": 0.8, "10": 0.4})
    ax, _ = _axis_summary(df)
    auc = ax[(ax["axis"] == "jpeg") & (ax["metric"] == "auc_accuracy")].iloc[0]
    expect = ((1.0 + 0.8) / 2 * 40 + (0.8 + 0.4) / 2 * 40) / 80
    assert auc["value"] == pytest.approx(expect)
    assert auc["ci_low"] <= auc["value"] <= auc["ci_high"]


def test_ce_relative_to_named_baseline():
    model = _axis_frame({"90": 0.9, "50": 0.6}, clean=0.95)
    base = _axis_frame({"90": 0.8, "50": 0.5}, clean=0.9)
    bboot = M.Bootstrap(base["source_id"], n_boot=0)
    bsum, _ = M.level_metrics(base, bboot)
    bcurves, _ = M.curve_metrics(base, bboot)
    ax, _ = _axis_summary(model, baseline=("alexnet-like", bsum, bcurves))
    ce = ax[ax["metric"] == "ce"].iloc[0]
    assert ce["baseline"] == "alexnet-like"
    assert ce["value"] == pytest.approx((0.1 + 0.4) / (0.2 + 0.5))
    rce = ax[ax["metric"] == "relative_ce"].iloc[0]
    assert rce["value"] == pytest.approx((0.05 + 0.35) / (0.1 + 0.4))
    mce = ax[ax["metric"] == "mce"].iloc[0]
    assert mce["axis"] == "*" and mce["value"] == pytest.approx(ce["value"])


def test_spcup2018_score_weights_unaltered_and_manipulated():
    df = _axis_frame({"90": 0.5, "70": 0.7}, clean=0.9)
    ax, _ = _axis_summary(df, figures=("spcup2018_score",))  # declared by the suite
    row = ax[ax["metric"] == "spcup2018_score"].iloc[0]
    assert row["value"] == pytest.approx(0.7 * 0.9 + 0.3 * 0.6)
    ax2, _ = _axis_summary(df)  # not declared: not computed
    assert not (ax2["metric"] == "spcup2018_score").any()


def test_levels_sharing_a_value_become_points_with_series():
    rows = []
    for s in range(4):
        for q1 in (60, 80):
            shifts = [(0, 0), (s, s + 1)]
            for r, c in shifts:
                rows.append({"model": "m", "source_id": f"s{s}", "axis": "double_jpeg",
                             "level": f"q1={q1},q2=90,shift={r}x{c}", "level_value": float(q1),
                             "axis_params": json.dumps({"q1": q1, "q2": 90, "shift": [r, c],
                                                        "aligned": (r, c) == (0, 0)}),
                             "psnr": 30.0 + q1 / 10, "correct": (r, c) == (0, 0),
                             "flipped": False, "label": "a"})  # fmt: skip
    df = pd.DataFrame(rows)
    df["correct"] = df["correct"].astype("boolean")
    df["flipped"] = df["flipped"].astype("boolean")
    ap = M.axis_points(df)
    assert ap.order == ["q1=80", "q1=60"] and ap.x_name == "q1"
    curves, _ = M.curve_metrics(df, M.Bootstrap(df["source_id"], n_boot=0))
    acc = curves[curves["metric"] == "accuracy"].set_index(["point", "series"])["value"]
    assert acc[("q1=60", "all")] == 0.5
    assert acc[("q1=60", "aligned=True")] == 1.0 and acc[("q1=60", "aligned=False")] == 0.0


def test_mcnemar_exact_p_value():
    a = np.array([True] * 10 + [False] * 2 + [True] * 5)
    b = np.array([False] * 10 + [True] * 2 + [True] * 5)
    r = M.mcnemar(a, b)
    assert (r["a_only"], r["b_only"], r["both_correct"]) == (10, 2, 5)
    assert r["p_value"] == pytest.approx(2 * (1 + 12 + 66) / 4096)
    assert M.mcnemar(a, a)["p_value"] == 1.0


def test_compare_pairs_variants_by_id(tiny_result, manifest, tmp_path):
    const = evaluate(manifest, model_from_module(ConstantNet(0), name="c", input_config=TINY_CONFIG),
                     tmp_path / "c", device="cpu", workers=0, n_boot=0, progress=False)  # fmt: skip
    cmp = M.compare(tiny_result.predictions, const.predictions)
    assert set(cmp["axis"]) == set(tiny_result.predictions["axis"])
    for r in cmp.itertuples():
        pa = tiny_result.predictions[tiny_result.predictions["axis"] == r.axis]
        assert r.n_variants == len(pa) and r.n == pa["source_id"].nunique()  # unit: source
        assert r.accuracy_a == pytest.approx(pa["correct"].astype(float).mean())
