"""The ``mixed`` axis: two one-op ladders swept jointly, as a grid (median filter x JPEG quality,
blur x resize, noise x JPEG: the anti-forensics literature's two-operation chains).

``first`` and ``then`` are each an op with exactly one list-valued parameter, the one swept::

    mixed_median_jpeg:
      type: mixed
      first: {op: median_filter, size: [3, 5, 7]}
      then: {op: jpeg, quality: [50, 70, 90]}

gives the 9 levels ``size=3,quality=50`` ... ``size=7,quality=90`` (``first``'s values outer).
Every other parameter of an entry is fixed (recorded in the chain and ``axis_params``). The chain
is ``first``, a ``decode`` when ``first`` is an encoder, ``then``, and the output: when ``then``
is an encoder it writes the file (``save``/``quality`` must be left out), else the file is a
lossless PNG (``save: png``, the default) or a JPEG (``save: jpeg`` with ``quality``). An
optional ``center_crop`` runs right before the encoder that writes the file.

``axis_params`` hold the two swept values by parameter name (so the report draws the heat map
of them; two equal names become ``<op>_<param>``, or ``<param>1``/``<param>2`` for one op twice)
and each entry's other recorded parameters under ``first``/``then``. ``level_value`` is None: the
levels are grid cells, not points of one ordered scale.

Seeds: an op that takes a ``seed`` gets one drawn from ``ctx.rng_for("first:<param>=<value>")``
(``then:...`` for the second), i.e. per (suite seed, source, axis, that op's own value): the
noise of ``sigma=4,quality=50`` is the very noise of ``sigma=4,quality=90``, so a row of the grid
differs only by the second op. A ``seed`` given in the entry is used as it is.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import ConfigError
from ..core.messages import short_repr
from ..core.records import record, repeats, spec
from ..ops import OPS, Step, make_step
from ..ops.center_crop import CenterCropParams
from ..ops.jpeg import SUBSAMPLINGS, DecodeParams
from ..presets import concrete_step
from ._base import AxisDef, Level, PlanContext, check_output, register_axis
from ._finish import finish_chain
from ._op_ladder import level_label, op_level

__all__ = ["MixedParams", "Sweep", "parse_sweep", "plan_mixed"]

_KEYS = ("op", "backend")


@dataclass(frozen=True)
class Sweep:
    """One entry of a mixed axis: ``op`` on ``backend`` with ``param`` over ``values``, the
    other parameters ``fixed``."""

    op: str
    backend: str
    param: str
    values: tuple[Any, ...]
    fixed: Mapping[str, Any]

    def step(self, value: Any, ctx: PlanContext | None, slot: str, path: str) -> Step:
        """The concrete step at ``value`` (a seed the op takes is drawn from ``ctx`` for
        ``slot``; 0 when ``ctx`` is None, to validate at parse time)."""
        params = {**self.fixed, self.param: value}
        if ctx is None and "seed" in _hints(self.op) and params.get("seed") is None:
            params["seed"] = 0
        if ctx is None:
            step = make_step({"op": self.op, "backend": self.backend, **params}, path)
        else:
            step = op_level(self.op, self.backend, params, ctx, slot, path)
        return concrete_step(step, path)

    @property
    def encoder(self) -> str | None:
        """The format the op writes, or None for a pixel op."""
        return OPS.get(self.op).encoder


def _hints(op: str) -> dict[str, Any]:
    return typing.get_type_hints(OPS.get(op).params_cls)


def _is_sequence_type(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return any(_is_sequence_type(a) for a in typing.get_args(tp))
    return origin in (tuple, list) or tp in (tuple, list)


def _swept(value: Any, tp: Any) -> bool:
    """A list is a sweep, except for a list-typed parameter, whose sweep is a list of lists."""
    if not isinstance(value, (list, tuple)):
        return False
    if tp is not None and _is_sequence_type(tp):
        return bool(value) and all(isinstance(v, (list, tuple)) for v in value)
    return True


def _frozen(value: Any) -> Any:
    return tuple(_frozen(v) for v in value) if isinstance(value, (list, tuple)) else value


def parse_sweep(raw: Any, path: str) -> Sweep:
    """``{op, [backend], <param>: [values], **fixed}`` -> a validated :class:`Sweep`."""
    if not isinstance(raw, Mapping) or "op" not in raw:
        raise ConfigError(
            f"{path}: must be a mapping with an 'op' and one list-valued parameter to sweep, "
            f"e.g. {{op: median_filter, size: [3, 5, 7]}}; got {short_repr(raw)}"
        )
    try:
        opdef = OPS.get(raw["op"])
    except ConfigError as exc:
        raise ConfigError(f"{path}.op: {exc}") from None
    backend = raw.get("backend", opdef.default_backend)
    hints = _hints(opdef.name)
    lists = [k for k, v in raw.items() if k not in _KEYS and _swept(v, hints.get(k))]
    if len(lists) != 1:
        got = f"lists for {', '.join(lists)}" if lists else "no list"
        raise ConfigError(
            f"{path}: sweep exactly one parameter of op {opdef.name!r} as a list (e.g. "
            f"{{op: {opdef.name}, <param>: [v1, v2]}}), the others fixed; got {got}"
        )
    param = lists[0]
    values = tuple(_frozen(v) for v in raw[param])
    if not values:
        raise ConfigError(f"{path}.{param}: must list at least one value to sweep")
    if len(set(values)) != len(values):
        raise ConfigError(f"{path}.{param}: {repeats(values)}; list each value once")
    fixed = {k: v for k, v in raw.items() if k not in _KEYS and k != param}
    sweep = Sweep(opdef.name, backend, param, values, fixed)
    for v in values:  # every value builds a valid step now, not at generate time
        sweep.step(v, None, "", path)
    return sweep


@record
class MixedParams:
    """Two one-op ladders (``first``, ``then``: an op with one list-valued parameter each)
    swept as a grid, and how the result is saved (see the module doc)."""

    first: dict = field(metadata=spec(doc="{op, [backend], <param>: [values], **fixed}"))
    then: dict = field(metadata=spec(doc="{op, [backend], <param>: [values], **fixed}"))
    center_crop: tuple[int, int] | None = field(default=None, metadata=spec(lo=1))
    save: str | None = field(default=None, metadata=spec(choices=("png", "jpeg")))
    quality: int | None = field(default=None, metadata=spec(lo=1, hi=100))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    jpeg_backend: str = field(default="pillow", metadata=spec(choices=("pillow", "opencv")))

    def _check(self) -> None:
        first, then = self.sweeps()
        if then.encoder is not None:
            if self.save is not None or self.quality is not None:
                raise ConfigError(
                    f"save: then's op {then.op!r} is an encoder and writes the file; leave save "
                    f"and quality out, got save={self.save} quality={self.quality}"
                )
            return
        object.__setattr__(self, "save", self.save or "png")
        check_output(self.save, self.quality)

    def sweeps(self) -> tuple[Sweep, Sweep]:
        """The parsed ``first`` and ``then`` entries."""
        return parse_sweep(self.first, "first"), parse_sweep(self.then, "then")


def _names(first: Sweep, then: Sweep) -> tuple[str, str]:
    """The two swept parameters' names in level names and ``axis_params``."""
    if first.param != then.param:
        return first.param, then.param
    if first.op != then.op:
        return f"{first.op}_{first.param}", f"{then.op}_{then.param}"
    return f"{first.param}1", f"{then.param}2"


