"""Filter ladders: ``gaussian_blur{sigmas | ksizes}``, ``median_filter{sizes}``,
``box_blur{sizes}``, ``motion_blur{lengths, angle}`` and ``unsharp_mask{amounts, radius,
threshold}``, each on a named ``backend``. Every level's step has the backend's rules filled
in (border, OpenCV's Gaussian kernel size: ``ops.filters.resolve_filter``), so the chain in the
manifest says exactly what ran; then the output tail (lossless PNG by default)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import Any

from ..core.errors import ConfigError, OpError
from ..core.records import record, spec
from ..ops.filters import BORDERS, border_for
from ..ops.jpeg import SUBSAMPLINGS
from ._base import AxisDef, Level, PlanContext, check_output, register_axis
from ._finish import finish_chain
from ._op_ladder import plan_op_ladder

__all__ = [
    "GaussianBlurAxisParams",
    "MedianFilterAxisParams",
    "BoxBlurAxisParams",
    "MotionBlurAxisParams",
    "UnsharpMaskAxisParams",
    "plan_filter",
]

_BORDER = spec(choices=tuple(BORDERS), doc="null: the backend's own rule")
_PIL_CV = spec(choices=("opencv", "pillow"))
_SAVE = spec(choices=("png", "jpeg"))
_JPEG_BACKEND = spec(choices=("pillow", "opencv"))
_ODD = spec(lo=3, hi=255, nonempty=True, distinct=True, doc="odd")


def _check_odd(name: str, values: Sequence[int] | None) -> None:
    for i, v in enumerate(values or ()):
        if v % 2 == 0:
            raise ConfigError(f"{name}[{i}]: must be odd (3, 5, 7, ...), got {v}; use {v + 1}")


def _check_border(op: str, backend: str, border: str | None) -> None:
    try:
        border_for(op, backend, border)
    except OpError as exc:
        raise ConfigError(str(exc)) from None


@record
class GaussianBlurAxisParams:
    """Gaussian blur by ``sigmas`` (px) or by odd ``ksizes`` (sigma from OpenCV's rule)."""

    sigmas: tuple[float, ...] | None = field(
        default=None, metadata=spec(gt=0.0, hi=100.0, nonempty=True, distinct=True)
    )
    ksizes: tuple[int, ...] | None = field(
        default=None, metadata=spec(lo=1, hi=255, nonempty=True, distinct=True, doc="odd")
    )
    backend: str = field(default="opencv", metadata=_PIL_CV)
    border: str | None = field(default=None, metadata=_BORDER)
    center_crop: tuple[int, int] | None = field(default=None, metadata=spec(lo=1))
    save: str = field(default="png", metadata=_SAVE)
    quality: int | None = field(default=None, metadata=spec(lo=1, hi=100))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    jpeg_backend: str = field(default="pillow", metadata=_JPEG_BACKEND)

    def _check(self) -> None:
        check_output(self.save, self.quality)
        if (self.sigmas is None) == (self.ksizes is None):
            raise ConfigError(
                "give exactly one ladder, sigmas (px, e.g. [0.5, 1, 2]) or odd "
                "ksizes (e.g. [3, 7, 11]); got "
                + ("both" if self.sigmas is not None else "neither")
            )
        _check_odd("ksizes", self.ksizes)
        if self.backend == "pillow" and self.ksizes is not None:
            raise ConfigError(
                "ksizes: Pillow's GaussianBlur(radius=sigma) has no kernel size; sweep sigmas "
                "on pillow, or set backend: opencv for ksizes"
            )
        _check_border("gaussian_blur", self.backend, self.border)


@record
class MedianFilterAxisParams:
    """Median filter window sizes (odd; edge pixels repeated on both backends)."""

    sizes: tuple[int, ...] = field(metadata=_ODD)
    backend: str = field(default="opencv", metadata=_PIL_CV)
    center_crop: tuple[int, int] | None = field(default=None, metadata=spec(lo=1))
    save: str = field(default="png", metadata=_SAVE)
    quality: int | None = field(default=None, metadata=spec(lo=1, hi=100))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    jpeg_backend: str = field(default="pillow", metadata=_JPEG_BACKEND)

    def _check(self) -> None:
        check_output(self.save, self.quality)
        _check_odd("sizes", self.sizes)


@record
class BoxBlurAxisParams:
    """Box (mean) blur window sizes (odd)."""

    sizes: tuple[int, ...] = field(metadata=_ODD)
    backend: str = field(default="opencv", metadata=_PIL_CV)
    border: str | None = field(default=None, metadata=_BORDER)
    center_crop: tuple[int, int] | None = field(default=None, metadata=spec(lo=1))
    save: str = field(default="png", metadata=_SAVE)
    quality: int | None = field(default=None, metadata=spec(lo=1, hi=100))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    jpeg_backend: str = field(default="pillow", metadata=_JPEG_BACKEND)

    def _check(self) -> None:
        check_output(self.save, self.quality)
        _check_odd("sizes", self.sizes)
        _check_border("box_blur", self.backend, self.border)


@record
class MotionBlurAxisParams:
    """Motion blur lengths (px) at one ``angle`` (degrees, counter-clockwise from +x)."""

    lengths: tuple[int, ...] = field(metadata=spec(lo=2, hi=255, nonempty=True, distinct=True))
    angle: float = field(default=0.0, metadata=spec(lo=-360.0, hi=360.0))
    backend: str = field(default="opencv", metadata=spec(choices=("opencv", "numpy")))
    border: str = field(default="reflect101", metadata=spec(choices=tuple(BORDERS)))
    center_crop: tuple[int, int] | None = field(default=None, metadata=spec(lo=1))
    save: str = field(default="png", metadata=_SAVE)
    quality: int | None = field(default=None, metadata=spec(lo=1, hi=100))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    jpeg_backend: str = field(default="pillow", metadata=_JPEG_BACKEND)

    def _check(self) -> None:
        check_output(self.save, self.quality)


@record
class UnsharpMaskAxisParams:
    """Unsharp-mask amounts (1.5 = Pillow's percent 150) at one radius and threshold."""

    amounts: tuple[float, ...] = field(
        metadata=spec(gt=0.0, hi=10.0, nonempty=True, distinct=True, doc="multiples of 0.01")
    )
    radius: float = field(default=2.0, metadata=spec(gt=0.0, hi=100.0))
    threshold: int = field(default=3, metadata=spec(lo=0, hi=255))
    backend: str = field(default="pillow", metadata=_PIL_CV)
    border: str | None = field(default=None, metadata=_BORDER)
    center_crop: tuple[int, int] | None = field(default=None, metadata=spec(lo=1))
    save: str = field(default="png", metadata=_SAVE)
    quality: int | None = field(default=None, metadata=spec(lo=1, hi=100))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    jpeg_backend: str = field(default="pillow", metadata=_JPEG_BACKEND)

    def _check(self) -> None:
        check_output(self.save, self.quality)
        _check_border("unsharp_mask", self.backend, self.border)
        for i, a in enumerate(self.amounts):
            if abs(a * 100 - round(a * 100)) > 1e-9:
                raise ConfigError(
                    f"amounts[{i}]: must be a multiple of 0.01 (Pillow's integer percent), got "
                    f"{a}; use {round(a, 2)}"
                )


def _swept(p: Any) -> tuple[str, Sequence[Any]]:
    if isinstance(p, GaussianBlurAxisParams):
        return ("sigma", p.sigmas) if p.sigmas is not None else ("ksize", p.ksizes)
    name = {
        MedianFilterAxisParams: "size",
        BoxBlurAxisParams: "size",
        MotionBlurAxisParams: "length",
        UnsharpMaskAxisParams: "amount",
    }[type(p)]
    return name, getattr(p, f"{name}s")


# axis -> (params record, the fixed op params read from the axis params, doc)
_AXES: Mapping[str, tuple[type, tuple[str, ...], str]] = {
    "gaussian_blur": (
        GaussianBlurAxisParams,
        ("border",),
        "Gaussian blur ladder (sigmas or ksizes), pillow|opencv, kernel and border recorded",
    ),
    "median_filter": (MedianFilterAxisParams, (), "median filter ladder (sizes), pillow|opencv"),
    "box_blur": (BoxBlurAxisParams, ("border",), "box blur ladder (sizes), pillow|opencv"),
    "motion_blur": (
        MotionBlurAxisParams,
        ("angle", "border"),
        "motion blur ladder (lengths at one angle), opencv|numpy",
    ),
    "unsharp_mask": (
        UnsharpMaskAxisParams,
        ("radius", "threshold", "border"),
        "unsharp-mask ladder (amounts at one radius and threshold), pillow|opencv",
    ),
}


def plan_filter(op: str, p: Any, ctx: PlanContext) -> list[Level]:
    """One level per swept value: ``op`` with the backend's rules filled in (the shared ladder
    planner fills filters' backend rules: ``OpDef.concrete``), then the output tail."""
    param, values = _swept(p)
    tail = finish_chain(p.center_crop, p.save, p.quality, p.subsampling, p.jpeg_backend)
    fixed = {k: getattr(p, k) for k in _AXES[op][1]}
    return plan_op_ladder(op, param, values, ctx, backend=p.backend, fixed=fixed, tail=tail)


def _planner(op: str):  # noqa: ANN202 - binds the op name
    return lambda p, ctx: plan_filter(op, p, ctx)


for _op, (_cls, _fixed, _doc) in _AXES.items():
    register_axis(AxisDef(_op, _cls, _planner(_op), doc=_doc))
