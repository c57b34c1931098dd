"""The chain machinery: a Step record, the ImageState that flows between steps, and the op registry.

An op is a pure function of (state, params): it never mutates its input, never draws random
numbers and never reads globals. Randomness is drawn by the planner and written into params.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.errors import ConfigError, OpError
from ..core.messages import short_repr
from ..core.records import from_mapping, to_plain
from ..core.registry import Registry
from .masks import MASK_KINDS, as_mask
from .passthrough import passthrough_step

__all__ = [
    "Step",
    "ImageState",
    "OpDef",
    "OPS",
    "register_op",
    "make_step",
    "canonical_chain",
    "run_chain",
]


@dataclass(frozen=True)
class Step:
    """One chain step with every parameter concrete: ``{op, backend, params}`` in the manifest."""

    op: str
    backend: str
    params: Any  # the op's frozen params dataclass
    preset: str | None = None  # platform-like preset that contributed this step, if any

    def to_json(self) -> dict:
        """``{op, backend, params[, preset]}``: the step as the manifest's chain stores it."""
        d = {"op": self.op, "backend": self.backend, "params": to_plain(self.params)}
        if self.preset is not None:
            d["preset"] = self.preset
        return d


def canonical_chain(steps: list[Step] | tuple[Step, ...]) -> str:
    """The chain as canonical JSON text (sorted keys, no spaces): hashed into variant ids."""
    return json.dumps([s.to_json() for s in steps], sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class ImageState:
    """What flows through a chain.

    ``pixels``: uint8 HxWx3 (RGB) or HxW (L); None right after an encoder (a ``decode`` step
    brings pixels back). ``data``/``fmt``: the bytes of the last encoder. ``grids``: 8x8 phases
    (row, col) of earlier JPEG grids in the current pixel coordinates, oldest first.
    ``region``: (top, left) of the current pixels in the source's coordinates, or None once
    resampling has broken the pixel correspondence. ``mask``: None, or a bool HxW region mask the
    size of the pixels that every op carries as its ``OpDef.mask`` declares (see masks.py);
    ``meta["source_mask"]`` (a copy-move's copied-from region) follows geometric steps too.
    """

    pixels: np.ndarray | None
    data: bytes | None = None
    fmt: str | None = None
    grids: tuple[tuple[int, int], ...] = ()
    passes: int = 0
    region: tuple[int, int] | None = (0, 0)
    jpeg_quality: int | None = None
    lossless_pixels: bool = False  # True when ``data`` decodes exactly to ``pixels``
    meta: Mapping[str, Any] = field(default_factory=dict)
    # Set by a skip rule (``skip_if_small``): the incoming encoded file, emitted unchanged by
    # the next encoder; :func:`run_chain` skips the steps in between.
    passthrough: ImageState | None = None
    mask: np.ndarray | None = None

    def replace(self, **changes: Any) -> ImageState:
        """A copy with ``changes`` (states are immutable)."""
        return dataclasses.replace(self, **changes)

    def require_pixels(self, op: str) -> np.ndarray:
        """The pixels, or OpError telling ``op``'s user to insert a decode step."""
        if self.pixels is None:
            raise OpError(
                f"op {op!r} needs pixels but the previous step was an encoder ({self.fmt}); "
                f"insert a 'decode' step before it"
            )
        return self.pixels


@dataclass(frozen=True)
class OpDef:
    """A registered op: its params record, its backends and its state transition."""

    name: str
    params_cls: type
    backends: tuple[str, ...]
    apply: Callable[[ImageState, Any, str], ImageState]
    encoder: str | None = None  # output format when the op writes bytes ('jpeg', 'png', ...)
    doc: str = ""
    # How the op maps ``ImageState.mask`` (one of MASK_KINDS); None: undeclared, which the op
    # contract test rejects and run_chain refuses on a masked image.
    mask: str | None = None
    # ``concrete(params, backend) -> params``: the params with every default the backend fills
    # made explicit (a border rule, a kernel size, a formula), so the chain records what ran;
    # ``presets.concrete_step`` calls it for steps written by hand (presets, ladders, mixed).
    concrete: Callable[[Any, str], Any] | None = None

    @property
    def default_backend(self) -> str:
        """The backend a step gets when it names none (the first listed)."""
        return self.backends[0]


OPS: Registry[OpDef] = Registry("op")


def register_op(opdef: OpDef) -> OpDef:
    """Add an op to ``OPS`` (duplicates and undeclared-mask kinds outside MASK_KINDS are
    refused)."""
    if opdef.mask is not None and opdef.mask not in MASK_KINDS:
        raise ConfigError(
            f"op {opdef.name!r}: mask must be one of {', '.join(MASK_KINDS)}, got "
            f"{short_repr(opdef.mask)}"
        )
    OPS.register(opdef.name, opdef)
    return opdef


def make_step(
    spec: Mapping[str, Any] | Step, path: str = "step", preset: str | None = None
) -> Step:
    """Build a validated Step from ``{op: name, backend: ..., **params}`` (YAML) or
    ``{op, backend, params: {...}}`` (manifest JSON)."""
    if isinstance(spec, Step):
        return spec
    if not isinstance(spec, Mapping):
        raise ConfigError(
            f"{path}: a step must be a mapping with an 'op' key, got {short_repr(spec)}"
        )
    if "op" not in spec:
        raise ConfigError(f"{path}: missing 'op'; available: {', '.join(OPS.names())}")
    try:
        opdef = OPS.get(spec["op"])
    except ConfigError as exc:
        raise ConfigError(f"{path}.op: {exc}") from None
    backend = spec.get("backend", opdef.default_backend)
    if backend not in opdef.backends:
        raise ConfigError(
            f"{path}.backend: op {opdef.name!r} has backends {', '.join(opdef.backends)}; got {short_repr(backend)}"
        )
    if "params" in spec:
        extra = set(spec) - {"op", "backend", "params", "preset", "skipped"}  # manifest keys
        if extra:
            raise ConfigError(f"{path}: unexpected keys {sorted(extra)} beside 'params'")
        raw = spec["params"]
    else:
        raw = {k: v for k, v in spec.items() if k not in ("op", "backend", "preset")}
    params = from_mapping(opdef.params_cls, raw, f"{path}")
    return Step(opdef.name, backend, params, spec.get("preset", preset))


def run_chain(state: ImageState, steps: list[Step] | tuple[Step, ...]) -> ImageState:
    """Apply ``steps`` in order; after a skip rule fired, only the next encoder runs (it emits
    the passed-through file). A mask in ``state`` is carried through every step, each step
    checked against its op's mask declaration (OpError on a breach)."""
    if state.mask is not None:
        shape = None if state.pixels is None else state.pixels.shape
        state = state.replace(mask=as_mask(state.mask, shape, "ImageState.mask"))
    for step in steps:
        opdef = OPS.get(step.op)
        if state.passthrough is not None:
            # A skip rule let the incoming file through: nothing runs until the hop's encoder,
            # which emits that file, under the hop's metadata policy (see passthrough.py).
            state = passthrough_step(state, step, opdef)
            continue
        if state.mask is None:
            state = opdef.apply(state, step.params, step.backend)
        else:
            after = _check_mask_step(opdef, state, opdef.apply(state, step.params, step.backend))
            state = _move_source_mask(opdef, step, state, after)
    return state


def _move_source_mask(
    opdef: OpDef, step: Step, before: ImageState, after: ImageState
) -> ImageState:
    """``after`` with a copy-move's ``meta["source_mask"]`` moved by a geometric step as its mask
    is: the op runs again with that mask in the mask's place (its pixels never depend on it)."""
    source = before.meta.get("source_mask")
    if opdef.mask != "geometric" or source is None:
        return after
    moved = opdef.apply(before.replace(mask=source), step.params, step.backend).mask
    return after.replace(meta={**after.meta, "source_mask": moved})


def _check_mask_step(opdef: OpDef, before: ImageState, after: ImageState) -> ImageState:
    """``after``, once its mask honours ``opdef.mask`` for the step from ``before`` (which has a
    mask): declared, the very input mask for ``unchanged``, the pixels' size for both.

    Raises:
        OpError: an undeclared op, or a mask the op lost, changed or left at the wrong size.
    """
    name = opdef.name
    if opdef.mask is None:
        raise OpError(
            f"op {name!r} declares no mask mapping, so it cannot run on an image with a mask; "
            f"set OpDef(mask=...) to one of {', '.join(MASK_KINDS)}"
        )
    if opdef.mask == "unchanged" and after.mask is not before.mask:
        raise OpError(f"op {name!r} declares mask 'unchanged' but replaced the mask; keep it")
    if after.mask is None:
        raise OpError(f"op {name!r} dropped the mask; a geometric op must map it")
    if opdef.mask == "sets" and (
        after.mask.dtype != np.bool_
        or after.mask.shape != before.mask.shape
        or not after.mask[before.mask].all()
    ):
        raise OpError(f"op {name!r} declares mask 'sets' but lost part of the incoming mask")
    if after.pixels is not None and after.mask.shape != after.pixels.shape[:2]:
        raise OpError(
            f"op {name!r} left a {after.mask.shape} mask on {after.pixels.shape[:2]} pixels; "
            f"a geometric op must map the mask with its pixels"
        )
    return after
