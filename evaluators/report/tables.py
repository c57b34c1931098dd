"""The report's tables, as :class:`~.document.Table` values (models side by side)."""

from __future__ import annotations

import pandas as pd

from .. import metrics as M
from .document import Table
from .runs import CLEAN, ModelResults, same_model
from .view import (
    MISSING,
    AxisView,
    clean_value,
    fmt,
    fmt_ci,
    natural_key,
    no_negative_zero,
    series_label,
)

__all__ = [
    "by_library",
    "summary_level_table",
    "model_table",
    "overview_table",
    "axis_table",
    "group_table",
    "global_table",
    "mcnemar_table",
    "level_table",
    "n_cell",
]


def _per_model_header(models: list[ModelResults]) -> list[str]:
    out: list[str] = []
    for m in models:
        out += [f"{m.name} accuracy % [95% CI]", f"{m.name} flip %", f"{m.name} n"]
    return out


def _cells(acc: pd.DataFrame, flip: pd.DataFrame) -> list[str]:
    return _row_cells(None if acc.empty else acc.iloc[0], None if flip.empty else flip.iloc[0])


def _row_cells(acc: pd.Series | None, flip: pd.Series | None) -> list[str]:
    """Accuracy [CI], flip rate and n cells from one accuracy and one flip-rate row."""
    a = MISSING if acc is None else fmt_ci(acc["value"], acc["ci_low"], acc["ci_high"])
    f = MISSING if flip is None else fmt(flip["value"])
    src = acc if acc is not None else flip
    return [a, f, MISSING if src is None else n_cell(src)]


def _first_by_point(df: pd.DataFrame) -> dict:
    """The first row of each curve point: one pass instead of a filter per point."""
    if df.empty:
        return {}
    first = df.drop_duplicates("point")
    return {p: r for p, (_, r) in zip(first["point"], first.iterrows())}


def n_cell(row: pd.Series) -> str:
    """Sources behind a value, and the variants when a source has several (``72 (144 var.)``)."""
    n = int(row["n"])
    nv = row.get("n_variants")
    if nv is None or pd.isna(nv) or int(nv) == n:
        return str(n)
    return f"{n} ({int(nv)} var.)"


_n_cell = n_cell  # the name tests/test_truth_fixes.py imports


def model_table(models: list[ModelResults]) -> Table:
    """One row per model and suite: spec, variants, clean accuracy, speed, device, manifest."""
    header = ["model", "suite", "spec", "variants", "clean accuracy % [95% CI]", "images/s",
              "device"]  # fmt: skip
    rows = []
    for m in models:
        for run, suite in zip(m.runs, m.suites() or [""]):
            clean = clean_value(m, "accuracy", suite)
            ips = run.get("throughput", {}).get("images_per_s")
            n = int((m.pred["_suite"] == suite).sum()) if len(m.pred) else 0
            rows.append([
                m.name, suite or MISSING, str(run.get("model", {}).get("spec", MISSING)), str(n),
                fmt_ci(*clean[:3]) if clean else MISSING,
                MISSING if ips is None else f"{float(ips):.1f}",
                str(run.get("config", {}).get("resolved_device", MISSING)),
            ])  # fmt: skip
    return Table(header, rows, "Models and the runs behind them", "tab:degradebench-models")


def _axis_row(m: ModelResults, view: AxisView, metric: str):
    a = m.rows("axis_summary", view.key)
    r = a[a["metric"] == metric] if len(a) else a
    return None if r.empty else r.iloc[0]


