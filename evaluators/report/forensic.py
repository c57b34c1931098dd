"""Forensic figures in the report (issue 14): how metrics are named, the per-level tables and
the definitions.

Detection (``auc``, ``balanced_accuracy``, ``tpr_at_fpr``, ``eer`` and their ``image_*``
counterparts) and localization (``pixel_f1``, ``pixel_auc``, ...) figures are read from
summary.parquet as ``evaluate`` wrote them; their labels and order come from report.json
(``forensic_metrics``). A figure whose threshold was chosen with the truth
(``pixel_f1_best``, ``pixel_mcc_best``) is labelled ``optimistic_label`` wherever it appears.
Values are fractions in [0, 1] written with three decimals, with their 95% bootstrap interval.
"""

from __future__ import annotations

import re

import pandas as pd

from .. import metrics as M
from .document import Table, Text, code, em, text
from .params import report_defaults
from .runs import CLEAN, ModelResults
from .tables import n_cell, stacked_axis_table
from .view import MISSING, AxisView, natural_key, no_negative_zero

__all__ = [
    "forensic_labels",
    "is_optimistic",
    "metric_label",
    "split_metric",
    "fmt_unit",
    "forensic_rows",
    "forensic_tables",
    "forensic_level_tables",
    "forensic_definitions",
    "LOCALIZATION",
    "DETECTION",
]

_PER_OP = re.compile(r"^(\w+)\[(.+)\]$")  # pixel_f1[splice]: one manipulation's figure


def forensic_labels() -> dict[str, str]:
    """The forensic metrics the report shows, in order, with their labels (report.json)."""
    return dict(report_defaults().get("forensic_metrics", {}))


LOCALIZATION = tuple(n for n in forensic_labels() if n.startswith("pixel_"))
DETECTION = tuple(n for n in forensic_labels() if not n.startswith("pixel_"))


def split_metric(name: str) -> tuple[str, str | None]:
    """``pixel_f1[splice]`` -> (``pixel_f1``, ``splice``); a plain name -> (name, None)."""
    m = _PER_OP.match(str(name))
    return (m.group(1), m.group(2)) if m else (str(name), None)


def is_optimistic(name: str) -> bool:
    """Whether a figure's threshold was chosen with the truth (``*_best``, or so registered)."""
    base, _ = split_metric(name)
    if base.endswith("_best"):
        return True
    fm = M.FORENSIC_METRICS
    return base in fm and bool(getattr(fm.get(base), "optimistic", False))


def metric_label(name: str) -> str:
    """A forensic metric as the report writes it: ``pixel F1 best (optimistic: best threshold
    per image)``, ``pixel F1, splice``."""
    base, op = split_metric(name)
    label = forensic_labels().get(base, base.replace("_", " "))
    if op:
        label += f", {op}"
    if is_optimistic(base):
        label += " " + report_defaults().get("optimistic_label", "(optimistic)")
    return label


def fmt_unit(v, lo=None, hi=None) -> str:
    """A fraction with three decimals, with ``[low, high]`` when the interval is known."""
    missing = lambda x: x is None or pd.isna(x)  # noqa: E731
    if missing(v):
        return MISSING
    out = no_negative_zero(f"{float(v):.3f}")
    if missing(lo) or missing(hi):
        return out
    return f"{out} [{no_negative_zero(f'{float(lo):.3f}')}, {no_negative_zero(f'{float(hi):.3f}')}]"


def forensic_rows(m: ModelResults, view: AxisView | None = None) -> pd.DataFrame:
    """The model's summary rows of forensic metrics (one axis with ``view``), with ``_base`` (the
    metric without its manipulation) and ``_op`` (the manipulation or None). Asked for per
    axis by every table, figure caption and headline: cached per summary frame (read-only)."""
    s = m.summary if view is None else m.rows("summary", view.key)
    if not len(s):
        return s
    cache = m.__dict__.setdefault("_forensic_rows", {})
    key = None if view is None else view.key
    hit = cache.get(key)
    if hit is None or hit[0] is not s:
        hit = cache[key] = (s, _forensic_rows(s))
    return hit[1]


def _forensic_rows(s: pd.DataFrame) -> pd.DataFrame:
    parts = s["metric"].astype(str).map(split_metric)
    base = parts.map(lambda p: p[0])
    s = s[base.isin(list(forensic_labels())).to_numpy()].copy()
    s["_base"] = base[s.index]
    s["_op"] = parts[s.index].map(lambda p: p[1])
    return s


def _levels(view: AxisView, frames: list[pd.DataFrame]) -> list[str]:
    """Levels of the rows, mild to severe: the curve order first, then the rest by name."""
    present: list[str] = []
    for f in frames:
        present += [str(x) for x in pd.unique(f["level"]) if str(x) not in present]
    order, _ = view.points()
    first = [p for p in order if p in present]
    clean = [CLEAN] if CLEAN in present else []
    rest = sorted((p for p in present if p not in first and p != CLEAN), key=natural_key)
    return clean + first + rest


