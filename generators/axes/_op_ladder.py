"""One op swept along one of its parameters: the planner every simple processing axis shares.

An axis such as ``median_filter: {sizes: [3, 5, 7]}`` or ``gaussian_noise: {sigmas: [2, 4, 8]}``
is a ladder of one op: each level runs the op with the swept parameter at that value (the other
parameters fixed and recorded), then the axis' output tail (``finish_chain``). An op that takes
a ``seed`` parameter gets one drawn per level from ``ctx.rng_for(level)``, i.e. seeded by (suite
seed, source id, axis/level): the same bytes for the same suite whatever the worker count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

from ..ops import OPS, Step, make_step
from ..presets import concrete_step
from ._base import Level, PlanContext

__all__ = ["SEED_BOUND", "level_label", "op_level", "plan_op_ladder"]

SEED_BOUND = 2**31  # seeds are drawn in [0, 2**31): every backend's RNG takes them


def level_label(value: Any) -> str:
    """The level name of a swept value: ``5``, ``0.5``, ``true``, ``[3, 4]`` -> ``3x4``."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return "x".join(level_label(v) for v in value)
    return str(value)


def _takes_seed(op: str) -> bool:
    return any(f.name == "seed" for f in fields(OPS.get(op).params_cls))


def op_level(
    op: str,
    backend: str,
    params: Mapping[str, Any],
    ctx: PlanContext,
    slot: str,
    path: str = "level",
) -> Step:
    """The validated step of ``op`` with ``params``; a ``seed`` the op takes and ``params`` lacks
    is drawn from ``ctx.rng_for(slot)`` (recorded in the step); a filter's backend rules
    (border, OpenCV's Gaussian kernel size, a formula) are filled in (``OpDef.concrete``)."""
    raw = dict(params)
    if _takes_seed(op) and raw.get("seed") is None:
        raw["seed"] = int(ctx.rng_for(slot).integers(0, SEED_BOUND))
    return concrete_step(make_step({"op": op, "backend": backend, **raw}, path), path)


def plan_op_ladder(
    op: str,
    param: str,
    values: Sequence[Any],
    ctx: PlanContext,
    *,
    backend: str | None = None,
    fixed: Mapping[str, Any] | None = None,
    tail: tuple[Step, ...] = (),
    value_of: Any = None,
) -> list[Level]:
    """One level per value of ``param``: ``op`` with ``{**fixed, param: value}`` then ``tail``.

    The level is named by the value (:func:`level_label`); ``level_value`` is the value as a
    float (or ``value_of(value)`` when given; None for values that are not numbers); the level's
    ``axis_params`` hold ``param``, the fixed parameters and a drawn seed, so the report can plot
    against ``param`` and a reader sees every parameter without parsing the chain.
    """
    backend = backend or OPS.get(op).default_backend
    levels = []
    for value in values:
        label = level_label(value)
        step = op_level(op, backend, {**(fixed or {}), param: value}, ctx, label, f"{op}[{label}]")
        if value_of is not None:
            x = value_of(value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            x = float(value)
        else:
            x = None
        recorded = {k: v for k, v in step.to_json()["params"].items() if v is not None}
        axis_params = {param: recorded.pop(param, value), **recorded}
        levels.append(Level(label, x, axis_params, (step, *tail), label))
    return levels
