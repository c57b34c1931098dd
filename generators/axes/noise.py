"""Noise ladders: ``gaussian_noise{sigmas}``, ``poisson_noise{photons}``, ``salt_pepper{amounts}``
and ``speckle{sigmas}``. Each level runs the op once with a seed drawn for that level from
(suite seed, source id, axis/level), recorded in the chain and ``axis_params``, then the output
tail (optional centre crop; lossless PNG by default, or JPEG at ``quality``)."""

from __future__ import annotations

from dataclasses import field

from ..core.records import spec
from ..ops.noise import ROUNDINGS, SALT_PEPPER_UNITS
from ._op_axis import OutputFields, register_ladder_axis

__all__ = [
    "GaussianNoiseAxisParams",
    "PoissonNoiseAxisParams",
    "SaltPepperAxisParams",
    "SpeckleAxisParams",
]


def _rounding() -> OutputFields:
    return [("rounding", str, field(default="half-up", metadata=spec(choices=tuple(ROUNDINGS))))]


GaussianNoiseAxisParams = register_ladder_axis(
    "gaussian_noise",
    "sigmas",
    "sigma",
    float,
    spec(gt=0.0, hi=255.0),
    fixed=_rounding(),
    doc="additive Gaussian noise ladder, sigma in grey levels, seeded per level",
)
PoissonNoiseAxisParams = register_ladder_axis(
    "poisson_noise",
    "photons",
    "photons",
    float,
    spec(gt=0.0, hi=1e7),
    fixed=_rounding(),
    doc="shot-noise ladder, photons at white (fewer: noisier), seeded per level",
)
SaltPepperAxisParams = register_ladder_axis(
    "salt_pepper",
    "amounts",
    "amount",
    float,
    spec(lo=0.0, hi=1.0),
    fixed=[
        ("salt_ratio", float, field(default=0.5, metadata=spec(lo=0.0, hi=1.0))),
        ("unit", str, field(default="pixel", metadata=spec(choices=SALT_PEPPER_UNITS))),
    ],
    doc="salt-and-pepper ladder, impulse probability, seeded per level",
)
SpeckleAxisParams = register_ladder_axis(
    "speckle",
    "sigmas",
    "sigma",
    float,
    spec(gt=0.0, hi=10.0),
    fixed=_rounding(),
    doc="speckle (multiplicative) noise ladder, relative sigma (0.1 = 10%), seeded per level",
)
