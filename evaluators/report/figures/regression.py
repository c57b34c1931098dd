"""The ``regression`` figure kind: a regression target's figures per level of one axis.

Panels come from report.json (``regression_panels``): MAE and RMSE in the target's units (lower
is better) on one panel, the share within 5 of the truth on another (0 to 1). Each point carries
its 95% bootstrap interval and the number of sources behind it (``n=...``); ordered levels are
lines with bands, categorical ones points with error bars, as in the ``forensic`` kind.
"""

from __future__ import annotations

from ..params import report_defaults
from ..regression import regression_label, target_name
from ..view import AxisView, regresses
from .base import CLEAN_STYLE, COLORS, Drawn
from .forensic import Panel, curve_metric_names, panel_figure

__all__ = ["draw_regression", "regression_panels"]


def regression_panels(view: AxisView) -> list[Panel]:
    """The panels (report.json ``regression_panels``) the axis has curve points for."""
    models = [m for m in view.models if regresses(m)]
    if not models:
        return []
    have = curve_metric_names(view)
    target = target_name(models)
    out = []
    for p in report_defaults().get("regression_panels", []):
        names = [n for n in p.get("metrics", []) if n in have]
        if names:
            ylabel = str(p.get("ylabel", "value")).replace("{target}", target)
            out.append(Panel(str(p.get("title", "")), names, None, ylabel,
                             fraction=bool(p.get("fraction", False)), show_n=True))  # fmt: skip
    return out


def _clean_lines(ax, view: AxisView, panel: Panel) -> None:
    """The suite's clean value of each figure as a dotted line in the figure's colour."""
    models = [m for m in view.models if regresses(m)]
    for m in models:
        for k, metric in enumerate(panel.metrics):
            c = view.clean(m, metric)
            if c is not None:
                who = "" if len(models) == 1 else f"{m.name}: "
                ax.axhline(c[0], color=COLORS[k % len(COLORS)], zorder=1,
                           label=f"{who}clean {regression_label(metric)} (n={c[3]})",
                           **CLEAN_STYLE)  # fmt: skip
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, fontsize=6, loc="best", framealpha=0.85)


def draw_regression(view: AxisView) -> list[Drawn]:
    """One figure of regression curves per axis (none when no model regresses here)."""
    panels = regression_panels(view)
    drawn = panel_figure(view, panels, regression_label)
    if drawn is None:
        return []
    fig, numeric = drawn
    for ax, panel in zip(fig.axes, panels):
        _clean_lines(ax, view, panel)
    what = "points with 95% bootstrap intervals" if not numeric else "95% bootstrap bands"
    target = target_name([m for m in view.models if regresses(m)])
    cap = (f"{view.label}: regression of {target} per level "
           f"({', '.join(p.title for p in panels)}), {what} over source images; n: sources "
           "behind each point; dotted: the suite's clean value.")  # fmt: skip
    return [Drawn(fig, "_regression", cap, f"{view.label} regression curves", "svg")]
