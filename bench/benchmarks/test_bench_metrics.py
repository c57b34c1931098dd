"""Metrics and bootstrap CIs at scale: the whole metrics step of ``evaluate`` (summary, curves,
axis figures, pairing report; B = 1000) on a synthetic 200,000-row predictions frame
(2,000 sources x 100 variants: clean + 99 levels over 8 axes, 6 classes).

Issue 16 asks for metrics + CIs under 10% of evaluate's time at 200k rows (aim <= 10 s on
2 cores)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

N_SOURCES = 2_000
N_BOOT = 1_000
CLASSES = [f"c{i}" for i in range(6)]

# (axis, levels as (level, level_value, axis_params)); 99 levels + clean = 100 variants/source
_AXES: list[tuple[str, list[tuple[str, float, dict]]]] = [
    ("jpeg", [(str(q), float(q), {"quality": q})
              for q in (100, 95, 90, 85, 80, 75, 70, 60, 50, 40, 30, 20, 10)]),
    ("resize", [(f"{s:.2f}", s, {"scale": s}) for s in np.linspace(0.25, 0.9, 12)]),
    ("blur", [(f"{s:.1f}", s, {"sigma": s}) for s in np.linspace(0.5, 4.0, 12)]),
    ("noise", [(f"{s:.0f}", s, {"std": s}) for s in np.linspace(2, 24, 12)]),
    ("crop", [(f"{dx}x{dy}", np.nan, {"dx": dx, "dy": dy, "grid_kept": dx % 8 == 0})
              for dx, dy in [(0, 0), (0, 4), (4, 0), (4, 4), (1, 1), (3, 5), (5, 3), (7, 7),
                             (8, 8), (8, 0), (0, 8), (2, 6)]]),
    ("gamma", [(f"{g:.2f}", g, {"gamma": g}) for g in np.linspace(0.5, 2.0, 12)]),
    ("social", [(f"hop{h}", float(h), {"hops": h}) for h in range(1, 15)]),
    ("double_jpeg", [(f"q1={q}{'' if a else '_r'}", float(q), {"q1": q, "aligned": a})
                     for q in (50, 60, 70, 80, 90, 95) for a in (True, False)]),
]  # fmt: skip


def synthetic_predictions(n_sources: int = N_SOURCES, seed: int = 0) -> pd.DataFrame:
    """A predictions frame with evaluate's columns: ``n_sources`` x 100 variants, one suite."""
    rng = np.random.default_rng(seed)
    levels = [("clean", "clean", np.nan, {}, 0.0)]
    for axis, lv in _AXES:
        for i, (name, value, params) in enumerate(lv):
            levels.append((axis, name, value, params, (i + 1) / (len(lv) + 1)))
    n_lv, n = len(levels), n_sources * len(levels)
    src = np.repeat(np.arange(n_sources), n_lv)
    li = np.tile(np.arange(n_lv), n_sources)
    sev = np.array([lv[4] for lv in levels])[li]
    label = rng.integers(0, len(CLASSES), n_sources)[src]
    skill = rng.random(n_sources)[src]
    correct = rng.random(n) < np.clip(skill - 0.5 * sev + 0.3, 0.02, 0.98)
    pred = np.where(correct, label, (label + rng.integers(1, len(CLASSES), n)) % len(CLASSES))
    logits = rng.normal(size=(n, len(CLASSES)))
    logits[np.arange(n), pred] += 3.0
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    top = np.argsort(-probs, axis=1, kind="stable")[:, :5]
    clean_row = src * n_lv
    p_clean = probs[clean_row]
    axes = np.array([lv[0] for lv in levels], dtype=object)[li]
    psnr = np.where(axes == "clean", np.inf, 50 - 30 * sev + rng.normal(0, 0.1, n))
    params = np.array([json.dumps(lv[3]) for lv in levels], dtype=object)[li]
    return pd.DataFrame({
        "variant_id": [f"v{i:07d}" for i in range(n)],
        "source_id": np.array([f"src{s:05d}" for s in range(n_sources)], dtype=object)[src],
        "model": "m", "dataset": "d", "suite": "s", "fold": 0,
        "axis": axes, "level": np.array([lv[1] for lv in levels], dtype=object)[li],
        "level_value": np.array([lv[2] for lv in levels])[li], "axis_params": params,
        "psnr": psnr, "path": "x.jpg",
        "label": pd.array(np.array(CLASSES, dtype=object)[label], dtype="string"),
        "label_index": pd.array(label, dtype="Int64"), "pred": pred.astype(np.int64),
        "pred_label": np.array(CLASSES, dtype=object)[pred],
        "confidence": probs.max(axis=1), "correct": pd.array(correct, dtype="boolean"),
        "top5_correct": pd.array((top == label[:, None]).any(axis=1), dtype="boolean"),
        "topk": list(top), "n_tiles": np.ones(n, dtype=np.int64),
        "clean_pred": pd.array(pred[clean_row], dtype="Int64"),
        "flipped": pd.array(pred != pred[clean_row], dtype="boolean"),
        "tv_clean": 0.5 * np.abs(probs - p_clean).sum(axis=1),
        "kl_clean": np.maximum((p_clean * np.log(p_clean / probs)).sum(axis=1), 0.0),
        "probs": list(probs.astype(np.float32)),
    })  # fmt: skip


def metrics_step(preds: pd.DataFrame, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """What ``evaluate`` computes after the model ran (classification, no baseline)."""
    from degradebench.evaluators import metrics as M

    boot = M.Bootstrap(preds["source_id"], n_boot=n_boot, seed=seed)
    summary, cells = M.level_metrics(preds, boot, (5,))
    curves, curve_cells = M.curve_metrics(preds, boot)
    figs = M.compute_figures(preds, cells, curve_cells, curves, boot)
    pairing, _ = M.pairing_report(preds)
    return {"summary": summary, "curves": curves, "axis_summary": figs.frame, "pairing": pairing}


@pytest.fixture(scope="module")
def preds_200k() -> pd.DataFrame:
    return synthetic_predictions()


def test_metrics_200k(benchmark, preds_200k):
    benchmark.group = "metrics-200k"
    res = benchmark.pedantic(metrics_step, args=(preds_200k,), rounds=1, iterations=1)
    assert len(res["summary"]) == 100 * 13  # 100 levels x 13 metrics (6 per-class accuracies)
    assert res["summary"]["ci_low"].notna().all()
