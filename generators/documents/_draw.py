"""``draw_field``: re-render one text field of a page with new content (the forger's edit)."""

from __future__ import annotations

import numpy as np

from ._fonts import FONT_FAMILIES, text_alpha
from ._page import blend

__all__ = ["draw_field", "paper_around"]

_TEXT_KINDS = ("text", "amount", "date", "name", "address", "table_cell")


def paper_around(image: np.ndarray, box, ring: int = 2) -> np.ndarray:
    """The paper colour around ``box`` = [top, left, height, width]: the per-channel median of
    a ``ring``-pixel frame just outside it (robust to a rule or a letter touching the frame)."""
    bt, bl, bh, w = (int(v) for v in box)
    H, W = image.shape[:2]
    y0, x0 = max(bt - 1 - ring, 0), max(bl - 1 - ring, 0)
    y1, x1 = min(bt + bh + 1 + ring, H), min(bl + w + 1 + ring, W)
    outer = np.zeros((H, W), bool)
    outer[y0:y1, x0:x1] = True
    outer[max(bt - 1, 0) : bt + bh + 1, max(bl - 1, 0) : bl + w + 1] = False
    pixels = image[outer]
    if pixels.size == 0:
        return np.full(3, 255, np.uint8)
    return np.median(pixels, axis=0).round().astype(np.uint8)


def _check(image: np.ndarray, field: dict, content) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3:
        got = getattr(image, "dtype", type(image).__name__), getattr(image, "shape", None)
        raise TypeError(f"draw_field needs a uint8 HxWx3 RGB array, got {got}; pass page.image")
    name = field.get("name", "?") if isinstance(field, dict) else "?"
    if not isinstance(field, dict) or field.get("kind") not in _TEXT_KINDS or not field.get("font"):
        kind = field.get("kind") if isinstance(field, dict) else type(field).__name__
        msg = (
            f"draw_field: field {name!r} is of kind {kind!r}; only text fields "
            f"({', '.join(_TEXT_KINDS)}) with a recorded font can be re-rendered (copy a "
            "logo/stamp/signature's pixels instead)"
        )
        raise ValueError(msg)
    if not isinstance(content, str) or "\n" in content:
        raise ValueError(
            f"draw_field: new content for {name!r} must be one line of text, got {content!r}"
        )


def draw_field(
    image: np.ndarray,
    field: dict,
    content: str,
    *,
    font: str | None = None,
    size_px: int | None = None,
    dx: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Erase ``field``'s box with the surrounding paper colour and draw ``content`` in its place.

    The new text sits on the field's recorded anchor point (``origin``; a right-aligned amount
    stays right-aligned) shifted ``dx`` pixels to the right, in the field's font or in
    ``font`` (one of FONT_FAMILIES) / ``size_px``, in the field's ``ink`` colour (without
    one, as on a scan, the old field's 2nd-percentile-brightness pixel). Returns
    ``(new_image, mask)``: a new array (the input is untouched) and the bool HxW mask of the
    pixels that changed. Without ``origin`` (e.g. a layout mapped onto a scan) the anchor is
    recovered from the box and the old content, exact when the font is unchanged.
    """
    _check(image, field, content)
    family = font if font is not None else field["font"]["family"]
    if family not in FONT_FAMILIES:
        msg = f"draw_field: font {family!r} is not one of {', '.join(FONT_FAMILIES)}"
        raise ValueError(msg)
    size = int(size_px) if size_px is not None else int(field["font"]["size_px"])
    anchor = field.get("anchor", "ls")
    bt, bl, bh, bw = (int(v) for v in field["box"])
    if "origin" in field:
        oy, ox = (int(v) for v in field["origin"])
    else:
        old = field["font"]
        _, top, left = text_alpha(
            str(field["content"]), old["family"], int(old["size_px"]), (0, 0), anchor
        )
        oy, ox = bt - top, bl - left
    out = image.copy()
    if bh > 0 and bw > 0:
        out[max(bt, 0) : bt + bh, max(bl, 0) : bl + bw] = paper_around(image, (bt, bl, bh, bw))
    if "ink" in field:
        ink = np.asarray(field["ink"], np.uint8)
    else:  # a scan's ink: the old field's pixel at the 2nd percentile of brightness
        patch = image[max(bt, 0) : bt + bh, max(bl, 0) : bl + bw].reshape(-1, 3)
        ink = np.zeros(3, np.uint8)
        if patch.size:
            order = np.argsort(patch.astype(np.int32).sum(axis=1), kind="stable")
            ink = patch[order[int(0.02 * (len(order) - 1))]]
    alpha, top, left = text_alpha(content, family, size, (oy, ox + int(dx)), anchor)
    if alpha.size:
        blend(out, alpha, top, left, ink)
    mask = (out != image).any(axis=2)
    return out, mask
