"""Geometry axes: ``rotate`` (angles), ``flip`` (directions), ``affine`` (one of rotations,
shears, scales or translates), ``perspective`` (strengths; corners drawn per level from a
seeded draw) and ``pixelate`` (factors); each a ladder of its op (:mod:`..ops.geometry`,
:mod:`..ops.perspective`, :mod:`..ops.pixelate`) then the axis' output tail."""

from __future__ import annotations

from dataclasses import field
from typing import Any

from ..core.errors import ConfigError
from ..core.records import spec
from ..ops import OPS
from ..ops.geometry import FLIP_DIRECTIONS, ROTATE_FITS
from ..ops.geometry_warp import INTERPOLATIONS
from ..ops.resize import combo_problem
from ._base import AxisDef, Level, PlanContext, register_axis
from ._op_axis import make_record, output_fields, register_ladder_axis, tail_of
from ._op_ladder import plan_op_ladder

__all__ = [
    "RotateAxisParams",
    "FlipAxisParams",
    "AffineAxisParams",
    "PerspectiveAxisParams",
    "PixelateAxisParams",
    "plan_affine",
]


def _interp() -> tuple:
    return ("interpolation", str, field(default="bilinear", metadata=spec(choices=INTERPOLATIONS)))


def _fill() -> tuple:
    return ("fill", tuple[int, int, int], field(default=(0, 0, 0), metadata=spec(lo=0, hi=255)))


def _pixelate_methods(p: Any) -> None:
    for name in ("down", "up"):
        problem = combo_problem(p.backend, getattr(p, name), None, None)
        if problem is not None:
            raise ConfigError(f"{name}: {problem[1]}")


RotateAxisParams = register_ladder_axis(
    "rotate",
    "angles",
    "angle",
    float,
    spec(lo=-360.0, hi=360.0),
    fixed=[
        _interp(),
        ("fit", str, field(default="expand", metadata=spec(choices=ROTATE_FITS))),
        _fill(),
    ],
    doc="rotation ladder (degrees, ccw): expand, crop to the largest inscribed rectangle or same",
)
FlipAxisParams = register_ladder_axis(
    "flip",
    "directions",
    "direction",
    str,
    spec(choices=FLIP_DIRECTIONS),
    doc="horizontal and/or vertical mirror; exact, the JPEG grid phase moves",
)
PerspectiveAxisParams = register_ladder_axis(
    "perspective",
    "strengths",
    "strength",
    float,
    spec(lo=0.0, hi=0.45),
    fixed=[_interp(), _fill()],
    doc="perspective ladder: corners moved inwards by up to strength x size, drawn per level",
)
PixelateAxisParams = register_ladder_axis(
    "pixelate",
    "factors",
    "factor",
    float,
    spec(lo=1.0, hi=256.0),
    fixed=[
        ("down", str, field(default="area", metadata=spec(doc="resize method down"))),
        ("up", str, field(default="nearest", metadata=spec(doc="resize method up"))),
    ],
    doc="pixelate ladder: down by a factor and back up, methods and library recorded",
    check=_pixelate_methods,
)

# affine: one swept component (list field) -> the op's parameter.
_AFFINE_SWEEPS = {
    "rotations": "rotation",
    "shears": "shear",
    "scales": "scale",
    "translates": "translate",
}


def _affine_fields() -> list:
    def opt(**kw: Any) -> Any:
        return field(default=None, metadata=spec(nonempty=True, distinct=True, **kw))

    return [
        ("rotations", tuple[float, ...] | None, opt(lo=-180.0, hi=180.0)),
        ("shears", tuple[float, ...] | None, opt(lo=-60.0, hi=60.0)),
        ("scales", tuple[float, ...] | None, opt(gt=0.0, hi=10.0)),
        ("translates", tuple[tuple[float, float], ...] | None, opt()),
        ("rotation", float, field(default=0.0, metadata=spec(lo=-180.0, hi=180.0))),
        ("shear", float, field(default=0.0, metadata=spec(lo=-60.0, hi=60.0))),
        ("scale", float, field(default=1.0, metadata=spec(gt=0.0, hi=10.0))),
        ("translate", tuple[float, float], field(default=(0.0, 0.0))),
        _interp(),
        _fill(),
        (
            "backend",
            str,
            field(default="pillow", metadata=spec(choices=OPS.get("affine").backends)),
        ),
        *output_fields(),
    ]


AffineAxisParams = make_record(
    "AffineAxisParams",
    "An affine ladder: exactly one of rotations, shears, scales, translates (the swept "
    "component); the other components fixed.",
    _affine_fields(),
    check=lambda p: _swept(p),
)


def _swept(p: Any) -> str:
    given = [name for name in _AFFINE_SWEEPS if getattr(p, name) is not None]
    if len(given) != 1:
        raise ConfigError(
            f"rotations: give exactly one of {', '.join(_AFFINE_SWEEPS)} (the swept component), "
            f"got {given or 'none'}; fix the others with rotation, shear, scale, translate"
        )
    return given[0]


def plan_affine(p: Any, ctx: PlanContext) -> list[Level]:
    """One level per value of the swept component; the forward matrix recorded per level."""
    plural = _swept(p)
    param = _AFFINE_SWEEPS[plural]
    fixed = {
        k: getattr(p, k)
        for k in ("rotation", "shear", "scale", "translate", "interpolation", "fill")
        if k != param
    }
    values = getattr(p, plural)
    return plan_op_ladder(
        "affine", param, values, ctx, backend=p.backend, fixed=fixed, tail=tail_of(p)
    )


register_axis(
    AxisDef(
        "affine",
        AffineAxisParams,
        plan_affine,
        doc="small affine ladder over rotation, shear, scale or translate; matrix recorded",
    )
)
