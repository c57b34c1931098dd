"""Axis-level figures: one registered object per figure, computed from the curves of a suite.

Every figure is a :class:`Figure` registered in :data:`FIGURES` by name. Those marked
``default`` are computed for every suite (``auc``, ``breaking_level``, ``max_accuracy_drop``,
``ce`` when a baseline is given); the others only for suites that declare them in YAML
(``suites.NAME.figures: [spcup2018_score]``), never by a suite's name. A figure that cannot be
computed honestly (e.g. the SP Cup score when some sources lack a manipulation) is absent from
``axis_summary.parquet`` and its reason goes to ``run.json`` (``figures``).

Figures see a :class:`SuiteCurves`: per axis its curve points in severity order, with the cells
(value, bootstrap replicates, sources) of accuracy and flip rate and the paired clean cells.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from degradebench.generators.core.registry import Registry

from ..results import AXIS_SUMMARY_COLUMNS
from .bootstrap import Bootstrap, Cell
from .curves import CurveCells
from .order import numeric_x
from .pairing import Paired, suite_of

__all__ = [
    "Figure",
    "FIGURES",
    "AxisCurve",
    "SuiteCurves",
    "FigureAbsent",
    "FigureResult",
    "compute_figures",
    "axis_summary",
    "figure_row",
    "auc",
]


class FigureAbsent(Exception):
    """Raised by a figure that cannot be computed here; the message says why (for run.json)."""


@dataclass
class AxisCurve:
    """One axis of one suite on its curve (series "all"): points mild -> severe."""

    axis: str
    order: list[str]
    x: np.ndarray
    n: int  # distinct sources on the axis
    n_variants: int
    acc: list[Cell] | None
    flip: list[Cell] | None
    acc_paired: list[Paired | None]


@dataclass
class SuiteCurves:
    """What a figure sees: one model's curves on one suite, and the settings."""

    model: str
    suite: str
    pred: pd.DataFrame  # this suite's predictions
    axes: list[AxisCurve]
    boot: Bootstrap
    clean_acc: Cell | None
    break_points: float = 5.0
    baseline: tuple[str, pd.DataFrame, pd.DataFrame] | None = None
    planned: set[tuple[str, str]] | None = None  # (axis, level) the suite planned
    state: dict = field(default_factory=dict)  # figures may leave values for later ones


class Figure:
    """Base class of axis-level figures: ``rows(ctx)`` returns axis_summary rows."""

    name = ""
    default = True  # computed for every suite; False: only when a suite declares it
    doc = ""

    def rows(self, ctx: SuiteCurves) -> list[dict]:  # pragma: no cover - interface
        """axis_summary rows of this figure for one suite (raise FigureAbsent to skip)."""
        raise NotImplementedError


FIGURES: Registry[Figure] = Registry("figure")


def figure_row(ctx: SuiteCurves, axis: str, metric: str, value: float, *, lo=math.nan,
               hi=math.nan, level=None, level_value=math.nan, n=0, n_variants=0,
               baseline=None, hib=True, detail=None) -> dict:  # fmt: skip
    """One axis_summary row (see results.AXIS_SUMMARY_COLUMNS)."""
    return {
        "model": ctx.model, "axis": axis, "metric": metric, "value": float(value),
        "ci_low": float(lo), "ci_high": float(hi), "level": level,
        "level_value": float(level_value), "n": int(n), "baseline": baseline,
        "higher_is_better": hib, "detail": json.dumps(detail or {}, sort_keys=True),
        "suite": ctx.suite or None, "n_variants": int(n_variants),
    }  # fmt: skip


