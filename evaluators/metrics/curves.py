"""``curves.parquet``: accuracy and flip rate per curve point (and series) of every axis, per suite
(or the given metrics: the forensic ones of :mod:`.forensic_levels`).

Points have ``rank`` 0.. in severity order; rows with ``point == "all"`` and ``rank == -1`` pool
the whole axis per combination of its boolean level parameters (``series``), e.g. crops that
keep the CFA phase vs those that move it. ``delta_clean`` is paired (see :mod:`.pairing`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..results import CLEAN, CURVE_COLUMNS
from .base import METRICS, Metric, labelled
from .bootstrap import Bootstrap, Cell
from .grouped import members_of, suite_rows
from .order import axis_points
from .pairing import Paired, is_clean, metric_cells, suite_of

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
class _Slot:
    """One curve row's group: an axis point (or the pooled axis) and series, and its rows."""

    axis: str
    point: str
    x: float
    rank: int
    series: str
    rows: np.ndarray  # positions in the suite's frame


def _axis_slots(axis: str, pa_: pd.DataFrame, pos: np.ndarray) -> list[_Slot]:
    """The curve groups of one axis (rows ``pos`` of the suite's frame), in output order."""
    ap = axis_points(pa_)
    point, series, groups = (ap.point.to_numpy(), ap.series.to_numpy(), ap.groups.to_numpy())
    series_values = ["all"] + sorted(s for s in pd.unique(series) if s != "all")
    out = []
    for rank, pt in enumerate(ap.order):
        at = point == pt
        for ser in series_values:
            sel = at if ser == "all" else at & (series == ser)
            if sel.any():
                out.append(_Slot(axis, pt, ap.x[pt], rank, ser, pos[sel]))
    grps = sorted(g for g in pd.unique(groups) if g != "all")
    if grps:
        # Pooled over the whole axis, per combination of boolean level parameters.
        for grp in ["all", *grps]:
            sel = (groups == grp) if grp != "all" else np.ones(len(pos), dtype=bool)
            out.append(_Slot(axis, "all", math.nan, -1, grp, pos[sel]))
    return out


def _suite_slots(sp: pd.DataFrame) -> list[_Slot]:
    codes, axes = pd.factorize(sp["axis"], use_na_sentinel=True)
    cols = [c for c in ("level", "level_value", "axis_params", "psnr") if c in sp]  # axis_points'
    out: list[_Slot] = []
    for a, pos in enumerate(members_of(codes, len(axes))):
        if axes[a] != CLEAN:
            out += _axis_slots(str(axes[a]), sp[cols].iloc[pos], pos)
    return out


def curve_metrics(
    pred: pd.DataFrame, boot: Bootstrap, metrics: list[Metric] | None = None
) -> tuple[pd.DataFrame, CurveCells]:
    """curves.parquet rows (accuracy and flip rate per point and series, with CIs) and cells.

    ``metrics``: these instead (any metric :func:`.bootstrap.cell` takes, e.g. the forensic ones).
    Every point, series and metric of a suite is computed at once (:mod:`.grouped`).
    """
    model = str(pred["model"].iloc[0]) if len(pred) else ""
    if metrics is None:
        names = (["accuracy"] if labelled(pred) else []) + ["flip_rate"]
        metrics = [METRICS.get(n) for n in names]
    out = CurveCells()
    rows: list[dict] = []
    suites = suite_of(pred)
    clean = is_clean(pred)
    src_all = boot.codes(pred["source_id"]) if len(pred) else np.zeros(0, dtype=np.int64)
    for suite, sp, pos in suite_rows(pred, suites):
        slots = _suite_slots(sp)
        members = [s.rows for s in slots] + [np.flatnonzero(clean[pos])]
        src = src_all[pos]
        per_metric = metric_cells(metrics, sp, src, members, boot)
        for g, sl in enumerate(slots):
            for m, mcells, pairs, ci in per_metric:
                c, pr = mcells[g], pairs[g]
                if c.n_variants == 0:
                    continue
                key = (suite, sl.axis, sl.point, sl.series, m.name)
                out.cells[key] = c
                if pr is not None:
                    out.paired[key] = pr
                lo, hi = (ci[0][g], ci[1][g]) if ci is not None else boot.interval(c.reps)
                rows.append({"model": model, "axis": sl.axis, "point": sl.point, "x": sl.x,
                             "rank": sl.rank, "series": sl.series, "metric": m.name,
                             "value": c.value, "ci_low": lo, "ci_high": hi, "n": c.n,
                             "suite": suite or None, "n_variants": c.n_variants,
                             "n_paired": pr.n_paired if pr else 0,
                             "delta_clean": pr.delta if pr else math.nan})  # fmt: skip
    frame = pd.DataFrame(rows, columns=CURVE_COLUMNS)
    frame = frame.astype({"x": "float64", "value": "float64", "ci_low": "float64",
                          "ci_high": "float64", "rank": "int64", "n": "int64",
                          "n_variants": "int64", "n_paired": "int64",
                          "delta_clean": "float64"})  # fmt: skip
    return frame, out
