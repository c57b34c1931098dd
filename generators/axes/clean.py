"""The ``clean`` axis: one identity variant per source, the reference every variant is paired with."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.errors import ConfigError
from ..core.records import spec
from ._base import AxisDef, Level, PlanContext, output_step, register_axis


@dataclass(frozen=True)
class CleanParams:
    save: str = field(default="png", metadata=spec(choices=("png", "jpeg")))
    quality: int | None = field(default=None, metadata=spec(lo=1, hi=100))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=("4:4:4", "4:2:2", "4:2:0")))
    backend: str = field(default="pillow", metadata=spec(choices=("pillow", "opencv")))
    # Optional [h, w] centre crop (e.g. the SP Cup 2018 reference: the unaltered 512x512 centre).
    center_crop: tuple[int, int] | None = field(default=None, metadata=spec(lo=1))

    def __post_init__(self) -> None:
        if self.save == "jpeg" and self.quality is None:
            raise ConfigError("quality: required when save is 'jpeg'")


def plan_clean(p: CleanParams, ctx: PlanContext) -> list[Level]:
    step = output_step(p.save, p.quality, p.subsampling, p.backend)
    if p.center_crop is None:
        return [Level("clean", None, {}, (step,), "clean")]
    from ..ops import Step
    from ..ops.center_crop import CenterCropParams

    crop = Step("center_crop", "numpy", CenterCropParams(*p.center_crop))
    params = {"center_crop": list(p.center_crop)}
    return [Level("clean", None, params, (crop, step), "clean")]


register_axis(
    AxisDef(
        "clean",
        CleanParams,
        plan_clean,
        doc="one identity variant per source (lossless unless the suite says otherwise)",
    )
)
