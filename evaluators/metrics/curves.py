"""``curves.parquet``: accuracy and flip rate per curve point (and series) of every axis, per suite
(or the given metrics: the forensic ones of :mod:`.forensic_levels`).

Points have ``rank`` 0.. in severity order; rows with ``point == "all"`` and ``rank == -1`` pool
the whole axis per combination of its boolean level parameters (``series``), e.g. crops that
keep the CFA phase vs those that move it. ``delta_clean`` is paired (see :mod:`.pairing`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from ..results import CLEAN, CURVE_COLUMNS
from .base import METRICS, Metric, labelled
from .bootstrap import Bootstrap, Cell, cell
from .order import axis_points
from .pairing import Paired, is_clean, paired, suite_of

__all__ = ["curve_metrics", "CurveCells"]


@dataclass
class CurveCells:
    """Cells behind curves.parquet: ``cells[(suite, axis, point, series, metric)]`` and the same
    keys in ``paired`` (the point and clean on their common sources)."""

    cells: dict[tuple, Cell] = field(default_factory=dict)
    paired: dict[tuple, Paired] = field(default_factory=dict)

    def get(self, key: tuple) -> Cell | None:
        """The cell under ``key`` (None when absent)."""
        return self.cells.get(key)


@dataclass
class _Ctx:
    model: str
    suite: str
    axis: str
    boot: Bootstrap
    clean_rows: pd.DataFrame
    clean_cells: dict[str, Cell]
    out: CurveCells
    rows: list[dict]


def _add(ctx: _Ctx, df: pd.DataFrame, point: str, x: float, rank: int, series: str, m: Metric):
    mname = m.name
    c = cell(m, df, ctx.boot)
    if c.n_variants == 0:
        return
    key = (ctx.suite, ctx.axis, point, series, mname)
    ctx.out.cells[key] = c
    cc = ctx.clean_cells.get(mname)
    pr = paired(m, df, ctx.clean_rows, ctx.boot, c, cc if cc is not None and cc.n_variants else None)
    if pr is not None:
        ctx.out.paired[key] = pr
    lo, hi = ctx.boot.interval(c.reps)
    ctx.rows.append({"model": ctx.model, "axis": ctx.axis, "point": point, "x": x, "rank": rank,
                     "series": series, "metric": mname, "value": c.value, "ci_low": lo,
                     "ci_high": hi, "n": c.n, "suite": ctx.suite or None,
                     "n_variants": c.n_variants, "n_paired": pr.n_paired if pr else 0,
                     "delta_clean": pr.delta if pr else math.nan})  # fmt: skip


def _axis_rows(ctx: _Ctx, pa_: pd.DataFrame, metrics: list[Metric]) -> None:
    ap = axis_points(pa_)
    series_values = ["all"] + sorted(s for s in pd.unique(ap.series) if s != "all")
    for rank, pt in enumerate(ap.order):
        at = ap.point == pt
        for ser in series_values:
            sel = at if ser == "all" else at & (ap.series == ser)
            if sel.any():
                for m in metrics:
                    _add(ctx, pa_[sel.to_numpy()], pt, ap.x[pt], rank, ser, m)
    groups = sorted(g for g in pd.unique(ap.groups) if g != "all")
    if groups:
        # Pooled over the whole axis, per combination of boolean level parameters.
        for grp in ["all", *groups]:
            sel = (ap.groups == grp) if grp != "all" else pd.Series(True, index=pa_.index)
            for m in metrics:
                _add(ctx, pa_[sel.to_numpy()], "all", math.nan, -1, grp, m)


def curve_metrics(
    pred: pd.DataFrame, boot: Bootstrap, metrics: list[Metric] | None = None
) -> tuple[pd.DataFrame, CurveCells]:
    """curves.parquet rows (accuracy and flip rate per point and series, with CIs) and cells.

    ``metrics``: these instead (any metric :func:`.bootstrap.cell` takes, e.g. the forensic ones).
    """
    model = str(pred["model"].iloc[0]) if len(pred) else ""
    if metrics is None:
        names = (["accuracy"] if labelled(pred) else []) + ["flip_rate"]
        metrics = [METRICS.get(n) for n in names]
    out = CurveCells()
    rows: list[dict] = []
    suites = suite_of(pred)
    clean = is_clean(pred)
    for suite, sp in pred.groupby(suites.to_numpy(), sort=True):
        clean_rows = sp[clean[suites.to_numpy() == suite]]
        clean_cells = {m.name: cell(m, clean_rows, boot) for m in metrics}
        for axis, pa_ in sp.groupby("axis", sort=False):
            if axis == CLEAN:
                continue
            ctx = _Ctx(model, suite, str(axis), boot, clean_rows, clean_cells, out, rows)
            _axis_rows(ctx, pa_, metrics)
    frame = pd.DataFrame(rows, columns=CURVE_COLUMNS)
    frame = frame.astype({"x": "float64", "value": "float64", "ci_low": "float64",
                          "ci_high": "float64", "rank": "int64", "n": "int64",
                          "n_variants": "int64", "n_paired": "int64",
                          "delta_clean": "float64"})  # fmt: skip
    return frame, out
