"""The ``double_jpeg`` axis: JPEG at QF1, decode, optionally crop (r, c) off the top-left so the
second grid is shifted, JPEG at QF2. Shifts are listed, or drawn per image by the seeded planner."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.errors import ConfigError
from ..core.records import repeats, spec
from ..ops import Step
from ..ops.crop import CropParams
from ..ops.jpeg import SUBSAMPLINGS, DecodeParams, JpegParams
from ._base import AxisDef, Level, PlanContext, register_axis


@dataclass(frozen=True)
class DoubleJpegParams:
    q1: tuple[int, ...] = field(metadata=spec(lo=1, hi=100))
    q2: tuple[int, ...] = field(metadata=spec(lo=1, hi=100))
    shifts: tuple[tuple[int, int], ...] = field(default=((0, 0),), metadata=spec(lo=0, hi=7))
    random_shifts: int = field(
        default=0, metadata=spec(lo=0, hi=64, doc="per-image draws from {0..7}^2")
    )
    include_equal: bool = False  # QF1 == QF2 pairs are skipped unless asked for
    backend: str = field(default="pillow", metadata=spec(choices=("pillow", "opencv")))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))

    def __post_init__(self) -> None:
        if not self.q1 or not self.q2:
            raise ConfigError("q1/q2: must each list at least one quality 1..100")
        if len(set(self.shifts)) != len(self.shifts):
            raise ConfigError(f"shifts: {repeats([tuple(s) for s in self.shifts])}")
        if not self.shifts and not self.random_shifts:
            raise ConfigError("shifts: give at least one [r, c] shift or random_shifts > 0")


def _chain(p: DoubleJpegParams, q1: int, q2: int, r: int, c: int) -> tuple[Step, ...]:
    steps = [
        Step("jpeg", p.backend, JpegParams(q1, p.subsampling)),
        Step("decode", "pillow", DecodeParams()),
    ]
    if (r, c) != (0, 0):
        steps.append(Step("crop", "numpy", CropParams(top=r, left=c)))
    steps.append(Step("jpeg", p.backend, JpegParams(q2, p.subsampling)))
    return tuple(steps)


def plan_double_jpeg(p: DoubleJpegParams, ctx: PlanContext) -> list[Level]:
    levels = []
    for q1 in p.q1:
        for q2 in p.q2:
            if q1 == q2 and not p.include_equal:
                continue
            pair = f"q1={q1},q2={q2}"
            shifts = list(p.shifts)
            if p.random_shifts:
                rng = ctx.rng_for(f"{pair},random")
                free = [
                    i for i in range(64) if divmod(i, 8) not in shifts
                ]  # draw unlisted shifts only
                picks = rng.choice(free, size=min(p.random_shifts, len(free)), replace=False)
                shifts += [divmod(int(i), 8) for i in picks]
            for r, c in shifts:
                params = {"q1": q1, "q2": q2, "shift": [r, c], "aligned": (r, c) == (0, 0)}
                label = f"{pair},shift={r}x{c}"
                levels.append(Level(label, float(q1), params, _chain(p, q1, q2, r, c), label))
    return levels


register_axis(
    AxisDef(
        "double_jpeg",
        DoubleJpegParams,
        plan_double_jpeg,
        doc="QF1 x QF2 grid, aligned and grid-shifted",
    )
)
