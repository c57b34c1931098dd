"""The ``jpeg`` axis: a quality ladder, one re-compression per level."""

from __future__ import annotations

from dataclasses import field

from ..core.records import record, spec
from ..ops import Step
from ..ops.jpeg import SUBSAMPLINGS, JpegParams
from ._base import AxisDef, Level, PlanContext, register_axis

__all__ = ["JpegLadderParams", "plan_jpeg"]


@record
class JpegLadderParams:
    """A quality ladder and the encoder settings shared by its levels."""

    qualities: tuple[int, ...] = field(metadata=spec(lo=1, hi=100, nonempty=True, distinct=True))
    backend: str = field(default="pillow", metadata=spec(choices=("pillow", "opencv")))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    optimize: bool = False
    progressive: bool = False


def plan_jpeg(p: JpegLadderParams, ctx: PlanContext) -> list[Level]:
    """One level per quality, labelled by the quality."""
    levels = []
    for q in p.qualities:
        step = Step("jpeg", p.backend, JpegParams(q, p.subsampling, p.optimize, p.progressive))
        levels.append(
            Level(str(q), float(q), {"quality": q, "backend": p.backend}, (step,), f"q={q}")
        )
    return levels


register_axis(AxisDef("jpeg", JpegLadderParams, plan_jpeg, doc="JPEG quality ladder"))
