"""The ``manipulate`` axis: doctored variants (splice, copy-move, inpaint, retouch), each with an
authentic twin (same host, same later chain, no manipulation), optionally over a ``ladder`` of
later chains (JPEG qualities, crops, resizes, platform hops, ...).

The planner draws everything (region shape, size and position; splice donor and positions;
copy-move destination, angle and scale; inpaint method; retouch effect, its parameter and noise
seed; see ``_edits``) from ``ctx.shared_rng(f"manipulate/{slot}")``, ``slot`` being the op (or
``op-k`` with ``per_op`` > 1): every manipulate axis of a suite draws the same edit for a source,
so axes and ladder levels compare like with like. Drawn values are written into the chain steps
and ``axis_params``. A splice's donor is another source of the host's fold (``ctx.peers``): one
with another label for ``donor: other_label`` (falling back to any, with a ``donor_note``, when
every other source of the fold shares the host's label), any for ``donor: any``; when the fold
has no other source the step holds no donor and the reason, the op refuses to run and the
variant is listed in ``errors.parquet``.

Without ``ladder``, levels are the ops (with ``per_op`` > 1 the variants are ``copy_move-1``,
``copy_move-2``, ...) and ``authentic``: every twin of a source has the same chain (``then`` +
output), so the source gets ONE twin, shared by its manipulated variants (``twin_of`` in its
``axis_params``). ``then`` steps run after the manipulation; when the last one is an encoder it
writes the file (``save`` must then be left out).

With ``ladder`` (see ``_ladder``), levels are the ladder names in YAML order; each holds one
variant per op (named ``<level>/<op>``; the ``manipulation`` column tells them apart) and the
authentic twin ``<level>/authentic``. The steps after the edit are the axis' ``then``, the
level's steps and, unless they end with an encoder, the output (``save``). Every level holds its
own twin: when a level's twin repeats an earlier level's chain (levels that differ only in the
splice ``grid``) it is flagged ``repeats_chain`` and gets its own variant id and file (the same
bytes), so detection stays balanced and paired at every level.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

from ..core.errors import ConfigError
from ..core.messages import short_repr
from ..core.records import record, spec, to_plain
from ..ops import Step, canonical_chain
from ..ops.jpeg import SUBSAMPLINGS
from ..ops.regions import REGION_SHAPES
from ._base import AxisDef, Level, PlanContext, register_axis
from ._edits import DONOR_MODES, GRIDS, draw_edit
from ._ladder import LaterChain, Rung, concrete_steps, replace_grid, rung_steps

__all__ = ["ManipulateParams", "plan_manipulate", "MANIPULATE_OPS", "AUTHENTIC"]

MANIPULATE_OPS = ("splice", "copy_move", "inpaint", "retouch")
AUTHENTIC = "authentic"


@record
class ManipulateParams(LaterChain):
    """Which manipulation ops (``per_op`` variants each), region ``shapes`` and ``size`` [min,
    max] (fraction of the shorter image side), ``feather`` (px), the authentic ``twin``, splice
    ``donor`` / ``donor_chain`` / ``grid`` / ``shift``, later steps ``then``, an optional
    ``ladder`` of later chains and the output (``save`` png | jpeg at ``quality``)."""

    ops: tuple[str, ...] = field(
        metadata=spec(nonempty=True, distinct=True, doc="splice, copy_move, inpaint, retouch")
    )
    shapes: tuple[str, ...] = field(
        default=REGION_SHAPES, metadata=spec(choices=REGION_SHAPES, nonempty=True, distinct=True)
    )
    size: tuple[float, float] = field(default=(0.1, 0.3), metadata=spec(gt=0.0, hi=0.5))
    feather: float = field(default=0.0, metadata=spec(lo=0.0, hi=64.0))
    per_op: int = field(default=1, metadata=spec(lo=1, hi=16))
    twin: bool = True
    donor: str = field(default="other_label", metadata=spec(choices=DONOR_MODES))
    donor_chain: tuple[Any, ...] = field(
        default=(), metadata=spec(doc="splice: steps run on the whole donor before cutting")
    )
    grid: str = field(default="any", metadata=spec(choices=GRIDS))
    shift: tuple[int, int] = field(default=(4, 4), metadata=spec(lo=0, hi=7))
    then: tuple[Any, ...] = field(default=(), metadata=spec(doc="chain steps after the edit"))
    ladder: dict | None = field(default=None, metadata=spec(doc="level name -> later steps"))
    save: str | None = field(default=None, metadata=spec(choices=("png", "jpeg")))
    quality: int | None = field(default=None, metadata=spec(lo=1, hi=100))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    backend: str = field(default="pillow", metadata=spec(choices=("pillow", "opencv")))
    # Parsed from ``ladder`` (YAML order) and, when the suite is parsed, the chains of the presets
    # it names (see bind_presets): the suite's hash changes with any preset edit.
    rungs: tuple[Rung, ...] = field(default=(), init=False)
    chains: tuple[tuple[str, tuple[Step, ...]], ...] = field(default=(), init=False)

    def _check(self) -> None:
        for i, op in enumerate(self.ops):
            if op not in MANIPULATE_OPS:
                raise ConfigError(
                    f"ops[{i}]: must be one of {', '.join(MANIPULATE_OPS)}; got {short_repr(op)}"
                )
        lo, hi = self.size
        if lo > hi:
            raise ConfigError(f"size: min must not exceed max, got [{lo:g}, {hi:g}]")
        self._check_splice()
        self._check_later()

    def _check_splice(self) -> None:
        if self.shift == (0, 0):
            raise ConfigError("shift: a shifted grid moves by 1..7 in some direction, got [0, 0]")
        object.__setattr__(self, "donor_chain", concrete_steps(self.donor_chain, "donor_chain"))
        if "splice" in self.ops:
            return
        if self.donor_chain or self.grid != "any":
            key = "donor_chain" if self.donor_chain else "grid"
            raise ConfigError(f"{key}: only used by splice; add splice to ops or remove {key}")


def _edits(p: ManipulateParams, ctx: PlanContext) -> list[tuple[str, Step]]:
    """(slot, step) per drawn edit: ``per_op`` per op, each from the suite-shared generator."""
    out = []
    for op in p.ops:
        for k in range(1, p.per_op + 1):
            slot = f"{op}-{k}" if p.per_op > 1 else op
            out.append((slot, draw_edit(op, p, ctx.shared_rng(f"manipulate/{slot}"), ctx)))
    return out


def _edit_params(step: Step, twin: str | None) -> dict:
    params = {"manipulation": step.op, **to_plain(step.params)}
    if twin is not None:
        params["twin"] = twin
    return params


def _plain_levels(p: ManipulateParams, edits: list[tuple[str, Step]]) -> list[Level]:
    """No ladder: level = op, then the one shared authentic twin."""
    tail = p.output(p.then)
    twin = AUTHENTIC if p.twin else None
    levels = []
    for slot, step in edits:
        variant = slot if p.per_op > 1 else None
        levels.append(
            Level(step.op, None, _edit_params(step, twin), (step, *tail), slot, variant=variant)
        )
    if p.twin:
        params = {"manipulation": "none", "twin_of": [slot for slot, _ in edits]}
        levels.append(Level(AUTHENTIC, None, params, tail, AUTHENTIC))
    return levels


def _ladder_levels(p: ManipulateParams, edits: list[tuple[str, Step]]) -> list[Level]:
    """Per ladder level: one variant per edit (``<level>/<slot>``) and the authentic twin
    ``<level>/authentic``. A twin whose chain repeats an earlier level's (levels differing only
    in the splice grid) is flagged ``repeats_chain``: the same bytes, its own id and file."""
    chains = dict(p.chains)
    levels: list[Level] = []
    seen: set[str] = set()  # twin chains planned so far
    for rung in p.rungs:
        tail = p.output(rung_steps(rung, p.then, chains))
        twin = f"{rung.name}/{AUTHENTIC}"
        names = []
        for slot, step in edits:
            name = f"{rung.name}/{slot}"
            edit = replace_grid(step, rung.entry.grid)
            params = _edit_params(edit, twin if p.twin else None)
            levels.append(Level(rung.name, rung.value, params, (edit, *tail), name, variant=name))
            names.append(name)
        if not p.twin:
            continue
        key = canonical_chain(tail)
        params = {"manipulation": "none", "twin_of": names}
        levels.append(
            Level(rung.name, rung.value, params, tail, twin, twin, repeats_chain=key in seen)
        )
        seen.add(key)
    return levels


def plan_manipulate(p: ManipulateParams, ctx: PlanContext) -> list[Level]:
    """The drawn edits at each level (``ladder`` levels, or one level per op) with their twins."""
    edits = _edits(p, ctx)
    return _ladder_levels(p, edits) if p.rungs else _plain_levels(p, edits)


register_axis(
    AxisDef(
        "manipulate",
        ManipulateParams,
        plan_manipulate,
        doc="splice, copy-move, inpaint and retouch with drawn regions and donors, each with an "
        "authentic twin, optionally over a ladder of later chains",
    )
)
