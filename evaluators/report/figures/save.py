"""Writing the report's figure files: each format once, one layout per figure, in parallel.

What each renderer needs decides the formats (:data:`FORMATS`): Markdown links the PNG, HTML
inlines the PNG as a data URI (an SVG only where one exists: figures written by
:func:`~.base.save_figure`), LaTeX includes a chart's PDF (``embed="svg"``: a vector drawing)
or a raster figure's PNG (``embed="png"``: heat maps, overlays, contact sheets). So a chart is
written as PNG + PDF and a raster figure as PNG only (an SVG would be a third drawing of the
same chart, read by nothing; a PDF of a picture would only wrap the same pixels).

:func:`write_figure` lays the figure out once, in the Agg draw that renders the PNG (cropped to
the box of its ink plus padding), and writes the vector formats with that layout and box: one
draw per format, and no layout engine left to run again (nor a second walk over the artists).
:class:`FigureTasks` draws and writes a report's figures (a task per axis, one per contact
sheet) in forked worker processes where the platform forks (Linux) and there are several cores,
while the parent builds the tables; the files are the same as a sequential run's.
"""

from __future__ import annotations

import gc
import os
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DPI", "FORMATS", "formats_for", "write_figure", "FigureTasks", "Pending",
           "default_workers"]  # fmt: skip

DPI = 200  # every PNG the report writes (pHYs records it); SVG and PDF are vector
FORMATS = {"svg": ("png", "pdf"), "png": ("png",)}  # by kind: vector chart, raster figure
_PNG_LEVEL = 3  # zlib level: 3-4x faster than Pillow's 6 on 2000 px sheets, ~7% larger files
_Z_RLE = 3  # zlib strategy for pictures (PNG-only figures): ~40% faster on photos, +10% size
_MAX_WORKERS = 8


def formats_for(embed: str) -> tuple[str, ...]:
    """The formats a figure embedded as ``embed`` (``svg`` or ``png``) is written in."""
    if embed not in FORMATS:
        raise ValueError(f"figure embed must be one of {', '.join(FORMATS)}, got {embed!r}")
    return FORMATS[embed]


def _kwargs(fmt: str) -> dict:
    """savefig arguments per format: no timestamps or tool names, so reruns give equal bytes."""
    if fmt == "png":
        return {"dpi": DPI, "metadata": {"Software": None},
                "pil_kwargs": {"compress_level": _PNG_LEVEL}}  # fmt: skip
    if fmt == "svg":
        return {"metadata": {"Date": None, "Creator": None}}
    if fmt == "pdf":
        return {"metadata": {"CreationDate": None, "Creator": None, "Producer": None}}
    raise ValueError(f"figure format must be png, svg or pdf, got {fmt!r}")


def write_figure(fig, stem: Path, formats: tuple[str, ...]) -> dict[str, Path]:
    """Write ``stem.<fmt>`` for each of ``formats`` (cropped to the drawing's tight box plus
    the usual padding); returns the files by format.

    With a PNG among them, one Agg draw at :data:`DPI` both lays the figure out (the layout
    engine runs inside it, measuring text with the renderer that then draws it) and renders
    the PNG, cropped here to the box of its drawn pixels (the artists' tight box where ink
    reaches the canvas's edge); SVG and PDF then reuse that layout and box, drawn once each.
    """
    import matplotlib as mpl
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    files = {f: Path(stem).with_suffix(f".{f}") for f in formats}
    pad = mpl.rcParams["savefig.pad_inches"]
    canvas = FigureCanvasAgg(fig)  # a canvas that measures text without a display
    if "png" in files:
        dpi = fig.dpi
        fig.dpi = DPI
        try:
            canvas.draw()  # the one layout pass and the PNG's pixels
            _keep_layout(fig)
            ink = _ink_bbox(canvas)  # from the pixels: no second walk over every artist
            tight = ink if ink is not None else fig.get_tightbbox(canvas.get_renderer())
            bbox = tight.padded(pad)
            if ink is not None or _inside(tight, fig):
                _write_png(canvas, bbox, files["png"], picture=tuple(formats) == ("png",))
            else:  # text reaching past the figure: a canvas as big as the box
                fig.savefig(files["png"], format="png", bbox_inches=bbox, **_kwargs("png"))
        finally:
            fig.dpi = dpi
    else:
        if fig.get_layout_engine() is not None:
            fig.draw_without_rendering()  # the one layout pass
        _keep_layout(fig)
        bbox = fig.get_tightbbox().padded(pad)
    for fmt, path in files.items():
        if fmt != "png":
            fig.savefig(path, format=fmt, bbox_inches=bbox, **_kwargs(fmt))
    return files


def _keep_layout(fig) -> None:
    """Keep the positions the layout pass found: no layout engine at all from here on (a
    "none" placeholder engine would make every ``savefig`` draw the figure twice)."""
    import matplotlib as mpl

    with mpl.rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
        fig.set_layout_engine(None)


def _ink_bbox(canvas):
    """The box (inches) of the drawn pixels that are not the white figure face, or None when
    they touch the canvas's edge (something may reach past it: the caller measures the artists
    instead) or the face is not opaque white."""
    import numpy as np
    from matplotlib.transforms import Bbox

    w, h = canvas.get_width_height(physical=True)
    px = np.frombuffer(canvas.buffer_rgba(), dtype=np.uint32).reshape(h, w)
    ink = px != np.uint32(0xFFFFFFFF)  # white, opaque, in any byte order
    rows = np.flatnonzero(ink.any(axis=1))
    if not len(rows) or rows[0] == 0 or rows[-1] == h - 1:
        return None
    cols = np.flatnonzero(ink[rows[0] : rows[-1] + 1].any(axis=0))
    if cols[0] == 0 or cols[-1] == w - 1:
        return None
    return Bbox.from_extents(cols[0] / DPI, (h - 1 - rows[-1]) / DPI, (cols[-1] + 1) / DPI,
                             (h - rows[0]) / DPI)  # fmt: skip


