"""What every figure kind shares: the saved formats and resolution, colours, reference lines."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ... import metrics as M
from .save import DPI, write_figure

__all__ = [
    "DPI",
    "COLORS",
    "MARKERS",
    "SERIES_STYLES",
    "Drawn",
    "save_figure",
    "model_color",
    "draw_references",
    "legend_outside",
    "n_classes",
    "level_stat",
    "errorbar_points",
    "CLEAN_STYLE",
    "CHANCE_STYLE",
]

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
SERIES_STYLES = ("-", "--", "-.", (0, (5, 1)), (0, (3, 1, 1, 1)))
# The clean reference: dotted, no marker, in the model's colour -- a style no series uses.
CLEAN_STYLE = {"ls": (0, (1, 1.5)), "lw": 1.4}
CHANCE_STYLE = {"color": "0.6", "ls": (0, (6, 3)), "lw": 0.9}


@dataclass
class Drawn:
    """A drawn matplotlib figure: the file-name suffix (after the axis stem), caption, alt text
    and how HTML embeds it (``svg`` inline or ``png`` as a data URI)."""

    fig: Figure
    suffix: str
    caption: str
    alt: str
    embed: str = "svg"


def save_figure(fig: Figure, stem: Path, pdf: bool = True) -> dict[str, Path]:
    """Write ``stem.png`` (at :data:`DPI`), ``stem.svg`` and, with ``pdf``, ``stem.pdf`` now,
    without timestamps (one layout for all three: :func:`~.save.write_figure`). The report
    itself writes only the formats its renderers read (:data:`~.save.FORMATS`), in
    :class:`~.save.FigureTasks`."""
    return write_figure(fig, stem, ("png", "svg", "pdf") if pdf else ("png", "svg"))


def model_color(i: int) -> str:
    """The colour of the i-th model (the same in every figure)."""
    return COLORS[i % len(COLORS)]


def n_classes(models) -> int | None:
    """K for the chance line 1/K: the classes the (first) model was run with, if known."""
    for m in models:
        classes = m.run.get("model", {}).get("classes")
        if classes:
            return len(classes)
    return None


def draw_references(ax: Axes, clean: list[tuple[str, float, str]], k: int | None) -> None:
    """Clean accuracy per model (dotted, in the model's colour) and chance 1/K (grey dashed)."""
    for name, value, color in clean:
        label = "clean" if len(clean) == 1 else f"clean ({name})"
        ax.axhline(100 * value, label=label, zorder=1, color=color, **CLEAN_STYLE)
    if k and k > 1:
        ax.axhline(100.0 / k, label=f"chance (1/{k})", zorder=1, **CHANCE_STYLE)


def legend_outside(fig: Figure, ax: Axes) -> None:
    """One legend for the figure, below the axes, outside the data."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ncol = min(len(labels), 3)
        fig.legend(handles, labels, loc="outside lower center", ncol=ncol, fontsize=7,
                   frameon=False)  # fmt: skip


def level_stat(df: pd.DataFrame, metric: str, n_boot: int = 200, seed: int = 0
               ) -> tuple[float, float, float, int]:  # fmt: skip
    """(value, ci_low, ci_high, n sources) of ``metric`` on prediction rows, bootstrap by source."""
    m = M.METRICS.get(metric)
    if not len(df):
        return (math.nan, math.nan, math.nan, 0)
    boot = M.Bootstrap(df["source_id"], n_boot=n_boot, seed=seed)
    ps = boot.per_source(df["source_id"], m.stats(df))
    value = float(m.combine(ps.sum(axis=0)))
    lo, hi = boot.interval(m.combine(boot.replicates(ps))) if n_boot else (math.nan, math.nan)
    n = int((ps[:, -1] > 0).sum())
    return value, lo, hi, n


def errorbar_points(ax: Axes, xs: np.ndarray, y, lo, hi, **kw) -> None:
    """Points with error bars, never joined by a line (categorical levels)."""
    y, lo, hi = (np.asarray(a, dtype=float) * 100 for a in (y, lo, hi))
    err = np.vstack([np.nan_to_num(y - lo), np.nan_to_num(hi - y)])
    ax.errorbar(xs, y, yerr=np.clip(err, 0, None), ls="none", capsize=2.5, elinewidth=0.9,
                ms=4.5, **kw)  # fmt: skip
