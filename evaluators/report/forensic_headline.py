"""The headline's sentence for a localization model: its pixel F1 and pixel AUC where nothing
was done after the manipulation, and its worst level.

"Clean" for a localizer is not the clean axis (clean variants are authentic: no mask, no pixel
figures) but the level of a forgery ladder that keeps the manipulated pixels as they are; its
name comes from report.json (``forensic_reference_levels``, ``none``). Without such a level the
sentence quotes the model's clean row when it has one, else the mildest level, and says which.
"""

from __future__ import annotations

import pandas as pd

from .forensic import fmt_unit, forensic_rows
from .params import report_defaults
from .runs import CLEAN, ModelResults
from .view import AxisView

__all__ = ["localizer_sentence", "reference_level", "worst_level"]


def _at(rows: pd.DataFrame, metric: str) -> pd.Series | None:
    r = rows[rows["metric"] == metric]
    return None if r.empty or pd.isna(r.iloc[0]["value"]) else r.iloc[0]


def reference_level(
    m: ModelResults, views: list[AxisView]
) -> tuple[AxisView | None, str, str] | None:
    """(view, level, how it was chosen) of the level the headline quotes as the localizer's
    clean figure; None when the model has no pixel F1 at all."""
    s = forensic_rows(m)
    if not len(s) or not (s["metric"] == "pixel_f1").any():
        return None
    f1 = s[s["metric"] == "pixel_f1"]
    if ((f1["axis"] == CLEAN) & f1["value"].notna()).any():
        return None, CLEAN, "clean"
    for name in report_defaults().get("forensic_reference_levels", []):
        for v in views:
            at = f1[(f1["_suite"] == v.suite) & (f1["axis"] == v.axis)]
            if (at["level"].astype(str) == str(name)).any():
                return v, str(name), "manipulated, nothing done after"
    for v in views:
        order, _ = v.points()
        at = f1[(f1["_suite"] == v.suite) & (f1["axis"] == v.axis)]
        levels = [p for p in order if (at["level"].astype(str) == p).any()]
        if levels:
            return v, levels[0], "the mildest level"
    return None


def worst_level(m: ModelResults, views: list[AxisView], identical: dict,
                metric: str = "pixel_f1") -> tuple[AxisView, str, float] | None:  # fmt: skip
    """(view, level, value) of the lowest ``metric`` over the levels of every axis (axes whose
    variants are all byte-identical to clean are skipped)."""
    best = None
    for v in views:
        if v.key in identical and identical[v.key].whole_axis:
            continue
        rows = forensic_rows(m, v)
        rows = rows[(rows["metric"] == metric) & rows["value"].notna()] if len(rows) else rows
        if not len(rows):
            continue
        r = rows.loc[rows["value"].astype(float).idxmin()]
        if best is None or float(r["value"]) < best[2]:
            best = (v, str(r["level"]), float(r["value"]))
    return best


def localizer_sentence(m: ModelResults, views: list[AxisView], identical: dict) -> list:
    """Spans: the localizer's reference pixel F1 / AUC (and detection AUC), its worst level."""
    from .document import code

    ref = reference_level(m, views)
    if ref is None:
        return [code(m.name), ": a localization model without pixel figures (no manipulated "
                "images were scored). "]  # fmt: skip
    v, level, how = ref
    s = forensic_rows(m) if v is None else forensic_rows(m, v)
    rows = s[s["level"].astype(str) == level]
    f1, auc = _at(rows, "pixel_f1"), _at(rows, "pixel_auc")
    parts: list = [code(m.name), f": pixel F1 {fmt_unit(f1['value'])}"]
    if auc is not None:
        parts.append(f", pixel AUC {fmt_unit(auc['value'])}")
    where = ["on clean images"] if v is None else ["at level ", code(v.level_label(level)),
                                                   " of axis ", code(v.label)]  # fmt: skip
    parts += [" ", *where, f" ({how}; {int(f1['n'])} sources)"]
    det = _at(rows, "auc")
    det = det if det is not None else _at(rows, "image_auc")
    if det is not None:
        parts.append(f", detection {'AUC' if det['metric'] == 'auc' else 'image AUC'} "
                     f"{fmt_unit(det['value'])}")  # fmt: skip
    worst = worst_level(m, views, identical)
    if worst is not None and worst[2] < float(f1["value"]):
        wv, wl, val = worst
        wrows = forensic_rows(m, wv)
        wauc = _at(wrows[wrows["level"].astype(str) == wl], "pixel_auc")
        parts += ["; worst level ", code(wv.level_label(wl)), " on axis ", code(wv.label),
                  f" at pixel F1 {fmt_unit(val)}"]  # fmt: skip
        if wauc is not None:
            parts.append(f", pixel AUC {fmt_unit(wauc['value'])}")
        parts.append(f" ({fmt_unit(float(f1['value']) - val)} below)")
    elif worst is not None:
        parts.append("; no level is below it")
    return [*parts, ". "]
