"""The ``document_forgery`` axis: forged documents (``text_replace``, ``copy_move_text``,
``splice_document``), each with an authentic twin (same page, same later chain, no forgery),
optionally over a ``ladder`` of later chains (JPEG, resampling, ``print_scan`` hops, presets),
as the ``manipulate`` axis does for photographs (same level names, twins and ladder syntax; see
``manipulate`` and ``_ladder``).

Fields come from the source's layout sidecar (``<image>.json``, ``PlanContext.layout``): the
planner draws the field, its new content, the font change, the digit to copy and the splice
donor (another source of the fold, with its own sidecar) from
``ctx.shared_rng(f"document_forgery/{slot}")`` (``_doc_edits``), so every document_forgery
axis of a suite forges the same field of a source. A source without a sidecar, or without a
suitable field, gets steps that hold the reason; those variants are listed in
``errors.parquet`` (the twins are still made). Two slots that draw the same edit (or refuse
alike) keep their own variant ids (``Level.repeats_chain``).

A ``print_scan`` step in ``then`` or the ladder without ``seed`` / ``page_dpi`` gets them here:
the seed drawn per level from ``ctx.shared_rng("document_forgery/print_scan/<level>")`` (the
forgeries and the twin of a level go through the same print and scan), the dpi from the
sidecar (``ops.print_scan.fill_print_scan``). Without ``ladder`` the output is ``save``;
with it, each level's steps end with an encoder or get ``save``.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

from ..core.errors import ConfigError
from ..core.messages import short_repr
from ..core.records import record, spec, to_plain
from ..ops import Step, canonical_chain
from ..ops.doc_forgery import FONT_CHANGES
from ..ops.jpeg import SUBSAMPLINGS
from ..ops.print_scan import fill_print_scan
from ._base import AxisDef, Level, PlanContext, register_axis
from ._doc_edits import REPLACE_KINDS, SPLICE_KINDS, TEXT_KINDS, draw_doc_edit
from ._edits import DONOR_MODES
from ._ladder import LaterChain, Rung, rung_steps

__all__ = ["DocumentForgeryParams", "plan_document_forgery", "DOCUMENT_FORGERY_OPS", "AUTHENTIC"]

DOCUMENT_FORGERY_OPS = ("text_replace", "copy_move_text", "splice_document")
AUTHENTIC = "authentic"
_ALL_KINDS = tuple(dict.fromkeys((*TEXT_KINDS, *SPLICE_KINDS, "logo")))


@record
class DocumentForgeryParams(LaterChain):
    """Which forgery ``ops`` (``per_op`` variants each); text_replace's field ``kinds`` and
    ``font_changes``; splice_document's ``splice_kinds`` and ``donor``; the authentic ``twin``;
    later steps ``then``, an optional ``ladder`` and the output (``save`` png | jpeg)."""

    ops: tuple[str, ...] = field(
        default=DOCUMENT_FORGERY_OPS,
        metadata=spec(
            nonempty=True, distinct=True, doc="text_replace, copy_move_text, splice_document"
        ),
    )
    kinds: tuple[str, ...] = field(
        default=REPLACE_KINDS, metadata=spec(choices=TEXT_KINDS, nonempty=True, distinct=True)
    )
    font_changes: tuple[str, ...] = field(
        default=FONT_CHANGES, metadata=spec(choices=FONT_CHANGES, nonempty=True, distinct=True)
    )
    splice_kinds: tuple[str, ...] = field(
        default=SPLICE_KINDS, metadata=spec(choices=_ALL_KINDS, nonempty=True, distinct=True)
    )
    donor: str = field(default="other_label", metadata=spec(choices=DONOR_MODES))
    per_op: int = field(default=1, metadata=spec(lo=1, hi=16))
    twin: bool = True
    then: tuple[Any, ...] = field(default=(), metadata=spec(doc="chain steps after the forgery"))
    ladder: dict | None = field(default=None, metadata=spec(doc="level name -> later steps"))
    save: str | None = field(default=None, metadata=spec(choices=("png", "jpeg")))
    quality: int | None = field(default=None, metadata=spec(lo=1, hi=100))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    backend: str = field(default="pillow", metadata=spec(choices=("pillow", "opencv")))
    rungs: tuple[Rung, ...] = field(default=(), init=False)
    chains: tuple[tuple[str, tuple[Step, ...]], ...] = field(default=(), init=False)

    def _check(self) -> None:
        for i, op in enumerate(self.ops):
            if op not in DOCUMENT_FORGERY_OPS:
                raise ConfigError(
                    f"ops[{i}]: must be one of {', '.join(DOCUMENT_FORGERY_OPS)}; "
                    f"got {short_repr(op)}"
                )
        self._check_later()


def _filled(steps: tuple[Step, ...], ctx: PlanContext, level: str) -> tuple[Step, ...]:
    """``steps`` with each print_scan's seed (drawn for this level) and page dpi filled."""
    if not any(s.op == "print_scan" for s in steps):
        return steps
    rng = ctx.shared_rng(f"document_forgery/print_scan/{level}")
    seeds = [int(rng.integers(2**31)) for _ in steps]
    return tuple(fill_print_scan(s, ctx.layout, seed) for s, seed in zip(steps, seeds))


