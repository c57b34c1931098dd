"""Contact sheets: one source through every level of an axis, as labelled thumbnails.

``contact_sheet(OUT, axis=..., source=...)`` draws the sheet from a manifest folder (what
``degradebench sheet`` writes); :func:`sheet_section` adds one sheet per axis to the report when
the results' run.json names a manifest that is still reachable.
"""

from __future__ import annotations

import json
import math
import re
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from degradebench.generators.core.errors import ConfigError
from degradebench.generators.manifest import read_manifest, read_metadata, safe_join
from degradebench.generators.ops.jpeg import decode_pillow
from matplotlib.figure import Figure as MplFigure
from PIL import Image

from .._manifest_in import relabel_old_crop_levels
from ..metrics import severity_order
from .document import Figure, Paragraph, Section, text
from .figures.base import DPI
from .figures.save import FigureTasks, formats_for, write_figure
from .params import x_param
from .runs import CLEAN, ModelResults
from .view import safe_name

__all__ = ["contact_sheet", "write_sheet", "sheet_section", "sheet_rows"]

_COLS = ("variant_id", "source_id", "suite", "axis", "level", "level_value", "axis_params",
         "psnr", "path")  # fmt: skip


def _label(level: str, axis_params: object) -> str:
    """The level, plus the value drawn for this source where the level says ``random``."""
    label = str(level)
    drawn = re.findall(r"(\w+)=random", label)
    if isinstance(axis_params, str) and (drawn or label == "random"):
        try:
            params = json.loads(axis_params)
        except ValueError:
            params = {}
        params = params if isinstance(params, dict) else {}
        if label == "random" and isinstance(params.get("journey"), list):  # a drawn journey
            return label + "\ndrawn " + ">".join(map(str, params["journey"]))
        got = [f"{k}={params[k]}" for k in drawn if k in params]
        if got:
            label += "\ndrawn " + " ".join(got).replace(" ", "").replace("[", "").replace("]", "")
    return label


def _read(root: Path) -> pd.DataFrame:
    """The manifest's sheet columns, old crop labels (``3x5``) renamed ``dy=3,dx=5``."""
    manifest = read_manifest(root, columns=list(_COLS))
    try:
        metas = read_metadata(root)
    except Exception:  # noqa: BLE001 - metadata only helps name old crop levels
        metas = []
    return relabel_old_crop_levels(manifest, metas)


def sheet_rows(manifest: pd.DataFrame, axis: str, source: str | None = None,
               suite: str | None = None) -> pd.DataFrame:  # fmt: skip
    """The clean variant and one variant per level of ``axis`` for one source, mild to severe.

    Without ``source``, the first source (sorted) that has the most levels of the axis.
    """
    df = manifest
    if suite is not None and "suite" in df:
        df = df[df["suite"] == suite]
    on_axis = df[df["axis"] == axis]
    if on_axis.empty:
        have = ", ".join(sorted(pd.unique(df["axis"].astype(str))))
        raise ConfigError(f"--axis {axis!r}: no variants on that axis; the manifest has: {have}")
    if source is None:
        counts = on_axis.groupby("source_id")["level"].nunique()
        source = str(sorted(counts[counts == counts.max()].index)[0])
    rows = on_axis[on_axis["source_id"] == source]
    if rows.empty:
        ids = sorted(pd.unique(on_axis["source_id"].astype(str)))
        some = ", ".join(ids[:10]) + (f" (first 10 of {len(ids)})" if len(ids) > 10 else "")
        raise ConfigError(f"--source {source!r}: no variant of axis {axis!r}; sources: {some}")
    rows = rows.drop_duplicates("level")
    order = {lvl: i for i, lvl in enumerate(severity_order(on_axis, "level"))}  # whole axis
    rows = rows.iloc[sorted(range(len(rows)), key=lambda i: order.get(rows["level"].iloc[i], 0))]
    clean = df[(df["axis"] == CLEAN) & (df["source_id"] == source)].head(1)
    return pd.concat([clean, rows], ignore_index=True)


