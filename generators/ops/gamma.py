"""Gamma correction with its exact formula in the chain (a per-pixel lookup table, float64)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..core.errors import OpError
from ..core.records import spec
from ._base import ImageState, OpDef, register_op

__all__ = ["GammaParams", "GAMMA_FORMULAS", "gamma_lut", "gamma_numpy"]

# The formula each rounding stands for; it is written into the chain beside the gamma.
GAMMA_FORMULAS = {
    "half-up": "out = floor(255 * (in / 255) ** gamma + 0.5)",
    "half-even": "out = rint(255 * (in / 255) ** gamma)",
    "truncate": "out = floor(255 * (in / 255) ** gamma)",
}


@dataclass(frozen=True)
class GammaParams:
    """``gamma`` < 1 brightens, > 1 darkens. ``formula`` is filled from ``rounding`` (computed in
    float64 for the 256 input values, then applied as a lookup table, clipped to 0..255)."""

    gamma: float = field(metadata=spec(lo=0.01, hi=100.0))
    rounding: str = field(default="half-up", metadata=spec(choices=tuple(GAMMA_FORMULAS)))
    formula: str | None = field(default=None, metadata=spec(doc="recorded; derived from rounding"))

    def __post_init__(self) -> None:
        g = self.gamma
        if isinstance(g, bool) or not isinstance(g, (int, float)) or not math.isfinite(g) or g <= 0:
            raise OpError(f"gamma: must be a number > 0, got {g!r}")
        if self.rounding not in GAMMA_FORMULAS:
            raise OpError(
                f"rounding: must be one of {', '.join(GAMMA_FORMULAS)}, got {self.rounding!r}"
            )
        expected = GAMMA_FORMULAS[self.rounding]
        if self.formula is None:
            object.__setattr__(self, "formula", expected)  # concrete in the chain
        elif self.formula != expected:
            raise OpError(
                f"formula: rounding {self.rounding!r} means {expected!r}, got {self.formula!r}"
            )


def gamma_lut(p: GammaParams) -> np.ndarray:
    x = np.arange(256, dtype=np.float64)
    y = 255.0 * (x / 255.0) ** float(p.gamma)
    if p.rounding == "half-up":
        y = np.floor(y + 0.5)
    elif p.rounding == "half-even":
        y = np.rint(y)
    else:
        y = np.floor(y)
    return np.clip(y, 0, 255).astype(np.uint8)


def gamma_numpy(img: np.ndarray, p: GammaParams) -> np.ndarray:
    return gamma_lut(p)[img]


def _apply_gamma(state: ImageState, p: GammaParams, backend: str) -> ImageState:
    img = state.require_pixels("gamma")
    # A point operation: pixel positions (region) and earlier JPEG grids stay where they were.
    return state.replace(pixels=gamma_numpy(img, p), data=None, fmt=None, lossless_pixels=False)


register_op(
    OpDef(
        "gamma",
        GammaParams,
        ("numpy",),
        _apply_gamma,
        doc="gamma correction out = round(255 * (in/255) ** gamma), formula recorded",
    )
)
