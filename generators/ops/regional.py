"""A same-size pixel op applied inside a region only: the building block of local retouching.

:func:`apply_on_region` runs one chain step (a noise, a filter, a tone op, gamma: any op whose
mask kind is ``unchanged`` and that returns pixels of the input's shape) on the whole image, so
filters see real neighbours across the region's border, then blends the result back inside the
bool mask: ``out = in * (1 - a) + op(in) * a``, rounded half up, where ``a`` is 1 inside the
mask and 0 outside (``feather`` > 0 ramps ``a`` inward over that many pixels, as the regions of
the manipulation ops do). Pixels outside the mask are the input's, exactly. Encoders (bytes, not
pixels) and ops that move or mark pixels (mask kinds ``geometric`` and ``sets``) are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..core.errors import OpError
from ._base import OPS, ImageState, Step, make_step
from .masks import as_mask
from .regions import blend, feather_alpha

__all__ = ["apply_on_region", "regional_problem"]


def regional_problem(step: Step) -> str | None:
    """Why ``step``'s op cannot run on a region (None when it can)."""
    opdef = OPS.get(step.op)
    if opdef.encoder is not None:
        return (
            f"op {step.op!r} is an encoder (writes {opdef.encoder} bytes, not pixels); only a "
            f"same-size pixel op (a filter, noise, tone or gamma step) can run on a region"
        )
    if opdef.mask != "unchanged":
        return (
            f"op {step.op!r} has mask kind {opdef.mask!r}: it moves or marks pixels, so it "
            f"cannot be blended back in place; use a same-size pixel op (mask kind 'unchanged')"
        )
    return None


def apply_on_region(
    step: Step | Mapping[str, Any],
    pixels: np.ndarray,
    mask: np.ndarray,
    feather: float = 0,
) -> np.ndarray:
    """``step`` applied to ``pixels`` inside the bool ``mask`` only; a new uint8 array.

    Args:
        step: a Step or a ``{op, backend, **params}`` mapping (validated by ``make_step``).
        pixels: uint8 HxW or HxWx3; never modified.
        mask: bool (or 0/nonzero integer) HxW, the size of ``pixels``; True marks the region.
        feather: inward ramp of the blend in pixels (0: a hard edge).

    Raises:
        OpError: an encoder or a geometric/marking op, a mask of the wrong size, a negative
            feather, or an op that did not return pixels of the input's shape.
    """
    step = make_step(step, "apply_on_region.step")
    problem = regional_problem(step)
    if problem is not None:
        raise OpError(f"apply_on_region: {problem}")
    if feather < 0:
        raise OpError(f"apply_on_region: feather must be >= 0 px, got {feather}; use 0 for none")
    if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8:
        got = getattr(pixels, "dtype", type(pixels).__name__)
        raise OpError(f"apply_on_region: pixels must be a uint8 array, got {got}")
    region = as_mask(mask, pixels.shape, "apply_on_region mask")
    opdef = OPS.get(step.op)
    out = opdef.apply(ImageState(pixels=pixels), step.params, step.backend).pixels
    if out is None or out.shape != pixels.shape:
        got = None if out is None else out.shape
        raise OpError(
            f"apply_on_region: op {step.op!r} returned pixels of shape {got} for an input of "
            f"{pixels.shape}; only same-size pixel ops can run on a region"
        )
    return blend(pixels, out, feather_alpha(region, float(feather)))
