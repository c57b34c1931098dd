"""Gamma correction with its exact formula in the chain (a per-pixel lookup table, float64)."""

from __future__ import annotations

from dataclasses import field

import numpy as np

from ..backends import get_backend, register_kernel
from ..core.errors import OpError
from ..core.records import record, spec
from ._base import ImageState, OpDef, register_op

__all__ = ["GammaParams", "GAMMA_FORMULAS", "gamma_lut", "gamma_numpy"]

# The formula each rounding stands for; it is written into the chain beside the gamma.
GAMMA_FORMULAS = {
    "half-up": "out = floor(255 * (in / 255) ** gamma + 0.5)",
    "half-even": "out = rint(255 * (in / 255) ** gamma)",
    "truncate": "out = floor(255 * (in / 255) ** gamma)",
}


@record
class GammaParams:
    """``gamma`` < 1 brightens, > 1 darkens. ``formula`` is filled from ``rounding`` (computed in
    float64 for the 256 input values, then applied as a lookup table, clipped to 0..255)."""

    gamma: float = field(metadata=spec(gt=0.0, hi=100.0))
    rounding: str = field(default="half-up", metadata=spec(choices=tuple(GAMMA_FORMULAS)))
    formula: str | None = field(default=None, metadata=spec(doc="recorded; derived from rounding"))

    def _check(self) -> None:
        expected = GAMMA_FORMULAS[self.rounding]
        if self.formula is None:
            object.__setattr__(self, "formula", expected)  # concrete in the chain
        elif self.formula != expected:
            raise OpError(
                f"formula: rounding {self.rounding!r} means {expected!r}, got {self.formula!r}"
            )


def gamma_lut(p: GammaParams) -> np.ndarray:
    """The 256-entry uint8 table of ``p``'s formula (float64, then rounded and clipped)."""
    x = np.arange(256, dtype=np.float64)
    y = 255.0 * (x / 255.0) ** float(p.gamma)
    if p.rounding == "half-up":
        y = np.floor(y + 0.5)
    elif p.rounding == "half-even":
        y = np.rint(y)
    else:
        y = np.floor(y)
    return np.clip(y, 0, 255).astype(np.uint8)


@register_kernel
def gamma_numpy(img: np.ndarray, p: GammaParams) -> np.ndarray:
    """``gamma_lut(p)[img]``: the lookup table applied to every sample."""
    return gamma_lut(p)[img]


def _apply_gamma(state: ImageState, p: GammaParams, backend: str) -> ImageState:
    img = state.require_pixels("gamma")
    # A point operation: pixel positions (region) and earlier JPEG grids stay where they were.
    return state.replace(
        pixels=get_backend(backend).kernel("gamma")(img, p),
        data=None,
        fmt=None,
        lossless_pixels=False,
    )


register_op(
    OpDef(
        "gamma",
        GammaParams,
        ("numpy",),
        _apply_gamma,
        mask="unchanged",
        doc="gamma correction out = round(255 * (in/255) ** gamma), formula recorded",
    )
)