def _edits(p: DocumentForgeryParams, ctx: PlanContext) -> list[tuple[str, Step]]:
    out = []
    for op in p.ops:
        for k in range(1, p.per_op + 1):
            slot = f"{op}-{k}" if p.per_op > 1 else op
            out.append(
                (slot, draw_doc_edit(op, p, ctx.shared_rng(f"document_forgery/{slot}"), ctx))
            )
    return out


def _edit_params(step: Step, twin: str | None) -> dict:
    params = {"manipulation": step.op, **to_plain(step.params)}
    if twin is not None:
        params["twin"] = twin
    return params


def _level_variants(
    p: DocumentForgeryParams,
    edits: list[tuple[str, Step]],
    tail: tuple[Step, ...],
    level: str,
    value: float | None,
    prefix: str,
) -> list[Level]:
    """One variant per edit (``<prefix><slot>``) and the twin (``<prefix>authentic``)."""
    twin = f"{prefix}{AUTHENTIC}"
    levels, names = [], []
    seen: set[str] = set()  # edits drawn twice alike (or refused alike): own ids, same bytes
    for slot, step in edits:
        name = f"{prefix}{slot}"
        variant = name if prefix or p.per_op > 1 else None
        lv_name = level if prefix else step.op
        params = _edit_params(step, twin if p.twin else None)
        key = canonical_chain((step,))
        levels.append(
            Level(
                lv_name,
                value,
                params,
                (step, *tail),
                name,
                variant=variant,
                repeats_chain=key in seen,
            )
        )
        seen.add(key)
        names.append(name)
    if p.twin:
        params = {"manipulation": "none", "twin_of": names}
        levels.append(
            Level(
                level if prefix else AUTHENTIC, value, params, tail, twin, twin if prefix else None
            )
        )
    return levels


# op -> the parameter the planner leaves null when the page offers nothing to forge (the op
# then refuses with the planner's note)
_DRAWN = {"text_replace": "target", "copy_move_text": "src", "splice_document": "donor_source_id"}


def _forgeable(step: Step) -> bool:
    """False for an edit whose page offers no field to forge (the op would refuse it)."""
    return getattr(step.params, _DRAWN[step.op]) is not None


def plan_document_forgery(p: DocumentForgeryParams, ctx: PlanContext) -> list[Level]:
    """The drawn forgeries at each level (``ladder`` levels, or one level per op), with twins.

    A source with a layout whose page offers no field for an edit gets no variant of that edit
    (a planned absence, not a failure: each level's n says how many sources it holds), and none
    at all, twin included, when it offers none for any. A source without a layout keeps every
    edit, which then refuses with the fix (a document_forgery axis on a non-document dataset).
    """
    edits = _edits(p, ctx)
    if ctx.layout is not None:
        edits = [(slot, step) for slot, step in edits if _forgeable(step)]
        if not edits:
            return []
    if not p.rungs:
        tail = p.output(_filled(p.then, ctx, "then"))
        return _level_variants(p, edits, tail, AUTHENTIC, None, "")
    chains = dict(p.chains)
    levels: list[Level] = []
    for rung in p.rungs:  # parse_ladder refused levels repeating another's steps
        tail = p.output(_filled(rung_steps(rung, p.then, chains), ctx, rung.name))
        levels += _level_variants(p, edits, tail, rung.name, rung.value, f"{rung.name}/")
    return levels


register_axis(
    AxisDef(
        "document_forgery",
        DocumentForgeryParams,
        plan_document_forgery,
        doc="text_replace, copy_move_text and splice_document on a document's layout fields, "
        "each with an authentic twin, optionally over a ladder of later chains (print_scan, ...)",
    )
)
