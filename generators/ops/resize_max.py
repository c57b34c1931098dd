"""Cap an image's longer (or shorter) side at N pixels, as upload pipelines do.

A thin front end to the ``resize`` op (``generators/ops/resize.py``): the same libraries,
kernels, antialias and dtype paths, with ``mode: longer|shorter`` and ``only_downscale``. An
image already within the cap is left untouched (grids and region kept); a resized one loses its
earlier JPEG grids and its pixel correspondence with the source, as with ``resize``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import field

from ..core.errors import ConfigError, OpError
from ..core.records import record, spec
from ._base import OPS, ImageState, OpDef, register_op
from .resize import BACKENDS, DTYPE_PATHS, METHODS, ROUNDINGS, ResizeParams, resolve

__all__ = ["ResizeMaxParams", "SIDES", "resize_params"]

SIDES = ("long", "short")


@record
class ResizeMaxParams:
    """``max_side``: the cap in pixels; ``side``: which side it caps (``long`` or ``short``).
    ``method``/``antialias``/``dtype``/``rounding``/``version`` as in ``resize`` (null: the
    library's default, made concrete when a preset or axis plans the step)."""

    max_side: int = field(metadata=spec(lo=1))
    method: str = field(metadata=spec(choices=METHODS))
    side: str = field(default="long", metadata=spec(choices=SIDES))
    antialias: bool | None = None
    dtype: str | None = field(default=None, metadata=spec(choices=DTYPE_PATHS))
    rounding: str | None = field(default=None, metadata=spec(choices=ROUNDINGS))
    version: str | None = None

    def _check(self) -> None:
        r = resize_params(self)  # the resize record validates method, dtype and rounding
        object.__setattr__(self, "rounding", r.rounding)  # float paths: concrete in the chain

    def concrete(self, backend: str) -> ResizeMaxParams:
        """Library defaults and version filled in (raises ConfigError for an impossible combo)."""
        r = resolve(backend, resize_params(self))
        return dataclasses.replace(
            self, antialias=r.antialias, dtype=r.dtype, rounding=r.rounding, version=r.version
        )


def resize_params(p: ResizeMaxParams) -> ResizeParams:
    """The equivalent ``resize`` record: ``longer``/``shorter`` side = ``max_side``, downscale only."""
    return ResizeParams(
        method=p.method,
        mode="longer" if p.side == "long" else "shorter",
        side=p.max_side,
        only_downscale=True,
        antialias=p.antialias,
        dtype=p.dtype,
        rounding=p.rounding,
        version=p.version,
    )


def _apply_resize_max(state: ImageState, p: ResizeMaxParams, backend: str) -> ImageState:
    try:
        rp = resize_params(p)
    except ConfigError as exc:
        raise OpError(str(exc)) from None
    return OPS.get("resize").apply(state, rp, backend)


register_op(
    OpDef(
        "resize_max",
        ResizeMaxParams,
        BACKENDS,
        _apply_resize_max,
        mask="geometric",
        doc="downscale so the long (or short) side is at most max_side; smaller images untouched",
    )
)