def _table(view: AxisView, metrics: list[str], per_op: bool, caption: str) -> Table | None:
    """Rows (level[, model]) x (n, one column per metric) of one axis; None when empty."""
    frames = {m.name: forensic_rows(m, view) for m in view.models}
    frames = {k: f[f["_op"].notna() == per_op] for k, f in frames.items() if len(f)}
    frames = {k: f for k, f in frames.items() if len(f) and f["metric"].isin(metrics).any()}
    if not frames:
        return None
    cols = [mt for mt in metrics if any((f["metric"] == mt).any() for f in frames.values())]
    many = len(frames) > 1
    rows = []
    for level in _levels(view, list(frames.values())):
        for name, f in frames.items():
            at = f[f["level"].astype(str) == level]
            if at.empty:
                continue
            by = {r["metric"]: r for _, r in at.iterrows()}
            first = next((by[c] for c in cols if c in by), None)
            row = [view.level_label(level), *([name] if many else [])]
            row.append(MISSING if first is None else n_cell(first))
            row += [fmt_unit(by[c]["value"], by[c]["ci_low"], by[c]["ci_high"]) if c in by
                    else MISSING for c in cols]  # fmt: skip
            rows.append(row)
    if not rows:
        return None
    keys = ["level", *(["model"] if many else []), "n"]
    header = keys + [f"{metric_label(c)} [95% CI]" for c in cols]
    return Table(header, rows, caption, key_columns=len(keys), group_size=1)


def _op_metrics(view: AxisView, base: tuple[str, ...]) -> list[str]:
    names: list[str] = []
    for m in view.models:
        f = forensic_rows(m, view)
        if len(f):
            f = f[f["_op"].notna() & f["_base"].isin(base)]
            names += [n for n in pd.unique(f["metric"]) if n not in names]
    order = {b: i for i, b in enumerate(base)}
    return sorted(names, key=lambda n: (split_metric(n)[1], order[split_metric(n)[0]]))


def _kind_table(view: AxisView, kind: str) -> Table | None:
    """One kind's table of an axis; built once per view (the per-axis tables and the LaTeX
    fragment's stacked ones read the same rows)."""
    cache = view.__dict__.setdefault("_forensic_tables", {})
    if kind not in cache:
        cache[kind] = _build_kind_table(view, kind)
    return cache[kind]


def _build_kind_table(view: AxisView, kind: str) -> Table | None:
    if kind == "localization":
        return _table(view, list(LOCALIZATION), False,
                      f"{view.label}: localization per level (manipulated images; threshold 0.5 "
                      "unless optimistic)")  # fmt: skip
    if kind == "detection":
        return _table(
            view,
            list(DETECTION),
            False,
            f"{view.label}: detection per level (manipulated vs authentic images)",
        )
    return _table(view, _op_metrics(view, ("pixel_f1", "pixel_auc")), True,
                  f"{view.label}: localization per level and manipulation")  # fmt: skip


KINDS = ("localization", "detection", "manipulation")


def forensic_tables(view: AxisView) -> list[Table]:
    """Localization, detection and per-manipulation figures per level of one axis (n: sources
    behind the row's first figure; pixel figures count manipulated images only)."""
    return [t for t in (_kind_table(view, k) for k in KINDS) if t is not None]


def forensic_level_tables(views: list[AxisView]) -> list[Table]:
    """Every axis's localization and detection figures, one table each, the axis as heading
    rows (the LaTeX fragment's counterpart of the per-axis tables)."""
    out = []
    for kind in KINDS[:2]:
        parts = [(v, t) for v in views if (t := _kind_table(v, kind)) is not None]
        if not parts:
            continue
        cap = f"Forensic {kind} per level (95% bootstrap CI over source images; n: sources)"
        out.append(stacked_axis_table(parts, cap, f"tab:degradebench-{kind}"))
    return out


def forensic_definitions(models: list[ModelResults]) -> list[tuple[str, Text]]:
    """Definitions of the forensic figures the models have (none for classification runs)."""
    names: set[str] = set()
    for m in models:
        f = forensic_rows(m)
        names |= set(f["_base"]) if len(f) else set()
    out = []
    if names & set(LOCALIZATION):
        out.append(("pixel F1, MCC, IoU, AUC", text(
            "per manipulated image, the predicted map thresholded at 0.5 against the true mask "
            "(AUC: the map's ROC AUC over the image's pixels), averaged over images, each "
            "source's images first. Authentic images have no pixel figures.")))  # fmt: skip
    if any(is_optimistic(n) for n in names):
        out.append(("optimistic", text(
            code("*_best"), " figures take the best threshold for each image separately, chosen "
            "with the true mask: an upper bound no detector reaches without the truth.")))  # fmt: skip
    if names & set(DETECTION):
        out.append(("AUC, balanced accuracy, EER, TPR at FPR", text(
            "detection of manipulated images from the model's image score (", em("score"),
            ") or from the predicted map's maximum (", code("image_*"), ", ", em("map max"),
            "); TPR at FPR uses the threshold fixed on the clean authentic images; EER (the "
            "equal error rate) is the one figure where lower is better.")))  # fmt: skip
    return out