def overview_table(views: list[AxisView], models: list[ModelResults]) -> Table:
    """Per axis: AUC of accuracy, where it breaks, the largest drop, and CE when there is one."""
    header = ["axis"]
    for m in models:
        header += [f"{m.name} AUC acc %", f"{m.name} breaks at", f"{m.name} max drop pts"]
    has_ce = any(len(m.axis_summary) and (m.axis_summary["metric"] == "ce").any() for m in models)
    header += [f"{m.name} CE" for m in models] if has_ce else []
    rows = []
    for v in views:
        row = [v.label]
        for m in models:
            auc = _axis_row(m, v, "auc_accuracy")
            brk = _axis_row(m, v, "breaking_level")
            drop = _axis_row(m, v, "max_accuracy_drop")
            row.append(MISSING if auc is None else fmt_ci(auc["value"], auc["ci_low"],
                                                          auc["ci_high"]))  # fmt: skip
            level = None if brk is None else brk["level"]
            row.append(MISSING if brk is None else ("never" if level is None or pd.isna(level)
                                                    else v.level_label(level)))  # fmt: skip
            row.append(MISSING if drop is None else no_negative_zero(f"{100 * drop['value']:.1f}"))
        if has_ce:
            for m in models:
                ce = _axis_row(m, v, "ce")
                row.append(MISSING if ce is None or pd.isna(ce["value"]) else f"{ce['value']:.3f}")
        rows.append(row)
    return Table(header, rows, "Per-axis robustness", "tab:degradebench-axes", key_columns=1,
                 group_size=3)  # fmt: skip


def axis_table(view: AxisView) -> Table:
    """Accuracy, flip rate and n per curve point (and series) of one axis."""
    header = ["point", "series", *_per_model_header(view.models)]
    order, _ = view.points()
    rows = []
    for ser in view.series():
        per_model = [(_first_by_point(view.curve_rows(m, "accuracy", ser)),
                      _first_by_point(view.curve_rows(m, "flip_rate", ser)))
                     for m in view.models]  # fmt: skip
        for pt in order:
            row, found = [view.level_label(pt), series_label(ser)], False
            for acc, flip in per_model:
                a, f = acc.get(pt), flip.get(pt)
                found |= a is not None or f is not None
                row += _row_cells(a, f)
            if found:
                rows.append(row)
    return Table(header, rows, f"{view.label}: accuracy and flip rate per level",
                 key_columns=2, group_size=3)  # fmt: skip


def by_library(view: AxisView) -> bool:
    """Whether the axis's curve pools levels that differ by library (resize, codecs): its
    table then lists planned levels, not curve points."""
    from .figures.libraries import library_labels
    from .figures.paths import resize_paths

    first = next((view.preds(m) for m in view.models if len(view.preds(m))), None)
    return first is not None and (resize_paths(view) is not None
                                  or library_labels(first) is not None)  # fmt: skip


def summary_level_table(view: AxisView) -> Table:
    """Accuracy, flip rate and n per planned level (summary.parquet), for axes whose curve
    pools levels that differ by library (resize paths, codec encoders and decoders)."""
    levels: list[str] = []
    for m in view.models:
        s = m.rows("summary", view.key)
        levels += [lv for lv in pd.unique(s["level"]) if lv not in levels] if len(s) else []
    rows = []
    for lv in sorted(levels, key=natural_key):
        row = [view.level_label(lv)]
        for m in view.models:
            s = m.rows("summary", view.key)
            s = s[s["level"] == lv] if len(s) else s
            row += _cells(s[s["metric"] == "accuracy"], s[s["metric"] == "flip_rate"])
        rows.append(row)
    return Table(["level", *_per_model_header(view.models)], rows,
                 f"{view.label}: accuracy and flip rate per level", key_columns=1,
                 group_size=3)  # fmt: skip


def group_table(view: AxisView) -> Table | None:
    """Pooled over the axis per combination of boolean level parameters (curves' point "all")."""
    groups: list[str] = []
    for m in view.models:
        p = view.pooled_rows(m)
        groups += [g for g in pd.unique(p["series"]) if g not in groups] if len(p) else []
    if not groups:
        return None
    groups = ["all"] + sorted(g for g in groups if g != "all")
    rows = []
    for g in groups:
        row = ["all levels" if g == "all" else series_label(g)]
        for m in view.models:
            p = view.pooled_rows(m)
            p = p[p["series"] == g] if len(p) else p
            row += _cells(p[p["metric"] == "accuracy"], p[p["metric"] == "flip_rate"])
        rows.append(row)
    return Table(["levels with", *_per_model_header(view.models)], rows,
                 f"{view.label}, pooled over its levels by their boolean parameters",
                 key_columns=1, group_size=3)  # fmt: skip


