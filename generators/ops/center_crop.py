"""Centre crop to a fixed size: ``top = (h - height) // 2``, ``left = (w - width) // 2``."""

from __future__ import annotations

from dataclasses import field

from ..core.errors import OpError
from ..core.records import record, spec
from ._base import ImageState, OpDef, register_op
from .crop import cropped_state

__all__ = ["CenterCropParams", "center_offsets"]


@record
class CenterCropParams:
    """The size of the centre crop in pixels."""

    height: int = field(metadata=spec(lo=1))
    width: int = field(metadata=spec(lo=1))


def center_offsets(h: int, w: int, p: CenterCropParams) -> tuple[int, int]:
    """(top, left) of the centre crop; an odd margin leaves the extra row/column at the bottom/right."""
    if p.height > h or p.width > w:
        raise OpError(
            f"center_crop {p.height}x{p.width} does not fit an image of {h}x{w}; "
            f"use sources at least that large"
        )
    return (h - p.height) // 2, (w - p.width) // 2


def _apply_center_crop(state: ImageState, p: CenterCropParams, backend: str) -> ImageState:
    img = state.require_pixels("center_crop")
    top, left = center_offsets(img.shape[0], img.shape[1], p)
    return cropped_state(state, img[top : top + p.height, left : left + p.width], top, left)


register_op(
    OpDef(
        "center_crop",
        CenterCropParams,
        ("numpy",),
        _apply_center_crop,
        mask="geometric",
        doc="centre crop to height x width (top = (h - height) // 2, left = (w - width) // 2)",
    )
)
