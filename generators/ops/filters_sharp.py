"""``motion_blur`` (a line kernel, OpenCV ``filter2D`` or numpy) and ``unsharp_mask`` (Pillow's
``UnsharpMask`` and an OpenCV twin), with their border rules recorded (see :mod:`.filters`)."""

from __future__ import annotations

import functools
import math
from dataclasses import field

import cv2
import numpy as np
from PIL import ImageFilter

from ..backends import register_kernel
from ..core.errors import OpError
from ..core.records import record, spec
from ._base import OpDef, register_op
from .filters import (
    BORDERS,
    border_for,
    concrete_filter,
    cv_border,
    pillow_filter,
    pixel_apply,
)
from .noise import round_clip

__all__ = [
    "MotionBlurParams",
    "UnsharpMaskParams",
    "motion_kernel",
    "motion_blur_opencv",
    "motion_blur_numpy",
    "unsharp_mask_pillow",
    "unsharp_mask_opencv",
]


@record
class MotionBlurParams:
    """A linear motion of ``length`` px at ``angle`` degrees (counter-clockwise from the +x axis,
    image rows pointing down), centred on each pixel (:func:`motion_kernel`)."""

    length: int = field(metadata=spec(lo=2, hi=255))
    angle: float = field(default=0.0, metadata=spec(lo=-360.0, hi=360.0))
    border: str = field(default="reflect101", metadata=spec(choices=tuple(BORDERS)))


def motion_kernel(length: int, angle: float) -> np.ndarray:
    """The float64 line kernel: ``length`` points 1 px apart, centred, along ``angle``; each point
    spread bilinearly on its 4 neighbours; sum 1. Odd side ``length`` (``length + 1`` when even),
    symmetric under a half turn, so correlation and convolution agree."""
    side = length if length % 2 else length + 1
    c = (side - 1) / 2.0
    t = np.arange(length, dtype=np.float64) - (length - 1) / 2.0
    rad = math.radians(angle)
    # rounded to 1e-9 so exact angles (0, 90, ...) hit pixel centres without float dust
    xs = np.round(c + t * math.cos(rad), 9)
    ys = np.round(c - t * math.sin(rad), 9)
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = xs - x0, ys - y0
    k = np.zeros((side + 1, side + 1))
    for dy, dx, w in (
        (0, 0, (1 - fy) * (1 - fx)),
        (0, 1, (1 - fy) * fx),
        (1, 0, fy * (1 - fx)),
        (1, 1, fy * fx),
    ):
        np.add.at(k, (y0 + dy, x0 + dx), w)
    return k[:side, :side] / k.sum()


@register_kernel
def motion_blur_opencv(img: np.ndarray, p: MotionBlurParams) -> np.ndarray:
    """``cv2.filter2D(img, -1, motion_kernel(length, angle), borderType=border)`` (OpenCV's
    float32 sums and rounding)."""
    flag = cv_border("motion_blur", "opencv", p.border)
    return cv2.filter2D(img, -1, motion_kernel(p.length, p.angle), borderType=flag)


@register_kernel
def motion_blur_numpy(img: np.ndarray, p: MotionBlurParams) -> np.ndarray:
    """The same kernel as a float64 correlation over ``numpy.pad`` (``reflect101`` is numpy's
    ``reflect``), rounded half up and clipped."""
    k = motion_kernel(p.length, p.angle)
    r = k.shape[0] // 2
    pad = ((r, r), (r, r)) + ((0, 0),) * (img.ndim - 2)
    padded = np.pad(img.astype(np.float64), pad, mode=BORDERS[p.border][1])
    h, w = img.shape[:2]
    out = np.zeros(img.shape, dtype=np.float64)
    for i, j in zip(*np.nonzero(k)):
        out += k[i, j] * padded[i : i + h, j : j + w]
    return round_clip(out, "half-up")


@record
class UnsharpMaskParams:
    """Sharpening ``in + amount * (in - blur)`` where ``|in - blur| > threshold``; ``blur`` a
    Gaussian of ``radius`` px (sigma). Pillow: ``UnsharpMask(radius, percent=round(amount *
    100), threshold)`` (integer maths: blur rounded to uint8, the increment truncated toward 0);
    OpenCV: the float64 formula on ``cv2.GaussianBlur(sigma=radius)``, rounded half up."""

    radius: float = field(default=2.0, metadata=spec(gt=0.0, hi=100.0))
    amount: float = field(default=1.5, metadata=spec(gt=0.0, hi=10.0, doc="multiple of 0.01"))
    threshold: int = field(default=3, metadata=spec(lo=0, hi=255))
    border: str | None = field(
        default=None, metadata=spec(choices=tuple(BORDERS), doc="null: the backend's own rule")
    )

    def _check(self) -> None:
        if abs(self.amount * 100 - round(self.amount * 100)) > 1e-9:
            raise OpError(
                f"unsharp_mask amount: must be a multiple of 0.01 (Pillow takes an integer "
                f"percent), got {self.amount}; use {round(self.amount, 2)}"
            )


def _percent(p: UnsharpMaskParams) -> int:
    return int(round(p.amount * 100))


@register_kernel
def unsharp_mask_pillow(img: np.ndarray, p: UnsharpMaskParams) -> np.ndarray:
    """``ImageFilter.UnsharpMask(radius, round(amount * 100), threshold)``."""
    border_for("unsharp_mask", "pillow", p.border)
    flt = ImageFilter.UnsharpMask(float(p.radius), _percent(p), int(p.threshold))
    return pillow_filter(img, flt)


@register_kernel
def unsharp_mask_opencv(img: np.ndarray, p: UnsharpMaskParams) -> np.ndarray:
    """``x + amount * (x - G)`` where ``|x - G| > threshold`` (else ``x``), ``G`` =
    ``cv2.GaussianBlur(x, (0, 0), radius, border)`` on float64, rounded half up, clipped."""
    x = img.astype(np.float64)
    flag = cv_border("unsharp_mask", "opencv", p.border)
    soft = cv2.GaussianBlur(x, (0, 0), float(p.radius), sigmaY=float(p.radius), borderType=flag)
    diff = x - soft
    sharp = np.where(np.abs(diff) > p.threshold, x + (_percent(p) / 100.0) * diff, x)
    return round_clip(sharp, "half-up")


register_op(
    OpDef(
        "motion_blur",
        MotionBlurParams,
        ("opencv", "numpy"),
        pixel_apply("motion_blur"),
        mask="unchanged",
        concrete=functools.partial(concrete_filter, "motion_blur"),
        doc="linear motion blur: length px at angle degrees, a centred line kernel, border recorded",
    )
)
register_op(
    OpDef(
        "unsharp_mask",
        UnsharpMaskParams,
        ("pillow", "opencv"),
        pixel_apply("unsharp_mask"),
        mask="unchanged",
        concrete=functools.partial(concrete_filter, "unsharp_mask"),
        doc="unsharp masking: radius (sigma), amount (= percent / 100), threshold",
    )
)
