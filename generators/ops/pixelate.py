"""``pixelate``: downscale by ``factor`` with one resampling method, upscale back with another.

Both resizes run through the project's one resize (:func:`.resize.resize_image`, the very
``resize_<backend>`` kernels the ``resize`` op records), with the library's default antialias
and native dtype path. The small size is ``max(1, floor(side / factor + 0.5))`` per side; the
output has the input's size. Mask ``geometric``: it goes down and up through the same two
resizes by nearest neighbour (:func:`.resize.resized_mask`: a nearest method by that library's
own kernel, an interpolating one by the pixel-centre rule). Grids dropped, region None; a
factor whose small size equals the input size leaves the state as it is.
"""

from __future__ import annotations

import math
from dataclasses import field

import numpy as np

from ..backends import register_kernel
from ..core.errors import ConfigError, OpError
from ..core.records import record, spec
from ._base import ImageState, OpDef, register_op
from .resize import combo_problem, resize_image, resized_mask, resolve
from .resize_params import ResizeParams

__all__ = ["PixelateParams", "pixelate_size"]


@record
class PixelateParams:
    """``factor``: how many times smaller the intermediate image is (per side). ``down`` /
    ``up``: the resampling methods of the two resizes (any method of the backend's resize)."""

    factor: float = field(metadata=spec(lo=1.0, hi=256.0))
    down: str = field(default="area", metadata=spec(doc="resize method of the downscale"))
    up: str = field(default="nearest", metadata=spec(doc="resize method of the upscale"))


def pixelate_size(h: int, w: int, factor: float) -> tuple[int, int]:
    """The intermediate (height, width): each side divided by ``factor``, rounded half up."""
    return max(1, math.floor(h / factor + 0.5)), max(1, math.floor(w / factor + 0.5))


def _check_methods(backend: str, p: PixelateParams) -> None:
    for name in ("down", "up"):
        problem = combo_problem(backend, getattr(p, name), None, None)
        if problem is not None:
            raise OpError(f"pixelate.{name}: {problem[1]}")


def _pixelate(img: np.ndarray, p: PixelateParams, backend: str) -> np.ndarray:
    _check_methods(backend, p)
    h, w = img.shape[:2]
    small = resize_image(img, pixelate_size(h, w, p.factor), backend=backend, method=p.down)
    return resize_image(small, (h, w), backend=backend, method=p.up)


@register_kernel
def pixelate_pillow(img: np.ndarray, p: PixelateParams) -> np.ndarray:
    """``Image.resize`` down (``p.down``) then up (``p.up``)."""
    return _pixelate(img, p, "pillow")


@register_kernel
def pixelate_opencv(img: np.ndarray, p: PixelateParams) -> np.ndarray:
    """``cv2.resize`` down (``p.down``) then up (``p.up``)."""
    return _pixelate(img, p, "opencv")


def _mask_through(mask: np.ndarray, size: tuple[int, int], backend: str, method: str):  # noqa: ANN202
    try:
        rp = resolve(backend, ResizeParams(method=method, mode="exact", size=size))
    except ConfigError as exc:
        raise OpError(str(exc)) from None
    return resized_mask(mask, size, backend, rp)


def _apply_pixelate(state: ImageState, p: PixelateParams, backend: str) -> ImageState:
    from ..backends import get_backend

    img = state.require_pixels("pixelate")
    h, w = img.shape[:2]
    small = pixelate_size(h, w, p.factor)
    if small == (h, w):
        _check_methods(backend, p)
        return state  # nothing is resampled
    out = get_backend(backend).kernel("pixelate")(img, p)
    mask = state.mask
    if mask is not None:
        mask = _mask_through(_mask_through(mask, small, backend, p.down), (h, w), backend, p.up)
    return state.replace(
        pixels=out,
        data=None,
        fmt=None,
        grids=(),  # resampled: earlier JPEG grids are gone
        region=None,
        lossless_pixels=False,
        mask=mask,
    )


register_op(
    OpDef(
        "pixelate",
        PixelateParams,
        ("pillow", "opencv"),
        _apply_pixelate,
        mask="geometric",
        doc="downscale by a factor and upscale back (down and up methods per library)",
    )
)
