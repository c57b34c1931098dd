"""Inpainting: a region removed and filled from its surroundings by OpenCV (Telea or Navier-Stokes).

The mask (kind ``sets``) is the region OR the incoming mask. Only region pixels change: the
filled pixels are blended back into the input with the region's (inward) feather, so every pixel
outside the region is the input's, exactly.
``region`` may be a ``RelRegion`` (placed relative to the image; resolved from its size).
"""

from __future__ import annotations

from dataclasses import field

import cv2
import numpy as np

from ..backends import get_backend, register_kernel
from ..core.records import record, spec
from ._base import ImageState, OpDef, register_op
from .regions import Region, RelRegion, blend, feather_alpha, manipulated_state, region_mask

__all__ = ["InpaintParams", "INPAINT_METHODS", "inpaint_opencv"]

INPAINT_METHODS = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}


@record
class InpaintParams:
    """Fill ``region`` by ``method`` (``telea`` | ``ns``) from a neighbourhood of ``radius`` px."""

    region: Region | RelRegion
    method: str = field(default="telea", metadata=spec(choices=tuple(INPAINT_METHODS)))
    radius: float = field(default=3.0, metadata=spec(gt=0.0, hi=64.0))


@register_kernel
def inpaint_opencv(img: np.ndarray, mask: np.ndarray, p: InpaintParams) -> np.ndarray:
    """``img`` (RGB or L uint8) with the pixels under ``mask`` inpainted; a new array."""
    bgr = img[..., ::-1] if img.ndim == 3 else img  # the one RGB -> BGR conversion
    filled = cv2.inpaint(
        np.ascontiguousarray(bgr), mask.astype(np.uint8), float(p.radius), INPAINT_METHODS[p.method]
    )
    rgb = filled[..., ::-1] if filled.ndim == 3 else filled  # and back
    return blend(img, rgb, feather_alpha(mask, p.region.feather))


def _apply_inpaint(state: ImageState, p: InpaintParams, backend: str) -> ImageState:
    img = state.require_pixels("inpaint")
    mask = region_mask(*img.shape[:2], p.region)
    return manipulated_state(state, get_backend(backend).kernel("inpaint")(img, mask, p), mask)


register_op(
    OpDef(
        "inpaint",
        InpaintParams,
        ("opencv",),
        _apply_inpaint,
        mask="sets",
        doc="remove a region by OpenCV inpainting (telea | ns, radius); mask = region",
    )
)
