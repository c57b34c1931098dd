"""Copy-move: a region of the image pasted elsewhere in the same image (rotated, scaled).

The source region's pixels are cut out with its bounding box, rotated by ``angle`` degrees
(counter-clockwise, OpenCV's convention) and scaled by ``scale`` about the box centre (bilinear
for pixels, nearest for the region's mask, replicate border), and pasted with the top-left of the
transformed box at (``dst_top``, ``dst_left``). The output mask (kind ``sets``) marks exactly the
pasted pixels (OR the incoming mask); ``state.meta["source_mask"]`` holds the copied-from region
as a bool HxW array (for ``source_mask_path``; ``run_chain`` moves it through later geometric
steps as it moves the mask; a later copy-move replaces it). With angle 0 and scale 1 the paste is an exact pixel copy.

A planner that does not know the image size gives a :class:`RelRegion` and ``dst_y``, ``dst_x``
(fractions of the free range for the transformed box: 0 top / left, 1 bottom / right) instead of
``dst_top``, ``dst_left``; the kernel resolves both from the image size (pure arithmetic).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import field

import cv2
import numpy as np

from ..backends import get_backend, register_kernel
from ..core.errors import OpError
from ..core.records import record, spec
from ._base import ImageState, OpDef, register_op
from .regions import (
    Region,
    RelRegion,
    blend,
    feather_alpha,
    manipulated_state,
    region_mask,
    resolve_region,
)

__all__ = ["CopyMoveParams", "copy_move_opencv", "transformed_patch"]


@record
class CopyMoveParams:
    """Copy ``region`` to (``dst_top``, ``dst_left``), rotated ``angle`` degrees counter-clockwise
    and scaled by ``scale``; ``region.feather`` softens the paste inward. Give either
    ``dst_top`` and ``dst_left`` (px) or ``dst_y`` and ``dst_x`` (fractions of the free range)."""

    region: Region | RelRegion
    dst_top: int | None = field(default=None, metadata=spec(lo=0))
    dst_left: int | None = field(default=None, metadata=spec(lo=0))
    angle: float = field(default=0.0, metadata=spec(lo=-180.0, hi=180.0))
    scale: float = field(default=1.0, metadata=spec(gt=0.0, hi=8.0))
    dst_y: float | None = field(default=None, metadata=spec(lo=0.0, hi=1.0))
    dst_x: float | None = field(default=None, metadata=spec(lo=0.0, hi=1.0))

    def _check(self) -> None:
        px = (self.dst_top is not None, self.dst_left is not None)
        rel = (self.dst_y is not None, self.dst_x is not None)
        if not ((all(px) and not any(rel)) or (all(rel) and not any(px))):
            raise OpError(
                "dst_top: give dst_top and dst_left (px) or dst_y and dst_x (fractions), "
                f"got dst_top={self.dst_top} dst_left={self.dst_left} "
                f"dst_y={self.dst_y} dst_x={self.dst_x}"
            )


def transformed_patch(
    img: np.ndarray, src: np.ndarray, p: CopyMoveParams
) -> tuple[np.ndarray, np.ndarray]:
    """The source box's pixels and its region mask ``src`` (full size) after the rotation and
    scale, on the smallest box holding the transformed source box."""
    r = p.region
    box = (slice(r.top, r.top + r.height), slice(r.left, r.left + r.width))
    patch, pmask = img[box], src[box]
    if p.angle == 0 and p.scale == 1:
        return patch.copy(), pmask.copy()
    h, w = pmask.shape
    m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), float(p.angle), float(p.scale))
    corners = np.array([[0, 0, 1], [w - 1, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1]], np.float64)
    moved = corners @ m.T
    lo = moved.min(axis=0)
    m[:, 2] -= lo  # the transformed box starts at (0, 0)
    size = (
        max(1, math.floor(moved[:, 0].max() - lo[0] + 1e-9) + 1),
        max(1, math.floor(moved[:, 1].max() - lo[1] + 1e-9) + 1),
    )  # (width, height)
    out = cv2.warpAffine(patch, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    mask = cv2.warpAffine(pmask.astype(np.uint8), m, size, flags=cv2.INTER_NEAREST, borderValue=0)
    return out, mask > 0


@register_kernel
def copy_move_opencv(
    img: np.ndarray, p: CopyMoveParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(output pixels, pasted mask, source mask) for ``img`` (a new array; ``img`` untouched).

    Raises:
        OpError: the source region or the transformed paste does not fit the image.
    """
    h, w = img.shape[:2]
    if isinstance(p.region, RelRegion):
        p = dataclasses.replace(p, region=resolve_region(p.region, h, w))
    src = region_mask(h, w, p.region)
    patch, pmask = transformed_patch(img, src, p)
    ph, pw = pmask.shape
    if p.dst_y is not None:
        top, left = math.floor(p.dst_y * max(0, h - ph)), math.floor(p.dst_x * max(0, w - pw))
        p = dataclasses.replace(p, dst_top=top, dst_left=left, dst_y=None, dst_x=None)
    if p.dst_top + ph > h or p.dst_left + pw > w:
        raise OpError(
            f"copy_move: the {ph}x{pw} paste at dst_top={p.dst_top} dst_left={p.dst_left} "
            f"does not fit an image of {h}x{w}; move it or use a smaller region or scale"
        )
    target = np.zeros((h, w), bool)
    window = (slice(p.dst_top, p.dst_top + ph), slice(p.dst_left, p.dst_left + pw))
    target[window] = pmask
    out = img.copy()
    out[window] = blend(img[window], patch, feather_alpha(pmask, p.region.feather))
    return out, target, src


def _apply_copy_move(state: ImageState, p: CopyMoveParams, backend: str) -> ImageState:
    img = state.require_pixels("copy_move")
    pixels, target, src = get_backend(backend).kernel("copy_move")(img, p)
    return manipulated_state(state, pixels, target, source_mask=src)


register_op(
    OpDef(
        "copy_move",
        CopyMoveParams,
        ("opencv",),
        _apply_copy_move,
        mask="sets",
        doc="copy a region to (dst_top, dst_left), optional rotation and scale; mask = pasted",
    )
)
