"""Paired tests between two different models on the same variants (McNemar, by source).

Variants of one source are not independent (a model that knows a camera gets most of its
variants right), so the unit of the test is the source: on each axis, a source counts as correct
for a model when the majority of its variants common to both models are (strictly more than
half; a tie counts as not correct, for both models alike). McNemar's exact test then runs on
those per-source outcomes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["mcnemar", "compare", "COMPARE_COLUMNS"]

COMPARE_COLUMNS = [
    "model_a", "model_b", "axis", "n", "accuracy_a", "accuracy_b", "both_correct", "a_only",
    "b_only", "both_wrong", "statistic", "p_value", "suite", "n_variants", "unit",
]  # fmt: skip


def mcnemar(a_correct: np.ndarray, b_correct: np.ndarray) -> dict:
    """McNemar's paired test on two models' correctness over the same units.

    Returns the discordant counts, the exact two-sided binomial p-value and the
    continuity-corrected chi-square statistic.
    """
    from scipy.stats import binomtest

    a = np.asarray(a_correct, dtype=bool)
    b = np.asarray(b_correct, dtype=bool)
    a_only = int((a & ~b).sum())
    b_only = int((~a & b).sum())
    n_disc = a_only + b_only
    p = binomtest(min(a_only, b_only), n_disc, 0.5).pvalue if n_disc else 1.0
    stat = (abs(a_only - b_only) - 1) ** 2 / n_disc if n_disc else 0.0
    return {
        "n": int(len(a)),
        "both_correct": int((a & b).sum()),
        "a_only": a_only,
        "b_only": b_only,
        "both_wrong": int((~a & ~b).sum()),
        "statistic": float(stat),
        "p_value": float(min(1.0, p)),
    }


def _name(pred: pd.DataFrame, default: str) -> str:
    return str(pred["model"].iloc[0]) if len(pred) and "model" in pred else default


def compare(
    pred_a: pd.DataFrame, pred_b: pd.DataFrame, *, same_model: bool | None = None
) -> pd.DataFrame:
    """McNemar per (suite, axis) between two different models, matched by ``variant_id``, with
    sources as the unit (majority of each source's common variants; see the module docstring).

    ``accuracy_a`` / ``accuracy_b`` are the variant-level accuracies on the common variants.

    ``same_model``: whether the two are one model (same spec and weights); None: judged by the
    model names. Callers that know two same-named models differ pass False.

    Raises:
        ValueError: the two are the same model.
    """
    name_a, name_b = _name(pred_a, "a"), _name(pred_b, "b")
    if same_model is None:
        same_model = name_a == name_b and bool(len(pred_a)) and bool(len(pred_b))
    if same_model:
        msg = (
            f"compare: both predictions are of model {name_a!r}; McNemar compares two different "
            "models on the same variants (merge results of one model instead)"
        )
        raise ValueError(msg)
    cols = ["variant_id", "source_id", "axis", "correct"]
    if "suite" in pred_a:
        cols.append("suite")
    a = pred_a[cols].dropna(subset=["correct"])
    b = pred_b[["variant_id", "correct"]].dropna(subset=["correct"])
    j = a.merge(b, on="variant_id", suffixes=("_a", "_b"))
    j["suite"] = j["suite"].astype(object).where(j["suite"].notna(), "") if "suite" in j else ""
    j["ca"] = j["correct_a"].astype(float)
    j["cb"] = j["correct_b"].astype(float)
    rows = []
    for (suite, axis), g in j.groupby(["suite", "axis"], sort=True):
        per_src = g.groupby("source_id")[["ca", "cb"]].mean()
        r = {"model_a": name_a, "model_b": name_b, "axis": axis}
        r.update(mcnemar(per_src["ca"].to_numpy() > 0.5, per_src["cb"].to_numpy() > 0.5))
        r.update({"accuracy_a": float(g["ca"].mean()), "accuracy_b": float(g["cb"].mean()),
                  "suite": suite or None, "n_variants": len(g),
                  "unit": "source (majority of its variants)"})  # fmt: skip
        rows.append(r)
    return pd.DataFrame(rows, columns=COMPARE_COLUMNS)
