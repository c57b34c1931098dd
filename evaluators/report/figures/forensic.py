"""The ``forensic`` figure kind: detection and localization figures per level of one axis.

Panels come from report.json (``forensic_panels``): localization at threshold 0.5 and pixel AUC,
the optimistic ``*_best`` figures (labelled so), pixel F1 per manipulation, detection from the
image score and from the map's maximum. A panel is drawn only when the axis has its metrics.
Values are fractions in [0, 1]; ordered levels are lines with bootstrap bands, categorical ones
points with error bars; colours tell metrics apart, markers and line styles models.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ... import metrics as M
from ..forensic import is_optimistic, metric_label, split_metric
from ..params import report_defaults
from ..view import AxisView
from .base import CHANCE_STYLE, COLORS, MARKERS, SERIES_STYLES, Drawn
from .curves import _categorical_axis

__all__ = ["draw_forensic", "forensic_panels"]


def _curve_metrics(view: AxisView) -> list[str]:
    out: list[str] = []
    for m in view.models:
        c = m.rows("curves", view.key)
        if len(c):
            c = c[(c["rank"] >= 0) & (c["series"] == "all") & c["value"].notna()]
            out += [n for n in pd.unique(c["metric"].astype(str)) if n not in out]
    return out


def forensic_panels(view: AxisView) -> list[tuple[str, list[str], float | None]]:
    """(title, metrics, chance line) of each panel the axis has curve points for."""
    have = _curve_metrics(view)
    out = []
    for p in report_defaults().get("forensic_panels", []):
        if "by_manipulation" in p:
            base = str(p["by_manipulation"])
            names = sorted(n for n in have if split_metric(n)[0] == base and split_metric(n)[1])
            names = names if len(names) > 1 else []  # one manipulation: the first panel has it
        else:
            names = [n for n in p.get("metrics", []) if n in have]
        if names:
            out.append((str(p.get("title", "")), names, p.get("chance")))
    return out


def _draw_panel(ax, view: AxisView, metrics: list[str], xpos: dict[str, float],
                numeric: bool) -> None:  # fmt: skip
    # the models with these figures here (a classifier beside a localizer has none)
    models = [m for m in view.models if any(len(view.curve_rows(m, mt)) for mt in metrics)]
    nm, nk = len(models), len(metrics)
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
            name = metric_label(metric)
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


def draw_forensic(view: AxisView) -> list[Drawn]:
    """One figure of forensic curves per axis (none when the axis has no forensic figures)."""
    panels = forensic_panels(view)
    if not panels:
        return []
    order, x_vals = _points(view, [n for _, names, _ in panels for n in names])
    if not order:
        return []
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
    for j, (title, names, chance) in enumerate(panels):
        ax = fig.add_subplot(nrow, ncol, j + 1)
        _draw_panel(ax, view, names, xpos, numeric)
        if chance is not None:
            ax.axhline(float(chance), label=f"chance AUC ({float(chance):g})", zorder=1,
                       **CHANCE_STYLE)  # fmt: skip
        if numeric:
            if name == "hops":
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if x_vals[0] > x_vals[-1]:  # severity grows left to right
                ax.invert_xaxis()
        else:
            _categorical_axis(ax, view, order, None)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("value (0 to 1)")
        ax.set_ylim(-0.03, 1.05)
        ax.grid(alpha=0.3)
        ax.set_title(f"{view.label}: {title}", fontsize=9)
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            ax.legend(handles, labels, fontsize=6, loc="best", framealpha=0.85)
    what = "points with 95% bootstrap intervals" if not numeric else "95% bootstrap bands"
    names = [n for _, ns, _ in panels for n in ns]
    opt = report_defaults().get("optimistic_label", "(optimistic)")
    note = (f"; figures marked {opt} choose each image's threshold with its true mask"
            if any(is_optimistic(n) for n in names) else "")  # fmt: skip
    cap = (
        f"{view.label}: forensic figures per level ({', '.join(t for t, _, _ in panels)}), "
        f"{what} over source images; pixel figures on manipulated images only{note}."
    )
    return [Drawn(fig, "_forensic", cap, f"{view.label} forensic curves", "svg")]
