"""Crops: move the JPEG grid (and, for odd offsets, the 2x2 CFA phase) without resampling."""

from __future__ import annotations

from dataclasses import field

import numpy as np

from ..backends import get_backend, register_kernel
from ..core.errors import OpError
from ..core.records import record, spec
from ._base import ImageState, OpDef, register_op
from .masks import crop_mask

__all__ = ["CropParams", "crop_numpy", "shift_grid", "cropped_state"]


@record
class CropParams:
    """Cut ``top`` rows and ``left`` columns off, keeping ``height`` x ``width`` (null: to the edge)."""

    top: int = field(default=0, metadata=spec(lo=0))
    left: int = field(default=0, metadata=spec(lo=0))
    height: int | None = field(default=None, metadata=spec(lo=1, doc="null: to the bottom edge"))
    width: int | None = field(default=None, metadata=spec(lo=1, doc="null: to the right edge"))


@register_kernel
def crop_numpy(img: np.ndarray, p: CropParams) -> np.ndarray:
    """``img[top:bottom, left:right]`` (a view); OpError when the window does not fit."""
    h, w = img.shape[:2]
    bottom = h if p.height is None else p.top + p.height
    right = w if p.width is None else p.left + p.width
    if bottom > h or right > w or p.top >= bottom or p.left >= right:
        raise OpError(
            f"crop top={p.top} left={p.left} height={p.height} width={p.width} does not fit "
            f"an image of {h}x{w}; use a smaller crop or offsets"
        )
    return img[p.top : bottom, p.left : right]


def shift_grid(
    grids: tuple[tuple[int, int], ...], top: int, left: int
) -> tuple[tuple[int, int], ...]:
    """Cropping ``top`` rows / ``left`` columns moves a grid at phase (r, c) to ((r-top)%8, (c-left)%8)."""
    return tuple(((r - top) % 8, (c - left) % 8) for r, c in grids)


def cropped_state(state: ImageState, pixels: np.ndarray, top: int, left: int) -> ImageState:
    """The state after cutting ``top`` rows and ``left`` columns off (every crop-like op): the
    earlier JPEG grids, the region in source coordinates and the mask move with the cut."""
    region = None if state.region is None else (state.region[0] + top, state.region[1] + left)
    return state.replace(
        pixels=pixels,
        data=None,
        fmt=None,
        grids=shift_grid(state.grids, top, left),
        region=region,
        lossless_pixels=False,
        mask=crop_mask(state.mask, top, left, pixels.shape[:2]),
    )


def _apply_crop(state: ImageState, p: CropParams, backend: str) -> ImageState:
    pixels = get_backend(backend).kernel("crop")(state.require_pixels("crop"), p)
    return cropped_state(state, pixels, p.top, p.left)


register_op(
    OpDef(
        "crop",
        CropParams,
        ("numpy",),
        _apply_crop,
        mask="geometric",
        doc="crop (top, left, height, width); null size = to the edge",
    )
)
