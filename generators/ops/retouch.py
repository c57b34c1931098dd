"""Retouching: a local filter or noise applied inside a region (blur, median, sharpen, gamma, noise).

``effect`` names the sub-op (not ``op``: that key names the step's op); each has its own concrete
parameters (unused ones stay null, so the recorded step says exactly what ran): ``blur``
Gaussian ``sigma``; ``median`` odd ``ksize``; ``sharpen`` unsharp masking ``amount`` with a Gaussian of ``sigma`` (filled with 1.0 when not given); ``gamma``
``gamma`` through the gamma op's lookup table; ``noise`` Gaussian noise of ``sigma`` from
``numpy.random.default_rng(seed)`` drawn over the whole image (the seed is a recorded parameter,
never the global RNG). The filtered image is blended back with the region's (inward) feather,
so pixels outside the region are the input's, exactly. The mask (kind ``sets``) is the region
OR the incoming mask. OpenCV's filters work per channel, so RGB needs no BGR conversion here.
``region`` may be a ``RelRegion`` (placed relative to the image; resolved from its size).
"""

from __future__ import annotations

from dataclasses import field

import cv2
import numpy as np

from ..backends import get_backend, register_kernel
from ..core.errors import OpError
from ..core.records import record, spec
from ._base import ImageState, OpDef, register_op
from .gamma import GammaParams, gamma_lut
from .regions import Region, RelRegion, blend, feather_alpha, manipulated_state, region_mask

__all__ = ["RetouchParams", "RETOUCH_FIELDS", "retouch_opencv", "retouched"]

# effect -> the parameters it uses (the others must stay null).
RETOUCH_FIELDS = {
    "blur": ("sigma",),
    "median": ("ksize",),
    "sharpen": ("amount", "sigma"),
    "gamma": ("gamma",),
    "noise": ("sigma", "seed"),
}
_OPTIONAL = ("sigma", "ksize", "amount", "gamma", "seed")


@record
class RetouchParams:
    """``effect`` applied inside ``region`` with its parameters (see the module docstring)."""

    region: Region | RelRegion
    effect: str = field(metadata=spec(choices=tuple(RETOUCH_FIELDS)))
    sigma: float | None = field(default=None, metadata=spec(gt=0.0, hi=64.0))
    ksize: int | None = field(default=None, metadata=spec(lo=3, hi=31, doc="odd"))
    amount: float | None = field(default=None, metadata=spec(gt=0.0, hi=10.0))
    gamma: float | None = field(default=None, metadata=spec(gt=0.0, hi=10.0))
    seed: int | None = field(default=None, metadata=spec(lo=0, doc="noise only"))

    def _check(self) -> None:
        if self.effect == "sharpen" and self.sigma is None:
            object.__setattr__(self, "sigma", 1.0)  # concrete in the chain
        used = RETOUCH_FIELDS[self.effect]
        for name in _OPTIONAL:
            value = getattr(self, name)
            if name in used and value is None:
                raise OpError(
                    f"{name}: retouch effect {self.effect!r} needs {', '.join(used)}; got null"
                )
            if name not in used and value is not None:
                raise OpError(
                    f"{name}: retouch effect {self.effect!r} uses only {', '.join(used)}; got {value}, "
                    f"leave it out"
                )
        if self.ksize is not None and self.ksize % 2 == 0:
            raise OpError(f"ksize: must be odd (3, 5, 7, ...), got {self.ksize}")


def retouched(img: np.ndarray, p: RetouchParams) -> np.ndarray:
    """``p.effect`` applied to the whole of ``img`` (uint8 in, uint8 out, a new array)."""
    if p.effect == "blur":
        return cv2.GaussianBlur(img, (0, 0), float(p.sigma), borderType=cv2.BORDER_REFLECT_101)
    if p.effect == "median":
        return cv2.medianBlur(np.ascontiguousarray(img), int(p.ksize))
    if p.effect == "gamma":
        return gamma_lut(GammaParams(gamma=float(p.gamma)))[img]
    x = img.astype(np.float64)
    if p.effect == "sharpen":
        soft = cv2.GaussianBlur(x, (0, 0), float(p.sigma), borderType=cv2.BORDER_REFLECT_101)
        y = x + float(p.amount) * (x - soft)
    else:  # noise
        y = x + np.random.default_rng(int(p.seed)).normal(0.0, float(p.sigma), img.shape)
    return np.clip(np.floor(y + 0.5), 0, 255).astype(np.uint8)


@register_kernel
def retouch_opencv(img: np.ndarray, mask: np.ndarray, p: RetouchParams) -> np.ndarray:
    """``img`` with :func:`retouched` pixels inside ``mask`` (feathered inward); a new array."""
    return blend(img, retouched(img, p), feather_alpha(mask, p.region.feather))


def _apply_retouch(state: ImageState, p: RetouchParams, backend: str) -> ImageState:
    img = state.require_pixels("retouch")
    mask = region_mask(*img.shape[:2], p.region)
    return manipulated_state(state, get_backend(backend).kernel("retouch")(img, mask, p), mask)


register_op(
    OpDef(
        "retouch",
        RetouchParams,
        ("opencv",),
        _apply_retouch,
        mask="sets",
        doc="a local blur | median | sharpen | gamma | noise (seeded) inside a region",
    )
)
