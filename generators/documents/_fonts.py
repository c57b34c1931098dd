"""The DejaVu fonts matplotlib ships, by family name, and single-line text rasterized to an alpha.

Only matplotlib's copies are used (never a system font), with Pillow's BASIC layout engine (no
libraqm shaping), so the same Pillow/FreeType gives the same glyph bitmaps on every machine.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = ["FONT_FAMILIES", "font_path", "load_font", "text_alpha", "ANCHORS"]

# family name -> matplotlib's DejaVu file; several families/styles so forged text can differ subtly
_FILES = {
    "sans": "DejaVuSans.ttf",
    "sans-bold": "DejaVuSans-Bold.ttf",
    "sans-oblique": "DejaVuSans-Oblique.ttf",
    "serif": "DejaVuSerif.ttf",
    "serif-bold": "DejaVuSerif-Bold.ttf",
    "serif-italic": "DejaVuSerif-Italic.ttf",
    "mono": "DejaVuSansMono.ttf",
    "mono-bold": "DejaVuSansMono-Bold.ttf",
}
FONT_FAMILIES: tuple[str, ...] = tuple(_FILES)
# where the recorded origin sits on the text: left/right/middle of the baseline
ANCHORS = ("ls", "rs", "ms")


@functools.cache
def _font_dir() -> Path:
    import matplotlib  # function-level: only documents need it

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def font_path(family: str) -> Path:
    """The TTF file of ``family`` (one of FONT_FAMILIES) inside matplotlib's data folder."""
    if family not in _FILES:
        msg = (
            f"font family {family!r} is not one of the document fonts; "
            f"use one of {', '.join(FONT_FAMILIES)}"
        )
        raise ValueError(msg)
    path = _font_dir() / _FILES[family]
    if not path.is_file():
        msg = (
            f"font file {path} for family {family!r} is missing from matplotlib's data; "
            "reinstall matplotlib (pip install --force-reinstall matplotlib)"
        )
        raise FileNotFoundError(msg)
    return path


@functools.lru_cache(maxsize=64)
def load_font(family: str, size_px: int) -> ImageFont.FreeTypeFont:
    """``family`` at ``size_px`` pixels (the em size), laid out without libraqm."""
    if not isinstance(size_px, int) or isinstance(size_px, bool) or size_px < 1:
        msg = f"font size_px must be an integer >= 1 pixel, got {size_px!r}; pass a larger size"
        raise ValueError(msg)
    return ImageFont.truetype(str(font_path(family)), size_px, layout_engine=ImageFont.Layout.BASIC)


def text_alpha(
    text: str, family: str, size_px: int, origin: tuple[int, int], anchor: str = "ls"
) -> tuple[np.ndarray, int, int]:
    """Rasterize one line of ``text`` with its anchor point at ``origin`` = (y, x) page pixels.

    Returns ``(alpha, top, left)``: a uint8 coverage array cropped to its ink (every row and
    column holds a non-zero pixel) and the page position of its top-left pixel. Empty ink gives
    a 0x0 array at the origin.
    """
    if anchor not in ANCHORS:
        msg = f"text anchor {anchor!r} is not supported; use one of {', '.join(ANCHORS)}"
        raise ValueError(msg)
    font = load_font(family, size_px)
    left, top, right, bottom = font.getbbox(text, anchor=anchor)
    w, h = max(right - left, 0), max(bottom - top, 0)
    y0, x0 = origin
    if w == 0 or h == 0:
        return np.zeros((0, 0), np.uint8), y0, x0
    canvas = Image.new("L", (w + 2, h + 2), 0)
    ImageDraw.Draw(canvas).text((1 - left, 1 - top), text, fill=255, font=font, anchor=anchor)
    alpha = np.asarray(canvas)
    rows = np.flatnonzero(alpha.any(axis=1))
    cols = np.flatnonzero(alpha.any(axis=0))
    if rows.size == 0:
        return np.zeros((0, 0), np.uint8), y0, x0
    crop = alpha[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].copy()
    return crop, y0 + top - 1 + int(rows[0]), x0 + left - 1 + int(cols[0])


def text_width(text: str, family: str, size_px: int) -> int:
    """The advance width of ``text`` in pixels (for wrapping and right alignment)."""
    return int(round(load_font(family, size_px).getlength(text)))
