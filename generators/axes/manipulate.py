"""The ``manipulate`` axis: doctored variants (copy-move, inpaint, retouch), each level one
manipulation op, plus an authentic twin (same host, same later chain, no manipulation).

The planner draws everything (region shape, size and position; copy-move destination, angle and
scale; inpaint method; retouch effect, its parameter and noise seed) from ``ctx.rng_for(slot)``
and writes the drawn values into the chain steps and ``axis_params``. A planner does not know the
image size (planning is pure on the suite and source id), so regions are :class:`RelRegion`\\s:
sides as fractions of the shorter image side, positions as fractions of the free range; the op
resolves them to pixels from the image it gets (pure arithmetic, recorded in the chain as given).

Levels are the planned ones: ``copy_move``, ``inpaint``, ``retouch`` (with ``per_op`` > 1 their
variants are ``copy_move-1``, ``copy_move-2``, ...) and ``authentic``. Every twin of a source has
the same chain (``then`` + output), so the same bytes and variant id: the source gets ONE
authentic twin, shared by its manipulated variants (``twin_of`` in its ``axis_params``).
``then`` steps run after the manipulation, on the manipulated variants and the twin alike; when
the last one is an encoder it writes the file (``save`` must then be left out).
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

import numpy as np

from ..core.errors import ConfigError
from ..core.messages import short_repr
from ..core.records import record, spec, to_plain
from ..ops import OPS, Step, make_step
from ..ops.copy_move import CopyMoveParams
from ..ops.inpaint import INPAINT_METHODS, InpaintParams
from ..ops.jpeg import SUBSAMPLINGS
from ..ops.regions import REGION_SHAPES, RelRegion
from ..ops.retouch import RETOUCH_FIELDS, RetouchParams
from ._base import AxisDef, Level, PlanContext, check_output, output_step, register_axis

__all__ = ["ManipulateParams", "plan_manipulate", "MANIPULATE_OPS", "AUTHENTIC"]

MANIPULATE_OPS = ("copy_move", "inpaint", "retouch")
NOT_YET = ("splice",)  # named by issue 14, not built yet
AUTHENTIC = "authentic"
ANGLE = 15.0  # copy-move rotation drawn from [-ANGLE, ANGLE] degrees
SCALE = (0.9, 1.1)  # copy-move scale range


@record
class ManipulateParams:
    """Which manipulation ops (``per_op`` variants each), region ``shapes`` and ``size`` [min,
    max] (fraction of the shorter image side), ``feather`` (px), the authentic ``twin``, later
    steps ``then`` and the output (``save`` png | jpeg at ``quality``)."""

    ops: tuple[str, ...] = field(
        metadata=spec(nonempty=True, distinct=True, doc="copy_move, inpaint, retouch")
    )
    shapes: tuple[str, ...] = field(
        default=REGION_SHAPES, metadata=spec(choices=REGION_SHAPES, nonempty=True, distinct=True)
    )
    size: tuple[float, float] = field(default=(0.1, 0.3), metadata=spec(gt=0.0, hi=0.5))
    feather: float = field(default=0.0, metadata=spec(lo=0.0, hi=64.0))
    per_op: int = field(default=1, metadata=spec(lo=1, hi=16))
    twin: bool = True
    then: tuple[Any, ...] = field(default=(), metadata=spec(doc="chain steps after the edit"))
    save: str | None = field(default=None, metadata=spec(choices=("png", "jpeg")))
    quality: int | None = field(default=None, metadata=spec(lo=1, hi=100))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    backend: str = field(default="pillow", metadata=spec(choices=("pillow", "opencv")))

    def _check(self) -> None:
        for i, op in enumerate(self.ops):
            if op in NOT_YET:
                raise ConfigError(
                    f"ops[{i}]: {op!r} is not available yet; allowed: {', '.join(MANIPULATE_OPS)}"
                )
            if op not in MANIPULATE_OPS:
                raise ConfigError(
                    f"ops[{i}]: must be one of {', '.join(MANIPULATE_OPS)}; got {short_repr(op)}"
                )
        lo, hi = self.size
        if lo > hi:
            raise ConfigError(f"size: min must not exceed max, got [{lo:g}, {hi:g}]")
        steps = tuple(make_step(s, f"then[{i}]") for i, s in enumerate(self.then))
        object.__setattr__(self, "then", steps)
        if steps and OPS.get(steps[-1].op).encoder is not None:
            if self.save is not None or self.quality is not None:
                raise ConfigError(
                    f"save: then ends with the encoder {steps[-1].op!r}, which writes the file; "
                    f"leave save and quality out, got save={self.save} quality={self.quality}"
                )
            return
        object.__setattr__(self, "save", self.save or "png")
        check_output(self.save, self.quality)

    def tail(self) -> tuple[Step, ...]:
        """The steps after the manipulation: ``then`` and, unless it ends with one, the encoder."""
        if self.save is None:
            return self.then
        return (*self.then, output_step(self.save, self.quality, self.subsampling, self.backend))


def _r(x: float, nd: int = 4) -> float:
    return round(float(x), nd)


def _region(p: ManipulateParams, rng: np.random.Generator) -> RelRegion:
    """A drawn region: shape, sides in ``size``, position, and the shape's own draws."""
    shape = p.shapes[int(rng.integers(len(p.shapes)))]
    size_h, size_w = (_r(v) for v in rng.uniform(*p.size, size=2))
    y, x = (_r(v) for v in rng.uniform(0.0, 1.0, size=2))
    vertices, harmonics = None, ()
    if shape == "polygon":  # a star-shaped polygon: sorted angles, radii 0.3..0.5 of the box
        n = int(rng.integers(3, 8))
        theta = np.sort(rng.uniform(0.0, 2 * np.pi, n))
        rad = rng.uniform(0.3, 0.5, n)
        vertices = tuple(
            (_r(0.5 + r * np.sin(t)), _r(0.5 + r * np.cos(t))) for t, r in zip(theta, rad)
        )
    elif shape == "blob":  # amplitudes sum below 0.75 (< 1, as Region requires)
        amps, phases = rng.uniform(0.0, 0.25, 3), rng.uniform(0.0, 360.0, 3)
        harmonics = tuple((_r(a), _r(ph, 2)) for a, ph in zip(amps, phases))
    return RelRegion(shape, y, x, size_h, size_w, vertices, harmonics, p.feather)


