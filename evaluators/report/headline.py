"""The report's opening paragraph, and the axes whose variants are byte-identical to clean."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .document import Paragraph, code, text
from .forensic_headline import localizer_sentence
from .params import x_param
from .regression import regression_sentence
from .runs import CLEAN, AxisKey, ModelResults
from .view import AxisView, classifies_alone, fmt, localizes, regresses

__all__ = ["headline", "identical_axes", "variant_hashes", "Identical"]


def variant_hashes(m: ModelResults) -> pd.DataFrame | None:
    """``sha256`` (and ``source_sha256`` when known) per ``variant_id``: from the predictions,
    else from the manifest that run.json names (None when neither has them)."""
    cols = [c for c in ("sha256", "source_sha256") if c in m.pred]
    if len(m.pred) and "sha256" in cols and m.pred["sha256"].notna().any():
        return m.pred.drop_duplicates("variant_id").set_index("variant_id")[cols]
    from degradebench.generators.manifest import read_manifest

    parts = []
    for run in m.runs:
        path = run.get("manifest", {}).get("path")
        for cols in (["variant_id", "sha256", "source_sha256"], ["variant_id", "sha256"]):
            try:
                parts.append(read_manifest(path, columns=cols) if path else None)
                break
            except Exception:  # noqa: BLE001 - an unreachable manifest only loses this note
                continue
    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    df = pd.concat(parts, ignore_index=True).drop_duplicates("variant_id")
    return df.set_index("variant_id")


def _authentic_twins(pred: pd.DataFrame) -> pd.Series:
    """Rows that are a forgery ladder's authentic twins (not manipulated, on an axis that has
    manipulated variants): identical to clean at a lossless level by design, not a no-op."""
    if "manipulated" not in pred:
        return pd.Series(False, index=pred.index)
    manip = pred["manipulated"].astype("boolean").fillna(False).astype(bool)
    forged = manip.groupby([pred["_suite"], pred["axis"]]).transform("any")
    return forged & ~manip


@dataclass
class Identical:
    """Variants of one axis byte-identical to their source's clean variant."""

    whole_axis: bool  # every variant of the axis
    levels: list[tuple[str, int, int]]  # (level, identical variants, variants)


def identical_axes(models: list[ModelResults]) -> dict[AxisKey, Identical]:
    """Axes with variants whose sha256 equals the clean variant's of the same source and suite."""
    out: dict[AxisKey, Identical] = {}
    for m in models:
        if not len(m.pred):
            continue
        sha = variant_hashes(m)
        if sha is None:
            continue
        p = m.pred[["variant_id", "source_id", "_suite", "axis", "level"]].copy()
        p["sha"] = p["variant_id"].map(sha["sha256"])
        src = p["variant_id"].map(sha["source_sha256"]) if "source_sha256" in sha else None
        clean = p[(p["axis"] == CLEAN) & (p["level"] == CLEAN)]
        ref = clean.drop_duplicates(["_suite", "source_id"]).set_index(["_suite", "source_id"])
        keys = list(zip(p["_suite"], p["source_id"]))
        same = p["sha"].to_numpy() == ref["sha"].reindex(keys).to_numpy()
        if src is not None:  # a pass-through of the source file (the clean one is re-saved)
            same |= p["sha"].to_numpy() == src.to_numpy()
        p = p.assign(same=same & p["sha"].notna().to_numpy())
        p = p[(p["axis"] != CLEAN) & ~_authentic_twins(m.pred)]
        for (suite, axis), g in p.groupby(["_suite", "axis"], sort=False):
            if not g["same"].any() or (suite, axis) in out:
                continue
            levels = [(str(lvl), int(gl["same"].sum()), len(gl))
                      for lvl, gl in g.groupby("level", sort=True) if gl["same"].any()]  # fmt: skip
            out[(suite, axis)] = Identical(bool(g["same"].all()), levels)
    return out


