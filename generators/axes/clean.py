"""The ``clean`` axis: one identity variant per source, the reference every variant is paired with."""

from __future__ import annotations

from dataclasses import field

from ..core.records import record, spec
from ..ops import Step
from ..ops.center_crop import CenterCropParams
from ._base import AxisDef, Level, PlanContext, check_output, output_step, register_axis
from .imagenet_c import PREPROCESS, imagenet_preprocess

__all__ = ["CleanParams", "plan_clean"]


@record
class CleanParams:
    """How the clean reference is saved (PNG, or JPEG at ``quality``), optionally centre-cropped."""

    save: str = field(default="png", metadata=spec(choices=("png", "jpeg")))
    quality: int | None = field(default=None, metadata=spec(lo=1, hi=100))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=("4:4:4", "4:2:2", "4:2:0")))
    backend: str = field(default="pillow", metadata=spec(choices=("pillow", "opencv")))
    # Optional [h, w] centre crop (e.g. the SP Cup 2018 reference: the unaltered 512x512 centre).
    center_crop: tuple[int, int] | None = field(default=None, metadata=spec(lo=1))
    # ``imagenet``: ImageNet's evaluation preparation first (shorter side 256, centre 224), the
    # clean reference of a suite whose axes prepare their images so (imagenet-c-faithful).
    preprocess: str = field(default="none", metadata=spec(choices=PREPROCESS))

    def _check(self) -> None:
        check_output(self.save, self.quality)


def plan_clean(p: CleanParams, ctx: PlanContext) -> list[Level]:
    """The one ``clean`` level: (the preparation, centre crop and) the output encoder."""
    step = output_step(p.save, p.quality, p.subsampling, p.backend)
    head = imagenet_preprocess(p.preprocess)
    params = {} if p.preprocess == "none" else {"preprocess": p.preprocess}
    if p.center_crop is None:
        return [Level("clean", None, params, (*head, step), "clean")]
    crop = Step("center_crop", "numpy", CenterCropParams(*p.center_crop))
    params["center_crop"] = list(p.center_crop)
    return [Level("clean", None, params, (*head, crop, step), "clean")]


register_axis(
    AxisDef(
        "clean",
        CleanParams,
        plan_clean,
        doc="one identity variant per source (lossless unless the suite says otherwise)",
    )
)
