"""A page being rendered: the pixels, the paper, millimetre coordinates and the field records.

Everything drawn is composited as ``out = (bg * (255 - a) + ink * a + 127) // 255`` from an
8-bit coverage ``a`` (integer arithmetic, so it is exact and machine-independent), and every
field's box is the bounding box of its non-zero coverage: the layout is vector-exact.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from ._fonts import text_alpha

__all__ = ["Page", "blend", "ink_box"]

MM_PER_INCH = 25.4


def blend(
    pixels: np.ndarray, alpha: np.ndarray, top: int, left: int, colour
) -> tuple[int, int, int, int] | None:
    """Composite ``colour`` with coverage ``alpha`` onto ``pixels`` (in place) at (top, left).

    Returns the page box ``(top, left, height, width)`` of the pixels actually covered
    (clipped to the page and to non-zero coverage), or None when nothing landed on the page.
    """
    h, w = pixels.shape[:2]
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + alpha.shape[0], h), min(left + alpha.shape[1], w)
    if y1 <= y0 or x1 <= x0:
        return None
    a = alpha[y0 - top : y1 - top, x0 - left : x1 - left].astype(np.uint32)[..., None]
    region = pixels[y0:y1, x0:x1]
    ink = np.asarray(colour, np.uint32).reshape(1, 1, 3)
    region[...] = ((region.astype(np.uint32) * (255 - a) + ink * a + 127) // 255).astype(np.uint8)
    return ink_box(alpha[y0 - top : y1 - top, x0 - left : x1 - left], y0, x0)


def ink_box(alpha: np.ndarray, top: int, left: int) -> tuple[int, int, int, int] | None:
    """The (top, left, height, width) page box of the non-zero entries of ``alpha``."""
    rows = np.flatnonzero(alpha.any(axis=1))
    cols = np.flatnonzero(alpha.any(axis=0))
    if rows.size == 0:
        return None
    return (
        top + int(rows[0]),
        left + int(cols[0]),
        int(rows[-1] - rows[0] + 1),
        int(cols[-1] - cols[0] + 1),
    )


class Page:
    """A blank page of ``width_mm`` x ``height_mm`` at ``dpi``, drawn on in millimetres.

    ``scale`` multiplies every millimetre coordinate and point size, so one layout designed for
    a reference width fits a narrower or wider page.
    """

    def __init__(self, width_mm: float, height_mm: float, dpi: int, paper, ink, scale: float):
        self.dpi = dpi
        self.scale = scale
        self.width_mm, self.height_mm = width_mm, height_mm
        w = int(round(width_mm / MM_PER_INCH * dpi))
        h = int(round(height_mm / MM_PER_INCH * dpi))
        self.paper = tuple(int(c) for c in paper)
        self.ink = tuple(int(c) for c in ink)
        row = np.tile(np.asarray(self.paper, np.uint8), w)  # one row, then a contiguous copy
        self.pixels = np.broadcast_to(row, (h, w * 3)).reshape(h, w, 3).copy()
        self.fields: list[dict] = []

    # -- units -----------------------------------------------------------------------------
    def px(self, mm: float) -> int:
        """Layout millimetres (before ``scale``) to page pixels."""
        return int(round(mm * self.scale / MM_PER_INCH * self.dpi))

    def size_px(self, pt: float) -> int:
        """A type size in points (before ``scale``) to a pixel em size (at least 4)."""
        return max(4, int(round(pt * self.scale / 72 * self.dpi)))

    @property
    def bottom_mm(self) -> float:
        """The page height in layout millimetres (what ``px`` maps to the last row)."""
        return self.height_mm / self.scale

    @property
    def right_mm(self) -> float:
        """The page width in layout millimetres."""
        return self.width_mm / self.scale

    # -- fields ----------------------------------------------------------------------------
    def text(self, name, kind, content, x_mm, y_mm, family, pt, anchor="ls", ink=None) -> dict:
        """Draw one line of text with its baseline anchor at (x_mm, y_mm) and record it."""
        size = self.size_px(pt)
        origin = (self.px(y_mm), self.px(x_mm))
        colour = tuple(ink) if ink is not None else self.ink
        alpha, top, left = text_alpha(content, family, size, origin, anchor)
        box = blend(self.pixels, alpha, top, left, colour) if alpha.size else None
        return self._record(
            name,
            kind,
            content,
            box,
            {"family": family, "size_px": size},
            origin=list(origin),
            anchor=anchor,
            ink=list(colour),
        )

    def mark(self, name, kind, content, alpha, top, left, colour, params: dict) -> dict:
        """Composite a drawn mark (logo, stamp, signature) and record it with its parameters."""
        box = blend(self.pixels, alpha, top, left, colour)
        return self._record(
            name, kind, content, box, None, origin=[top, left], ink=list(colour), mark=params
        )

    def _record(self, name, kind, content, box, font, **extra) -> dict:
        if any(f["name"] == name for f in self.fields):
            raise ValueError(f"document field name {name!r} used twice; names must be unique")
        if box is None:
            box = (0, 0, 0, 0)
        field = {"name": name, "kind": kind, "content": content, "box": list(box), "font": font}
        field.update(extra)
        self.fields.append(field)
        return field

    def width_of(self, content: str, family: str, pt: float) -> float:
        """The advance width of ``content`` in layout millimetres."""
        from ._fonts import text_width

        return text_width(content, family, self.size_px(pt)) / (self.scale / MM_PER_INCH * self.dpi)

    # -- graphics (not fields) -------------------------------------------------------------
    def line(self, x0_mm, y0_mm, x1_mm, y1_mm, width_mm=0.3, colour=None) -> None:
        """A straight rule (table lines, form boxes), drawn with square ends."""
        colour = tuple(colour) if colour is not None else self.ink
        w = max(1, self.px(width_mm))
        y0, x0, y1, x1 = self.px(y0_mm), self.px(x0_mm), self.px(y1_mm), self.px(x1_mm)
        top, left = min(y0, y1) - w // 2, min(x0, x1) - w // 2
        alpha = np.zeros((abs(y1 - y0) + w, abs(x1 - x0) + w), np.uint8)
        if y0 == y1 or x0 == x1:
            alpha[...] = 255
        else:  # a diagonal: Pillow's line rasterizer, no antialiasing
            canvas = Image.fromarray(alpha)
            ImageDraw.Draw(canvas).line(
                (x0 - left, y0 - top, x1 - left, y1 - top), fill=255, width=w
            )
            alpha = np.asarray(canvas)
        blend(self.pixels, alpha, top, left, colour)

    def rect(self, x0_mm, y0_mm, x1_mm, y1_mm, width_mm=0.3, colour=None, fill=None) -> None:
        """A rectangle outline (and an optional flat fill) between two corners."""
        if fill is not None:
            y0, x0, y1, x1 = self.px(y0_mm), self.px(x0_mm), self.px(y1_mm), self.px(x1_mm)
            self.pixels[y0:y1, x0:x1] = fill
        for a, b, c, d in (
            (x0_mm, y0_mm, x1_mm, y0_mm),
            (x0_mm, y1_mm, x1_mm, y1_mm),
            (x0_mm, y0_mm, x0_mm, y1_mm),
            (x1_mm, y0_mm, x1_mm, y1_mm),
        ):
            self.line(a, b, c, d, width_mm, colour)
