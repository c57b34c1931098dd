"""The ``resize`` op's parameter record and its target-size rule (no library code here).

Every backend is given the same explicit output size (:func:`output_size`), never a scale
factor: libraries that take a factor map coordinates with ``1/factor`` instead of ``in/out``,
which would add a size-rounding difference on top of the kernel difference we want to isolate.
"""

from __future__ import annotations

import math
from dataclasses import field

from ..core.errors import OpError
from ..core.records import record, spec

__all__ = [
    "ResizeParams",
    "METHODS",
    "DTYPE_PATHS",
    "FLOAT_PATHS",
    "ROUNDINGS",
    "SIZE_MODES",
    "output_size",
]

METHODS = ("nearest", "nearest-exact", "bilinear", "bicubic", "area", "lanczos")
DTYPE_PATHS = ("uint8", "float32-unit", "float32-255")
FLOAT_PATHS = ("float32-unit", "float32-255")
ROUNDINGS = ("round", "truncate")
SIZE_MODES = ("scale", "exact", "shorter", "longer", "fit-inside")
_TARGET = {"scale": "scale", "exact": "size", "fit-inside": "size"}  # else "side"


@record
class ResizeParams:
    """How to resize. ``mode`` picks the target: ``scale`` (both sides times ``scale``),
    ``exact`` (``size`` = [h, w]), ``shorter`` / ``longer`` (that side becomes ``side``, aspect
    kept), ``fit-inside`` (largest size within ``size`` = [h, w], aspect kept).

    ``antialias``/``dtype`` null mean "the library's default" (``resize_step`` and the axes
    fill in the concrete value); ``version`` is the library version the step was planned with.
    """

    method: str = field(metadata=spec(choices=METHODS))
    mode: str = field(default="scale", metadata=spec(choices=SIZE_MODES))
    scale: float | None = field(default=None, metadata=spec(lo=1e-3, hi=100.0))
    size: tuple[int, int] | None = field(default=None, metadata=spec(lo=1, doc="[h, w]"))
    side: int | None = field(default=None, metadata=spec(lo=1))
    only_downscale: bool = False  # leave images already within the target untouched
    antialias: bool | None = None
    dtype: str | None = field(default=None, metadata=spec(choices=DTYPE_PATHS))
    rounding: str | None = field(
        default=None, metadata=spec(choices=ROUNDINGS, doc="float paths only; null for uint8")
    )
    version: str | None = None

    def _check(self) -> None:
        need = _TARGET.get(self.mode, "side")
        for name in ("scale", "size", "side"):
            given = getattr(self, name) is not None
            if given != (name == need):
                verb = "needs" if name == need else "does not take"
                raise OpError(f"{name}: mode {self.mode!r} {verb} {name!r}")
        if self.dtype in FLOAT_PATHS and self.rounding is None:
            object.__setattr__(self, "rounding", "round")  # concrete in the chain
        if self.rounding is not None and self.dtype not in FLOAT_PATHS:
            raise OpError(
                f"rounding: only float dtype paths round back to uint8 (dtype is "
                f"{self.dtype!r}); leave rounding null"
            )


def _half_up(x: float) -> int:
    return max(1, int(math.floor(x + 0.5)))


def output_size(h: int, w: int, p: ResizeParams) -> tuple[int, int]:
    """Target (height, width): each computed side is ``floor(x + 0.5)``, at least 1.

    ``only_downscale``: a target larger than the image on either side leaves it as it is.
    """
    if p.mode == "scale":
        out = (_half_up(h * p.scale), _half_up(w * p.scale))
    elif p.mode == "exact":
        out = (p.size[0], p.size[1])
    elif p.mode in ("shorter", "longer"):
        ref = min(h, w) if p.mode == "shorter" else max(h, w)
        f = p.side / ref
        out = (p.side, _half_up(w * f)) if ref == h else (_half_up(h * f), p.side)
    else:  # fit-inside
        f = min(p.size[0] / h, p.size[1] / w)
        out = (min(p.size[0], _half_up(h * f)), min(p.size[1], _half_up(w * f)))
    if p.only_downscale and (out[0] > h or out[1] > w):
        return h, w
    return out