def _retouch(region: RelRegion, rng: np.random.Generator) -> RetouchParams:
    effect = tuple(RETOUCH_FIELDS)[int(rng.integers(len(RETOUCH_FIELDS)))]
    if effect == "blur":
        return RetouchParams(region, effect, sigma=_r(rng.uniform(1.5, 3.0), 3))
    if effect == "median":
        return RetouchParams(region, effect, ksize=int(rng.choice([3, 5, 7])))
    if effect == "sharpen":
        return RetouchParams(region, effect, sigma=1.0, amount=_r(rng.uniform(1.0, 2.0), 3))
    if effect == "gamma":
        g = rng.uniform(0.6, 0.85) if rng.integers(2) else rng.uniform(1.2, 1.6)
        return RetouchParams(region, effect, gamma=_r(g, 3))
    seed = int(rng.integers(2**31))
    return RetouchParams(region, effect, sigma=_r(rng.uniform(4.0, 10.0), 3), seed=seed)


def _edit(op: str, p: ManipulateParams, rng: np.random.Generator) -> Step:
    """The manipulation step of ``op`` with every parameter drawn from ``rng``."""
    region = _region(p, rng)
    if op == "copy_move":
        dst_y, dst_x = (_r(v) for v in rng.uniform(0.0, 1.0, size=2))
        angle = _r(rng.uniform(-ANGLE, ANGLE), 2)
        scale = _r(rng.uniform(*SCALE), 3)
        params = CopyMoveParams(region, angle=angle, scale=scale, dst_y=dst_y, dst_x=dst_x)
    elif op == "inpaint":
        method = tuple(INPAINT_METHODS)[int(rng.integers(len(INPAINT_METHODS)))]
        params = InpaintParams(region, method=method)
    else:
        params = _retouch(region, rng)
    return Step(op, "opencv", params)


def plan_manipulate(p: ManipulateParams, ctx: PlanContext) -> list[Level]:
    """``per_op`` drawn variants per op (level: the op), then the shared authentic twin."""
    tail = p.tail()
    levels, names = [], []
    for op in p.ops:
        for k in range(1, p.per_op + 1):
            slot = f"{op}-{k}" if p.per_op > 1 else op
            step = _edit(op, p, ctx.rng_for(slot))
            params = {"manipulation": op, **to_plain(step.params)}
            if p.twin:
                params["twin"] = AUTHENTIC
            variant = slot if p.per_op > 1 else None
            levels.append(Level(op, None, params, (step, *tail), slot, variant=variant))
            names.append(slot)
    if p.twin:
        params = {"manipulation": "none", "twin_of": names}
        levels.append(Level(AUTHENTIC, None, params, tail, AUTHENTIC))
    return levels


register_axis(
    AxisDef(
        "manipulate",
        ManipulateParams,
        plan_manipulate,
        doc="copy-move, inpaint and retouch with drawn regions, plus an authentic twin",
    )
)
