"""The ``heatmap`` figure kind: accuracy (or flip rate) over two level parameters of one axis.

Each cell shows its value and ``n`` (distinct sources); cells with fewer than the report's
``min_count`` sources are greyed out, so a heat map over drawn values (random grid shifts) does
not present sampling noise as a pattern.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..params import heatmap_params, level_params, params_frame, report_defaults
from ..view import AxisView
from .base import Drawn

__all__ = ["draw_heatmap"]


def _dense(values: pd.Index) -> list:
    """Small integer grids (offsets 0..7) keep every row/column, so the layout is the grid's."""
    vals = sorted(values)
    if vals and all(float(v).is_integer() for v in vals) and vals[-1] - vals[0] <= 15:
        return list(range(int(vals[0]), int(vals[-1]) + 1))
    return vals


def _grids(p: pd.DataFrame, pair: tuple[str, str], col: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    pf = params_frame(p["axis_params"])
    v = pd.to_numeric(p[col].astype("Float64"), errors="coerce")
    df = pd.DataFrame({"a": pf[pair[0]], "b": pf[pair[1]], "v": v, "s": p["source_id"]}).dropna()
    # a source's variants in one cell are averaged first: the unit is the source
    per_src = df.groupby(["a", "b", "s"], as_index=False)["v"].mean()
    mean = per_src.pivot_table(index="a", columns="b", values="v", aggfunc="mean")
    n = per_src.pivot_table(index="a", columns="b", values="s", aggfunc="count")
    rows, cols = _dense(mean.index), _dense(mean.columns)
    return mean.reindex(index=rows, columns=cols), n.reindex(index=rows, columns=cols)


def _annotate(ax, data: np.ndarray, n: np.ndarray, min_count: int) -> None:
    small = data.size <= 100
    for (r, c), val in np.ndenumerate(data):
        cnt = 0 if np.isnan(n[r, c]) else int(n[r, c])
        if cnt == 0:
            continue
        low = cnt < min_count
        text = f"{val:.0f}\nn={cnt}" if small else f"{val:.0f}"
        color = "0.25" if low else ("white" if val < 60 else "black")
        ax.text(c, r, text, ha="center", va="center", fontsize=6.5 if small else 4.5,
                color=color)  # fmt: skip


def _panels(view: AxisView, models: list, pair: tuple[str, str]) -> list[tuple]:
    """(model, title, rows) per panel: one per model, or per model and boolean group (aligned /
    not) when every group still spans two or more cells of the grid."""
    out = []
    for m in models:
        p = view.preds(m)
        bp = params_frame(p["axis_params"], numeric=False)
        flags = [c for c in bp.columns if bp[c].map(lambda v: isinstance(v, bool)).all()
                 and bp[c].nunique() > 1]  # fmt: skip
        pf = params_frame(p["axis_params"])
        if flags:
            key = bp[flags].astype(str).agg(",".join, axis=1)
            groups = {g: (key == g).to_numpy() for g in sorted(pd.unique(key))}
            cells = [pf.loc[sel, list(pair)].drop_duplicates().shape[0] for sel in groups.values()]
            if min(cells) >= 2:
                names = ",".join(flags)
                out += [(m, f"{m.name}, {names}={g}", p[sel]) for g, sel in groups.items()]
                continue
        out.append((m, m.name, p))
    return out


def draw_heatmap(view: AxisView) -> list[Drawn]:
    """Heat maps side by side (per model, and per boolean group such as ``aligned``) over the
    axis's two varying parameters."""
    models = [m for m in view.classified() if len(view.preds(m))]  # a localizer has no accuracy
    if not models:
        return []
    first = view.preds(models[0])
    pair = heatmap_params(first["axis_params"], view.options.heatmap_pairs or None)
    if pair is None:
        return []
    labelled = first["correct"].notna().any()
    col, what = ("correct", "accuracy") if labelled else ("flipped", "flip rate")
    min_count = view.options.min_count
    names = report_defaults().get("param_labels", {})
    panels = _panels(view, models, pair)
    fig = Figure(figsize=(4.4 * len(panels) + 0.6, 3.9), layout="constrained")
    other: list[str] = []
    for i, (_m, title, p) in enumerate(panels):
        pf = params_frame(p["axis_params"])
        other = [c for c in level_params(pf) if c not in pair]  # seeds are no parameter
        grid, n = _grids(p, pair, col)
        data = grid.to_numpy(dtype=float) * 100
        counts = n.to_numpy(dtype=float)
        enough = np.nan_to_num(counts) >= min_count
        ax = fig.add_subplot(1, len(panels), i + 1)
        im = ax.imshow(np.where(enough, data, np.nan), vmin=0, vmax=100, cmap="viridis",
                       origin="lower", aspect="auto")  # fmt: skip
        grey = np.where(~enough & (np.nan_to_num(counts) > 0), 1.0, np.nan)
        ax.imshow(grey, cmap="Greys", vmin=0, vmax=4, origin="lower", aspect="auto")
        _annotate(ax, data, counts, min_count)
        ax.set_xticks(range(grid.shape[1]))
        ax.set_xticklabels([f"{c:g}" for c in grid.columns], fontsize=7)
        ax.set_yticks(range(grid.shape[0]))
        ax.set_yticklabels([f"{r:g}" for r in grid.index], fontsize=7)
        ax.set_xlabel(names.get(pair[1], pair[1]))
        ax.set_ylabel(names.get(pair[0], pair[0]))
        ax.set_title(f"{title}: {what} (%)", fontsize=9)
        if i == len(panels) - 1:
            fig.colorbar(im, ax=ax, shrink=0.8, label=f"{what} (%)")
    mean_over = f" (mean over {', '.join(other)})" if other else ""
    fig.suptitle(f"{view.label}: {pair[0]} x {pair[1]}{mean_over}", fontsize=10)
    cap = (f"{view.label}: {what} over {pair[0]} (rows) x {pair[1]} (columns); n = sources per "
           f"cell; grey cells have fewer than {min_count} sources.")  # fmt: skip
    return [Drawn(fig, "_heatmap", cap, f"{view.label} heat map", "png")]
