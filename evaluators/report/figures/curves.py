"""The ``curve`` figure kind: accuracy and flip rate per level of one axis, models side by side.

Ordered axes (numeric level values: quality, scale, hops) are lines with bootstrap bands;
categorical levels (crop offsets, journeys) are points with error bars, never joined by a line.
Crop levels of a dataset with a colour filter array are grouped by offset parity: "grid moved
only (even)" vs "grid and CFA moved (odd)". The clean reference and the chance line 1/K are drawn
in styles no series uses; the legend sits below the axes.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ... import metrics as M
from ..cfa import has_cfa
from ..params import level_params, params_frame, report_defaults, x_param
from ..view import AxisView, display_level, series_label
from .base import (
    MARKERS,
    SERIES_STYLES,
    Drawn,
    draw_references,
    errorbar_points,
    legend_outside,
    model_color,
    n_classes,
)

__all__ = ["draw_curves", "display_level", "crop_groups"]

_YLABEL = {"accuracy": "accuracy (%)", "flip_rate": "flip rate vs clean (%)"}


def crop_groups(view: AxisView, order: list[str]) -> tuple[list[str], dict[str, str]] | None:
    """Crop points grouped by offset parity (even first), or None when the axis is no crop."""
    pred = next((view.preds(m) for m in view.models if len(view.preds(m))), None)
    if pred is None:
        return None
    pf = params_frame(pred["axis_params"], numeric=False)
    if "cfa_phase_kept" not in pf or pf["cfa_phase_kept"].nunique() < 2:
        return None
    kept = dict(zip(pred["level"].astype(str), pf["cfa_phase_kept"]))
    cfa = has_cfa(view)
    even = "grid moved only (even)" if cfa else "even offsets"
    odd = "grid and CFA moved (odd)" if cfa else "odd offsets"
    label = {p: (even if kept.get(p, True) else odd) for p in order}
    return sorted(order, key=lambda p: label[p] != even), label


def _x_label(view: AxisView, numeric: bool) -> str:
    pred = next((view.preds(m) for m in view.models if len(view.preds(m))), None)
    name = x_param(pred) if pred is not None else None
    labels = report_defaults().get("param_labels", {})
    if numeric:
        return labels.get(name, name) if name else "level value"
    if pred is not None:
        pf = params_frame(pred["axis_params"])
        varying = level_params(pf, distinct=False)  # drawn seeds are no level parameter
        for pair in view.options.heatmap_pairs:  # (dy, dx) in the order levels spell them
            if set(pair) <= set(varying):
                varying = [*pair, *(c for c in varying if c not in pair)]
                break
        if varying:
            return f"level ({', '.join(varying[:3])})"
    return "level"


def _draw_metric(ax, view: AxisView, metric: str, order: list[str], xpos: dict[str, float],
                 numeric: bool) -> None:  # fmt: skip
    series = view.series()
    nm = len(view.models)
    for i, m in enumerate(view.models):
        color = model_color(i)
        for k, ser in enumerate(series):
            rows = view.curve_rows(m, metric, ser)
            if rows.empty:
                continue
            xs = np.array([xpos[p] for p in rows["point"]], dtype=float)
            order = np.argsort(xs, kind="stable")  # lines join neighbours on x, not by rank
            xs = xs[order]
            y = rows["value"].to_numpy(dtype=float)[order]
            lo = rows["ci_low"].to_numpy(dtype=float)[order]
            hi = rows["ci_high"].to_numpy(dtype=float)[order]
            label = m.name if ser == "all" else f"{m.name}: {series_label(ser)}"
            if not numeric:
                off = (i - (nm - 1) / 2) * 0.14 + (0 if ser == "all" else 0.07 * k)
                errorbar_points(ax, xs + off, y, lo, hi, color=color, label=label,
                                marker=MARKERS[(i + k) % len(MARKERS)],
                                alpha=1.0 if ser == "all" else 0.7)  # fmt: skip
            elif ser == "all":
                ax.plot(xs, 100 * y, marker=MARKERS[i % len(MARKERS)], ms=3.5, color=color,
                        label=label)  # fmt: skip
                if not np.isnan(lo).all():
                    ax.fill_between(xs, 100 * lo, 100 * hi, color=color, alpha=0.16, lw=0)
            else:
                style = SERIES_STYLES[k % len(SERIES_STYLES)]
                ax.plot(xs, 100 * y, ls=style, lw=1, marker=".", ms=3, color=color, alpha=0.8,
                        label=label)  # fmt: skip
    if metric == "accuracy":
        clean = [(m.name, c[0], model_color(i)) for i, m in enumerate(view.models)
                 if (c := view.clean(m, "accuracy"))]  # fmt: skip
        draw_references(ax, clean, n_classes(view.models))


def level_axis(ax, view: AxisView, order: list[str], groups: tuple | None,
               x_vals: np.ndarray | None, xlabel: str) -> None:  # fmt: skip
    """The x axis of a level curve: numeric (``x_vals``, severity growing left to right, whole
    numbers for hops) or categorical ticks in ``order``; labelled ``xlabel``."""
    if x_vals is not None:
        if xlabel == "hops":
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if x_vals[0] > x_vals[-1]:  # severity grows left to right
            ax.invert_xaxis()
    else:
        _categorical_axis(ax, view, order, groups)
    ax.set_xlabel(xlabel)


def _categorical_axis(ax, view: AxisView, order: list[str], groups: tuple | None) -> None:
    labels = [view.level_label(p) for p in order]
    many = len(order) > 5
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels(labels, rotation=55 if many else 0, ha="right" if many else "center",
                       fontsize=7 if many else 8)  # fmt: skip
    ax.set_xlim(-0.6, len(order) - 0.4)
    if groups is None:
        return
    names = [groups[1][p] for p in order]
    for j in range(1, len(order)):
        if names[j] != names[j - 1]:
            ax.axvline(j - 0.5, color="0.5", lw=0.8)
    for name in dict.fromkeys(names):
        idx = [j for j, n in enumerate(names) if n == name]
        ax.text((idx[0] + idx[-1]) / 2, 1.01, name, transform=ax.get_xaxis_transform(),
                ha="center", va="bottom", fontsize=7, color="0.25")  # fmt: skip


def draw_curves(view: AxisView) -> list[Drawn]:
    """Accuracy and flip-rate curves of one axis (none when ``paths`` or ``libraries`` does)."""
    from .libraries import library_labels
    from .paths import resize_paths

    order, x_vals = view.points()
    metrics = view.metrics()
    first = next((view.preds(m) for m in view.models if len(view.preds(m))), None)
    if not order or not metrics or resize_paths(view) is not None:
        return []
    if first is not None and library_labels(first) is not None:
        return []  # the libraries kind draws it: one curve would pool the libraries
    numeric = M.numeric_x(x_vals)
    groups = None if numeric else crop_groups(view, order)
    if groups is not None:
        order = groups[0]
    xpos = ({p: float(x) for p, x in zip(*view.points())} if numeric
            else {p: float(j) for j, p in enumerate(order)})  # fmt: skip
    fig = Figure(figsize=(4.6 * len(metrics), 3.9), layout="constrained")
    for j, metric in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), j + 1)
        _draw_metric(ax, view, metric, order, xpos, numeric)
        level_axis(ax, view, order, groups, x_vals if numeric else None, _x_label(view, numeric))
        ax.set_ylabel(_YLABEL[metric])
        ax.set_ylim(-2, 104)
        ax.grid(alpha=0.3)
        ax.set_title(f"{view.label}: {metric.replace('_', ' ')}", fontsize=10,
                     pad=14 if groups else 6)  # fmt: skip
        if j == 0:
            legend_outside(fig, ax)
    what = "points with 95% bootstrap intervals" if not numeric else "95% bootstrap bands"
    cap = (f"{view.label}: accuracy and flip rate per level, {what} over source images; "
           "dotted: clean accuracy; dashed grey: chance (1/K).")  # fmt: skip
    return [Drawn(fig, "", cap, f"{view.label} curves", "svg")]
