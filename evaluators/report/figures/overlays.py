"""The ``overlays`` figure kind: example maps of a localization model, one row per level.

``evaluate`` keeps, per (suite, axis, level), the maps of a few fixed manipulated variants (the
same sources at every level) and lists them in run.json ``overlays``: the image and its true
mask (paths in the manifest folder run.json names) and the map (a PNG in the results folder).
Each row of the figure is one level, mild to severe; each variant takes three panels: the image,
the true mask (white: manipulated) and the predicted map as a heat map (0 to 1, one colour bar
for the figure) with the true mask's outline. With several localizers each gets its own map
panel. Levels beyond report.json's ``overlays_rows_per_figure`` go to further figures.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from degradebench.generators.manifest import safe_join
from degradebench.generators.ops.jpeg import decode_pillow
from matplotlib.figure import Figure
from PIL import Image

from ... import metrics as M
from ..params import report_defaults
from ..runs import ModelResults
from ..view import AxisView, natural_key
from .base import Drawn

__all__ = ["draw_overlays", "overlay_entries", "CMAP"]

CMAP = "inferno"  # the predicted map: perceptually uniform, dark = 0, bright = 1
_OUTLINE = "#00e5ff"  # the true mask's outline on the map: a colour the colour map never takes


def _entries_of(m: ModelResults, view: AxisView) -> list[dict]:
    """run.json overlays of one model on this axis, with the folders their paths are under."""
    out = []
    for run, folder in zip(m.runs, m.dirs):
        manifest = run.get("manifest", {}).get("path")
        for e in run.get("overlays") or []:
            if not isinstance(e, dict) or str(e.get("axis")) != view.axis:
                continue
            suite = e.get("suite")
            if view.suite and suite and str(suite) != view.suite:
                continue
            out.append({**e, "_manifest": manifest, "_results": str(folder), "_model": m.name})
    return out


def overlay_entries(view: AxisView) -> dict[str, list[dict]]:
    """Per level (mild to severe), the overlay variants of the axis: one dict per variant with
    ``maps`` (model name -> entry), the same variant order at every level (by source)."""
    by_level: dict[str, dict[str, dict]] = {}
    source: dict[str, str] = {}
    for m in view.models:
        p = view.preds(m)
        if len(p) and "source_id" in p:
            source.update(zip(p["variant_id"].astype(str), p["source_id"].astype(str)))
        for e in _entries_of(m, view):
            vid = str(e.get("variant_id"))
            slot = by_level.setdefault(str(e.get("level")), {}).setdefault(vid, {"maps": {}})
            slot.update({k: e.get(k) for k in ("variant_id", "manipulation", "image", "mask",
                                               "_manifest")})  # fmt: skip
            slot["maps"][m.name] = e
    if not by_level:
        return {}
    pred = next((view.preds(m) for m in view.models if len(view.preds(m))), None)
    order = view.points()[0]  # the curves' order; levels that are no curve point: severity
    order += M.severity_order(pred, "level") if pred is not None else []
    levels = list(dict.fromkeys(lv for lv in order if lv in by_level))
    levels += sorted((lv for lv in by_level if lv not in levels), key=natural_key)
    per = int(report_defaults().get("overlays_per_level", 3))
    out = {}
    for lv in levels:
        items = sorted(by_level[lv].values(), key=lambda d: (
            source.get(str(d["variant_id"]), ""), str(d.get("manipulation")), str(d["variant_id"])))  # fmt: skip
        out[lv] = items[:per]
    return out


def _read(root: object, rel: object, mask: bool = False) -> np.ndarray | None:
    """Pixels of ``root/rel`` (a mask as bool), or None when it cannot be read."""
    if not root or not rel:
        return None
    try:
        data = safe_join(Path(str(root)), str(rel)).read_bytes()
        if mask:
            with Image.open(io.BytesIO(data)) as im:
                return np.asarray(im.convert("L")) > 127
        return decode_pillow(data)
    except Exception:  # noqa: BLE001 - a file gone or unreadable loses one panel, not the report
        return None


def _panel(ax, img: np.ndarray | None, title: str | None, **kw) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_linewidth(0.4)
    if title:
        ax.set_title(title, fontsize=6.5, pad=2)
    if img is None:
        ax.text(0.5, 0.5, "not found", ha="center", va="center", fontsize=6, color="0.4",
                transform=ax.transAxes)  # fmt: skip
        return
    ax.imshow(img, interpolation="nearest", **kw)


def _draw(view: AxisView, levels: list[str], rows: dict[str, list[dict]], names: list[str]):
    per = max(len(v) for v in rows.values())
    width = 2 + len(names)  # image, mask, one map per model
    ncol, nrow = per * width, len(levels)
    fig, axes = _grid(nrow, ncol)
    im = None
    for r, lv in enumerate(levels):
        for j in range(per):
            cells = axes[r, j * width : (j + 1) * width]
            if j >= len(rows[lv]):
                for ax in cells:
                    ax.set_axis_off()
                continue
            v = rows[lv][j]
            img = _read(v.get("_manifest"), v.get("image"))
            mask = _read(v.get("_manifest"), v.get("mask"), mask=True)
            top = r == 0
            _panel(cells[0], img, "image" if top else None,
                   cmap="gray" if img is not None and img.ndim == 2 else None)  # fmt: skip
            cells[0].text(0.02, 0.97, str(v.get("manipulation") or ""), fontsize=5.5, va="top",
                          transform=cells[0].transAxes, color="black",
                          bbox={"fc": "white", "ec": "none", "alpha": 0.75, "pad": 1})  # fmt: skip
            _panel(cells[1], mask, "true mask" if top else None, cmap="gray", vmin=0, vmax=1)
            for k, name in enumerate(names):
                e = v["maps"].get(name)
                pmap = _read(e.get("_results"), e.get("map")) if e else None
                if pmap is not None:
                    pmap = (pmap if pmap.ndim == 2 else pmap[..., 0]).astype(np.float32) / 255.0
                title = ("predicted map" if len(names) == 1 else f"map: {name}") if top else None
                _panel(cells[2 + k], pmap, title, cmap=CMAP, vmin=0.0, vmax=1.0)
                if pmap is not None:
                    im = cells[2 + k].images[-1]
                    if mask is not None and mask.shape == pmap.shape and mask.any():
                        cells[2 + k].contour(mask, levels=[0.5], colors=_OUTLINE, linewidths=0.5)
        axes[r, 0].set_ylabel(view.level_label(lv), fontsize=7, rotation=90)
    if im is not None:
        bar = fig.colorbar(im, cax=_bar_axes(fig), label="map value")
        bar.set_ticks([0.0, 0.5, 1.0])
    fig.suptitle(f"{view.label}: example overlays, one row per level (mild to severe)",
                 fontsize=8)  # fmt: skip
    return fig


# A fixed grid in inches (the figure is cropped to its ink when written): a layout engine
# solving for ~30 panels took half of the figure's drawing time. Panels are SIDE x SIDE, the
# level labels left of them, the colour bar right, the title and column titles above.
_SIDE, _GAP, _ROW_GAP, _LEFT, _RIGHT, _TOP, _BOTTOM = 0.85, 0.08, 0.14, 0.36, 1.0, 0.5, 0.06


def _grid(nrow: int, ncol: int) -> tuple[Figure, np.ndarray]:
    """The figure and its panels (rows of ``ncol``, in row order) on the fixed grid."""
    w = _LEFT + ncol * _SIDE + (ncol - 1) * _GAP + _RIGHT
    h = _TOP + nrow * _SIDE + (nrow - 1) * _ROW_GAP + _BOTTOM
    fig = Figure(figsize=(w, h))
    axes = np.empty((nrow, ncol), dtype=object)
    for r in range(nrow):
        y = h - _TOP - (r + 1) * _SIDE - r * _ROW_GAP
        for c in range(ncol):
            x = _LEFT + c * (_SIDE + _GAP)
            axes[r, c] = fig.add_axes((x / w, y / h, _SIDE / w, _SIDE / h))
    return fig, axes


def _bar_axes(fig: Figure):
    """The colour bar's axes, right of the panels, 90% of their height."""
    w, h = fig.get_size_inches()
    span = h - _TOP - _BOTTOM
    rect = (w - _RIGHT + 0.14, _BOTTOM + 0.05 * span, 0.11, 0.9 * span)
    return fig.add_axes((rect[0] / w, rect[1] / h, rect[2] / w, rect[3] / h), label="<colorbar>")


def draw_overlays(view: AxisView) -> list[Drawn]:
    """Overlay rows of the axis's levels (none when no model kept overlays on this axis)."""
    rows = overlay_entries(view)
    if not rows:
        return []
    names = [m.name for m in view.models if any(m.name in v["maps"] for vs in rows.values()
                                                 for v in vs)]  # fmt: skip
    levels = list(rows)
    step = max(int(report_defaults().get("overlays_rows_per_figure", 6)), 1)
    chunks = [levels[i : i + step] for i in range(0, len(levels), step)]
    out = []
    for k, part in enumerate(chunks):
        fig = _draw(view, part, {lv: rows[lv] for lv in part}, names)
        more = f" (part {k + 1} of {len(chunks)})" if len(chunks) > 1 else ""
        cap = (f"{view.label}: example overlays{more}, one row per level (mild to severe), the "
               "same variants at every level: image | true mask (white: manipulated) | "
               f"predicted map (heat map 0 to 1, {CMAP}; cyan: the true mask's outline).")  # fmt: skip
        suffix = "_overlays" if len(chunks) == 1 else f"_overlays{k + 1}"
        out.append(Drawn(fig, suffix, cap, f"{view.label} overlays{more}", "png"))
    return out
