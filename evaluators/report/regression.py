"""Regression results in the report (``--target primary_quality``, issue 14): labels, the tables
per level, the headline sentence and the definitions.

A regression run's summary.parquet and curves.parquet carry ``mae`` and ``rmse`` (in the
target's units, lower is better) and ``within_5`` (the share of images predicted within 5 of the
truth, higher is better) per level and curve point, with 95% bootstrap intervals over sources and
``n``. Labels and order come from report.json (``regression_metrics``); the figures drawn as
fractions (three decimals) from ``regression_panels`` (``fraction``), the others with two
decimals in the target's units. The ``regression`` figure kind (:mod:`.figures.regression`)
draws the curves.
"""

from __future__ import annotations

import pandas as pd

from .document import Table, Text, code, text
from .forensic import fmt_unit
from .params import report_defaults
from .runs import CLEAN, ModelResults
from .tables import n_cell, stacked_axis_table
from .view import MISSING, AxisView, natural_key, no_negative_zero, regresses

__all__ = [
    "REGRESSION",
    "regression_label",
    "fmt_value",
    "target_name",
    "regression_rows",
    "regression_table",
    "regression_level_table",
    "regression_definitions",
    "regression_sentence",
]

REGRESSION = tuple(report_defaults().get("regression_metrics", {}))


def regression_label(name: str) -> str:
    """A regression figure as the report writes it (report.json ``regression_metrics``)."""
    return str(report_defaults().get("regression_metrics", {}).get(name, name.replace("_", " ")))


def _fraction(name: str) -> bool:
    panels = report_defaults().get("regression_panels", [])
    return any(name in p.get("metrics", []) and p.get("fraction") for p in panels)


def fmt_value(name: str, v, lo=None, hi=None) -> str:
    """A fraction (``within_5``) with three decimals, an error (``mae``) with two, in both cases
    with ``[low, high]`` when the interval is known."""
    if _fraction(name):
        return fmt_unit(v, lo, hi)
    missing = lambda x: x is None or pd.isna(x)  # noqa: E731
    if missing(v):
        return MISSING
    two = lambda x: no_negative_zero(f"{float(x):.2f}")  # noqa: E731
    return two(v) if missing(lo) or missing(hi) else f"{two(v)} [{two(lo)}, {two(hi)}]"


def target_name(models: list[ModelResults]) -> str:
    """The regression target column(s) of these models' runs (``target`` when not recorded)."""
    names = [str(t["column"]) for m in models for r in m.runs
             if isinstance(t := r.get("target"), dict) and t.get("kind") == "regression"]  # fmt: skip
    return ", ".join(dict.fromkeys(names)) or "target"


def regression_rows(m: ModelResults, view: AxisView | None = None) -> pd.DataFrame:
    """The model's summary rows of regression figures (one axis with ``view``)."""
    s = m.summary if view is None else m.rows("summary", view.key)
    return s[s["metric"].isin(list(REGRESSION))] if len(s) else s


def _clean_rows(m: ModelResults, suite: str) -> pd.DataFrame:
    s = regression_rows(m)
    if not len(s):
        return s
    s = s[(s["axis"] == CLEAN) & (s["level"].astype(str) == CLEAN)]
    return s[s["_suite"] == suite] if suite else s


def _levels(view: AxisView, frames: list[pd.DataFrame]) -> list[str]:
    """Levels of the rows: clean first, then the curve order, then the rest by name."""
    present: list[str] = []
    for f in frames:
        present += [str(x) for x in pd.unique(f["level"]) if str(x) not in present]
    order, _ = view.points()
    first = [p for p in order if p in present]
    rest = sorted((p for p in present if p not in first and p != CLEAN), key=natural_key)
    return ([CLEAN] if CLEAN in present else []) + first + rest


def regression_table(view: AxisView) -> Table | None:
    """Rows (level[, model]) x (n, MAE, RMSE, within 5) of one axis, the suite's clean row first
    (n: sources behind the row); None when no model regresses here."""
    frames = {}
    for m in view.models:
        f = regression_rows(m, view)
        if len(f):
            frames[m.name] = pd.concat([_clean_rows(m, view.suite), f], ignore_index=True)
    if not frames:
        return None
    cols = [c for c in REGRESSION if any((f["metric"] == c).any() for f in frames.values())]
    many = len(frames) > 1
    rows = []
    for level in _levels(view, list(frames.values())):
        for name, f in frames.items():
            by = {r["metric"]: r for _, r in f[f["level"].astype(str) == level].iterrows()}
            first = next((by[c] for c in cols if c in by), None)
            if first is None:
                continue
            row = [view.level_label(level), *([name] if many else []), n_cell(first)]
            row += [fmt_value(c, by[c]["value"], by[c]["ci_low"], by[c]["ci_high"]) if c in by
                    else MISSING for c in cols]  # fmt: skip
            rows.append(row)
    if not rows:
        return None
    keys = ["level", *(["model"] if many else []), "n"]
    header = keys + [f"{regression_label(c)} [95% CI]" for c in cols]
    target = target_name(view.models)
    cap = (f"{view.label}: regression of {target} per level (MAE and RMSE in {target} units, "
           "lower is better; within 5: share of images predicted within 5 of the truth)")  # fmt: skip
    return Table(header, rows, cap, key_columns=len(keys), group_size=1)


