"""``summary.parquet``: every metric per (model, suite, axis, planned level), with CIs by source."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..results import SUMMARY_COLUMNS
from .base import Metric, metrics_for
from .bootstrap import Bootstrap, Cell
from .grouped import key_groups, suite_rows
from .pairing import is_clean, metric_cells, suite_of

__all__ = ["level_metrics"]

_FLOATS = {"value": "float64", "ci_low": "float64", "ci_high": "float64",
           "level_value": "float64", "delta_clean": "float64"}  # fmt: skip
_INTS = {"n": "int64", "n_variants": "int64", "n_paired": "int64"}


def _level_values(pred: pd.DataFrame, suites: pd.Series) -> dict[tuple, float]:
    if "level_value" not in pred:
        return {}
    lv = pd.to_numeric(pred["level_value"], errors="coerce")
    first = lv.groupby([suites, pred["axis"], pred["level"]], sort=False).first()
    return {k: (float(v) if pd.notna(v) else math.nan) for k, v in first.items()}


def level_metrics(
    pred: pd.DataFrame, boot: Bootstrap, topk: tuple[int, ...] = (),
    metrics: list[Metric] | None = None,
) -> tuple[pd.DataFrame, dict[tuple[str, str, str, str], Cell]]:
    """summary.parquet rows for one model, and ``{(suite, axis, level, metric): cell}``.

    ``n`` counts distinct sources, ``n_variants`` variants (a source's variants are averaged
    first). ``delta_clean`` is the value minus clean's on the ``n_paired`` sources that have
    both, in the same suite. ``metrics``: these instead of :func:`metrics_for`'s (regression).
    Every level and metric is computed at once (:mod:`.grouped`), with the same numbers as
    :func:`.bootstrap.cell` one cell at a time.
    """
    model = str(pred["model"].iloc[0]) if len(pred) else ""
    metrics = metrics if metrics is not None else metrics_for(pred, topk)
    suites = suite_of(pred)
    lvals = _level_values(pred, suites)
    clean = is_clean(pred)
    src_all = boot.codes(pred["source_id"]) if len(pred) else np.zeros(0, dtype=np.int64)
    cells: dict[tuple[str, str, str, str], Cell] = {}
    rows = []
    for suite, sp, pos in suite_rows(pred, suites):
        keys, members = key_groups(sp, ["axis", "level"])
        members.append(np.flatnonzero(clean[pos]))  # the suite's clean rows: the last group
        src = src_all[pos]
        per_metric = metric_cells(metrics, sp, src, members, boot)
        for g, (axis, level) in enumerate(keys):
            for m, mcells, pairs, ci in per_metric:
                c, pr = mcells[g], pairs[g]
                if c.n_variants == 0:
                    continue
                cells[(suite, axis, level, m.name)] = c
                lo, hi = (ci[0][g], ci[1][g]) if ci is not None else boot.interval(c.reps)
                rows.append({
                    "model": model, "axis": axis, "level": level,
                    "level_value": lvals.get((suite, axis, level), math.nan), "metric": m.name,
                    "value": c.value, "ci_low": lo, "ci_high": hi, "n": c.n,
                    "delta_clean": pr.delta if pr else math.nan,
                    "higher_is_better": m.higher_is_better, "suite": suite or None,
                    "n_variants": c.n_variants, "n_paired": pr.n_paired if pr else 0,
                })  # fmt: skip
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS).astype({**_FLOATS, **_INTS})
    out["higher_is_better"] = out["higher_is_better"].astype(bool)
    order = out.sort_values(["suite", "axis", "metric"], kind="stable", na_position="first")
    return order.reset_index(drop=True), cells
