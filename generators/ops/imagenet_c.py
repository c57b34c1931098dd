"""The 15 ImageNet-C corruptions at their 5 severities (Hendrycks & Dietterich, ICLR 2019), with
the parameters of imagecorruptions 1.1.2, seeded and recorded.

``{op: imagenet_c, corruption: fog, severity: 3, seed: 42}``: every draw comes from
``numpy.random.default_rng(seed)`` (a corruption that draws nothing takes no seed); the
severity's published values are written into the step (``published``), and the float result
is clipped to 0..255 and rounded as ``rounding`` says: ``truncate`` (``np.uint8``, what
imagecorruptions' ``corrupt`` and ImageNet-C's scripts do) or ``half-up``. A grey (HxW) image is
corrupted as RGB with three equal channels and comes out RGB, as imagecorruptions does.
ImageNet-C also re-saved every output as JPEG q85: that belongs to the chain (the axis'
``faithful`` option), never to this op. Where we differ from the peer: ``frost`` blends a
procedural frost texture instead of its bundled photographs; see ``_ic_weather``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from typing import Any

import numpy as np

from ..backends import get_backend, register_kernel
from ..core.errors import OpError
from ..core.records import record, spec
from . import _ic_digital, _ic_noise_blur, _ic_weather
from ._base import ImageState, OpDef, register_op

__all__ = [
    "CORRUPTIONS",
    "RANDOM_CORRUPTIONS",
    "IMAGENET_C",
    "ImagenetCParams",
    "published_values",
    "corrupt_float",
    "imagenet_c_numpy",
]

# corruption -> (value names, the values of severities 1..5): imagecorruptions 1.1.2's tables.
IMAGENET_C: dict[str, tuple[tuple[str, ...], tuple[tuple[float, ...], ...]]] = {
    "gaussian_noise": (("scale",), ((0.08,), (0.12,), (0.18,), (0.26,), (0.38,))),
    "shot_noise": (("photons",), ((60,), (25,), (12,), (5,), (3,))),
    "impulse_noise": (("amount",), ((0.03,), (0.06,), (0.09,), (0.17,), (0.27,))),
    "defocus_blur": (
        ("radius", "alias_blur"),
        ((3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5)),
    ),
    "glass_blur": (
        ("sigma", "max_delta", "iterations"),
        ((0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2)),
    ),
    "motion_blur": (("radius", "sigma"), ((10, 3), (15, 5), (15, 8), (15, 12), (20, 15))),
    "zoom_blur": (
        ("stop", "step"),
        ((1.11, 0.01), (1.16, 0.01), (1.21, 0.02), (1.26, 0.02), (1.31, 0.03)),
    ),
    "snow": (
        ("loc", "scale", "zoom", "threshold", "radius", "sigma", "blend"),
        (
            (0.1, 0.3, 3, 0.5, 10, 4, 0.8),
            (0.2, 0.3, 2, 0.5, 12, 4, 0.7),
            (0.55, 0.3, 4, 0.9, 12, 8, 0.7),
            (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65),
            (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55),
        ),
    ),
    "frost": (
        ("image_weight", "frost_weight"),
        ((1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75)),
    ),
    "fog": (("strength", "wibbledecay"), ((1.5, 2), (2.0, 2), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4))),
    "brightness": (("shift",), ((0.1,), (0.2,), (0.3,), (0.4,), (0.5,))),
    "contrast": (("factor",), ((0.4,), (0.3,), (0.2,), (0.1,), (0.05,))),
    "elastic_transform": (
        ("alpha", "sigma", "max_shift"),
        tuple((250 * a, 0.01, 0.005) for a in (0.05, 0.065, 0.085, 0.1, 0.12)),
    ),
    "pixelate": (("factor",), ((0.6,), (0.5,), (0.4,), (0.3,), (0.25,))),
    "jpeg_compression": (("quality",), ((25,), (18,), (15,), (10,), (7,))),
}
CORRUPTIONS = tuple(IMAGENET_C)
RANDOM_CORRUPTIONS = (
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "glass_blur",
    "motion_blur",
    "snow",
    "frost",
    "fog",
    "elastic_transform",
)
# Corruptions that resample or shuffle pixels: the JPEG grids and the region are lost.
_RESAMPLING = ("glass_blur", "zoom_blur", "elastic_transform", "pixelate")
_FUNCS: dict[str, Callable[[np.ndarray, dict, Any], np.ndarray]] = {
    name: getattr(module, name)
    for module in (_ic_noise_blur, _ic_weather, _ic_digital)
    for name in CORRUPTIONS
    if hasattr(module, name)
}
MIN_SIDE = 32  # imagecorruptions refuses smaller images; several kernels need the room


def published_values(corruption: str, severity: int) -> dict[str, float]:
    """The named values of ``corruption`` at ``severity`` (1..5), as imagecorruptions uses them."""
    names, table = IMAGENET_C[corruption]
    return dict(zip(names, table[severity - 1]))


def _published_text(corruption: str, severity: int) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in published_values(corruption, severity).items())


@record
class ImagenetCParams:
    """One ImageNet-C corruption at one severity. ``seed``: for the random corruptions
    (``RANDOM_CORRUPTIONS``) only, drawn by the planner. ``published``: recorded, filled from
    (corruption, severity) with the imagecorruptions 1.1.2 values."""

    corruption: str = field(metadata=spec(choices=CORRUPTIONS))
    severity: int = field(metadata=spec(lo=1, hi=5))
    seed: int | None = field(default=None, metadata=spec(lo=0, hi=2**63 - 1))
    rounding: str = field(default="truncate", metadata=spec(choices=("truncate", "half-up")))
    published: str | None = field(default=None, metadata=spec(doc="recorded; from severity"))

    def _check(self) -> None:
        random = self.corruption in RANDOM_CORRUPTIONS
        if random and self.seed is None:
            raise OpError(
                f"seed: corruption {self.corruption!r} draws random numbers and needs a seed; "
                f"give one (e.g. seed: 0) or plan it with the imagenet_c axis, which draws it"
            )
        if not random and self.seed is not None:
            raise OpError(
                f"seed: corruption {self.corruption!r} is deterministic and takes no seed, got "
                f"{self.seed}; drop it"
            )
        expected = _published_text(self.corruption, self.severity)
        if self.published is None:
            object.__setattr__(self, "published", expected)  # concrete in the chain
        elif self.published != expected:
            raise OpError(
                f"published: {self.corruption} severity {self.severity} means {expected!r}, "
                f"got {self.published!r}; drop it (it is filled in)"
            )


def corrupt_float(img: np.ndarray, corruption: str, severity: int, rng: Any) -> np.ndarray:
    """The corruption's float result (HxWx3, 0..255, before rounding) for a uint8 RGB or grey
    image; ``rng`` is any generator with numpy's ``normal``/``poisson``/``uniform``/
    ``integers``/``random`` methods (None for a deterministic corruption)."""
    x = np.asarray(img)
    if x.ndim == 2:
        x = np.stack((x,) * 3, axis=-1)
    return _FUNCS[corruption](x.astype(np.float64), published_values(corruption, severity), rng)


@register_kernel
def imagenet_c_numpy(img: np.ndarray, p: ImagenetCParams) -> np.ndarray:
    """The corruption computed in float64 (float32 where the peer does), clipped to 0..255 and
    rounded by ``p.rounding``: uint8 HxWx3."""
    h, w = img.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise OpError(
            f"imagenet_c {p.corruption}: the image is {h}x{w}; ImageNet-C corruptions need at "
            f"least {MIN_SIDE}x{MIN_SIDE} pixels: resize it up first"
        )
    rng = None if p.seed is None else np.random.default_rng(int(p.seed))
    out = np.clip(corrupt_float(img, p.corruption, p.severity, rng), 0, 255)
    if p.rounding == "half-up":
        out = np.floor(out + 0.5)
    return out.astype(np.uint8)  # truncates: np.uint8 as the peer


def _apply_imagenet_c(state: ImageState, p: ImagenetCParams, backend: str) -> ImageState:
    img = state.require_pixels("imagenet_c")
    out = get_backend(backend).kernel("imagenet_c")(img, p)
    changes: dict[str, Any] = {}
    if p.corruption in _RESAMPLING:
        changes = {"grids": (), "region": None}  # pixels moved: no grid, no correspondence
    elif p.corruption == "jpeg_compression":
        changes = {"grids": state.grids + ((0, 0),), "passes": state.passes + 1}
    return state.replace(pixels=out, data=None, fmt=None, lossless_pixels=False, **changes)


register_op(
    OpDef(
        "imagenet_c",
        ImagenetCParams,
        ("numpy",),
        _apply_imagenet_c,
        mask="unchanged",
        doc="an ImageNet-C corruption (imagecorruptions 1.1.2 parameters) at severity 1..5, "
        "seeded, published values recorded",
    )
)
