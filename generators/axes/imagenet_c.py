"""The ``imagenet_c`` axis: one ImageNet-C corruption at severities 1..5 (one axis per corruption,
named as imagecorruptions names it, in the ``imagenet-c`` suites).

Each level runs the ``imagenet_c`` op at one severity; a random corruption gets a seed drawn from
``ctx.rng_for(level)`` (suite seed, source id, axis/level), recorded in the chain. By default the
result is saved losslessly (PNG). ``faithful: true`` reproduces ImageNet-C's own re-save: the
corrupted pixels (truncated to uint8) written as Pillow JPEG quality 85, 4:2:0, optimize=True
(``make_imagenet_c.py``: ``save(path, quality=85, optimize=True)``), so its
``jpeg_compression`` levels are double compressions, as in the published data set.
``preprocess: imagenet`` runs ImageNet-C's preparation first (torchvision ``Resize(256)``,
``CenterCrop(224)``): shorter side to 256 (Pillow bilinear) and a 224x224 centre crop.
"""

from __future__ import annotations

from dataclasses import field

from ..core.errors import ConfigError
from ..core.records import record, spec
from ..ops import Step, make_step
from ..ops.center_crop import CenterCropParams
from ..ops.imagenet_c import CORRUPTIONS, RANDOM_CORRUPTIONS
from ..ops.jpeg import SUBSAMPLINGS, JpegParams
from ..ops.resize import resize_step
from ._base import AxisDef, Level, PlanContext, check_output, register_axis
from ._finish import finish_chain
from ._op_ladder import SEED_BOUND

__all__ = [
    "ImagenetCAxisParams",
    "plan_imagenet_c",
    "imagenet_preprocess",
    "FAITHFUL_QUALITY",
    "PREPROCESS",
]

FAITHFUL_QUALITY = 85  # ImageNet-C's scripts save every corrupted image with Pillow at q85
PREPROCESS = ("none", "imagenet")


@record
class ImagenetCAxisParams:
    """A corruption, its severities, and how the result is prepared and saved."""

    corruption: str = field(metadata=spec(choices=CORRUPTIONS))
    severities: tuple[int, ...] = field(
        default=(1, 2, 3, 4, 5), metadata=spec(lo=1, hi=5, nonempty=True, distinct=True)
    )
    faithful: bool = False
    preprocess: str = field(default="none", metadata=spec(choices=PREPROCESS))
    rounding: str = field(default="truncate", metadata=spec(choices=("truncate", "half-up")))
    center_crop: tuple[int, int] | None = field(default=None, metadata=spec(lo=1))
    save: str = field(default="png", metadata=spec(choices=("png", "jpeg")))
    quality: int | None = field(default=None, metadata=spec(lo=1, hi=100))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    jpeg_backend: str = field(default="pillow", metadata=spec(choices=("pillow", "opencv")))

    def _check(self) -> None:
        check_output(self.save, self.quality)
        if self.faithful and (self.save != "png" or self.quality is not None):
            raise ConfigError(
                f"save: faithful writes ImageNet-C's JPEG q{FAITHFUL_QUALITY} itself, got "
                f"save={self.save!r}, quality={self.quality}; drop save/quality or faithful"
            )


def _tail(p: ImagenetCAxisParams) -> tuple[Step, ...]:
    if not p.faithful:
        return finish_chain(p.center_crop, p.save, p.quality, p.subsampling, p.jpeg_backend)
    head = (
        ()
        if p.center_crop is None
        else (Step("center_crop", "numpy", CenterCropParams(*p.center_crop)),)
    )
    return (
        *head,
        Step("jpeg", "pillow", JpegParams(FAITHFUL_QUALITY, "4:2:0", optimize=True)),
    )


def imagenet_preprocess(preprocess: str) -> tuple[Step, ...]:
    """The steps of ``preprocess``: none, or ImageNet's evaluation preparation (shorter side to
    256, Pillow bilinear, then the 224 x 224 centre crop); the ``clean`` axis shares it."""
    if preprocess == "none":
        return ()
    return (
        resize_step("pillow", "bilinear", mode="shorter", side=256),
        Step("center_crop", "numpy", CenterCropParams(224, 224)),
    )


def plan_imagenet_c(p: ImagenetCAxisParams, ctx: PlanContext) -> list[Level]:
    """One level per severity (named ``1``..``5``), published values and seed in ``axis_params``."""
    head, tail = imagenet_preprocess(p.preprocess), _tail(p)
    levels = []
    for severity in p.severities:
        label = str(severity)
        raw = {"op": "imagenet_c", "corruption": p.corruption, "severity": severity}
        if p.corruption in RANDOM_CORRUPTIONS:
            raw["seed"] = int(ctx.rng_for(label).integers(0, SEED_BOUND))
        step = make_step({**raw, "rounding": p.rounding}, f"imagenet_c[{label}]")
        recorded = {k: v for k, v in step.to_json()["params"].items() if v is not None}
        axis_params = {**recorded, "faithful": p.faithful, "preprocess": p.preprocess}
        levels.append(Level(label, float(severity), axis_params, (*head, step, *tail), label))
    return levels


register_axis(
    AxisDef(
        "imagenet_c",
        ImagenetCAxisParams,
        plan_imagenet_c,
        doc="an ImageNet-C corruption at severities 1..5 (imagecorruptions parameters), seeded",
    )
)
