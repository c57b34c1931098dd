"""The ``double_jpeg`` axis: JPEG at QF1, decode, optionally crop (r, c) off the top-left so the
second grid is shifted, JPEG at QF2. Shifts are listed, or drawn per image by the seeded planner.

A listed shift is its own level (``q1=95,q2=90,shift=4x4``); the ``random_shifts`` draws of a
(q1, q2) pair are variants of one planned level ``q1=95,q2=90,shift=random``, the drawn shift in
``axis_params`` and the chain (their files keep the drawn shift in their name).
"""

from __future__ import annotations

from dataclasses import field

from ..core.errors import ConfigError
from ..core.records import record, spec
from ..ops import Step
from ..ops.crop import CropParams
from ..ops.jpeg import SUBSAMPLINGS, DecodeParams, JpegParams
from ._base import AxisDef, Level, PlanContext, register_axis

__all__ = ["DoubleJpegParams", "plan_double_jpeg"]


@record
class DoubleJpegParams:
    """QF1 x QF2 pairs (equal ones only with ``include_equal``), listed ``shifts`` [r, c] and
    ``random_shifts`` drawn per image from the unlisted ones."""

    q1: tuple[int, ...] = field(metadata=spec(lo=1, hi=100, nonempty=True))
    q2: tuple[int, ...] = field(metadata=spec(lo=1, hi=100, nonempty=True))
    shifts: tuple[tuple[int, int], ...] = field(
        default=((0, 0),), metadata=spec(lo=0, hi=7, distinct=True)
    )
    random_shifts: int = field(
        default=0, metadata=spec(lo=0, hi=64, doc="per-image draws from {0..7}^2")
    )
    include_equal: bool = False  # QF1 == QF2 pairs are skipped unless asked for
    backend: str = field(default="pillow", metadata=spec(choices=("pillow", "opencv")))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))

    def _check(self) -> None:
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
    """Levels per (q1, q2): one per listed shift, plus one ``shift=random`` level of draws."""
    levels = []
    for q1 in p.q1:
        for q2 in p.q2:
            if q1 == q2 and not p.include_equal:
                continue
            pair = f"q1={q1},q2={q2}"
            shifts = [(r, c, False) for r, c in p.shifts]
            if p.random_shifts:
                rng = ctx.rng_for(f"{pair},random")
                listed = list(p.shifts)
                free = [i for i in range(64) if divmod(i, 8) not in listed]  # unlisted only
                picks = rng.choice(free, size=min(p.random_shifts, len(free)), replace=False)
                shifts += [(*divmod(int(i), 8), True) for i in picks]
            for r, c, drawn in shifts:
                params = {"q1": q1, "q2": q2, "shift": [r, c], "aligned": (r, c) == (0, 0)}
                name = f"{pair},shift={r}x{c}"
                level = f"{pair},shift=random" if drawn else name
                chain = _chain(p, q1, q2, r, c)
                levels.append(Level(level, float(q1), params, chain, name, variant=name))
    return levels


register_axis(
    AxisDef(
        "double_jpeg",
        DoubleJpegParams,
        plan_double_jpeg,
        doc="QF1 x QF2 grid, aligned and grid-shifted",
    )
)
