"""The ``gamma`` axis: one gamma correction per level, exact formula recorded in the chain."""

from __future__ import annotations

from dataclasses import field

from ..core.records import record, spec
from ..ops import Step
from ..ops.gamma import GAMMA_FORMULAS, GammaParams
from ..ops.jpeg import SUBSAMPLINGS
from ._base import AxisDef, Level, PlanContext, check_output, register_axis
from ._finish import finish_chain

__all__ = ["GammaAxisParams", "plan_gamma"]


@record
class GammaAxisParams:
    """Gamma values (with their rounding rule) and how the result is saved."""

    gammas: tuple[float, ...] = field(metadata=spec(gt=0.0, hi=100.0, nonempty=True, distinct=True))
    rounding: str = field(default="half-up", metadata=spec(choices=tuple(GAMMA_FORMULAS)))
    center_crop: tuple[int, int] | None = field(default=None, metadata=spec(lo=1))
    save: str = field(default="png", metadata=spec(choices=("png", "jpeg")))
    quality: int | None = field(default=None, metadata=spec(lo=1, hi=100))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    jpeg_backend: str = field(default="pillow", metadata=spec(choices=("pillow", "opencv")))

    def _check(self) -> None:
        check_output(self.save, self.quality)


def plan_gamma(p: GammaAxisParams, ctx: PlanContext) -> list[Level]:
    """One level per gamma, its exact formula recorded in ``axis_params`` and the chain."""
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
