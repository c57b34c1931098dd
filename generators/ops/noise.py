"""Additive and signal-dependent noise, seeded: ``gaussian_noise``, ``poisson_noise``,
``salt_pepper`` and ``speckle``.

Every noise op takes a recorded ``seed`` (drawn by the planner, never the global RNG) and draws
from ``numpy.random.default_rng(seed)`` (PCG64), in float64, one draw per sample (each channel
of an RGB pixel independent; ``salt_pepper`` may hit whole pixels instead). The result is rounded
by the recorded ``rounding`` rule and clipped to 0..255; the exact formula is written into the
step (``formula``), as the gamma op does. Noise keeps every pixel in its place: the JPEG grids,
the region and a mask are unchanged.
"""

from __future__ import annotations

from dataclasses import field

import numpy as np

from ..backends import register_kernel
from ..core.errors import OpError
from ..core.records import record, spec
from ._base import OpDef, register_op
from .filters import pixel_apply

__all__ = [
    "ROUNDINGS",
    "NOISE_FORMULAS",
    "GaussianNoiseParams",
    "PoissonNoiseParams",
    "SaltPepperParams",
    "SpeckleParams",
    "round_clip",
    "gaussian_noise_numpy",
    "poisson_noise_numpy",
    "salt_pepper_numpy",
    "speckle_numpy",
]

# How a float result becomes uint8 again (then clipped to 0..255).
ROUNDINGS = {
    "half-up": "floor(x + 0.5)",
    "half-even": "rint(x)",
    "truncate": "floor(x)",
}
_RNG = "rng = numpy.random.default_rng(seed)"
# op -> its formula with ``{r}`` for the rounding; recorded in the step beside the rounding.
NOISE_FORMULAS = {
    "gaussian_noise": "out = clip({r}, 0, 255), x = in + rng.normal(0, sigma, shape)",
    "poisson_noise": "out = clip({r}, 0, 255), x = rng.poisson(in / 255 * photons, shape) "
    "* 255 / photons",
    "speckle": "out = clip({r}, 0, 255), x = in * (1 + rng.normal(0, sigma, shape))",
}


def _formula(op: str, rounding: str) -> str:
    return f"{NOISE_FORMULAS[op].format(r=ROUNDINGS[rounding])}; {_RNG}"


def _fill_formula(params: object, op: str) -> None:
    """Fill ``params.formula`` from its rounding, or refuse a formula that disagrees with it."""
    expected = _formula(op, params.rounding)
    if params.formula is None:
        object.__setattr__(params, "formula", expected)  # concrete in the chain
    elif params.formula != expected:
        raise OpError(
            f"{op} formula: rounding {params.rounding!r} means {expected!r}, got "
            f"{params.formula!r}; leave formula out (it is filled from rounding)"
        )


def round_clip(x: np.ndarray, rounding: str) -> np.ndarray:
    """``x`` (float64) rounded by ``rounding`` (one of ROUNDINGS), clipped to 0..255, as uint8."""
    if rounding == "half-up":
        y = np.floor(x + 0.5)
    elif rounding == "half-even":
        y = np.rint(x)
    else:
        y = np.floor(x)
    return np.clip(y, 0, 255).astype(np.uint8)


_SEED = {"lo": 0, "hi": 2**63 - 1, "doc": "drawn by the planner; numpy default_rng(seed)"}
_ROUND = {"choices": tuple(ROUNDINGS), "doc": "how the float result is rounded back to uint8"}
_FORMULA = {"doc": "recorded; derived from rounding"}


@record
class GaussianNoiseParams:
    """Additive white Gaussian noise of standard deviation ``sigma`` grey levels (0..255 scale)."""

    sigma: float = field(metadata=spec(gt=0.0, hi=255.0))
    seed: int = field(metadata=spec(**_SEED))
    rounding: str = field(default="half-up", metadata=spec(**_ROUND))
    formula: str | None = field(default=None, metadata=spec(**_FORMULA))

    def _check(self) -> None:
        _fill_formula(self, "gaussian_noise")


@record
class PoissonNoiseParams:
    """Shot noise: white (255) collects ``photons`` photons on average, each sample a Poisson
    count of ``in / 255 * photons`` scaled back (fewer photons, more noise; ImageNet-C's
    ``shot_noise`` uses 60, 25, 12, 5, 3)."""

    photons: float = field(metadata=spec(gt=0.0, hi=1e7))
    seed: int = field(metadata=spec(**_SEED))
    rounding: str = field(default="half-up", metadata=spec(**_ROUND))
    formula: str | None = field(default=None, metadata=spec(**_FORMULA))

    def _check(self) -> None:
        _fill_formula(self, "poisson_noise")