def _recorded(step: Step, swept: str) -> dict[str, Any]:
    """``{op, backend, **params}`` of a step, without the swept parameter and null values."""
    params = {k: v for k, v in step.to_json()["params"].items() if v is not None and k != swept}
    return {"op": step.op, "backend": step.backend, **params}


def _chain(p: MixedParams, s1: Step, s2: Step, then: Sweep) -> tuple[Step, ...]:
    steps = [s1]
    if OPS.get(s1.op).encoder is not None:
        steps.append(Step("decode", "pillow", DecodeParams()))
    if then.encoder is None:
        steps.append(s2)
        return (*steps, *finish_chain(p.center_crop, p.save, p.quality, p.subsampling,
                                      p.jpeg_backend))  # fmt: skip
    if p.center_crop is not None:
        steps.append(Step("center_crop", "numpy", CenterCropParams(*p.center_crop)))
    return (*steps, s2)


def plan_mixed(p: MixedParams, ctx: PlanContext) -> list[Level]:
    """One level per (first value, then value), ``first``'s values outer."""
    first, then = p.sweeps()
    k1, k2 = _names(first, then)
    levels = []
    for v1 in first.values:
        l1 = level_label(v1)
        s1 = first.step(v1, ctx, f"first:{first.param}={l1}", "first")
        for v2 in then.values:
            l2 = level_label(v2)
            s2 = then.step(v2, ctx, f"then:{then.param}={l2}", "then")
            name = f"{k1}={l1},{k2}={l2}"
            params = {
                k1: s1.to_json()["params"][first.param],
                k2: s2.to_json()["params"][then.param],
                "first": _recorded(s1, first.param),
                "then": _recorded(s2, then.param),
            }
            levels.append(Level(name, None, params, _chain(p, s1, s2, then), name))
    return levels


register_axis(
    AxisDef(
        "mixed",
        MixedParams,
        plan_mixed,
        doc="two one-op ladders swept jointly (a grid): first x then, e.g. median x JPEG",
    )
)