def _inside(bbox, fig) -> bool:
    """Whether ``bbox`` (inches) lies within the figure, up to half a pixel."""
    w, h = fig.get_size_inches()
    e = 0.5 / DPI
    return bbox.x0 >= -e and bbox.y0 >= -e and bbox.x1 <= w + e and bbox.y1 <= h + e


def _write_png(canvas, bbox, path: Path, picture: bool = False) -> None:
    """The part of the canvas's full-figure render at :data:`DPI` inside ``bbox`` (inches; white
    where the padding reaches past the figure) as an RGB PNG: what ``savefig(bbox_inches=bbox)``
    writes, without drawing again. The figure is opaque (a white face), so alpha is dropped.
    ``picture``: mostly photo pixels (heat maps, overlays, sheets): run-length zlib."""
    from PIL import Image

    w, h = canvas.get_width_height(physical=True)
    full = Image.frombuffer("RGBA", (w, h), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    x0, x1 = round(bbox.x0 * DPI), round(bbox.x1 * DPI)
    y0, y1 = h - round(bbox.y1 * DPI), h - round(bbox.y0 * DPI)  # rows count from the top
    box = (max(x0, 0), max(y0, 0), min(x1, w), min(y1, h))
    out = Image.new("RGB", (max(x1 - x0, 1), max(y1 - y0, 1)), "white")
    out.paste(full.crop(box).convert("RGB"), (box[0] - x0, box[1] - y0))
    extra = {"compress_type": _Z_RLE} if picture else {}
    out.save(path, format="png", dpi=(DPI, DPI), compress_level=_PNG_LEVEL, **extra)


def default_workers() -> int:
    """Worker processes for writing figures: the cores this process may use, at most 8."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, min(n, _MAX_WORKERS))


@dataclass
class Pending:
    """A place in a document section for what figure task ``index`` returns (its blocks)."""

    index: int
    formats: frozenset = frozenset({"md", "html", "tex"})


_TASKS: list = []  # what forked workers run (inherited at the fork, never pickled)


def _run_task(i: int) -> list:
    return _TASKS[i]()


class FigureTasks:
    """Figure work -- draw and write, returning the document blocks that show the files --
    registered with :meth:`add`, begun by :meth:`start` in ``workers`` forked processes (Linux,
    2+ workers and tasks; the caller meanwhile builds the tables) and put in place by
    :meth:`fill`. With one worker, or where nothing forks, :meth:`fill` runs each task here, in
    order. Drawing is most of a report's time, so it runs in the workers too, not only the
    writing: a task draws one axis's figures or one contact sheet."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else max(int(workers), 1)
        self.tasks: list[tuple] = []  # (callable, what, cost)
        self._pool = None
        self._futures: dict[int, object] = {}

    def add(self, fn, what: str, cost: float = 1.0) -> Pending:
        """Register ``fn`` (no arguments; returns a list of blocks); ``what`` names it in
        errors, ``cost`` orders the work (biggest first). Returns its place holder."""
        if self._pool is not None:
            raise RuntimeError("report: figure task added after the workers started (a bug)")
        self.tasks.append((fn, what, float(cost)))
        return Pending(len(self.tasks) - 1)

    def start(self) -> None:
        """Begin the tasks in forked workers (when that helps: see the class)."""
        n = min(self.workers, len(self.tasks))
        if n < 2 or not _forks():
            return
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        import matplotlib.backends.backend_pdf  # noqa: F401 - once here, not once per worker

        global _TASKS
        _TASKS = [fn for fn, _, _ in self.tasks]
        order = sorted(range(len(self.tasks)), key=lambda i: -self.tasks[i][2])
        gc.freeze()  # the workers' garbage collector leaves the parent's objects (pages) alone
        try:
            self._pool = ProcessPoolExecutor(n, mp_context=mp.get_context("fork"))
            self._futures = {i: self._pool.submit(_run_task, i) for i in order}
        finally:
            gc.unfreeze()

    def result(self, i: int) -> list:
        """What task ``i`` returned (run here unless a worker ran it; a dead worker's task is
        run here again)."""
        from concurrent.futures.process import BrokenProcessPool

        fn, what, _ = self.tasks[i]
        fut = self._futures.get(i)
        try:
            if fut is not None:
                try:
                    return fut.result()
                except BrokenProcessPool:
                    pass
            return fn()
        except OSError as exc:
            raise OSError(f"report: could not write {what}: {exc} (check the folder is "
                          "writable and has space)") from exc  # fmt: skip

    def fill(self, sections: list) -> None:
        """Replace every :class:`Pending` in ``sections`` (their ``blocks``) by its task's
        blocks, then let the workers go."""
        try:
            for s in sections:
                blocks = []
                for b in s.blocks:
                    blocks += self.result(b.index) if isinstance(b, Pending) else [b]
                s.blocks = blocks
        finally:
            self.close()

    def close(self) -> None:
        """Let the workers go (each figure not asked for is dropped)."""
        global _TASKS
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            _TASKS = []  # the views and figures they hold


def _forks() -> bool:
    """Whether figures can be drawn in forked workers (Linux: fork is the default there)."""
    return sys.platform.startswith("linux")
