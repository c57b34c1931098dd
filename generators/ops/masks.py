"""Masks follow the pixels: the geometry an op applies to its pixels, applied to a region mask.

A mask is a bool HxW array the size of the state's pixels (``ImageState.mask``; True marks the
region, e.g. a manipulated one). Every op declares on its ``OpDef`` how it maps a mask
(``MASK_KINDS``): ``unchanged`` (photometric and codec ops, metadata, skip rules: the pixels keep
their places) or ``geometric`` (crops, resizes, orientation, screenshot: the op moves the mask
with its pixels, with the helpers below) or ``sets`` (manipulations: copy_move, inpaint,
retouch: the mask becomes the op's region OR the incoming mask, :func:`union_mask`, so a second
manipulation adds to the first). ``run_chain`` checks every step against its declaration.

Resampling maps a mask by nearest neighbour: with the pixels' own kernel when they were resized
by a nearest method (so the mask marks exactly the pixels copied from the region), else by the
exact pixel-centre index map every interpolating kernel shares (:func:`nearest_indices`).
"""

from __future__ import annotations

import numpy as np

from ..core.errors import OpError

__all__ = [
    "MASK_KINDS",
    "as_mask",
    "crop_mask",
    "nearest_indices",
    "resample_mask",
    "pad_mask",
    "union_mask",
]

# How an op maps a mask: ``unchanged`` keeps the input mask as it is (the very array);
# ``geometric`` moves it with the pixels (crop offsets, nearest-neighbour resampling, transposes);
# ``sets`` marks the op's region, OR-ed with the incoming mask (manipulations).
MASK_KINDS = ("unchanged", "geometric", "sets")


def as_mask(mask: object, shape: tuple[int, ...] | None = None, where: str = "mask") -> np.ndarray:
    """``mask`` as a bool HxW array (bool as is; integers: nonzero is True).

    Raises:
        OpError: not a 2-D bool/integer array, or not ``shape`` (the pixels' height and width).
    """
    arr = np.asarray(mask)
    if arr.ndim != 2 or not (arr.dtype == np.bool_ or np.issubdtype(arr.dtype, np.integer)):
        raise OpError(
            f"{where}: must be a bool or uint8 HxW array, got {arr.dtype} of shape {arr.shape}; "
            f"pass one channel (e.g. mask[..., 0] > 0)"
        )
    if shape is not None and arr.shape != tuple(shape[:2]):
        raise OpError(
            f"{where}: is {arr.shape[0]}x{arr.shape[1]} but the pixels are "
            f"{shape[0]}x{shape[1]}; give a mask the size of the image"
        )
    return arr if arr.dtype == np.bool_ else arr != 0


def crop_mask(
    mask: np.ndarray | None, top: int, left: int, size_hw: tuple[int, int]
) -> np.ndarray | None:
    """The window of ``mask`` a crop keeps: ``size_hw`` from (``top``, ``left``); None stays None."""
    if mask is None:
        return None
    h, w = size_hw
    return mask[top : top + h, left : left + w]


def nearest_indices(n_in: int, n_out: int) -> np.ndarray:
    """For each of ``n_out`` output pixels, the input pixel whose centre is nearest to its own.

    Output pixel ``i`` has its centre at input coordinate ``(i + 0.5) * n_in / n_out - 0.5`` (the
    geometry of Pillow, OpenCV, torch ``align_corners=False`` and scikit-image alike); rounding
    it half up gives ``floor((2i + 1) * n_in / (2 n_out))``, computed in integers: no float ties.
    """
    i = np.arange(n_out, dtype=np.int64)
    return np.minimum(((2 * i + 1) * n_in) // (2 * n_out), n_in - 1)


def resample_mask(mask: np.ndarray | None, size_hw: tuple[int, int]) -> np.ndarray | None:
    """``mask`` resampled to ``size_hw`` by the pixel-centre nearest neighbour (exact; None stays
    None; the same size returns the very array)."""
    if mask is None or mask.shape == tuple(size_hw):
        return mask
    rows = nearest_indices(mask.shape[0], size_hw[0])
    cols = nearest_indices(mask.shape[1], size_hw[1])
    return mask[np.ix_(rows, cols)]


def pad_mask(mask: np.ndarray | None, border: int) -> np.ndarray | None:
    """``mask`` inside a ``border`` of False on every side (a frame added around the pixels)."""
    if mask is None or border == 0:
        return mask
    return np.pad(mask, border, constant_values=False)


def union_mask(incoming: np.ndarray | None, region: np.ndarray) -> np.ndarray:
    """``region`` OR ``incoming`` (None: ``region`` itself): the mask a ``sets`` op leaves."""
    return region if incoming is None else region | incoming
