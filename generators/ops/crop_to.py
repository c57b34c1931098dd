"""Crop to an aspect ratio (``4:5``, ``1:1``, ``1.91:1``), to an allowed range of ratios, or to a
fixed size, anchored at the centre, an edge or a corner. No resampling: earlier JPEG grids move
with the crop offset (as with ``crop``) and the region stays known.

Ratios are ``W:H``. An exact ``aspect`` keeps the largest window of that ratio; ``min_aspect`` /
``max_aspect`` crop only an image outside the range, to the nearest bound (Instagram's feed
accepts 4:5 to 1.91:1). The cropped side is ``floor(other side * ratio + 0.5)`` (at least 1).
"""

from __future__ import annotations

import math
from dataclasses import field
from fractions import Fraction

from ..core.errors import OpError
from ..core.messages import short_repr
from ..core.records import record, spec
from ._base import ImageState, OpDef, register_op
from .crop import cropped_state

__all__ = ["CropToParams", "ANCHORS", "parse_ratio", "crop_window"]

ANCHORS = (
    "center",
    "top",
    "bottom",
    "left",
    "right",
    "top-left",
    "top-right",
    "bottom-left",
    "bottom-right",
)


def parse_ratio(text: object, name: str) -> Fraction:
    """``"4:5"`` -> 4/5 (width over height); both parts positive finite numbers."""
    if not isinstance(text, str) or text.count(":") != 1:
        raise OpError(f"{name}: must be a ratio 'W:H' such as '4:5' or '1.91:1', got {short_repr(text)}")
    try:
        w, h = (Fraction(part.strip()) for part in text.split(":"))
    except (ValueError, ZeroDivisionError):
        raise OpError(f"{name}: must be a ratio 'W:H' of two numbers, got {short_repr(text)}") from None
    if w <= 0 or h <= 0:
        raise OpError(f"{name}: both sides of the ratio must be > 0, got {short_repr(text)}")
    return w / h


@record
class CropToParams:
    """Exactly one of ``aspect``, (``min_aspect`` and/or ``max_aspect``), ``size`` ([h, w])."""

    aspect: str | None = field(default=None, metadata=spec(doc="'W:H', e.g. '4:5'"))
    min_aspect: str | None = field(default=None, metadata=spec(doc="crop narrower images to it"))
    max_aspect: str | None = field(default=None, metadata=spec(doc="crop wider images to it"))
    size: tuple[int, int] | None = field(default=None, metadata=spec(lo=1, doc="[h, w]"))
    anchor: str = field(default="center", metadata=spec(choices=ANCHORS))

    def _check(self) -> None:
        given = [
            self.aspect is not None,
            self.min_aspect is not None or self.max_aspect is not None,
            self.size is not None,
        ]
        if sum(given) != 1:
            raise OpError(
                "crop_to: give exactly one of aspect, min_aspect/max_aspect, size; got "
                f"aspect={self.aspect!r}, min_aspect={self.min_aspect!r}, "
                f"max_aspect={self.max_aspect!r}, size={self.size!r}"
            )
        for name in ("aspect", "min_aspect", "max_aspect"):
            if getattr(self, name) is not None:
                parse_ratio(getattr(self, name), name)
        if self.min_aspect is not None and self.max_aspect is not None:
            if parse_ratio(self.min_aspect, "min_aspect") > parse_ratio(
                self.max_aspect, "max_aspect"
            ):
                raise OpError(
                    f"min_aspect {self.min_aspect!r} is wider than max_aspect {self.max_aspect!r}"
                )


def _half_up(x: Fraction) -> int:
    return max(1, math.floor(x + Fraction(1, 2)))


def _window_for_ratio(h: int, w: int, r: Fraction) -> tuple[int, int]:
    if Fraction(w, h) > r:  # too wide: keep the height
        return h, min(w, _half_up(h * r))
    return min(h, _half_up(w / r)), w


def crop_window(h: int, w: int, p: CropToParams) -> tuple[int, int, int, int]:
    """(top, left, height, width) of the crop of an ``h`` x ``w`` image."""
    if p.size is not None:
        ch, cw = p.size
        if ch > h or cw > w:
            raise OpError(
                f"crop_to size {ch}x{cw} does not fit an image of {h}x{w}; use smaller sizes "
                f"or an aspect ratio"
            )
    elif p.aspect is not None:
        ch, cw = _window_for_ratio(h, w, parse_ratio(p.aspect, "aspect"))
    else:
        ch, cw, r = h, w, Fraction(w, h)
        if p.min_aspect is not None and r < parse_ratio(p.min_aspect, "min_aspect"):
            ch, cw = _window_for_ratio(h, w, parse_ratio(p.min_aspect, "min_aspect"))
        elif p.max_aspect is not None and r > parse_ratio(p.max_aspect, "max_aspect"):
            ch, cw = _window_for_ratio(h, w, parse_ratio(p.max_aspect, "max_aspect"))
    parts = set(p.anchor.split("-"))
    top = 0 if "top" in parts else (h - ch if "bottom" in parts else (h - ch) // 2)
    left = 0 if "left" in parts else (w - cw if "right" in parts else (w - cw) // 2)
    return top, left, ch, cw


def _apply_crop_to(state: ImageState, p: CropToParams, backend: str) -> ImageState:
    img = state.require_pixels("crop_to")
    h, w = img.shape[:2]
    top, left, ch, cw = crop_window(h, w, p)
    if (top, left, ch, cw) == (0, 0, h, w):
        return state  # already the right shape: untouched
    return cropped_state(state, img[top : top + ch, left : left + cw], top, left)


register_op(
    OpDef(
        "crop_to",
        CropToParams,
        ("numpy",),
        _apply_crop_to,
        mask="geometric",
        doc="crop to an aspect ratio W:H, a range of ratios or a fixed [h, w], at an anchor",
    )
)
