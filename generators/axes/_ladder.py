"""The ``ladder:`` of a ``manipulate`` axis: an ordered mapping level name -> what runs after the
manipulation at that level (the same edit at every level: only the later chain changes).

An entry is a list of steps, or a mapping ``{then: [steps], grid: aligned|shifted, preset: NAME,
hops: K}``: ``then`` runs first, then ``K`` hops through the preset named from the config's
``presets:`` map (one journey of the social axis: same chain, same ``decode`` between hops, every
preset step tagged so the ``hops`` and ``platform`` targets count it), and ``grid`` overrides the
axis' splice grid at that level (aligned vs shifted double-JPEG splices). A name like
``quality=90`` or ``hops=2`` gives the level's ``level_value`` (90, 2); other names none.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import ConfigError
from ..core.messages import short_repr, suggest
from ..core.records import from_mapping, record, spec
from ..ops import OPS, Step, canonical_chain, make_step
from ..ops.jpeg import DecodeParams
from ..presets import Preset, concrete_step, journey_chain
from ._base import check_output, output_step
from ._edits import GRIDS

__all__ = [
    "LadderEntry",
    "LaterChain",
    "Rung",
    "parse_ladder",
    "level_value",
    "bind_ladder",
    "rung_steps",
]

MAX_HOPS = 20
_VALUE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*=(-?\d+(?:\.\d+)?)$")


def level_value(name: str) -> float | None:
    """``quality=90`` -> 90.0, ``scale=0.5`` -> 0.5; a name that is not ``key=NUMBER``: None."""
    m = _VALUE.match(name)
    return float(m.group(1)) if m else None


def concrete_steps(raw: Sequence[Any], path: str) -> tuple[Step, ...]:
    """YAML steps -> validated Steps with the libraries' defaults filled (as presets do)."""
    return tuple(
        concrete_step(make_step(s, f"{path}[{i}]"), f"{path}[{i}]") for i, s in enumerate(raw)
    )


@record
class LadderEntry:
    """What one ladder level runs after the manipulation (see the module doc)."""

    then: tuple[Any, ...] = field(default=(), metadata=spec(doc="steps after the edit"))
    grid: str | None = field(default=None, metadata=spec(choices=GRIDS))
    preset: str | None = field(default=None, metadata=spec(doc="a name from presets:"))
    hops: int | None = field(default=None, metadata=spec(lo=1, hi=MAX_HOPS))

    def _check(self) -> None:
        object.__setattr__(self, "then", concrete_steps(self.then, "then"))
        if self.hops is not None and self.preset is None:
            raise ConfigError(
                f"hops: counts hops through a preset; add preset:, got hops={self.hops}"
            )
        if self.preset is not None and self.hops is None:
            object.__setattr__(self, "hops", 1)


@dataclass(frozen=True)
class Rung:
    """One parsed ladder level: its name, ``level_value`` and entry."""

    name: str
    value: float | None
    entry: LadderEntry


def parse_ladder(raw: Mapping[str, Any], ops: Sequence[str]) -> tuple[Rung, ...]:
    """The ``ladder`` mapping -> rungs in YAML order; errors name ``ladder.<level>...``.

    Two levels may run the same later steps only when they differ in ``grid`` and every op is
    a splice (any other edit would be the same variant twice)."""
    if not raw:
        raise ConfigError("ladder: must map at least one level name to its steps")
    has_splice = "splice" in ops
    seen: dict[tuple, str] = {}  # later steps -> first level running them
    rungs = []
    for name, body in raw.items():
        path = f"ladder.{name}"
        if not isinstance(name, str) or not name.strip() or "/" in name:
            raise ConfigError(
                f"ladder: level names are non-empty strings without '/' (quote names YAML "
                f"reads as numbers or booleans), got {short_repr(name)}"
            )
        if isinstance(body, (list, tuple)):
            body = {"then": body}
        elif body is None:
            body = {}
        elif not isinstance(body, Mapping):
            raise ConfigError(
                f"{path}: must be a list of steps or a mapping with keys then, grid, preset, "
                f"hops; got {short_repr(body)}"
            )
        entry = from_mapping(LadderEntry, body, path)
        if entry.grid is not None and not has_splice:
            raise ConfigError(f"{path}.grid: only splices have a grid; add splice to ops")
        _check_repeat(entry, name, seen, ops)
        rungs.append(Rung(name, level_value(name), entry))
    return tuple(rungs)


