"""The ``libraries`` figure kind: an axis whose levels differ by which library did the work.

The codec axes write the same JPEG quality with libjpeg-turbo, IJG libjpeg 6b / 9e and mozjpeg,
or decode one file with several decoders. Their levels share a ``level_value`` (the quality), so
the curve would pool the libraries into one point per quality. This kind draws the library
(the varying string parameter, e.g. ``encoder``) as categories on x, one point with its 95%
bootstrap interval per library and value (``quality=75``, ``quality=90``), never joined by a line.
Resize axes (``backend`` + ``method``) are drawn by the ``paths`` kind instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..params import params_frame, x_param
from ..view import AxisView
from .base import (
    MARKERS,
    Drawn,
    draw_references,
    errorbar_points,
    legend_outside,
    level_stat,
    model_color,
    n_classes,
)

__all__ = ["draw_libraries", "library_labels"]


def _determines(a: pd.Series, b: pd.Series) -> bool:
    """Whether each value of ``a`` comes with one value of ``b`` (b adds nothing to a)."""
    return bool((pd.DataFrame({"a": a, "b": b}).groupby("a")["b"].nunique() <= 1).all())


def library_labels(pred: pd.DataFrame) -> tuple[list[str], pd.Series] | None:
    """(parameters, label per row) when the axis's levels differ by a string parameter while
    sharing their level values; None otherwise (or for resize axes)."""
    if not len(pred) or "axis_params" not in pred:
        return None
    pf = params_frame(pred["axis_params"], numeric=False)
    if {"backend", "method"} <= set(pf.columns):
        return None
    lv = pd.to_numeric(pred["level_value"], errors="coerce")
    if lv.isna().any() or pred["level"].nunique() <= lv.nunique():
        return None
    strings = [c for c in pf.columns
               if pf[c].map(lambda v: isinstance(v, str)).all() and pf[c].nunique() > 1]  # fmt: skip
    chosen: list[str] = []
    for c in sorted(strings, key=lambda c: -pf[c].nunique()):
        if not any(_determines(pf[k], pf[c]) for k in chosen):
            chosen.append(c)
    if not chosen:
        return None
    labels = pf[chosen].astype(str).agg(", ".join, axis=1)
    return chosen, pd.Series(labels.to_numpy(), index=pred.index)


def _draw(ax, view: AxisView, metric: str, cats: list[str], values: list[float],
          name: str) -> None:  # fmt: skip
    nm, nv = len(view.models), len(values)
    for i, m in enumerate(view.models):
        pred = view.preds(m)
        got = library_labels(pred)
        if got is None:
            continue
        pred = pred.assign(_lib=got[1], _v=pd.to_numeric(pred["level_value"], errors="coerce"))
        for k, v in enumerate(values):
            pts = [(j, *level_stat(pred[(pred["_lib"] == c) & (pred["_v"] == v)], metric))
                   for j, c in enumerate(cats)]  # fmt: skip
            pts = [p for p in pts if p[4] > 0]
            if not pts:
                continue
            x, y, lo, hi, _ = (np.array(c, dtype=float) for c in zip(*pts))
            off = ((i * nv + k) - (nm * nv - 1) / 2) * 0.12
            label = f"{name}={v:g}" if nm == 1 else f"{m.name}: {name}={v:g}"
            errorbar_points(ax, x + off, y, lo, hi, color=model_color(i * nv + k),
                            marker=MARKERS[k % len(MARKERS)], label=label)  # fmt: skip


def draw_libraries(view: AxisView) -> list[Drawn]:
    """Accuracy and flip rate per library (x, categorical) and level value (series)."""
    pred = next((view.preds(m) for m in view.models if len(view.preds(m))), None)
    got = library_labels(pred) if pred is not None else None
    if got is None:
        return []
    params, labels = got
    cats = list(dict.fromkeys(sorted(labels)))
    values = sorted(pd.to_numeric(pred["level_value"], errors="coerce").unique(), reverse=True)
    name = x_param(pred) or "level value"
    metrics = [mt for mt in ("accuracy", "flip_rate") if any(len(view.curve_rows(m, mt))
                                                             for m in view.models)]  # fmt: skip
    if not metrics:  # no classification figures on this axis (a localizer's: forensic kind)
        return []
    fig = Figure(figsize=(4.6 * len(metrics), 4.2), layout="constrained")
    for j, metric in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), j + 1)
        _draw(ax, view, metric, cats, values, name)
        if metric == "accuracy":
            clean = [(m.name, c[0], model_color(i)) for i, m in enumerate(view.models)
                     if (c := view.clean(m, "accuracy"))]  # fmt: skip
            draw_references(ax, clean, n_classes(view.models))
        ax.set_xticks(range(len(cats)))
        ax.set_xticklabels(cats, rotation=40 if len(cats) > 3 else 0, ha="right" if len(cats) > 3
                           else "center", fontsize=7)  # fmt: skip
        ax.set_xlim(-0.6, len(cats) - 0.4)
        ax.set_xlabel(", ".join(params))
        ax.set_ylabel("accuracy (%)" if metric == "accuracy" else "flip rate vs clean (%)")
        ax.set_ylim(-2, 104)
        ax.grid(alpha=0.3)
        ax.set_title(f"{view.label}: {metric.replace('_', ' ')} by {params[0]}", fontsize=10)
        if j == 0:
            legend_outside(fig, ax)
    cap = (f"{view.label}: accuracy and flip rate per {', '.join(params)} and {name}, points "
           "with 95% bootstrap intervals over source images; dotted: clean accuracy; dashed "
           "grey: chance (1/K).")  # fmt: skip
    return [Drawn(fig, "", cap, f"{view.label} by {params[0]}", "svg")]
