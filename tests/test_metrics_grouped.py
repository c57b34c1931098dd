"""The vectorised metrics (issue 16): every level, curve point and metric computed at once
(:mod:`degradebench.evaluators.metrics.grouped`) must give the numbers of the one-cell-at-a-time
path (:func:`metrics.cell` + :func:`metrics.pairing.paired`) and of a naive loop over
replicates, on frames with uneven variants, sources missing from some levels, NaNs, two suites."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from degradebench.evaluators import metrics as M
from degradebench.evaluators.metrics import forensic_boot as FB
from degradebench.evaluators.metrics import grouped as G
from degradebench.evaluators.metrics import order as O
from degradebench.evaluators.metrics.pairing import is_clean, paired, suite_of


def _frame(seed: int = 0, n_src: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for suite in ("a", "b"):
        for s in range(n_src):
            src = f"s{s}"
            label = f"c{s % 3}"
            if not (suite == "a" and s == 0):  # s0 has no clean variant in suite a
                rows.append(dict(suite=suite, source_id=src, axis="clean", level="clean",
                                 level_value=np.nan, axis_params="{}", label=label))  # fmt: skip
            for q in (90, 50, 10):
                if suite == "a" and q == 10 and s % 7 == 1:  # some sources lack a level
                    continue
                for _ in range(1 + (s % 3 == 0)):  # uneven variants per source
                    rows.append(dict(suite=suite, source_id=src, axis="jpeg", level=str(q),
                                     level_value=float(q), axis_params=json.dumps({"q": q}),
                                     label=label))  # fmt: skip
            for dx, kept in ((0, True), (3, False), (8, True)):
                rows.append(dict(suite=suite, source_id=src, axis="crop", level=f"{dx}x{dx}",
                                 level_value=np.nan, label=label,
                                 axis_params=json.dumps({"dx": dx, "grid_kept": kept})))  # fmt: skip
    df = pd.DataFrame(rows)
    n = len(df)
    df["model"] = "m"
    df["psnr"] = np.where(df["axis"] == "clean", np.inf, 40 - df.index % 7)
    correct = rng.random(n) < 0.7
    df["correct"] = pd.array(correct, dtype="boolean")
    df.loc[rng.random(n) < 0.05, "correct"] = pd.NA
    df["top2_correct"] = pd.array(correct | (rng.random(n) < 0.5), dtype="boolean")
    flipped = pd.array(rng.random(n) < 0.2, dtype="boolean")
    flipped[df["source_id"].eq("s0").to_numpy() & df["suite"].eq("a").to_numpy()] = pd.NA
    df["flipped"] = flipped
    df["tv_clean"] = np.where(pd.isna(flipped), np.nan, rng.random(n))
    df["kl_clean"] = np.where(pd.isna(flipped), np.nan, rng.random(n))
    df["confidence"] = rng.random(n)
    return df


def _reference_levels(df, boot, metrics):
    """The one-cell-at-a-time path (what level_metrics did before issue 16)."""
    suites = suite_of(df)
    clean = is_clean(df)
    out = {}
    for suite, sp in df.groupby(suites.to_numpy(), sort=True):
        clean_rows = sp[clean[suites.to_numpy() == suite]]
        ccs = {m.name: M.cell(m, clean_rows, boot) for m in metrics}
        for (axis, level), g in sp.groupby(["axis", "level"], sort=False):
            for m in metrics:
                c = M.cell(m, g, boot)
                if c.n_variants == 0:
                    continue
                cc = ccs[m.name]
                pr = paired(m, g, clean_rows, boot, c, cc if cc.n_variants else None)
                out[(suite, axis, level, m.name)] = (c, pr, boot.interval(c.reps))
    return out


def test_level_metrics_equal_the_one_cell_path():
    df = _frame()
    boot = M.Bootstrap(df["source_id"], n_boot=60, seed=4)
    metrics = M.metrics_for(df, (2,))
    summary, cells = M.level_metrics(df, boot, (2,))
    ref = _reference_levels(df, boot, metrics)
    assert set(cells) == set(ref) and len(summary) == len(ref)
    mismatched = 0
    for _, r in summary.iterrows():
        c, pr, (lo, hi) = ref[(r["suite"], r["axis"], r["level"], r["metric"])]
        assert (r["value"], r["n"], r["n_variants"]) == (c.value, c.n, c.n_variants)
        assert r["ci_low"] == pytest.approx(lo, abs=1e-12)
        assert r["ci_high"] == pytest.approx(hi, abs=1e-12)
        assert r["n_paired"] == (pr.n_paired if pr else 0)
        if pr is None:
            assert math.isnan(r["delta_clean"])
        else:
            assert r["delta_clean"] == pytest.approx(pr.delta, abs=1e-15)
            mismatched += pr.n_paired < c.n
    assert mismatched > 0  # the frame does exercise the paired recomputation


def test_a_replicate_is_the_mean_over_resampled_sources():
    """Independent of either path: replicate b weighs each source by its draw count."""
    df = _frame(seed=1)
    boot = M.Bootstrap(df["source_id"], n_boot=25, seed=9)
    _, cells = M.level_metrics(df, boot)
    for key in (("a", "jpeg", "10", "accuracy"), ("b", "crop", "3x3", "flip_rate")):
        col = {"accuracy": "correct", "flip_rate": "flipped"}[key[3]]
        g = df[(df["suite"] == key[0]) & (df["axis"] == key[1]) & (df["level"] == key[2])]
        per_src = g[col].astype(float).groupby(g["source_id"]).mean().dropna()
        assert cells[key].value == pytest.approx(per_src.mean(), abs=1e-12)
        for b in range(boot.n_boot):
            w = pd.Series(boot.weights[b], index=boot.sources)[per_src.index]
            expected = (w * per_src).sum() / w.sum() if w.sum() else np.nan
            assert cells[key].reps[b] == pytest.approx(expected, abs=1e-12, nan_ok=True)


def test_curves_equal_the_one_cell_path_and_chunks_change_nothing(monkeypatch):
    df = _frame(seed=2)
    boot = M.Bootstrap(df["source_id"], n_boot=40, seed=1)
    curves, cc = M.curve_metrics(df, boot)
    assert (curves["series"] != "all").any()  # crop: pooled rows per grid_kept
    for _, r in curves.iterrows():
        sel = (df["suite"] == r["suite"]) & (df["axis"] == r["axis"])
        if r["rank"] >= 0:
            sel &= df["level"] == r["point"]
        elif r["series"] != "all":
            sel &= df["axis_params"].str.contains(f'"grid_kept": {r["series"].split("=")[1]}'
                                                  .lower())  # fmt: skip
        m = M.METRICS.get(r["metric"])
        c = M.cell(m, df[sel], boot)
        assert (r["value"], r["n"], r["n_variants"]) == (c.value, c.n, c.n_variants)
        lo, hi = boot.interval(c.reps)
        assert (r["ci_low"], r["ci_high"]) == (pytest.approx(lo, abs=1e-12),
                                               pytest.approx(hi, abs=1e-12))  # fmt: skip
    monkeypatch.setattr(G, "_MAX_ENTRIES", 1)  # one group per chunk
    again, _ = M.curve_metrics(df, boot)
    pd.testing.assert_frame_equal(curves, again, rtol=0, atol=1e-15)


def test_intervals_equal_interval_per_column():
    rng = np.random.default_rng(0)
    boot = M.Bootstrap([f"s{i}" for i in range(5)], n_boot=30, seed=0)
    reps = rng.random((30, 6))
    reps[3, 1] = np.nan
    reps[:, 4] = np.nan
    lo, hi = boot.intervals(reps)
    for j in range(6):
        expected = boot.interval(reps[:, j])
        np.testing.assert_array_equal([lo[j], hi[j]], expected)
    assert all(np.isnan(v).all() for v in boot.intervals(np.zeros((0, 3))))


def test_unknown_source_is_named():
    boot = M.Bootstrap(["s1"], n_boot=3)
    with pytest.raises(ValueError, match="'s9' is not among"):
        boot.codes(pd.Series(["s1", "s9"]))


def _bool_params_rowwise(axis_params: pd.Series) -> pd.DataFrame:
    rows = []
    for s in axis_params:
        d = json.loads(s) if isinstance(s, str) else {}
        rows.append({k: v for k, v in d.items() if isinstance(v, bool)})
    return pd.DataFrame(rows, index=axis_params.index)


def test_bool_params_parse_each_distinct_value_once():
    ap = pd.Series(['{"a": true, "x": 1}', '{"a": false}', '{"a": true, "x": 1}', "{}",
                    '{"a": true, "b": false}', None], index=[5, 3, 9, 1, 2, 7])  # fmt: skip
    got = O.bool_params(ap)
    pd.testing.assert_frame_equal(got, _bool_params_rowwise(ap))
    pred = pd.DataFrame({"axis_params": ap})
    bp = _bool_params_rowwise(ap)
    varying = [c for c in bp.columns if bp[c].nunique(dropna=True) > 1]  # a, not b
    expected = [",".join(f"{k}={r[k]}" for k in varying) for _, r in bp[varying].iterrows()]
    assert list(O._bool_groups(pred)) == expected == ["a=True", "a=False", "a=True", "a=nan",
                                                      "a=True", "a=nan"]  # fmt: skip
    assert O._bool_groups(pred).index.equals(ap.index)


def test_shared_level_values_become_named_points_with_series():
    rows = [{"level": f"q1={q}{'' if a else '_r'}", "level_value": float(q),
             "axis_params": json.dumps({"q1": q, "q2": 90, "aligned": a}), "psnr": 30.0 + q / 10}
            for _ in range(3) for q in (60, 80) for a in (True, False)]  # fmt: skip
    ap = O.axis_points(pd.DataFrame(rows))
    assert ap.x_name == "q1" and ap.order == ["q1=80", "q1=60"]
    assert set(ap.series) == {"aligned=True", "aligned=False"}


def test_auc_and_eer_from_one_sort_equal_the_separate_kernels():
    rng = np.random.default_rng(5)
    s = np.round(rng.random(40), 1)  # ties
    y = rng.random(40) < 0.4
    w = rng.integers(0, 3, size=(7, 40)) * rng.random((7, 1))
    auc, eer = FB.weighted_auc_eer(s, y, w)
    np.testing.assert_array_equal(auc, FB.weighted_auc(s, y, w))
    np.testing.assert_array_equal(eer, FB.weighted_eer(s, y, w))


def test_pairing_report_counts_sources_per_level():
    df = _frame()
    found, line = M.pairing_report(df)
    by = {(d["suite"], d["axis"], d["level"]): d for d in found}
    # suite a: s0 has no clean (29 clean sources); jpeg/10 lacks the sources s % 7 == 1.
    lacking = len([s for s in range(30) if s % 7 == 1])
    assert by[("a", "jpeg", "10")] == {"suite": "a", "axis": "jpeg", "level": "10",
                                       "n": 30 - lacking, "n_clean": 29,
                                       "n_paired": 29 - lacking}  # fmt: skip
    assert by[("a", "jpeg", "90")]["n_paired"] == 29 and ("b", "jpeg", "90") not in by
    assert line is not None and line.startswith(f"{len(found)} levels")
