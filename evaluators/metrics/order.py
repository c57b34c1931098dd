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


def _parse(s) -> dict:
    """One ``axis_params`` value (JSON text or a dict) as a dict; {} when it is neither."""
    if isinstance(s, dict):
        return s
    try:
        d = json.loads(s) if isinstance(s, str) else {}
    except ValueError:
        d = {}
    return d if isinstance(d, dict) else {}


def _distinct(axis_params: pd.Series) -> tuple[np.ndarray, list]:
    """(code per row, distinct values) of ``axis_params``; every value its own when they are
    not hashable (dicts)."""
    try:
        codes, uniques = pd.factorize(axis_params, use_na_sentinel=False)
        return codes, list(uniques)
    except TypeError:
        return np.arange(len(axis_params)), list(axis_params)


def _bool_table(axis_params: pd.Series) -> tuple[np.ndarray, pd.DataFrame]:
    """(code per row, the boolean parameters of each distinct ``axis_params`` value)."""
    codes, uniques = _distinct(axis_params)
    rows = [{k: v for k, v in _parse(u).items() if isinstance(v, bool)} for u in uniques]
    return codes, pd.DataFrame(rows, index=pd.RangeIndex(len(rows)))


def bool_params(axis_params: pd.Series) -> pd.DataFrame:
    """The boolean parameters of each row's ``axis_params`` JSON (e.g. ``aligned``, ``grid_kept``)."""
    codes, table = _bool_table(axis_params)
    return table.take(codes).set_axis(axis_params.index)


def _bool_groups(pred_axis: pd.DataFrame) -> pd.Series:
    if "axis_params" not in pred_axis:
        return pd.Series("all", index=pred_axis.index)
    codes, bp = _bool_table(pred_axis["axis_params"])  # every distinct value is some row's
    varying = [c for c in bp.columns if bp[c].nunique(dropna=True) > 1]
    if not varying:
        return pd.Series("all", index=pred_axis.index)
    labels = np.array([",".join(f"{k}={r[k]}" for k in varying)
                       for r in bp[varying].to_dict("records")], dtype=object)  # fmt: skip
    return pd.Series(labels[codes], index=pred_axis.index, dtype=object)


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
    if "axis_params" in pred_axis and len(pred_axis):
        # Distinct (axis_params, level_value) pairs, in order of first appearance.
        pairs = pd.DataFrame({"p": pred_axis["axis_params"].to_numpy(), "v": lv.to_numpy()})
        try:
            pairs = pairs.drop_duplicates()
        except TypeError:  # dicts, not JSON text: every row its own
            pass
        params = [json.loads(t) if isinstance(t, str) else {} for t in pairs["p"]]
        keys = set(params[0])
        for d, v in zip(params, pairs["v"]):
            keys &= {k for k, pv in d.items() if isinstance(pv, (int, float)) and pv == v}
        x_name = sorted(keys)[0] if keys else None
    names = {v: f"{x_name}={v:g}" if x_name else f"{v:g}" for v in pd.unique(lv)}
    point = lv.map(names)
    x = {pt: float(v) for pt, v in lv.groupby(point, sort=False).first().items()}
    tmp = pred_axis.assign(_point=point.to_numpy())
    order = severity_order(tmp, "_point")
    return AxisPoints(point, order, x, groups, groups, x_name)
