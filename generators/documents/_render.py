"""``render_document``: one seeded page of a given kind, with its vector-exact layout."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.provenance import derive_seed
from ._page import Page

__all__ = ["DOCUMENT_KINDS", "PAGE_MM", "RenderedPage", "render_document"]

DOCUMENT_KINDS: tuple[str, ...] = ("invoice", "receipt", "letter", "form")
# default (width, height) in mm; None height = as long as the content (a receipt roll)
PAGE_MM: dict[str, tuple[float, float | None]] = {
    "invoice": (210.0, 297.0),
    "receipt": (80.0, None),
    "letter": (210.0, 297.0),
    "form": (148.0, 210.0),
}
_DPI_RANGE = (50, 1200)


@dataclass(frozen=True)
class RenderedPage:
    """A rendered document: ``image`` (uint8 HxWx3 RGB) and ``layout`` (a JSON-able dict:
    ``kind, seed, dpi, size: [h, w], page_mm, paper, fields: [...]``; each field has ``name,
    kind, content, box: [top, left, height, width], font: {family, size_px} | null`` plus
    ``origin: [y, x]`` (the text anchor point, or a mark's top-left), ``anchor`` (text only:
    ``ls`` left/``rs`` right/``ms`` middle of the baseline), ``ink: [r, g, b]`` and, for a
    logo/stamp/signature, ``mark`` (its drawn parameters and seed))."""

    image: np.ndarray
    layout: dict


def _style(rng: np.random.Generator, kind: str) -> dict:
    """The document's look: fonts, colours, date and money formats."""
    serif = bool(rng.random() < 0.4)
    family = "serif" if serif else "sans"
    tint = int(rng.integers(0, 6))
    ink = int(rng.integers(10, 40))
    accents = ((30, 60, 120), (120, 30, 40), (20, 90, 70), (60, 60, 60), (150, 80, 10))
    return {
        "family": family,
        "bold": f"{family}-bold",
        "italic": "serif-italic" if serif else "sans-oblique",
        "paper": (255 - tint, 255 - tint, 255 - 2 * tint),
        "ink": (ink, ink, ink + 6),
        "accent": accents[int(rng.integers(len(accents)))],
        "pen": (int(rng.integers(10, 40)), int(rng.integers(20, 50)), int(rng.integers(90, 150))),
        "stamp": ((170, 30, 40), (40, 60, 160), (40, 110, 60))[int(rng.integers(3))],
        "shade": (232, 232, 236),
        "rule": (150, 150, 150),
        "date_format": ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%B %d, %Y", "%d %b %Y")[
            int(rng.integers(5))
        ],
        "money": "de" if rng.random() < 0.35 else "en",
        "currency": ("EUR", "USD", "GBP", "CHF")[int(rng.integers(4))],
    }


def _check(kind: str, seed: int, dpi: int, page_mm) -> tuple[float, float] | None:
    if kind not in DOCUMENT_KINDS:
        raise ValueError(
            f"document kind {kind!r} is unknown; use one of {', '.join(DOCUMENT_KINDS)}"
        )
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"render_document seed must be a non-negative integer, got {seed!r}")
    if not isinstance(dpi, (int, np.integer)) or not _DPI_RANGE[0] <= dpi <= _DPI_RANGE[1]:
        msg = (
            f"render_document dpi must be an integer {_DPI_RANGE[0]}..{_DPI_RANGE[1]}, got {dpi!r}"
        )
        raise ValueError(msg)
    if page_mm is None:
        return None
    try:
        w, h = (float(v) for v in page_mm)
    except (TypeError, ValueError):
        w = h = -1.0
    if not (20 <= w <= 1000 and 20 <= h <= 2000):
        msg = (
            f"render_document page_mm must be (width_mm, height_mm), 20..1000 x 20..2000, got "
            f"{page_mm!r}; e.g. (210, 297) for A4 portrait"
        )
        raise ValueError(msg)
    return w, h


def render_document(kind: str, seed: int, *, dpi: int = 150, page_mm=None) -> RenderedPage:
    """Render one ``kind`` page (see DOCUMENT_KINDS) from ``seed`` at ``dpi``.

    ``page_mm`` is (width_mm, height_mm); the default is A4 for invoices and letters, A5 for
    forms, and an 80 mm roll as long as its items for receipts. The layout scales with the
    width; content that does not fit the height is shortened (fewer rows/lines). The content
    depends on (kind, seed) only, never on dpi: the same seed at 150 and 300 dpi is the same
    document. Same arguments -> byte-identical image and layout.
    """
    from ._invoice import draw_invoice, draw_receipt, receipt_height_mm
    from ._letter import draw_form, draw_letter

    size = _check(kind, seed, dpi, page_mm)
    rng = np.random.default_rng(derive_seed(int(seed), "documents", kind))
    style = _style(rng, kind)
    ref_w, ref_h = PAGE_MM[kind]
    items = int(rng.integers(3, 9)) if kind == "receipt" else 0
    if size is None:
        size = (ref_w, ref_h if ref_h is not None else receipt_height_mm(items))
    scale = size[0] / ref_w
    page = Page(size[0], size[1], int(dpi), style["paper"], style["ink"], scale)
    if kind == "invoice":
        draw_invoice(page, rng, style)
    elif kind == "receipt":
        fit = int((page.bottom_mm - receipt_height_mm(0)) // 5)
        if fit < 1:
            msg = f"receipt page {size[0]:.0f}x{size[1]:.0f} mm holds no item line; make it longer"
            raise ValueError(msg)
        draw_receipt(page, rng, style, min(items, fit))
    elif kind == "letter":
        draw_letter(page, rng, style)
    else:
        draw_form(page, rng, style)
    h, w = page.pixels.shape[:2]
    layout = {
        "kind": kind,
        "seed": int(seed),
        "dpi": int(dpi),
        "size": [h, w],
        "page_mm": [round(size[0], 3), round(size[1], 3)],
        "paper": list(page.paper),
        "fields": page.fields,
    }
    return RenderedPage(page.pixels, layout)
