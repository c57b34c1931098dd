"""Declare a one-op ladder axis in a few lines: its params record and its planner.

``register_ladder_axis("pixelate", "factors", "factor", float, spec(lo=1), fixed=[...])``
registers the axis type ``pixelate`` whose record has the list field ``factors`` (non-empty, no
repeats, each checked like the op's ``factor``), the op's other parameters fixed for all levels
(``fixed``: ``(name, type, field(...))`` as in a record), ``backend`` (the op's backends, its
default first) and the output fields every processing axis shares (``center_crop``, ``save``,
``quality``, ``subsampling``, ``jpeg_backend``, as ``GammaAxisParams``). Planning is
:func:`._op_ladder.plan_op_ladder`: one level per value, seeds drawn per level for ops that
take one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import Field, field
from typing import Any

from ..core.records import record, spec
from ..ops import OPS
from ..ops.jpeg import SUBSAMPLINGS
from ._base import AxisDef, Level, PlanContext, check_output, register_axis
from ._finish import finish_chain
from ._op_ladder import plan_op_ladder

__all__ = ["OutputFields", "output_fields", "register_ladder_axis", "tail_of"]

OutputFields = list[tuple[str, Any, Field]]


def output_fields() -> OutputFields:
    """The output fields of a processing axis (fresh Field objects for each record)."""
    return [
        ("center_crop", tuple[int, int] | None, field(default=None, metadata=spec(lo=1))),
        ("save", str, field(default="png", metadata=spec(choices=("png", "jpeg")))),
        ("quality", int | None, field(default=None, metadata=spec(lo=1, hi=100))),
        ("subsampling", str, field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))),
        ("jpeg_backend", str, field(default="pillow", metadata=spec(choices=("pillow", "opencv")))),
    ]


def tail_of(p: Any) -> tuple:
    """The output tail (centre crop, encoder) of an axis record with :func:`output_fields`."""
    return finish_chain(p.center_crop, p.save, p.quality, p.subsampling, p.jpeg_backend)


def make_record(
    name: str, doc: str, fields: OutputFields, check: Callable[[Any], Any] | None = None
) -> type:
    """A ``@record`` class ``name`` with ``fields`` (name, type, Field), the output check and
    ``check(self)`` (the record's other cross-field checks)."""
    ns: dict[str, Any] = {"__annotations__": {n: t for n, t, _ in fields}, "__doc__": doc}
    ns.update({n: f for n, _, f in fields})

    def _check(self: Any) -> None:
        check_output(self.save, self.quality)
        if check is not None:
            check(self)

    ns["_check"] = _check
    ns["__module__"] = __name__
    return record(type(name, (), ns))


def register_ladder_axis(
    op: str,
    plural: str,
    param: str,
    item_type: Any,
    item_spec: dict,
    *,
    fixed: OutputFields = (),
    extra: Callable[[Any], dict] | None = None,
    check: Callable[[Any], Any] | None = None,
    doc: str = "",
) -> type:
    """Register axis type ``op`` sweeping ``param`` over the list field ``plural``; returns its
    params record. ``extra(p)`` adds recorded parameters derived from the axis params (e.g. the
    backend's formula); ``check(p)`` adds cross-field checks to the record."""
    opdef = OPS.get(op)
    fields: OutputFields = [
        (
            plural,
            tuple[item_type, ...],
            field(metadata={**item_spec, "nonempty": True, "distinct": True}),
        ),
        *fixed,
        (
            "backend",
            str,
            field(default=opdef.default_backend, metadata=spec(choices=opdef.backends)),
        ),
        *output_fields(),
    ]
    cls_name = "".join(w.title() for w in op.split("_")) + "AxisParams"
    params_cls = make_record(cls_name, doc or f"the {op} ladder over {plural}", fields, check)
    fixed_names: Sequence[str] = [n for n, _, _ in fixed]

    def plan(p: Any, ctx: PlanContext) -> list[Level]:
        values = {n: getattr(p, n) for n in fixed_names}
        values.update(extra(p) if extra is not None else {})
        return plan_op_ladder(
            op, param, getattr(p, plural), ctx, backend=p.backend, fixed=values, tail=tail_of(p)
        )

    plan.__doc__ = f"One level per value of ``{plural}``: op ``{op}`` then the output tail."
    register_axis(AxisDef(op, params_cls, plan, doc=doc or opdef.doc))
    return params_cls
