"""The ``social`` axis: journeys through platform-like presets, the level being the hop count.

Three modes, each a list of presets from the config's ``presets:`` map:

- ``repeat``: each preset shared again and again, at every hop count in ``hops``;
- ``sequence``: one listed journey (e.g. whatsapp-like -> facebook-like -> screenshot), cut
  after each hop count in ``hops``;
- ``random``: ``journeys`` journeys per source, drawn by the seeded planner: a hop count
  uniform in ``hop_range``, then a preset uniform from ``presets`` at each hop (repeats
  allowed); the journeys of one source are distinct.

``level_value`` is the hop count, so a report draws the curve over hops. The tick label
(``level``) is the hop count when it names the journey (one preset, or a sequence), else the
journey itself (``whatsapp-like>facebook-like``). Drawn journeys are planned as ONE level per
axis, ``random`` (``level_value`` null: no single hop count was planned), each drawn journey a
variant of it (its file named by the journey), so ``n`` per level never depends on the draws.
``axis_params`` holds ``hops`` and ``journey``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field

from ..core.errors import ConfigError
from ..core.records import record, repeats, spec
from ..ops import Step
from ..presets import Preset, bind_preset_chains, journey_chain
from ._base import AxisDef, Level, PlanContext, register_axis

__all__ = ["SocialParams", "MODES", "MAX_HOPS", "RANDOM_LEVEL"]

MODES = ("repeat", "sequence", "random")
MAX_HOPS = 20
RANDOM_LEVEL = "random"  # the one planned level of drawn journeys


@record
class SocialParams:
    """Preset names and the ``mode`` (``repeat``, ``sequence``, ``random``) with its hop counts:
    ``hops`` for repeat/sequence, ``hop_range`` and ``journeys`` for random."""

    presets: tuple[str, ...] = field(metadata=spec(nonempty=True, doc="preset names from presets:"))
    mode: str = field(default="repeat", metadata=spec(choices=MODES))
    hops: tuple[int, ...] | None = field(
        default=None,
        metadata=spec(lo=1, hi=MAX_HOPS, distinct=True, doc="repeat/sequence; default [1, 2, 3]"),
    )
    hop_range: tuple[int, int] | None = field(
        default=None, metadata=spec(lo=1, hi=MAX_HOPS, doc="random: [min, max] hops")
    )
    journeys: int | None = field(default=None, metadata=spec(lo=1, doc="random: per source"))
    decode_backend: str = field(default="pillow", metadata=spec(choices=("pillow", "opencv")))
    # Filled from the config's presets map when the suite is parsed (see bind_presets): the
    # chains themselves, so the suite definition (and its hash) changes with any preset edit.
    chains: tuple[tuple[str, tuple[Step, ...]], ...] = field(default=(), init=False)

    def _check(self) -> None:
        if self.mode == "random":
            if self.hops is not None:
                raise ConfigError("hops: not used by mode 'random' (use hop_range)")
            lo, hi = self.hop_range or (1, 3)
            if lo > hi:
                raise ConfigError(f"hop_range: min must not exceed max, got [{lo}, {hi}]")
            object.__setattr__(self, "hop_range", (lo, hi))
            object.__setattr__(self, "journeys", self.journeys or 1)
            possible = sum(len(set(self.presets)) ** k for k in range(lo, hi + 1))
            if self.journeys > possible:
                raise ConfigError(
                    f"journeys: {self.journeys} distinct journeys asked for, but only {possible} "
                    f"exist with {len(set(self.presets))} presets and {lo}..{hi} hops"
                )
            return
        for name in ("hop_range", "journeys"):
            if getattr(self, name) is not None:
                raise ConfigError(f"{name}: only used by mode 'random', got mode {self.mode!r}")
        hops = self.hops or (1, 2, 3)
        object.__setattr__(self, "hops", tuple(hops))
        if len(set(self.presets)) != len(self.presets) and self.mode == "repeat":
            raise ConfigError(f"presets: {repeats(self.presets)}")
        if self.mode == "sequence" and max(hops) > len(self.presets):
            raise ConfigError(
                f"hops: a sequence of {len(self.presets)} presets has at most "
                f"{len(self.presets)} hops, got {max(hops)}"
            )

    def bind_presets(self, presets: Mapping[str, Preset], path: str) -> SocialParams:
        """A copy holding the named presets' chains; unknown names are config errors."""
        return bind_preset_chains(self, presets, path)


def _level(
    p: SocialParams, journey: tuple[str, ...], named_by_hops: bool, slot: str, drawn: bool = False
) -> Level:
    if not p.chains:
        raise ConfigError(
            "social axis: its presets were not bound; build it through load_config / parse_config"
        )
    chain = journey_chain(dict(p.chains), journey, p.decode_backend)
    k = len(journey)
    name = str(k) if named_by_hops else ">".join(journey)
    params = {"hops": k, "journey": list(journey)}
    if drawn:  # one planned level; the drawn hop count lives in axis_params and the chain
        return Level(RANDOM_LEVEL, None, params, chain, slot, variant=name)
    return Level(name, float(k), params, chain, slot)


def _random_journeys(p: SocialParams, ctx: PlanContext) -> list[tuple[str, ...]]:
    rng = ctx.rng_for("journeys")
    pool = list(dict.fromkeys(p.presets))
    lo, hi = p.hop_range
    seen: list[tuple[str, ...]] = []
    while len(seen) < p.journeys:  # distinct journeys; bounded since journeys <= possible
        k = int(rng.integers(lo, hi + 1))
        journey = tuple(pool[int(i)] for i in rng.integers(0, len(pool), size=k))
        if journey not in seen:
            seen.append(journey)
    return seen


def plan_social(p: SocialParams, ctx: PlanContext) -> list[Level]:
    """Levels by hop count: repeated presets, a listed sequence cut after each hop count, or
    drawn journeys (one planned level ``random``, a variant per drawn journey)."""
    if p.mode == "random":
        journeys = enumerate(_random_journeys(p, ctx))
        return [_level(p, j, False, f"journey{i}", drawn=True) for i, j in journeys]
    if p.mode == "sequence":
        return [_level(p, p.presets[:k], True, f"hops={k}") for k in p.hops]
    single = len(p.presets) == 1
    return [
        _level(p, (name,) * k, single, f"{name},hops={k}") for name in p.presets for k in p.hops
    ]


register_axis(
    AxisDef(
        "social",
        SocialParams,
        plan_social,
        doc="hops through platform-like presets: repeated, a listed sequence, or seeded random",
    )
)
