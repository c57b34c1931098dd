"""Drawing one manipulation (the ``manipulate`` axis' planner side): a region, and per op the
rest of its parameters, every value drawn from the generator it is given and written into the
step. Splices also choose their donor among the host fold's other sources (``ctx.peers``).

A planner does not know the image size (planning is pure on the suite and source id), so regions
are :class:`RelRegion`\\s: sides as fractions of the shorter image side, positions as fractions of
the free range; the op resolves them to pixels from the image it gets (pure arithmetic).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..ops import Step
from ..ops.copy_move import CopyMoveParams
from ..ops.inpaint import INPAINT_METHODS, InpaintParams
from ..ops.regions import RelRegion
from ..ops.retouch import RETOUCH_FIELDS, RetouchParams
from ..ops.splice import DONOR_MODES, SPLICE_GRIDS, SpliceParams
from ._base import PlanContext

__all__ = ["draw_region", "draw_edit", "choose_donor", "DONOR_MODES", "GRIDS", "ANGLE", "SCALE"]

ANGLE = 15.0  # copy-move rotation drawn from [-ANGLE, ANGLE] degrees
SCALE = (0.9, 1.1)  # copy-move scale range
GRIDS = SPLICE_GRIDS


def _r(x: float, nd: int = 4) -> float:
    return round(float(x), nd)


def draw_region(
    rng: np.random.Generator, shapes: Sequence[str], size: tuple[float, float], feather: float
) -> RelRegion:
    """A drawn region: shape, sides in ``size``, position, and the shape's own draws."""
    shape = shapes[int(rng.integers(len(shapes)))]
    size_h, size_w = (_r(v) for v in rng.uniform(*size, size=2))
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
    return RelRegion(shape, y, x, size_h, size_w, vertices, harmonics, feather)


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


def choose_donor(
    ctx: PlanContext, mode: str, rng: np.random.Generator
) -> tuple[str | None, str | None]:
    """(donor source id or None, note or None): a peer of the host's fold, with another label
    for ``other_label`` (all the fold's other sources share the host's label: any of them, and
    the note says so), any peer for ``any``; None and the reason when the fold has no other
    source. Peers of another fold are never used, whatever the context holds."""
    peers = [q for q in ctx.peers if q.fold == ctx.fold and q.source_id != ctx.source_id]
    if not peers:
        return None, (
            f"no other source in fold {ctx.fold} of the host {ctx.source_id} to take a splice "
            f"donor from; put more sources in each fold (fewer folds) or drop splice from ops"
        )
    note = None
    if mode == "other_label":
        other = [q for q in peers if q.label != ctx.label]
        if other:
            peers = other
        else:
            note = (
                f"every other source of fold {ctx.fold} has the host's label {ctx.label!r}: "
                f"donor other_label fell back to any"
            )
    return peers[int(rng.integers(len(peers)))].source_id, note


def _splice(region: RelRegion, rng: np.random.Generator, ctx: PlanContext, p: Any) -> SpliceParams:
    dst_y, dst_x = (_r(v) for v in rng.uniform(0.0, 1.0, size=2))
    donor, note = choose_donor(ctx, p.donor, rng)
    donor_y, donor_x = (_r(v) for v in rng.uniform(0.0, 1.0, size=2))
    return SpliceParams(
        region=region,
        donor_source_id=donor,
        donor_y=donor_y,
        donor_x=donor_x,
        dst_y=dst_y,
        dst_x=dst_x,
        donor_chain=p.donor_chain,
        grid=p.grid,
        shift=p.shift,
        donor=p.donor,
        donor_note=note,
    )


def draw_edit(op: str, p: Any, rng: np.random.Generator, ctx: PlanContext) -> Step:
    """The manipulation step of ``op`` with every parameter drawn from ``rng`` (``p``: the
    axis params: shapes, size, feather; for splices donor, donor_chain, grid, shift)."""
    region = draw_region(rng, p.shapes, p.size, p.feather)
    if op == "splice":
        params = _splice(region, rng, ctx, p)
    elif op == "copy_move":
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
