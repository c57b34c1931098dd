"""Synthetic document pages (invoice, receipt, letter, form) with a vector-exact layout.

Pages are drawn with Pillow from seeded content (names, addresses, dates, amounts, an item
table, a logo, an ink stamp, a handwritten-like signature) in the DejaVu fonts matplotlib ships.
Every field's content, font and ink bounding box is recorded, so forgeries can target fields
and their masks are exact.

    from degradebench.generators.documents import render_document, draw_field
    page = render_document("invoice", seed=7, dpi=150)      # page.image: uint8 HxWx3
    total = next(f for f in page.layout["fields"] if f["name"] == "total")
    forged, mask = draw_field(page.image, total, "9,999.00")  # mask: the changed pixels
"""

from __future__ import annotations

from ._draw import draw_field, paper_around
from ._fonts import FONT_FAMILIES, font_path, load_font
from ._marks import redraw as redraw_mark
from ._render import DOCUMENT_KINDS, PAGE_MM, RenderedPage, render_document

__all__ = [
    "DOCUMENT_KINDS",
    "FONT_FAMILIES",
    "PAGE_MM",
    "RenderedPage",
    "render_document",
    "draw_field",
    "paper_around",
    "redraw_mark",
    "font_path",
    "load_font",
]
