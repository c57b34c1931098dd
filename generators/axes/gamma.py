"""The ``gamma`` axis: one gamma correction per level, exact formula recorded in the chain."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.errors import ConfigError
from ..core.records import repeats, spec
from ..ops import Step
from ..ops.gamma import GAMMA_FORMULAS, GammaParams
from ..ops.jpeg import SUBSAMPLINGS
from ._base import AxisDef, Level, PlanContext, register_axis
from ._finish import finish_chain

__all__ = ["GammaAxisParams", "plan_gamma"]


@dataclass(frozen=True)
class GammaAxisParams:
    gammas: tuple[float, ...] = field(metadata=spec(lo=0.01, hi=100.0))
    rounding: str = field(default="half-up", metadata=spec(choices=tuple(GAMMA_FORMULAS)))
    center_crop: tuple[int, int] | None = field(default=None, metadata=spec(lo=1))
    save: str = field(default="png", metadata=spec(choices=("png", "jpeg")))
    quality: int | None = field(default=None, metadata=spec(lo=1, hi=100))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    jpeg_backend: str = field(default="pillow", metadata=spec(choices=("pillow", "opencv")))

    def __post_init__(self) -> None:
        if not self.gammas:
            raise ConfigError("gammas: must list at least one gamma > 0")
        if len(set(self.gammas)) != len(self.gammas):
            raise ConfigError(f"gammas: {repeats(self.gammas)}")
        if self.save == "jpeg" and self.quality is None:
            raise ConfigError("quality: required when save is 'jpeg'")


def plan_gamma(p: GammaAxisParams, ctx: PlanContext) -> list[Level]:
    tail = finish_chain(p.center_crop, p.save, p.quality, p.subsampling, p.jpeg_backend)
    levels = []
    for g in p.gammas:
        gp = GammaParams(gamma=g, rounding=p.rounding)
        label = f"{g:g}"
        params = {"gamma": g, "formula": gp.formula}
        levels.append(Level(label, float(g), params, (Step("gamma", "numpy", gp), *tail), label))
    return levels


register_axis(
    AxisDef("gamma", GammaAxisParams, plan_gamma, doc="gamma correction, formula recorded")
)