def _check_repeat(
    entry: LadderEntry, name: str, seen: dict[tuple, str], ops: Sequence[str]
) -> None:
    key = (canonical_chain(entry.then), entry.preset, entry.hops)
    first, same = seen.get(key), seen.get((*key, entry.grid))
    seen.setdefault(key, name)
    seen.setdefault((*key, entry.grid), name)
    if first is None:
        return
    if same is not None:
        raise ConfigError(f"ladder.{name}: the same steps and grid as ladder.{same}; drop one")
    others = [op for op in ops if op != "splice"]
    if others:
        raise ConfigError(
            f"ladder.{name}: the same later steps as ladder.{first}, differing only in grid, "
            f"which changes splices alone: {', '.join(others)} would be made twice; list only "
            f"splice in ops (a separate axis for the others) or give the levels other steps"
        )


def bind_ladder(
    rungs: Sequence[Rung], presets: Mapping[str, Preset], path: str
) -> tuple[tuple[str, tuple[Step, ...]], ...]:
    """The chains of the presets the rungs name; unknown names are config errors."""
    for rung in rungs:
        name = rung.entry.preset
        if name is not None and name not in presets:
            names = sorted(presets)
            raise ConfigError(
                f"{path}.ladder.{rung.name}.preset: unknown preset {short_repr(name)}; "
                f"{suggest(name, names)}available: {', '.join(names) or '(none: add a presets: map)'}"
            )
    used = dict.fromkeys(r.entry.preset for r in rungs if r.entry.preset is not None)
    return tuple((n, presets[n].steps) for n in used)


def _ends_encoded(steps: Sequence[Step]) -> bool:
    return bool(steps) and OPS.get(steps[-1].op).encoder is not None


def _join(head: Sequence[Step], tail: Sequence[Step], backend: str) -> tuple[Step, ...]:
    """``head`` then ``tail``, with a ``decode`` between when ``head`` wrote a file."""
    if not _ends_encoded(head) or not tail or tail[0].op == "decode":
        return (*head, *tail)
    return (*head, Step("decode", backend, DecodeParams()), *tail)


def rung_steps(
    rung: Rung,
    prefix: Sequence[Step],
    chains: Mapping[str, Sequence[Step]],
    decode_backend: str = "pillow",
) -> tuple[Step, ...]:
    """The steps after the edit at this level: ``prefix`` (the axis' ``then``), the entry's
    ``then``, then its preset journey (``chains``: bound preset chains); no output step added."""
    head = _join(prefix, rung.entry.then, decode_backend)
    preset = rung.entry.preset
    if preset is None:
        return head
    if preset not in chains:
        raise ConfigError(
            f"manipulate axis: ladder level {rung.name!r} names preset {preset!r}, which was not "
            f"bound; build the suite through load_config / parse_config"
        )
    hops = [preset] * rung.entry.hops
    if not _ends_encoded(head):
        return (*head, *journey_chain(chains, hops, decode_backend))
    lead = " then"  # not a preset name (preset names have no spaces): the steps before the hops
    return journey_chain({**chains, lead: head}, [lead, *hops], decode_backend)


def replace_grid(step: Step, grid: str | None) -> Step:
    """``step`` with its splice grid set to ``grid`` (unchanged when None or not a splice)."""
    if grid is None or step.op != "splice":
        return step
    return dataclasses.replace(step, params=dataclasses.replace(step.params, grid=grid))


class LaterChain:
    """What runs after an edit, shared by the ``manipulate`` and ``document_forgery`` records
    (fields ``ops``, ``then``, ``ladder``, ``save``, ``quality``, ``subsampling``, ``backend``,
    ``rungs``, ``chains``): ``then`` steps, or a ``ladder`` of them, then the output encoder
    (``save``) unless the chain ends with one."""

    def _check_later(self) -> None:
        """``then`` made concrete, ``ladder`` parsed into ``rungs``, and ``save`` settled."""
        steps = concrete_steps(self.then, "then")
        object.__setattr__(self, "then", steps)
        if self.ladder is not None:
            object.__setattr__(self, "rungs", parse_ladder(self.ladder, self.ops))
        elif steps and OPS.get(steps[-1].op).encoder is not None:
            if self.save is not None or self.quality is not None:
                raise ConfigError(
                    f"save: then ends with the encoder {steps[-1].op!r}, which writes the file; "
                    f"leave save and quality out, got save={self.save} quality={self.quality}"
                )
            return
        object.__setattr__(self, "save", self.save or "png")
        check_output(self.save, self.quality)

    def bind_presets(self, presets: Mapping[str, Any], path: str) -> Any:
        """A copy holding the chains of the presets the ladder names (unknown: config error)."""
        chains = bind_ladder(self.rungs, presets, path)
        bound = dataclasses.replace(self)
        object.__setattr__(bound, "chains", chains)
        return bound

    def output(self, steps: tuple[Step, ...]) -> tuple[Step, ...]:
        """``steps`` and, unless they end with one, the output encoder (``save``)."""
        if steps and OPS.get(steps[-1].op).encoder is not None:
            return steps
        return (*steps, output_step(self.save, self.quality, self.subsampling, self.backend))
