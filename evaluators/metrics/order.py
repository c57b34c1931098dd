"""How an axis's levels become a degradation curve: severity order, x positions, series.

A point is a planned level, except when levels share their ``level_value`` (double JPEG: one QF1
with an aligned and a random grid shift): then the point is the value (``q1=60``) and the boolean
level parameters (``aligned``) split it into series.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["severity_order", "numeric_x", "axis_points", "AxisPoints", "bool_params"]


def _natural_key(text: str) -> list:
    return [
        (0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", str(text)) if t
    ]


def severity_order(pred_axis: pd.DataFrame, key: str = "level") -> list[str]:
    """Values of ``key`` (levels or curve points) of one axis, from mildest to most severe.

    By mean PSNR (vs the source) descending when every group has a finite-or-infinite PSNR and
    they differ; otherwise by ``level_value`` ascending when present, else in natural text order
    (``0x2`` before ``0x10``). The order used is what breaking levels and curves follow.
    """
    groups = pd.unique(pred_axis[key])
    natural = sorted(groups, key=_natural_key)
    pos = {g: i for i, g in enumerate(natural)}
    if "psnr" in pred_axis:
        psnr = pd.to_numeric(pred_axis["psnr"], errors="coerce")
        means = psnr.groupby(pred_axis[key], sort=False).mean()
        if means.notna().all() and means.nunique() > 1:
            return sorted(natural, key=lambda g: (-means[g], pos[g]))
    if "level_value" in pred_axis:
        lv = pd.to_numeric(pred_axis["level_value"], errors="coerce")
        firsts = lv.groupby(pred_axis[key], sort=False).first()
        if firsts.notna().all():
            return sorted(natural, key=lambda g: (firsts[g], pos[g]))
    if "axis_params" in pred_axis:
        # Categorical levels: those that keep more properties (boolean parameters that are
        # true, e.g. a crop's grid_kept / cfa_phase_kept) count as milder.
        kept = bool_params(pred_axis["axis_params"]).sum(axis=1)
        n_true = kept.groupby(pred_axis[key].to_numpy(), sort=False).first()
        return sorted(natural, key=lambda g: (-n_true.get(g, 0), pos[g]))
    return natural


def numeric_x(x: np.ndarray) -> bool:
    """Whether level values can be an x-axis: all present and distinct (else levels are ranks)."""
    return len(x) >= 2 and not np.isnan(x).any() and len(np.unique(x)) == len(x)


@dataclass
class AxisPoints:
    """How one axis's rows map to points on its degradation curve.

    A point is a level, except when levels share their ``level_value`` (double JPEG: one QF1 with
    an aligned and per-image random grid shifts): then the point is the value (``q1=60``) and the
    boolean level parameters (``aligned``) split it into series.
    """

    point: pd.Series  # point label per row
    order: list[str]  # points, mild -> severe
    x: dict[str, float]  # point -> x position (NaN when categorical)
    series: pd.Series  # series label per row ("all" when there is one)
    groups: pd.Series  # combination of the varying boolean parameters per row, or "all"
    x_name: str | None = None


def bool_params(axis_params: pd.Series) -> pd.DataFrame:
    """The boolean parameters of each row's ``axis_params`` JSON (e.g. ``aligned``, ``grid_kept``)."""
    rows = []
    for s in axis_params:
        try:
            d = json.loads(s) if isinstance(s, str) else (s or {})
        except ValueError:
            d = {}
        rows.append(
            {k: v for k, v in d.items() if isinstance(v, bool)} if isinstance(d, dict) else {}
        )
    return pd.DataFrame(rows, index=axis_params.index)


def _bool_groups(pred_axis: pd.DataFrame) -> pd.Series:
    if "axis_params" not in pred_axis:
        return pd.Series("all", index=pred_axis.index)
    bp = bool_params(pred_axis["axis_params"])
    varying = [c for c in bp.columns if bp[c].nunique(dropna=True) > 1]
    if not varying:
        return pd.Series("all", index=pred_axis.index)
    labels = [",".join(f"{k}={r[k]}" for k in varying) for _, r in bp[varying].iterrows()]
    return pd.Series(labels, index=pred_axis.index, dtype=object)


def axis_points(pred_axis: pd.DataFrame) -> AxisPoints:
    """How the rows of one axis map to curve points and series (see :class:`AxisPoints`)."""
    lv = (
        pd.to_numeric(pred_axis["level_value"], errors="coerce")
        if "level_value" in pred_axis
        else pd.Series(np.nan, index=pred_axis.index)
    )
    levels = pred_axis["level"].astype(str)
    groups = _bool_groups(pred_axis)
    shared = lv.notna().all() and levels.nunique() > lv.nunique()
    if not shared:
        x = {lvl: float(v) for lvl, v in lv.groupby(levels, sort=False).first().items()}
        series = pd.Series("all", index=pred_axis.index)
        return AxisPoints(levels, severity_order(pred_axis, "level"), x, series, groups)
    # Name the point after the parameter that carries level_value (q1 for double JPEG).
    x_name = None
    params = (
        [json.loads(t) if isinstance(t, str) else {} for t in pred_axis["axis_params"]]
        if "axis_params" in pred_axis
        else []
    )
    if params:
        keys = set(params[0])
        for d, v in zip(params, lv):
            keys &= {k for k, pv in d.items() if isinstance(pv, (int, float)) and pv == v}
        x_name = sorted(keys)[0] if keys else None
    point = lv.map(lambda v: f"{x_name}={v:g}" if x_name else f"{v:g}")
    x = {pt: float(v) for pt, v in lv.groupby(point, sort=False).first().items()}
    tmp = pred_axis.assign(_point=point.to_numpy())
    order = severity_order(tmp, "_point")
    return AxisPoints(point, order, x, groups, groups, x_name)


