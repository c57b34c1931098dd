"""Noise ladders: ``gaussian_noise{sigmas}``, ``poisson_noise{photons}``, ``salt_pepper{amounts}``
and ``speckle{sigmas}``. Each level runs the op once with a seed drawn for that level from
(suite seed, source id, axis/level), recorded in the chain and ``axis_params``, then the output
tail (optional centre crop; lossless PNG by default, or JPEG at ``quality``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import Any

from ..core.records import record, spec
from ..ops.jpeg import SUBSAMPLINGS
from ..ops.noise import ROUNDINGS, SALT_PEPPER_UNITS
from ._base import AxisDef, Level, PlanContext, check_output, register_axis
from ._finish import finish_chain
from ._op_ladder import plan_op_ladder

__all__ = [
    "GaussianNoiseAxisParams",
    "PoissonNoiseAxisParams",
    "SaltPepperAxisParams",
    "SpeckleAxisParams",
    "plan_noise",
]

_ROUND = spec(choices=tuple(ROUNDINGS))
_NUMPY = spec(choices=("numpy",), doc="the library that draws and adds the noise")
_SAVE = spec(choices=("png", "jpeg"))
_JPEG_BACKEND = spec(choices=("pillow", "opencv"))


@record
class GaussianNoiseAxisParams:
    """Gaussian noise standard deviations in grey levels (0..255 scale)."""

    sigmas: tuple[float, ...] = field(metadata=spec(gt=0.0, hi=255.0, nonempty=True, distinct=True))
    rounding: str = field(default="half-up", metadata=_ROUND)
    backend: str = field(default="numpy", metadata=_NUMPY)
    center_crop: tuple[int, int] | None = field(default=None, metadata=spec(lo=1))
    save: str = field(default="png", metadata=_SAVE)
    quality: int | None = field(default=None, metadata=spec(lo=1, hi=100))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    jpeg_backend: str = field(default="pillow", metadata=_JPEG_BACKEND)

    def _check(self) -> None:
        check_output(self.save, self.quality)


@record
class PoissonNoiseAxisParams:
    """Photon counts at white (fewer photons, more shot noise)."""

    photons: tuple[float, ...] = field(metadata=spec(gt=0.0, hi=1e7, nonempty=True, distinct=True))
    rounding: str = field(default="half-up", metadata=_ROUND)
    backend: str = field(default="numpy", metadata=_NUMPY)
    center_crop: tuple[int, int] | None = field(default=None, metadata=spec(lo=1))
    save: str = field(default="png", metadata=_SAVE)
    quality: int | None = field(default=None, metadata=spec(lo=1, hi=100))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    jpeg_backend: str = field(default="pillow", metadata=_JPEG_BACKEND)

    def _check(self) -> None:
        check_output(self.save, self.quality)


@record
class SaltPepperAxisParams:
    """Impulse probabilities (per pixel or per sample), with the salt share of the hits."""

    amounts: tuple[float, ...] = field(metadata=spec(lo=0.0, hi=1.0, nonempty=True, distinct=True))
    salt_ratio: float = field(default=0.5, metadata=spec(lo=0.0, hi=1.0))
    unit: str = field(default="pixel", metadata=spec(choices=SALT_PEPPER_UNITS))
    backend: str = field(default="numpy", metadata=_NUMPY)
    center_crop: tuple[int, int] | None = field(default=None, metadata=spec(lo=1))
    save: str = field(default="png", metadata=_SAVE)
    quality: int | None = field(default=None, metadata=spec(lo=1, hi=100))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    jpeg_backend: str = field(default="pillow", metadata=_JPEG_BACKEND)

    def _check(self) -> None:
        check_output(self.save, self.quality)


@record
class SpeckleAxisParams:
    """Relative standard deviations of multiplicative noise (0.1 = 10%)."""

    sigmas: tuple[float, ...] = field(metadata=spec(gt=0.0, hi=10.0, nonempty=True, distinct=True))
    rounding: str = field(default="half-up", metadata=_ROUND)
    backend: str = field(default="numpy", metadata=_NUMPY)
    center_crop: tuple[int, int] | None = field(default=None, metadata=spec(lo=1))
    save: str = field(default="png", metadata=_SAVE)
    quality: int | None = field(default=None, metadata=spec(lo=1, hi=100))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    jpeg_backend: str = field(default="pillow", metadata=_JPEG_BACKEND)

    def _check(self) -> None:
        check_output(self.save, self.quality)


# axis -> (op param swept, axis list field, fixed op params read from the axis params)
_AXES: Mapping[str, tuple[type, str, str, Sequence[str], str]] = {
    "gaussian_noise": (
        GaussianNoiseAxisParams,
        "sigma",
        "sigmas",
        ("rounding",),
        "additive Gaussian noise ladder, sigma in grey levels, seeded per level",
    ),
    "poisson_noise": (
        PoissonNoiseAxisParams,
        "photons",
        "photons",
        ("rounding",),
        "shot-noise ladder, photons at white, seeded per level",
    ),
    "salt_pepper": (
        SaltPepperAxisParams,
        "amount",
        "amounts",
        ("salt_ratio", "unit"),
        "salt-and-pepper ladder, impulse probability, seeded per level",
    ),
    "speckle": (
        SpeckleAxisParams,
        "sigma",
        "sigmas",
        ("rounding",),
        "speckle (multiplicative) noise ladder, seeded per level",
    ),
}


def plan_noise(op: str, p: Any, ctx: PlanContext) -> list[Level]:
    """One level per value of the axis' list: ``op`` with a seed drawn for the level."""
    _, param, values, fixed, _ = _AXES[op]
    tail = finish_chain(p.center_crop, p.save, p.quality, p.subsampling, p.jpeg_backend)
    return plan_op_ladder(
        op,
        param,
        getattr(p, values),
        ctx,
        backend=p.backend,
        fixed={k: getattr(p, k) for k in fixed},
        tail=tail,
    )


def _planner(op: str):  # noqa: ANN202 - binds the op name
    return lambda p, ctx: plan_noise(op, p, ctx)


for _op, (_cls, _param, _values, _fixed, _doc) in _AXES.items():
    register_axis(AxisDef(_op, _cls, _planner(_op), doc=_doc))