def contact_sheet(out: str | Path, axis: str, source: str | None = None,
                  suite: str | None = None, manifest: pd.DataFrame | None = None,
                  cols: int = 6, zoom: int | None = None) -> MplFigure:  # fmt: skip
    """A matplotlib figure: the thumbnails of one source through every level of ``axis``;
    with ``zoom``, each shows its centre ``zoom`` x ``zoom`` pixels unscaled (JPEG blocks,
    resampling and grid shifts become visible)."""
    root = Path(out)
    if manifest is None:
        manifest = _read(root)
    rows = sheet_rows(manifest, axis, source, suite)
    name = x_param(rows[rows["axis"] != CLEAN])
    n = len(rows)
    ncol = min(cols, n)
    nrow = math.ceil(n / ncol)
    # A fixed grid: per thumbnail a 1.45 x 1.7 in cell, the image fitted in 1.35 x 1.3 in (a
    # 256 px variant at about its own size at 200 dpi), up to three title lines above it, 0.35
    # in on top for the title. The thumbnails are pasted into one picture at DPI (one image
    # to draw, not one axes each), the labels are text over it.
    cw, ch, top = 1.45, 1.7, 0.35
    fw, fh = max(cw * ncol, 4.4), ch * nrow + top
    left = (fw - cw * ncol) / 2
    plate = np.full((round(fh * DPI), round(fw * DPI), 4), 255, dtype=np.uint8)  # RGBA: drawn
    # about 4x faster than RGB, which matplotlib converts first
    labels = []
    for i, r in enumerate(rows.itertuples()):
        row, col = divmod(i, ncol)
        img = decode_pillow(safe_join(root, str(r.path)).read_bytes())
        h, w = img.shape[:2]
        if zoom:
            y0, x0 = max((h - zoom) // 2, 0), max((w - zoom) // 2, 0)
            img = img[y0 : y0 + zoom, x0 : x0 + zoom]
        # the image box, in inches from the figure's top left corner
        bx, by = left + col * cw + 0.05, top + row * ch + 0.36
        tx, ty = _paste(plate, img, bx, by, cw - 0.1, ch - 0.4, zoom=bool(zoom))
        label = CLEAN if r.axis == CLEAN else _label(str(r.level), r.axis_params)
        if name and r.axis != CLEAN and re.fullmatch(r"[0-9.]+", label):
            label = f"{name}={label}"  # "hops=2", not a bare "2"
        labels.append((tx, ty, f"{label}\n{w}x{h}"))
    fig = MplFigure(figsize=(fw, fh))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.imshow(plate, interpolation="none", extent=(0, fw, fh, 0), aspect="auto")
    ax.set_xlim(0, fw)
    ax.set_ylim(fh, 0)
    for tx, ty, t in labels:  # centred 2 pt above the picture, like an axes title
        ax.text(tx, ty - 2 / 72, t, fontsize=6, ha="center", va="bottom", linespacing=1.2)
    src = str(rows["source_id"].iloc[-1])
    what = f", centre {zoom}x{zoom} px" if zoom else ""
    fig.suptitle(f"{axis}: source {src}, every level (mild to severe){what}", fontsize=8,
                 y=1 - 0.08 / fh, va="top")  # fmt: skip
    return fig


def _paste(plate: np.ndarray, img: np.ndarray, bx: float, by: float, bw: float, bh: float,
           zoom: bool) -> tuple[float, float]:  # fmt: skip
    """Fit ``img`` into the box (inches from the top left; aspect kept, centred), paste it with
    a thin black frame into ``plate`` (pixels at DPI); returns the top centre of the picture.
    Zoomed crops are enlarged by a whole factor without smoothing (every pixel a square)."""
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = np.ascontiguousarray(img[..., :3], dtype=np.uint8)
    h, w = img.shape[:2]
    pw, ph = round(bw * DPI), round(bh * DPI)
    f = min(pw / w, ph / h)
    if zoom and f >= 1:
        f = math.floor(f)
    tw, th = max(round(w * f), 1), max(round(h * f), 1)
    if (tw, th) != (w, h):
        method = Image.NEAREST if zoom else Image.LANCZOS
        img = np.asarray(Image.fromarray(img).resize((tw, th), method))
    x0 = round(bx * DPI) + (pw - tw) // 2
    y0 = round(by * DPI) + (ph - th) // 2
    plate[y0 - 1 : y0 + th + 1, x0 - 1 : x0 + tw + 1, :3] = 0  # the frame
    plate[y0 : y0 + th, x0 : x0 + tw, :3] = img
    return (x0 + tw / 2) / DPI, (y0 - 1) / DPI


def write_sheet(out: str | Path, dest: str | Path, axis: str | None = None,
                source: str | None = None, zoom: int | None = None) -> list[Path]:  # fmt: skip
    """Write contact sheet(s) as PNG (200 dpi) to ``dest``; every axis when ``axis`` is None
    (``dest`` then gets the axis name before its suffix). Returns the files written."""
    root, dest = Path(out), Path(dest)
    if zoom is not None and zoom < 8:
        raise ConfigError(f"--zoom {zoom}: give the crop size in pixels, 8 or more (e.g. 64)")
    manifest = _read(root)
    axes = [axis] if axis else [a for a in pd.unique(manifest["axis"].astype(str)) if a != CLEAN]
    written = []
    for a in axes:
        fig = contact_sheet(root, a, source, manifest=manifest, zoom=zoom)
        path = dest if axis else dest.with_name(f"{dest.stem}_{safe_name(a)}{dest.suffix}")
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=DPI, metadata={"Software": None} if path.suffix == ".png" else None)
        written.append(path)
    return written