SALT_PEPPER_UNITS = ("pixel", "sample")


@record
class SaltPepperParams:
    """Impulse noise: each pixel (``unit: pixel``: all its channels) or each sample (``unit:
    sample``: channels independent, like scikit-image's ``random_noise``) is hit with
    probability ``amount``; a hit is salt (255) with probability ``salt_ratio``, else pepper (0).
    Draws: ``u = rng.random(shape)``, ``v = rng.random(shape)``; hit where ``u < amount``, salt
    where also ``v < salt_ratio``. No rounding: values are 0, 255 or the input."""

    amount: float = field(metadata=spec(lo=0.0, hi=1.0))
    seed: int = field(metadata=spec(**_SEED))
    salt_ratio: float = field(default=0.5, metadata=spec(lo=0.0, hi=1.0))
    unit: str = field(default="pixel", metadata=spec(choices=SALT_PEPPER_UNITS))


@record
class SpeckleParams:
    """Multiplicative noise: ``in * (1 + n)``, ``n ~ N(0, sigma)`` (``sigma`` relative, e.g. 0.1
    is a 10% standard deviation; as scikit-image's and ImageNet-C's ``speckle``)."""

    sigma: float = field(metadata=spec(gt=0.0, hi=10.0))
    seed: int = field(metadata=spec(**_SEED))
    rounding: str = field(default="half-up", metadata=spec(**_ROUND))
    formula: str | None = field(default=None, metadata=spec(**_FORMULA))

    def _check(self) -> None:
        _fill_formula(self, "speckle")


@register_kernel
def gaussian_noise_numpy(img: np.ndarray, p: GaussianNoiseParams) -> np.ndarray:
    """``img + rng.normal(0, sigma)`` per sample, rounded and clipped (see ``p.formula``)."""
    noise = np.random.default_rng(p.seed).normal(0.0, float(p.sigma), img.shape)
    return round_clip(img.astype(np.float64) + noise, p.rounding)


@register_kernel
def poisson_noise_numpy(img: np.ndarray, p: PoissonNoiseParams) -> np.ndarray:
    """Poisson counts of ``in / 255 * photons`` scaled back by ``255 / photons``."""
    lam = img.astype(np.float64) / 255.0 * float(p.photons)
    counts = np.random.default_rng(p.seed).poisson(lam, img.shape)
    # in the formula's order (times 255, then over photons), so exact halves stay exact
    return round_clip(counts.astype(np.float64) * 255.0 / float(p.photons), p.rounding)


@register_kernel
def salt_pepper_numpy(img: np.ndarray, p: SaltPepperParams) -> np.ndarray:
    """Impulses set to 0 or 255 where ``u < amount`` (per pixel or per sample)."""
    shape = img.shape[:2] if p.unit == "pixel" else img.shape
    rng = np.random.default_rng(p.seed)
    hit = rng.random(shape) < float(p.amount)
    salt = rng.random(shape) < float(p.salt_ratio)
    if p.unit == "pixel" and img.ndim == 3:
        hit, salt = hit[..., None], salt[..., None]
    out = np.where(hit, np.where(salt, np.uint8(255), np.uint8(0)), img)
    return out.astype(np.uint8, copy=False)


@register_kernel
def speckle_numpy(img: np.ndarray, p: SpeckleParams) -> np.ndarray:
    """``img * (1 + rng.normal(0, sigma))`` per sample, rounded and clipped."""
    x = img.astype(np.float64)
    return round_clip(
        x + x * np.random.default_rng(p.seed).normal(0.0, p.sigma, img.shape), p.rounding
    )


_DOCS = {
    "gaussian_noise": (
        GaussianNoiseParams,
        "additive Gaussian noise, sigma in grey levels, seeded",
    ),
    "poisson_noise": (PoissonNoiseParams, "shot (Poisson) noise, photons at white, seeded"),
    "salt_pepper": (
        SaltPepperParams,
        "impulse noise: amount, salt_ratio, per pixel|sample, seeded",
    ),
    "speckle": (SpeckleParams, "multiplicative Gaussian noise in * (1 + N(0, sigma)), seeded"),
}
for _name, (_cls, _doc) in _DOCS.items():
    register_op(OpDef(_name, _cls, ("numpy",), pixel_apply(_name), mask="unchanged", doc=_doc))
