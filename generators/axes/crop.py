"""The ``crop`` axis: crops at offsets (dy, dx) in {0..7}^2 that move the 8x8 JPEG grid (and, for
odd offsets, the 2x2 CFA phase), saved losslessly or re-encoded.

Listed offsets are levels ``dy=0,dx=1`` (not ``0x1``, which reads as hex). With ``sample: N`` the
planner draws N of them per image: one planned level ``dy=random,dx=random`` with N variants,
the drawn offset in ``axis_params`` and the chain. Variant files keep the ``{dy}x{dx}`` name.
"""

from __future__ import annotations

from dataclasses import field

from ..core.errors import ConfigError
from ..core.records import record, spec
from ..ops import Step
from ..ops.crop import CropParams
from ..ops.jpeg import SUBSAMPLINGS
from ._base import AxisDef, Level, PlanContext, check_output, output_step, register_axis

__all__ = ["CropAxisParams", "plan_crop", "ALL_OFFSETS", "RANDOM_LEVEL", "offset_level"]

ALL_OFFSETS = tuple((dy, dx) for dy in range(8) for dx in range(8))
RANDOM_LEVEL = "dy=random,dx=random"


def offset_level(dy: int, dx: int) -> str:
    """The level of a listed offset: ``dy=0,dx=1``."""
    return f"dy={dy},dx={dx}"


@record
class CropAxisParams:
    """Offsets ``all`` or a list of [dy, dx] (``sample``: N drawn per image), an optional crop
    ``size``, and how the crop is saved (PNG, or JPEG at ``quality``)."""

    offsets: str | tuple[tuple[int, int], ...] = field(
        default="all", metadata=spec(lo=0, hi=7, doc="'all' (64 offsets) or a list of [dy, dx]")
    )
    sample: int | None = field(
        default=None, metadata=spec(lo=1, hi=64, doc="draw N offsets per image")
    )
    size: tuple[int, int] | None = field(
        default=None, metadata=spec(lo=1, doc="[h, w]; null = to the edge")
    )
    save: str = field(default="png", metadata=spec(choices=("png", "jpeg")))
    quality: int | None = field(default=None, metadata=spec(lo=1, hi=100))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    backend: str = field(default="pillow", metadata=spec(choices=("pillow", "opencv")))

    def _check(self) -> None:
        if isinstance(self.offsets, str) and self.offsets != "all":
            raise ConfigError(f"offsets: must be 'all' or a list of [dy, dx], got {self.offsets!r}")
        check_output(self.save, self.quality)
        offs = self.offset_list()
        if len(set(offs)) != len(offs):
            raise ConfigError("offsets: repeated values")
        if self.sample is not None and self.sample > len(offs):
            raise ConfigError(f"sample: {self.sample} is more than the {len(offs)} offsets listed")

    def offset_list(self) -> tuple[tuple[int, int], ...]:
        """The offsets listed (all 64 for ``all``)."""
        return ALL_OFFSETS if self.offsets == "all" else tuple(self.offsets)


def plan_crop(p: CropAxisParams, ctx: PlanContext) -> list[Level]:
    """One variant per listed offset, or ``sample`` drawn offsets of one random level."""
    offsets = p.offset_list()
    if p.sample is not None:
        picks = ctx.rng_for("sample").choice(len(offsets), size=p.sample, replace=False)
        offsets = tuple(offsets[i] for i in sorted(int(i) for i in picks))
    out = output_step(p.save, p.quality, p.subsampling, p.backend)
    h, w = p.size if p.size is not None else (None, None)
    levels = []
    for dy, dx in offsets:
        crop = Step("crop", "numpy", CropParams(top=dy, left=dx, height=h, width=w))
        params = {
            "dy": dy,
            "dx": dx,
            "cfa_phase_kept": dy % 2 == 0 and dx % 2 == 0,
            "grid_kept": dy % 8 == 0 and dx % 8 == 0,
        }
        name = f"{dy}x{dx}"  # the file name and seed slot, as before levels were renamed
        level = RANDOM_LEVEL if p.sample is not None else offset_level(dy, dx)
        levels.append(Level(level, None, params, (crop, out), name, variant=name))
    return levels


register_axis(
    AxisDef(
        "crop",
        CropAxisParams,
        plan_crop,
        doc="crops at (dy, dx) offsets moving the JPEG grid / CFA phase",
    )
)