def auc(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mean of y over the axis: trapezoid over x / range when x is numeric, else plain mean.

    ``y`` may be ``[L]`` or ``[L, B]`` (replicates); ``x`` is ``[L]``, or NaN when categorical.
    """
    if numeric_x(x):
        order = np.argsort(x)
        xs, ys = x[order], y[order]
        area = ((ys[1:] + ys[:-1]) / 2 * np.diff(xs).reshape(-1, *([1] * (ys.ndim - 1)))).sum(0)
        return area / (xs[-1] - xs[0])
    return y.mean(axis=0)


class AUC(Figure):
    """``auc_accuracy`` / ``auc_flip_rate``: the mean over the axis's range, with a CI."""

    name = "auc"
    doc = "mean over the axis's range (trapezoid over level values, else mean over levels)"

    def rows(self, ctx: SuiteCurves) -> list[dict]:
        """Rows of this figure for every axis of the suite."""
        out = []
        for ac in ctx.axes:
            for mname, cs in (("accuracy", ac.acc), ("flip_rate", ac.flip)):
                if not cs:
                    continue
                y = np.array([c.value for c in cs])
                lo = hi = math.nan
                if ctx.boot.n_boot:
                    lo, hi = ctx.boot.interval(auc(ac.x, np.stack([c.reps for c in cs])))
                detail = {"points": ac.order, "x": "level_value" if numeric_x(ac.x) else "rank"}
                out.append(figure_row(ctx, ac.axis, f"auc_{mname}", float(auc(ac.x, y)), lo=lo,
                                      hi=hi, n=ac.n, n_variants=ac.n_variants,
                                      hib=mname == "accuracy", detail=detail))  # fmt: skip
        return out


def _paired_points(ac: AxisCurve) -> list[tuple[str, float, Paired]] | None:
    if not ac.acc or any(p is None or p.n_paired == 0 for p in ac.acc_paired):
        return None
    return [(p, float(x), pr) for p, x, pr in zip(ac.order, ac.x, ac.acc_paired) if pr]


class BreakingLevel(Figure):
    """``breaking_level``: the first point, mild to severe, more than ``break_points`` percentage
    points below clean on the same sources (``level`` null when none is)."""

    name = "breaking_level"
    doc = "first level whose accuracy is more than N points below clean on the same sources"

    def rows(self, ctx: SuiteCurves) -> list[dict]:
        """Rows of this figure for every axis of the suite."""
        out = []
        for ac in ctx.axes:
            pts = _paired_points(ac)
            if pts is None or ctx.clean_acc is None:
                continue
            limit = ctx.break_points / 100.0
            broken = [(p, x) for p, x, pr in pts if pr.at.value < pr.clean.value - limit]
            first, fx = broken[0] if broken else (None, math.nan)
            detail = {"break_points": ctx.break_points, "clean_accuracy": ctx.clean_acc.value,
                      "order": ac.order, "paired": True}  # fmt: skip
            out.append(figure_row(ctx, ac.axis, "breaking_level", fx, level=first,
                                  level_value=fx, n=ac.n, n_variants=ac.n_variants,
                                  detail=detail))  # fmt: skip
        return out


class MaxAccuracyDrop(Figure):
    """``max_accuracy_drop``: clean minus the worst point, each point on its paired sources."""

    name = "max_accuracy_drop"
    doc = "largest accuracy drop from clean over the axis, on the same sources"

    def rows(self, ctx: SuiteCurves) -> list[dict]:
        """Rows of this figure for every axis of the suite."""
        out = []
        for ac in ctx.axes:
            pts = _paired_points(ac)
            if pts is None or ctx.clean_acc is None:
                continue
            drops = [-pr.delta for _, _, pr in pts]
            k = int(np.argmax(drops))
            detail = {"worst": pts[k][0], "n_paired": pts[k][2].n_paired}
            out.append(figure_row(ctx, ac.axis, "max_accuracy_drop", drops[k], n=ac.n,
                                  n_variants=ac.n_variants, hib=False,
                                  detail=detail))  # fmt: skip
        return out


def _baseline_points(ctx: SuiteCurves, axis: str) -> tuple[pd.Series, pd.Series | None]:
    """The baseline's accuracy per point of ``axis`` (same suite when it records suites) and its
    paired drop from clean per point (None for results that predate ``delta_clean``)."""
    _, _, bc = ctx.baseline  # type: ignore[misc]
    sel = (bc["axis"] == axis) & (bc["series"] == "all") & (bc["metric"] == "accuracy")
    if "suite" in bc and ctx.suite and bc["suite"].notna().any():
        sel &= bc["suite"] == ctx.suite
    rows = bc[sel & (bc["rank"] >= 0)].drop_duplicates("point").set_index("point")
    delta = rows["delta_clean"] if "delta_clean" in rows else None
    return rows["value"], delta


def _baseline_clean(ctx: SuiteCurves) -> float | None:
    _, bsum, _ = ctx.baseline  # type: ignore[misc]
    sel = (bsum["axis"] == "clean") & (bsum["level"] == "clean") & (bsum["metric"] == "accuracy")
    if "suite" in bsum and ctx.suite and bsum["suite"].notna().any():
        sel &= bsum["suite"] == ctx.suite
    vals = bsum.loc[sel, "value"]
    return float(vals.iloc[0]) if len(vals) else None


class CE(Figure):
    """``ce`` / ``relative_ce`` per axis (ImageNet-C style, vs the named baseline) and ``mce`` /
    ``relative_mce`` over the suite's axes (axis ``*``); only with a baseline."""

    name = "ce"
    doc = "corruption error relative to a baseline model (ImageNet-C), and its mean over axes"

    def rows(self, ctx: SuiteCurves) -> list[dict]:
        """Rows of this figure for every axis of the suite."""
        if ctx.baseline is None:
            return []
        out, ces, rces = [], [], []
        bname = ctx.baseline[0]
        b_clean = _baseline_clean(ctx)
        for ac in ctx.axes:
            if not ac.acc:
                continue
            bacc, bdelta = _baseline_points(ctx, ac.axis)
            idx = [i for i, p in enumerate(ac.order) if p in bacc.index]
            if not idx:
                continue
            common = [ac.order[i] for i in idx]
            m_err = np.array([1 - ac.acc[i].value for i in idx])
            b_err = np.array([1 - float(bacc[p]) for p in common])
            ce = m_err.sum() / b_err.sum() if b_err.sum() > 0 else math.nan
            lo = hi = math.nan
            if ctx.boot.n_boot and b_err.sum() > 0:
                reps = np.stack([1 - ac.acc[i].reps for i in idx])
                lo, hi = ctx.boot.interval(reps.sum(0) / b_err.sum())
            out.append(figure_row(ctx, ac.axis, "ce", ce, lo=lo, hi=hi, n=ac.n,
                                  n_variants=ac.n_variants, baseline=bname, hib=False,
                                  detail={"points": common,
                                          "definition": "sum(err) / sum(err_baseline)"}))  # fmt: skip
            ces.append(ce)
            row = self._relative(ctx, ac, idx, common, bdelta, b_err, b_clean)
            if row is not None:
                out.append(row)
                rces.append(row["value"])
        n, nv = ctx.pred["source_id"].nunique(), len(ctx.pred)
        if ces:
            out.append(figure_row(ctx, "*", "mce", float(np.mean(ces)), n=n, n_variants=nv,
                                  baseline=bname, hib=False, detail={"axes": len(ces)}))
        if rces:
            out.append(figure_row(ctx, "*", "relative_mce", float(np.mean(rces)), n=n,
                                  n_variants=nv, baseline=bname, hib=False,
                                  detail={"axes": len(rces)}))  # fmt: skip
        return out

    @staticmethod
    def _relative(ctx, ac, idx, common, bdelta, b_err, b_clean) -> dict | None:
        prs = [ac.acc_paired[i] for i in idx]
        if any(p is None or p.n_paired == 0 for p in prs):
            return None
        if bdelta is not None and bdelta.reindex(common).notna().all():
            denom = float(-bdelta.reindex(common).sum())
        elif b_clean is not None:
            denom = float((b_err - (1 - b_clean)).sum())
        else:
            return None
        num = float(-sum(p.delta for p in prs))
        rce = num / denom if denom > 0 else math.nan
        lo = hi = math.nan
        if ctx.boot.n_boot and denom > 0:
            lo, hi = ctx.boot.interval(-np.stack([p.delta_reps for p in prs]).sum(0) / denom)
        detail = {"points": common, "paired": True,
                  "definition": "sum(err - err_clean) / sum(err_b - err_b_clean)"}  # fmt: skip
        return figure_row(ctx, ac.axis, "relative_ce", rce, lo=lo, hi=hi, n=ac.n,
                          n_variants=ac.n_variants, baseline=ctx.baseline[0], hib=False,
                          detail=detail)  # fmt: skip


for _fig in (AUC(), BreakingLevel(), MaxAccuracyDrop(), CE()):
    FIGURES.register(_fig.name, _fig)
FIGURES.register("spcup2018_score", "degradebench.evaluators.metrics.spcup:SPCUP2018")


@dataclass
class FigureResult:
    """axis_summary.parquet rows and, per suite and figure, ``"computed"`` or why not."""

    frame: pd.DataFrame
    status: dict[str, dict[str, str]]


def _axis_curves(sp: pd.DataFrame, suite: str, curves: pd.DataFrame, cc: CurveCells) -> list:
    out = []
    sel = (curves["series"] == "all") & (curves["rank"] >= 0)
    if "suite" in curves:
        sel &= curves["suite"].fillna("").astype(str) == suite
    for axis, ca in curves[sel].groupby("axis", sort=False):
        order = list(ca.sort_values("rank")["point"].drop_duplicates())
        xs = ca.drop_duplicates("point").set_index("point")["x"]
        rows = sp[sp["axis"] == axis]

        def get(m: str, _axis=axis, _order=order) -> list | None:
            cs = [cc.cells.get((suite, _axis, p, "all", m)) for p in _order]
            return None if not cs or any(c is None for c in cs) else cs

        acc = get("accuracy")
        paired = [cc.paired.get((suite, axis, p, "all", "accuracy")) for p in order]
        out.append(AxisCurve(str(axis), order, np.array([xs[p] for p in order], dtype=float),
                             int(rows["source_id"].nunique()), len(rows), acc,
                             get("flip_rate"), paired))  # fmt: skip
    return out


def _declared(figures, suite: str) -> list[str]:
    if figures is None:
        return []
    if isinstance(figures, Mapping):
        return list(figures.get(suite or None, figures.get(suite, ())) or ())
    return list(figures)


def compute_figures(
    pred: pd.DataFrame,
    level_cells: Mapping,
    curve_cells: CurveCells,
    curves: pd.DataFrame,
    boot: Bootstrap,
    *,
    break_points: float = 5.0,
    baseline: tuple[str, pd.DataFrame, pd.DataFrame] | None = None,
    figures: Iterable[str] | Mapping[str, Iterable[str]] | None = None,
    planned: Mapping[str, set] | None = None,
) -> FigureResult:
    """Every default figure, plus those declared per suite (``figures``: names for every suite,
    or ``{suite: names}``), for one model. ``planned``: ``{suite: {(axis, level)}}``."""
    model = str(pred["model"].iloc[0]) if len(pred) else ""
    suites = suite_of(pred)
    rows: list[dict] = []
    status: dict[str, dict[str, str]] = {}
    for suite, sp in pred.groupby(suites.to_numpy(), sort=True):
        clean_acc = level_cells.get((suite, "clean", "clean", "accuracy"))
        ctx = SuiteCurves(model, suite, sp, _axis_curves(sp, suite, curves, curve_cells), boot,
                          clean_acc, break_points, baseline,
                          (planned or {}).get(suite))  # fmt: skip
        names = [n for n in FIGURES.names() if _is_default(n)]
        names += [n for n in _declared(figures, suite) if n not in names]
        for name in names:
            try:
                rows += FIGURES.get(name).rows(ctx)
                status.setdefault(suite or "", {})[name] = "computed"
            except FigureAbsent as exc:
                status.setdefault(suite or "", {})[name] = f"absent: {exc}"
    frame = pd.DataFrame(rows, columns=AXIS_SUMMARY_COLUMNS)
    frame = frame.astype({"value": "float64", "ci_low": "float64", "ci_high": "float64",
                          "level_value": "float64", "n": "int64", "n_variants": "int64"})
    return FigureResult(frame, status)


def _is_default(name: str) -> bool:
    try:
        return bool(FIGURES.get(name).default)
    except Exception:  # a user's lazy figure that fails to import is not a default one
        return False


def axis_summary(pred, level_cells, curve_cells, curves, boot, **kw) -> pd.DataFrame:
    """axis_summary.parquet rows for one model (see :func:`compute_figures`)."""
    return compute_figures(pred, level_cells, curve_cells, curves, boot, **kw).frame

