"""The ``forensic`` figure kind: detection and localization figures per level of one axis.

Panels come from report.json (``forensic_panels``): localization at threshold 0.5 and pixel AUC,
the optimistic ``*_best`` figures (labelled so), pixel F1 per manipulation, detection from the
image score and from the map's maximum (AUC, TPR at fixed FPR and EER, the EER's lower-is-better
said on the axis label; balanced accuracy on a panel of its own). A panel is drawn only when the
axis has its metrics. Values are fractions in [0, 1]; ordered levels are lines with bootstrap
bands, categorical ones points with error bars; colours tell metrics apart, markers and line
styles models. :func:`panel_figure` draws any such list of :class:`Panel` (the ``regression``
kind uses it too).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ... import metrics as M
from ..forensic import is_optimistic, metric_label, split_metric
from ..params import report_defaults
from ..view import AxisView
from .base import CHANCE_STYLE, COLORS, MARKERS, SERIES_STYLES, Drawn
from .curves import level_axis

__all__ = ["draw_forensic", "forensic_panels", "Panel", "panel_figure", "curve_metric_names"]


class Panel(NamedTuple):
    """One panel of a curve figure: its metrics, an optional chance line, the y axis."""

    title: str
    metrics: list[str]
    chance: float | None = None
    ylabel: str = "value (0 to 1)"
    chance_label: str = "chance AUC"
    fraction: bool = True  # values in [0, 1] (the y axis fixed to that range)
    show_n: bool = False  # write each point's n (sources) beside it


def curve_metric_names(view: AxisView) -> list[str]:
    """The metrics with curve points (series ``all``, a value) on this axis, any model."""
    out: list[str] = []
    for m in view.models:
        c = m.rows("curves", view.key)
        if len(c):
            c = c[(c["rank"] >= 0) & (c["series"] == "all") & c["value"].notna()]
            out += [n for n in pd.unique(c["metric"].astype(str)) if n not in out]
    return out


def forensic_panels(view: AxisView) -> list[Panel]:
    """The panels (report.json ``forensic_panels``) the axis has curve points for."""
    have = curve_metric_names(view)
    default = Panel._field_defaults
    out = []
    for p in report_defaults().get("forensic_panels", []):
        if "by_manipulation" in p:
            base = str(p["by_manipulation"])
            names = sorted(n for n in have if split_metric(n)[0] == base and split_metric(n)[1])
            names = names if len(names) > 1 else []  # one manipulation: the first panel has it
        else:
            names = [n for n in p.get("metrics", []) if n in have]
        if names:
            out.append(Panel(str(p.get("title", "")), names, p.get("chance"),
                             str(p.get("ylabel", default["ylabel"])),
                             str(p.get("chance_label", default["chance_label"]))))  # fmt: skip
    return out


def _write_n(ax, ns: dict[float, list[int]]) -> None:
    """``n=5`` (``n=5/4`` with several models) above each point, in the axes' top margin."""
    for x, vals in ns.items():
        ax.text(x, 1.005, "n=" + "/".join(map(str, vals)), transform=ax.get_xaxis_transform(),
                ha="center", va="bottom", fontsize=6, color="0.3")  # fmt: skip


def _draw_panel(ax, view: AxisView, metrics: list[str], xpos: dict[str, float], numeric: bool,
                label_of: Callable[[str], str] = metric_label, show_n: bool = False) -> None:  # fmt: skip
    # the models with these figures here (a classifier beside a localizer has none)
    models = [m for m in view.models if any(len(view.curve_rows(m, mt)) for mt in metrics)]
    nm, nk = len(models), len(metrics)
    ns: dict[float, list[int]] = {}  # sources behind the first figure, per x
    for i, m in enumerate(models):
        for k, metric in enumerate(metrics):
            rows = view.curve_rows(m, metric)
            rows = rows[rows["point"].isin(list(xpos))]
            if rows.empty:
                continue
            xs = np.array([xpos[p] for p in rows["point"]], dtype=float)
            order = np.argsort(xs, kind="stable")
            xs = xs[order]
            y, lo, hi = (
                rows[c].to_numpy(dtype=float)[order] for c in ("value", "ci_low", "ci_high")
            )
            color = COLORS[k % len(COLORS)]
            if show_n and k == 0:
                for x, n in zip(xs, rows["n"].to_numpy()[order]):
                    ns.setdefault(float(x), []).append(int(n))
            name = label_of(metric)
            label = name if nm == 1 else f"{m.name}: {name}"
            marker = MARKERS[i % len(MARKERS)]
            if not numeric:
                off = ((i * nk + k) - (nm * nk - 1) / 2) * 0.08
                err = np.vstack([np.nan_to_num(y - lo), np.nan_to_num(hi - y)])
                ax.errorbar(xs + off, y, yerr=np.clip(err, 0, None), ls="none", capsize=2.5,
                            elinewidth=0.9, ms=4.5, marker=marker, color=color, label=label)  # fmt: skip
                continue
            ax.plot(xs, y, marker=marker, ms=3.5, color=color, label=label,
                    ls=SERIES_STYLES[i % len(SERIES_STYLES)])  # fmt: skip
            if not np.isnan(lo).all():
                ax.fill_between(xs, lo, hi, color=color, alpha=0.12, lw=0)
    _write_n(ax, ns)