def regression_level_table(views: list[AxisView]) -> Table | None:
    """Every axis's regression figures in one table, the axis as heading rows (the LaTeX
    fragment's counterpart of the per-axis tables)."""
    parts = [(v, t) for v in views if (t := regression_table(v)) is not None]
    if not parts:
        return None
    cap = (f"Regression of {target_name(parts[0][0].models)} per level (95% bootstrap CI over "
           "source images; n: sources)")  # fmt: skip
    return stacked_axis_table(parts, cap, "tab:degradebench-regression")


def regression_definitions(models: list[ModelResults]) -> list[tuple[str, Text]]:
    """The definition of the regression figures when a model has them (none otherwise)."""
    regressors = [m for m in models if regresses(m)]
    if not regressors:
        return []
    return [("MAE, RMSE, within 5", text(
        "a regression target (", code(target_name(regressors)), "): MAE is the mean absolute "
        "error |prediction - truth| and RMSE the square root of the mean squared error, both in "
        "the target's units (lower is better); within 5 is the share of images predicted within "
        "5 of the truth. Each source's images are averaged first; images whose target is "
        "unknown are not scored."))]  # fmt: skip


def _sources(n: int) -> str:
    return f"{n} source" + ("" if n == 1 else "s")


def _mae_rows(m: ModelResults, view: AxisView) -> pd.DataFrame:
    r = regression_rows(m, view)
    return r[(r["metric"] == "mae") & r["value"].notna()] if len(r) else r


def _reference(m: ModelResults, views: list[AxisView]) -> tuple[pd.DataFrame, list] | None:
    """(rows, words) of the level the sentence quotes: the clean row, else the mildest level."""
    for v in views:
        c = _clean_rows(m, v.suite)
        if len(c) and (c["metric"] == "mae").any():
            return c, ["clean MAE "]
    for v in views:
        mae = _mae_rows(m, v)
        levels = [p for p in v.points()[0] if (mae["level"].astype(str) == p).any()]
        if levels:
            r = regression_rows(m, v)
            return r[r["level"].astype(str) == levels[0]], [
                "MAE at level ", code(v.level_label(levels[0])), " of axis ", code(v.label),
                " (the mildest level; no clean row) "]  # fmt: skip
    return None


def _worst(m: ModelResults, views: list[AxisView], identical: dict) -> tuple | None:
    """(view, level, MAE) of the highest MAE over every axis's levels (axes whose variants are
    all byte-identical to clean are skipped)."""
    best = None
    for v in views:
        if v.key in identical and identical[v.key].whole_axis:
            continue
        mae = _mae_rows(m, v)
        if len(mae):
            r = mae.loc[mae["value"].astype(float).idxmax()]
            if best is None or float(r["value"]) > best[2]:
                best = (v, str(r["level"]), float(r["value"]))
    return best


def regression_sentence(m: ModelResults, views: list[AxisView], identical: dict) -> list:
    """Spans: the regressor's target, clean MAE (and within 5) with n, its worst level."""
    ref = _reference(m, views)
    target = target_name([m])
    if ref is None:
        return [code(m.name), ": a regression model of ", code(target), " without figures. "]
    rows, words = ref
    by = {r["metric"]: r for _, r in rows.iterrows()}
    mae = by["mae"]
    parts: list = [code(m.name), ": predicts ", code(target), "; ", *words,
                   f"{fmt_value('mae', mae['value'])} ({_sources(int(mae['n']))})"]  # fmt: skip
    if "within_5" in by:
        parts.append(f", within 5 {fmt_value('within_5', by['within_5']['value'])}")
    worst = _worst(m, views, identical)
    if worst is not None and worst[2] > float(mae["value"]):
        v, level, val = worst
        parts += ["; worst level ", code(v.level_label(level)), " on axis ", code(v.label),
                  f" at MAE {fmt_value('mae', val)} "
                  f"({fmt_value('mae', val - float(mae['value']))} above)"]  # fmt: skip
    elif worst is not None:
        parts.append("; no level is above it")
    return [*parts, ". "]
