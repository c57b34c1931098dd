"""The ``paths`` figure kind: one figure per nominal resize operation, a series per library path.

A resize-family axis (levels carry ``backend`` and ``method``) is what a suite such as
``resize-libraries`` exists to show: the same nominal operation (bicubic x0.5) done by Pillow,
OpenCV, torch or scikit-image, with antialiasing on or off, in uint8 or float32. Pooling the
libraries into one curve would hide exactly that, so each method gets its own figure with one
series per path (library, antialias, dtype, rounding), over the scale factor.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..params import params_frame
from ..view import AxisView
from .base import (
    MARKERS,
    SERIES_STYLES,
    Drawn,
    draw_references,
    legend_outside,
    level_stat,
    model_color,
    n_classes,
)

__all__ = ["draw_paths", "resize_paths", "path_label"]


def _get(p: dict, key: str):
    v = p.get(key)
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def path_label(p: dict) -> str:
    """``pillow, aa=on`` / ``opencv, float32-unit, truncate``: what differs between paths."""
    parts = [str(_get(p, "backend") or "?")]
    if _get(p, "antialias") is not None:
        parts.append("aa=on" if p["antialias"] else "aa=off")
    if _get(p, "dtype") not in (None, "uint8"):
        parts.append(str(p["dtype"]))
    if _get(p, "rounding") not in (None, "round"):
        parts.append(str(p["rounding"]))
    return ", ".join(parts)


def _level_table(pred: pd.DataFrame) -> pd.DataFrame | None:
    pf = params_frame(pred["axis_params"], numeric=False)
    if not {"backend", "method"} <= set(pf.columns):
        return None
    t = pd.DataFrame({
        "level": pred["level"].astype(str).to_numpy(),
        "method": pf["method"].astype(str).to_numpy(),
        "path": [path_label(r) for r in pf.to_dict("records")],
        "x": pd.to_numeric(pf.get("scale", pred["level_value"]), errors="coerce").to_numpy(),
    })  # fmt: skip
    return t


def resize_paths(view: AxisView) -> dict[str, list[str]] | None:
    """``{method: [paths]}`` for a resize-family axis with two or more paths, else None."""
    pred = next((view.preds(m) for m in view.models if len(view.preds(m))), None)
    if pred is None or "axis_params" not in pred:
        return None
    t = _level_table(pred)
    if t is None or t["path"].nunique() < 2:
        return None
    return {meth: sorted(pd.unique(g["path"])) for meth, g in t.groupby("method", sort=True)}


def _draw_method(view: AxisView, method: str, metrics: list[str]) -> Figure:
    fig = Figure(figsize=(4.6 * len(metrics), 4.1), layout="constrained")
    axes = [fig.add_subplot(1, len(metrics), j + 1) for j in range(len(metrics))]
    n_paths = len((resize_paths(view) or {}).get(method, [])) * len(view.models)
    span = None
    for i, m in enumerate(view.models):
        pred = view.preds(m)
        t = _level_table(pred)
        if t is None:
            continue
        pred = pred.assign(_path=t["path"].to_numpy(), _method=t["method"].to_numpy(),
                           _x=t["x"].to_numpy())  # fmt: skip
        pred = pred[pred["_method"] == method]
        span = span or float(np.ptp(pred["_x"].dropna())) or 1.0
        for k, (path, g) in enumerate(pred.groupby("_path", sort=True)):
            # paths that agree would hide each other: dodge them a little along x
            dodge = (i * max(n_paths // len(view.models), 1) + k - (n_paths - 1) / 2) * 0.012 * span
            for ax, metric in zip(axes, metrics):
                pts = [(x, *level_stat(gx, metric)) for x, gx in g.groupby("_x", sort=True)]
                pts = [p for p in pts if p[4] > 0]
                if not pts:
                    continue
                x, y, lo, hi, _ = (np.array(c, dtype=float) for c in zip(*pts))
                x = x + dodge
                label = path if len(view.models) == 1 else f"{m.name}: {path}"
                ax.errorbar(x, 100 * y, yerr=np.clip(np.nan_to_num(
                    np.vstack([100 * (y - lo), 100 * (hi - y)])), 0, None),
                    color=model_color(i * 4 + k), ls=SERIES_STYLES[(i + k) % len(SERIES_STYLES)],
                    marker=MARKERS[k % len(MARKERS)], ms=4, lw=1.1, capsize=2, label=label)  # fmt: skip
    for ax, metric in zip(axes, metrics):
        if metric == "accuracy":
            clean = [(m.name, c[0], model_color(i)) for i, m in enumerate(view.models)
                 if (c := view.clean(m, "accuracy"))]  # fmt: skip
            draw_references(ax, clean, n_classes(view.models))
        ax.set_xlabel("scale factor")
        ax.set_ylabel("accuracy (%)" if metric == "accuracy" else "flip rate vs clean (%)")
        ax.set_ylim(-2, 104)
        ax.grid(alpha=0.3)
        ax.set_title(f"{view.label}: {method}, {metric.replace('_', ' ')}", fontsize=10)
    legend_outside(fig, axes[0])
    return fig


def draw_paths(view: AxisView) -> list[Drawn]:
    """One figure per method of a resize-family axis, a series per library path."""
    paths = resize_paths(view)
    if paths is None or not view.classified():  # a localizer's figures: the forensic kind
        return []
    labelled = any(len(view.curve_rows(m, "accuracy")) for m in view.models)
    metrics = (["accuracy"] if labelled else []) + ["flip_rate"]
    out = []
    for method, names in paths.items():
        fig = _draw_method(view, method, metrics)
        cap = (f"{view.label}: {method} by library path ({', '.join(names)}), per scale factor, "
               "95% bootstrap intervals over source images; dotted: clean accuracy; dashed grey: chance (1/K).")  # fmt: skip
        out.append(Drawn(fig, f"_{method}", cap, f"{view.label} {method} by library", "svg"))
    return out