def _reachable(m: ModelResults) -> list[Path]:
    out = []
    for run in m.runs:
        path = run.get("manifest", {}).get("path")
        if path and (Path(path) / "manifest").is_dir():
            out.append(Path(path))
    return out


def _overlaid(models: list[ModelResults]) -> set[tuple[str, str]]:
    """(suite, axis) pairs with example overlays in some run.json: the overlay figure already
    shows one set of variants through every level, so no contact sheet repeats it."""
    return {(str(e.get("suite")), str(e.get("axis"))) for m in models for run in m.runs
            for e in run.get("overlays") or [] if isinstance(e, dict)}  # fmt: skip


def _sheet_task(root: Path, axis: str, suite: str, manifest: pd.DataFrame, stem: Path,
                caption: str) -> list[Figure]:  # fmt: skip
    """Draw and write one contact sheet (a figure task); none when a variant cannot be read."""
    try:
        fig = contact_sheet(root, axis, suite=suite, manifest=manifest)
    except (OSError, ConfigError, ValueError):
        return []
    files = write_figure(fig, stem, formats_for("png"))
    return [Figure(stem.name, files, caption, f"{axis} contact sheet", "png", "sheet")]


def sheet_section(models: list[ModelResults], figdir: Path,
                  tasks: FigureTasks | None = None) -> Section | None:  # fmt: skip
    """One contact sheet per axis of each reachable manifest (PNG: a plate of pictures), or
    None when none is reachable. The sheets are drawn by ``tasks`` (the caller starts them and
    fills the section, then drops it if no sheet could be drawn); without it, here."""
    now = tasks is None
    tasks = FigureTasks(1) if now else tasks
    seen: set[Path] = set()
    used: set[str] = set()
    shown, skipped = _overlaid(models), False
    sec = Section(text("Contact sheets"), "sheets")
    for m in models:
        for root in _reachable(m):
            if root in seen:
                continue
            seen.add(root)
            try:
                manifest = _read(root)
            except Exception:  # noqa: BLE001 - an unreadable manifest only loses the sheets
                continue
            pairs = manifest[["suite", "axis"]].astype(str).drop_duplicates()
            for suite, axis in pairs[pairs["axis"] != CLEAN].itertuples(index=False):
                if (suite, axis) in shown:
                    skipped = True  # its overlay figure shows the same sources at every level
                    continue
                name = safe_name(f"sheet_{axis}")
                if name in used:  # the same axis name in another suite
                    name = safe_name(f"sheet_{suite}-{axis}")
                used.add(name)
                cap = f"{axis}: one source through every level of the axis ({root.name})."
                sec.add(tasks.add(partial(_sheet_task, root, axis, suite, manifest,
                                          figdir / name, cap), f"contact sheet {name}", 0.4))  # fmt: skip
    if now:
        tasks.fill([sec])
    if not sec.blocks:
        return None
    more = "; axes with example overlays show their variants there instead" if skipped else ""
    intro = Paragraph(text("What each level looks like: one source through every level of each "
                           f"axis (thumbnails, labelled with the level and the image size){more}."))  # fmt: skip
    sec.blocks.insert(0, intro)
    return sec