def _x_name(order: list[str]) -> str | None:
    """The parameter every level is named after (``quality`` for ``quality=90``), if one is."""
    names = {m.group(1) for p in order if (m := re.match(r"^([A-Za-z_]\w*)=[-+.\d]+$", p))}
    return names.pop() if len(names) == 1 and len(order) >= 1 else None


def _points(view: AxisView, metrics: list[str]) -> tuple[list[str], np.ndarray]:
    """The axis's curve points that carry any of ``metrics``, mild to severe, and their x."""
    order, xs = view.points()
    keep = set()
    for m in view.models:
        for metric in metrics:
            keep |= set(view.curve_rows(m, metric)["point"])
    idx = [j for j, p in enumerate(order) if p in keep]
    return [order[j] for j in idx], xs[idx]


def _format_axes(ax, view: AxisView, panel: Panel, order: list[str], x_vals: np.ndarray,
                 numeric: bool, xlabel: str) -> None:  # fmt: skip
    if panel.chance is not None:
        ax.axhline(float(panel.chance), label=f"{panel.chance_label} ({float(panel.chance):g})",
                   zorder=1, **CHANCE_STYLE)  # fmt: skip
    level_axis(ax, view, order, None, x_vals if numeric else None, xlabel)
    ax.set_ylabel(panel.ylabel)
    if panel.fraction:
        ax.set_ylim(-0.03, 1.05)
    else:
        ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.set_title(f"{view.label}: {panel.title}", fontsize=9, pad=12 if panel.show_n else 6)
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, fontsize=6, loc="best", framealpha=0.85)


def panel_figure(view: AxisView, panels: list[Panel],
                 label_of: Callable[[str], str] = metric_label) -> tuple[Figure, bool] | None:  # fmt: skip
    """One figure with ``panels`` (two per row) over the axis's curve points, and whether its
    x axis is numeric (lines with bands) or categorical (points); None without points."""
    order, x_vals = _points(view, [n for p in panels for n in p.metrics])
    if not panels or not order:
        return None
    numeric = M.numeric_x(x_vals)
    xpos = ({p: float(x) for p, x in zip(order, x_vals)} if numeric
            else {p: float(j) for j, p in enumerate(order)})  # fmt: skip
    ncol = min(len(panels), 2)
    nrow = -(-len(panels) // ncol)
    fig = Figure(figsize=(4.6 * ncol, 3.5 * nrow + 0.5), layout="constrained")
    # Ladder levels name their parameter (quality=90, hops=2); the drawn edit parameters in
    # axis_params vary per source and say nothing about the x axis.
    name = _x_name(order) if numeric else None
    xlabel = report_defaults().get("param_labels", {}).get(name, name) if name else "level"
    for j, panel in enumerate(panels):
        ax = fig.add_subplot(nrow, ncol, j + 1)
        _draw_panel(ax, view, panel.metrics, xpos, numeric, label_of, panel.show_n)
        _format_axes(ax, view, panel, order, x_vals, numeric, xlabel)
    return fig, numeric


def draw_forensic(view: AxisView) -> list[Drawn]:
    """One figure of forensic curves per axis (none when the axis has no forensic figures)."""
    panels = forensic_panels(view)
    drawn = panel_figure(view, panels)
    if drawn is None:
        return []
    fig, numeric = drawn
    what = "points with 95% bootstrap intervals" if not numeric else "95% bootstrap bands"
    names = [n for p in panels for n in p.metrics]
    opt = report_defaults().get("optimistic_label", "(optimistic)")
    note = (f"; figures marked {opt} choose each image's threshold with its true mask"
            if any(is_optimistic(n) for n in names) else "")  # fmt: skip
    cap = (
        f"{view.label}: forensic figures per level ({', '.join(p.title for p in panels)}), "
        f"{what} over source images; pixel figures on manipulated images only{note}."
    )
    return [Drawn(fig, "_forensic", cap, f"{view.label} forensic curves", "svg")]