def global_table(models: list[ModelResults]) -> Table | None:
    """Figures over the whole run (axis ``*``): mCE, SP Cup 2018 score."""
    rows = []
    for m in models:
        a = m.axis_summary
        if not len(a):
            continue
        for r in a[a["axis"] == "*"].itertuples():
            val = fmt_ci(r.value, r.ci_low, r.ci_high, pct=r.metric == "spcup2018_score")
            base = r.baseline if isinstance(r.baseline, str) else ""
            rows.append([m.name, r.metric, val, base])
    if not rows:
        return None
    return Table(["model", "figure", "value", "baseline"], rows, "Overall figures",
                 "tab:degradebench-overall")  # fmt: skip


def mcnemar_table(models: list[ModelResults]) -> Table | None:
    """McNemar's paired test between every two different models, per (suite, axis), on the
    variants both scored, with sources as the unit when the metrics module pairs by source."""
    frames = []
    for i in range(len(models)):
        for j in range(i + 1, len(models)):
            a, b = models[i].pred, models[j].pred
            if len(a) and len(b) and not same_model(models[i], models[j]):
                frames.append(M.compare(a, b, same_model=False))
    cmp = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if cmp.empty:
        return None
    suites = "suite" in cmp and cmp["suite"].nunique() > 1
    unit = str(cmp["unit"].iloc[0]) if "unit" in cmp else "variant"
    rows = []
    for r in cmp.itertuples():
        axis = f"{r.axis} ({r.suite})" if suites else str(r.axis)
        rows.append([f"{r.model_a} vs {r.model_b}", axis, str(r.n), fmt(r.accuracy_a),
                     fmt(r.accuracy_b), str(r.a_only), str(r.b_only), f"{r.p_value:.3g}"])  # fmt: skip
    header = ["pair", "axis", f"paired {unit}s", "acc A %", "acc B %", "only A right",
              "only B right", "McNemar p"]  # fmt: skip
    return Table(header, rows, "Paired comparison (McNemar)", "tab:degradebench-mcnemar")


def level_table(views: list[AxisView], models: list[ModelResults]) -> Table | None:
    """Every axis's levels in one table (clean first), for the LaTeX fragment."""
    if not views:
        return None
    rows = []
    suites = list(dict.fromkeys(v.suite for v in views))
    for suite in suites:
        row = [CLEAN if len(suites) == 1 else f"{CLEAN} ({suite})", CLEAN, "all"]
        for m in models:
            c, f = clean_value(m, "accuracy", suite), clean_value(m, "flip_rate", suite)
            n = c[3] if c else (f[3] if f else None)
            row += [fmt_ci(*c[:3]) if c else MISSING, fmt(f[0]) if f else MISSING,
                    MISSING if n is None else str(n)]  # fmt: skip
        rows.append(row)
    for v in views:
        if by_library(v):
            rows += [[v.label, r[0], "all", *r[1:]] for r in summary_level_table(v).rows]
        else:
            rows += [[v.label, *r] for r in axis_table(v).rows]
    return Table(["axis", "point", "series", *_per_model_header(models)], rows,
                 "Accuracy (%, 95% bootstrap CI) and flip rate per level",
                 "tab:degradebench-levels", key_columns=3, group_size=3,
                 first_as_heading=True)  # fmt: skip


def stacked_axis_table(parts: list[tuple[AxisView, Table]], caption: str, label: str) -> Table:
    """Per-axis level tables (level first, optional model, then n) stacked into one, the axis
    as heading rows: the LaTeX fragment's counterpart of the per-axis tables. Columns are the
    union of the parts' figure columns, in first-seen order."""
    many = any(t.header[1] == "model" for _, t in parts)
    cols = list(dict.fromkeys(h for _, t in parts for h in t.header[t.key_columns :]))
    rows = []
    for v, t in parts:
        for r in t.rows:
            cell = dict(zip(t.header, r))
            keys = [r[0], *([cell.get("model", MISSING)] if many else []), cell["n"]]
            rows.append([v.label, *keys, *(cell.get(c, MISSING) for c in cols)])
    header = ["axis", "level", *(["model"] if many else []), "n", *cols]
    return Table(header, rows, caption, label, key_columns=4 if many else 3, group_size=1,
                 first_as_heading=True)  # fmt: skip
