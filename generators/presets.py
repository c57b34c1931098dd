"""Platform-like presets: named chains under ``presets:`` in datasets.yaml, and journeys of hops.

A preset is an ordinary chain (``[{op: name, ...params}, ...]``) with a one-line ``source`` and a
``note``; it approximates what a platform does to an upload and reproduces nothing exactly.
Every step it contributes to a variant carries ``"preset": NAME`` in the manifest's chain.

A journey chains presets hop by hop. Between hops the file is decoded by an explicit ``decode``
step, placed after the receiving preset's leading ``skip_if_small`` when it has one, because
that rule judges the incoming file before it is decoded. The decode belongs to the journey (the
axis' ``decode_backend``), not to a preset, so it carries no preset tag; being the same step
object as the runner's PSNR decode, it is decoded once per hop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .core.errors import ConfigError, OpError
from .core.messages import short_repr, suggest
from .ops import OPS, Step, make_step
from .ops.jpeg import DecodeParams

__all__ = [
    "Preset", "parse_presets", "journey_chain", "concrete_step", "bind_preset_chains", "PRESET_KEYS",
]  # fmt: skip

PRESET_KEYS = ("source", "note", "chain")
_METADATA_OPS = ("strip_metadata", "keep_metadata")


@dataclass(frozen=True)
class Preset:
    name: str
    source: str  # where the parameters come from (one line)
    note: str  # what it approximates, and what it does not claim
    steps: tuple[Step, ...]  # every parameter concrete, each tagged with this preset
    yaml_path: str

    @property
    def encoder(self) -> str:
        """Format of the file this preset writes."""
        return OPS.get(self.steps[-1].op).encoder


def concrete_step(step: Step, path: str) -> Step:
    """Fill a step's library defaults (resize antialias/dtype/version...) so the chain in the
    manifest is concrete; ops whose params have ``concrete(backend)`` or the ``resize`` op."""
    params = step.params
    try:
        if step.op == "resize":
            from .ops.resize import resolve

            params = resolve(step.backend, params)
        elif OPS.get(step.op).concrete is not None:
            params = OPS.get(step.op).concrete(params, step.backend)
        elif hasattr(params, "concrete"):
            params = params.concrete(step.backend)
    except (ConfigError, OpError) as exc:
        raise ConfigError(f"{path}.{exc}") from None
    return dataclasses.replace(step, params=params)


def _one_line(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{path}: must be a non-empty string, got {short_repr(value)}")
    if "\n" in value.strip():
        raise ConfigError(f"{path}: must be one line (no line breaks)")
    return value.strip()


def _parse_preset(name: str, raw: Any, path: str) -> Preset:
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"{path}: must be a mapping with keys {', '.join(PRESET_KEYS)}, got {short_repr(raw)}"
        )
    for key in raw:
        if key not in PRESET_KEYS:
            raise ConfigError(
                f"{path}.{key}: unknown key; {suggest(key, PRESET_KEYS)}"
                f"allowed: {', '.join(PRESET_KEYS)}"
            )
    for key in PRESET_KEYS:
        if key not in raw:
            raise ConfigError(f"{path}: missing required key {key!r}")
    source = _one_line(raw["source"], f"{path}.source")
    note = _one_line(raw["note"], f"{path}.note")
    chain = raw["chain"]
    if not isinstance(chain, list) or not chain:
        raise ConfigError(
            f"{path}.chain: must be a non-empty list of steps, got {short_repr(chain)}"
        )
    steps = []
    for i, spec in enumerate(chain):
        spath = f"{path}.chain[{i}]"
        if isinstance(spec, Mapping) and "preset" in spec:
            raise ConfigError(f"{spath}.preset: set by the preset itself ({name!r}); remove it")
        step = dataclasses.replace(make_step(spec, spath), preset=name)
        steps.append(concrete_step(step, spath))
    last = OPS.get(steps[-1].op)
    if last.encoder is None:
        raise ConfigError(
            f"{path}.chain[{len(steps) - 1}]: a preset must end with an encoder step "
            f"(jpeg, png, webp, ...), got {steps[-1].op!r}"
        )
    for i, step in enumerate(steps):
        if step.op == "skip_if_small":
            if i != 0:
                raise ConfigError(
                    f"{path}.chain[{i}]: skip_if_small judges the incoming file, so it must be "
                    f"the preset's first step"
                )
            other = [f for f in step.params.formats if f != last.encoder]
            if other:
                raise ConfigError(
                    f"{path}.chain[0].formats: this preset writes {last.encoder}, so only "
                    f"{last.encoder} files can pass through unchanged; got {list(step.params.formats)}"
                )
    if not any(s.op in _METADATA_OPS for s in steps):
        raise ConfigError(
            f"{path}.chain: state the platform's metadata policy with a strip_metadata or "
            f"keep_metadata step (a hop inherits nothing from the previous one)"
        )
    return Preset(name, source, note, tuple(steps), path)


def parse_presets(raw: Any, path: str = "presets") -> dict[str, Preset]:
    """The ``presets:`` map of datasets.yaml -> {name: Preset}; errors name the YAML path."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: must be a mapping of name -> preset, got {short_repr(raw)}")
    out = {}
    for name, body in raw.items():
        if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
            raise ConfigError(
                f"{path}: preset names use letters, digits, '_' and '-', got {short_repr(name)}"
            )
        out[name] = _parse_preset(name, body, f"{path}.{name}")
    return out


def journey_chain(
    chains: Mapping[str, Sequence[Step]], names: Sequence[str], decode_backend: str = "pillow"
) -> tuple[Step, ...]:
    """The chain of a journey through ``names`` (one hop each; ``chains`` maps a preset name to
    its steps, e.g. ``{n: p.steps for n, p in presets.items()}``), with ``decode`` between hops."""
    steps: list[Step] = []
    for i, name in enumerate(names):
        hop = list(chains[name])
        if i > 0:
            at = 1 if hop[0].op == "skip_if_small" else 0
            hop.insert(at, Step("decode", decode_backend, DecodeParams()))
        steps += hop
    return tuple(steps)


def bind_preset_chains(params: Any, presets: Mapping[str, Preset], path: str) -> Any:
    """A copy of ``params`` (a record with a ``presets`` tuple of names and a ``chains`` field)
    holding the named presets' chains, so its hash changes with any preset edit; unknown names
    are config errors naming ``path``."""
    for i, name in enumerate(params.presets):
        if name not in presets:
            names = sorted(presets)
            raise ConfigError(
                f"{path}.presets[{i}]: unknown preset {short_repr(name)}; {suggest(name, names)}"
                f"available: {', '.join(names) or '(none: add a presets: map)'}"
            )
    bound = dataclasses.replace(params)
    chains = tuple((n, presets[n].steps) for n in dict.fromkeys(params.presets))
    object.__setattr__(bound, "chains", chains)
    return bound
