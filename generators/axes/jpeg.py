"""The ``jpeg`` axis: a quality ladder, one re-compression per level."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.errors import ConfigError
from ..core.records import repeats, spec
from ..ops import Step
from ..ops.jpeg import SUBSAMPLINGS, JpegParams
from ._base import AxisDef, Level, PlanContext, register_axis


@dataclass(frozen=True)
class JpegLadderParams:
    qualities: tuple[int, ...] = field(metadata=spec(lo=1, hi=100))
    backend: str = field(default="pillow", metadata=spec(choices=("pillow", "opencv")))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    optimize: bool = False
    progressive: bool = False

    def __post_init__(self) -> None:
        if not self.qualities:
            raise ConfigError("qualities: must list at least one quality 1..100")
        if len(set(self.qualities)) != len(self.qualities):
            raise ConfigError(f"qualities: {repeats(self.qualities)}")


def plan_jpeg(p: JpegLadderParams, ctx: PlanContext) -> list[Level]:
    levels = []
    for q in p.qualities:
        step = Step("jpeg", p.backend, JpegParams(q, p.subsampling, p.optimize, p.progressive))
        levels.append(
            Level(str(q), float(q), {"quality": q, "backend": p.backend}, (step,), f"q={q}")
        )
    return levels


register_axis(AxisDef("jpeg", JpegLadderParams, plan_jpeg, doc="JPEG quality ladder"))
