"""``illumination``: uneven lighting of a photographed page (a gradient, a vignette, a tint).

A multiplicative gain field, computed in float64 on pixel centres, applied per channel::

    u = (x + 0.5) / w - 0.5,  v = (y + 0.5) / h - 0.5             (both in [-0.5, 0.5])
    t = (u cos(angle) + v sin(angle)) / (0.5 (|cos| + |sin|))       (-1 at the lit side, +1 dark)
    g = 1 - gradient * (t + 1) / 2                                  (the light falls off along angle)
    r2 = ((u - cx + 0.5)^2 + (v - cy + 0.5)^2) / 0.5                (1 at the corners when centred)
    k = 1 - vignette * min(r2, 1)                                   (darker away from the centre)
    out = clip(floor(in * g * k * tint[c] + 0.5), 0, 255)            (rounding: half-up)

``angle`` (degrees, image rows pointing down: 0 = darker to the right, 90 = darker at the bottom)
and the vignette centre ``center`` [cy, cx] (fractions of the height and width) are data: the
planner gives a ``seed`` and the record fills them from ``numpy.random.default_rng(seed)``
(angle uniform in [0, 360), centre uniform in [0.3, 0.7] each, rounded to 6 decimals), so the
chain holds the concrete values. A grey (L) image uses the mean of ``tint``. The pixels keep
their places: mask ``unchanged``, JPEG grids and region kept.
"""

from __future__ import annotations

import math
from dataclasses import field

import numpy as np

from ..backends import get_backend, register_kernel
from ..core.errors import OpError
from ..core.records import record, spec
from ._base import ImageState, OpDef, register_op

__all__ = ["IlluminationParams", "draw_lighting", "illumination_gain", "illumination_numpy"]

FORMULA = "out = clip(floor(in * gradient_gain * vignette_gain * tint + 0.5), 0, 255)"


def draw_lighting(seed: int) -> tuple[float, tuple[float, float]]:
    """(angle in degrees, vignette centre [cy, cx]) drawn from ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    angle = round(float(rng.uniform(0.0, 360.0)), 6)
    cy, cx = (round(float(v), 6) for v in rng.uniform(0.3, 0.7, 2))
    return angle, (cy, cx)


@record
class IlluminationParams:
    """``gradient``: light lost across the page along ``angle`` (0 = even, 0.5 = the dark side
    at half); ``vignette``: light lost at ``r2 >= 1`` from ``center``; ``tint``: per-channel
    gain of the light's colour (R, G, B). ``angle``/``center`` null: drawn from ``seed``."""

    gradient: float = field(default=0.3, metadata=spec(lo=0.0, hi=0.95))
    vignette: float = field(default=0.2, metadata=spec(lo=0.0, hi=0.95))
    tint: tuple[float, float, float] = field(default=(1.0, 1.0, 1.0), metadata=spec(lo=0.0, hi=2.0))
    seed: int | None = field(default=None, metadata=spec(lo=0, hi=2**63 - 1))
    angle: float | None = field(default=None, metadata=spec(lo=0.0, hi=360.0))
    center: tuple[float, float] | None = field(default=None, metadata=spec(lo=0.0, hi=1.0))
    formula: str | None = field(default=None, metadata=spec(doc="recorded; the module's formula"))

    def _check(self) -> None:
        if self.formula is None:
            object.__setattr__(self, "formula", FORMULA)  # concrete in the chain
        elif self.formula != FORMULA:
            raise OpError(f"illumination formula: must be {FORMULA!r}, got {self.formula!r}")
        if self.angle is None or self.center is None:
            if self.seed is None:
                raise OpError(
                    "illumination: angle and center are drawn from a seed; give seed: <int> "
                    "(axes draw one per level) or both angle (degrees) and center [cy, cx]"
                )
            angle, center = draw_lighting(self.seed)
            if self.angle is None:
                object.__setattr__(self, "angle", angle)
            if self.center is None:
                object.__setattr__(self, "center", center)


def illumination_gain(p: IlluminationParams, h: int, w: int) -> np.ndarray:
    """The float64 HxW gain field ``g * k`` of the module's formula (without the tint)."""
    u = (np.arange(w, dtype=np.float64) + 0.5) / w - 0.5
    v = (np.arange(h, dtype=np.float64) + 0.5) / h - 0.5
    a = math.radians(float(p.angle))
    c, s = math.cos(a), math.sin(a)
    t = (u[None, :] * c + v[:, None] * s) / (0.5 * (abs(c) + abs(s)))
    g = 1.0 - p.gradient * (t + 1.0) / 2.0
    cy, cx = p.center
    r2 = ((u[None, :] - cx + 0.5) ** 2 + (v[:, None] - cy + 0.5) ** 2) / 0.5
    return g * (1.0 - p.vignette * np.minimum(r2, 1.0))


@register_kernel
def illumination_numpy(img: np.ndarray, p: IlluminationParams) -> np.ndarray:
    """The gain field times the tint, applied in float64, rounded half-up and clipped."""
    gain = illumination_gain(p, *img.shape[:2])
    if img.ndim == 3:
        gain = gain[..., None] * np.asarray(p.tint, dtype=np.float64)[: img.shape[2]]
    else:
        gain = gain * float(np.mean(p.tint))
    return np.clip(np.floor(img * gain + 0.5), 0, 255).astype(np.uint8)


def _apply_illumination(state: ImageState, p: IlluminationParams, backend: str) -> ImageState:
    img = state.require_pixels("illumination")
    # Pixels keep their places: region and earlier JPEG grids stay where they were.
    return state.replace(
        pixels=get_backend(backend).kernel("illumination")(img, p),
        data=None,
        fmt=None,
        lossless_pixels=False,
    )


register_op(
    OpDef(
        "illumination",
        IlluminationParams,
        ("numpy",),
        _apply_illumination,
        mask="unchanged",
        doc="uneven lighting: a seeded gradient and vignette gain field and a tint, recorded",
    )
)