def _worst(m: ModelResults, views: list[AxisView], identical: dict) -> tuple | None:
    best = None
    for v in views:
        if v.key in identical and identical[v.key].whole_axis:
            continue
        rows = v.curve_rows(m, "accuracy")
        if rows.empty:
            continue
        r = rows.loc[rows["value"].idxmin()]
        if best is None or r["value"] < best[2]:
            point = v.level_label(r["point"])
            name = x_param(v.preds(m)) if point.replace(".", "").isdigit() else None
            best = (v, f"{name}={point}" if name else point, float(r["value"]))
    return best


def _lowest_auc(m: ModelResults, views: list[AxisView]) -> tuple | None:
    best = None
    for v in views:
        a = m.rows("axis_summary", v.key)
        a = a[a["metric"] == "auc_accuracy"] if len(a) else a
        if len(a) and (best is None or a.iloc[0]["value"] < best[1]):
            best = (v, float(a.iloc[0]["value"]))
    return best


def _model_sentence(m: ModelResults, views: list[AxisView], identical: dict) -> list:
    if localizes(m):
        return localizer_sentence(m, views, identical)
    if regresses(m):
        return regression_sentence(m, views, identical)
    clean = next((c for v in views if (c := v.clean(m, "accuracy"))), None)
    if clean is None:
        return [code(m.name), ": no labels, so no accuracy (see the flip rates below). "]
    parts: list = [code(m.name), f": clean accuracy {fmt(clean[0])}%"]
    worst = _worst(m, views, identical)
    if worst is not None and worst[2] >= (worst[0].clean(m, "accuracy") or clean)[0]:
        parts.append("; no level is below clean accuracy")
    elif worst is not None:
        v, level, acc = worst
        c = v.clean(m, "accuracy") or clean
        parts += ["; worst level ", code(level), " on axis ", code(v.label),
                  f" at {fmt(acc)}% (biggest drop, {fmt(c[0] - acc)} points below "
                  "clean)"]  # fmt: skip
    low = _lowest_auc(m, views)
    if low is not None:
        parts += ["; lowest AUC on axis ", code(low[0].label), f" ({fmt(low[1])}%)"]
    return [*parts, ". "]


def headline(models: list[ModelResults], views: list[AxisView], identical: dict) -> Paragraph:
    """What was evaluated, clean accuracy, the worst axis and level, the biggest drop."""
    suites = list(dict.fromkeys(s for m in models for s in m.suites() if s))
    datasets: list[str] = []
    n_src, n_var = 0, 0
    # A localizer's or regressor's variants (a forgery suite, a target's non-null rows) are
    # others than a classifier's: count them all.
    counted = models[:1] if classifies_alone(models) else models
    preds = [m.pred for m in counted if len(m.pred)]
    if preds:
        p = pd.concat([x[[c for c in ("dataset", "source_id", "variant_id") if c in x]]
                       for x in preds], ignore_index=True)  # fmt: skip
        if "dataset" in p:
            datasets = [str(d) for d in pd.unique(p["dataset"].dropna())]
        n_src = p["source_id"].nunique()
        n_var = p["variant_id"].nunique() if len(counted) > 1 else len(p)
    names = ", ".join(m.name for m in models)
    parts: list = [f"{len(models)} model{'s' if len(models) > 1 else ''} ({names}) evaluated on "
                   f"{len(views)} axes"]  # fmt: skip
    if suites:
        parts += [" of suite" + ("s " if len(suites) > 1 else " "), code(", ".join(suites))]
    if datasets:
        parts += [" over dataset ", code(", ".join(datasets))]
    parts.append(f" ({n_src} source images, {n_var} variants). ")
    for m in models[:4]:
        parts += _model_sentence(m, views, identical)
    whole = [v.label for v in views if v.key in identical and identical[v.key].whole_axis]
    if whole:
        parts += ["Identical to clean (re-encode skipped, not robustness): ",
                  code(", ".join(whole)), "."]  # fmt: skip
    return Paragraph(text(*parts), "headline")
