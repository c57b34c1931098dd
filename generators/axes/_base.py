"""Axes: a named family of levels. An axis turns its params (from datasets.yaml) into concrete
levels for one source, each a chain with every parameter fixed. Planning touches no pixels."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.errors import ConfigError
from ..core.registry import Registry
from ..ops import Step
from ..ops.jpeg import JpegParams
from ..ops.png import PngParams

__all__ = [
    "Level",
    "PlanContext",
    "Peer",
    "AxisDef",
    "AXES",
    "register_axis",
    "output_step",
    "check_output",
]


@dataclass(frozen=True)
class Level:
    """One variant of an axis for a source.

    ``level`` is the *planned* level (the tick label results are grouped by), ``level_value`` its
    x-position (or None). A parameter the planner draws at random is planned as one level
    (``q1=95,q2=90,shift=random``): the drawn value lives in ``axis_params`` and the chain, and
    several draws for one source are several variants of that level, told apart by ``variant``
    (their file name; None: the level names the variant). ``slot`` names the variant inside the
    axis for its seed.

    ``repeats_chain``: this variant may repeat the chain of an earlier variant of its axis (an
    authentic twin of a ladder level that differs from another only in what its twin lacks,
    such as the splice grid): same bytes, but its own variant id and file, so every level holds
    its own twin. Without it, two variants of an axis with one chain are a config error.
    """

    level: str
    level_value: float | None
    axis_params: dict[str, Any]
    chain: tuple[Step, ...]
    slot: str  # the variant's name inside the axis, used to seed its random draws
    variant: str | None = None  # the variant's own name when several share a planned level
    repeats_chain: bool = False  # may repeat an earlier variant's chain (see the class doc)

    @property
    def name(self) -> str:
        """The variant's name inside its axis (unique per source): ``variant`` or ``level``."""
        return self.variant or self.level


@dataclass(frozen=True)
class Peer:
    """Another source of the host's fold, as a planner may see it: a possible splice donor."""

    source_id: str
    label: str | None
    fold: int


def _no_shared(name: str) -> np.random.Generator:
    raise ConfigError(f"shared draws ({name!r}) need a PlanContext built by plan_source")


def _no_layout(source_id: str) -> None:
    return None


@dataclass(frozen=True)
class PlanContext:
    """What a planner may know about a source: its id, a seeded RNG per variant name, and
    (for splices) its label, its fold and the other sources of that fold.

    ``rng_for(name)`` is seeded by (suite seed, source id, axis/name); ``shared_rng(name)`` by
    (suite seed, source id, name) alone, so several axes of a suite draw the same edit for a
    source (like with like). ``peers`` are the other sources of the host's fold (never another
    fold), sorted by source id; empty when the planner is called without the dataset listing.
    """

    source_id: str
    rng_for: Callable[[str], np.random.Generator]
    label: str | None = None
    fold: int = -1
    peers: tuple[Peer, ...] = ()
    shared_rng: Callable[[str], np.random.Generator] = _no_shared
    # ``layout_of(source_id)``: the layout sidecar (``<image path minus suffix>.json``, a JSON
    # mapping: a document's fields) of this source or a peer; None when it has none.
    layout_of: Callable[[str], Any] = _no_layout

    @property
    def layout(self) -> Any:
        """This source's layout sidecar (a mapping), or None when it has none."""
        return self.layout_of(self.source_id)


@dataclass(frozen=True)
class AxisDef:
    """A registered axis type: its params record (from datasets.yaml) and its planner."""

    name: str
    params_cls: type
    plan: Callable[[Any, PlanContext], list[Level]]
    doc: str = ""
    # ``preflight(params, where)``: what the axis needs that the machine may lack (a codec
    # library), checked once per run before anything is written to OUT; raises ConfigError
    # naming ``where`` and the fix. The planner may check it again.
    preflight: Callable[[Any, str], None] | None = None


AXES: Registry[AxisDef] = Registry("axis type")


def register_axis(axis: AxisDef) -> AxisDef:
    """Add an axis type to ``AXES`` (duplicates are refused)."""
    AXES.register(axis.name, axis)
    return axis


def check_output(save: str, quality: int | None) -> None:
    """The output rule every axis that saves shares: JPEG output needs a quality."""
    if save == "jpeg" and quality is None:
        raise ConfigError("quality: required when save is 'jpeg'")


def output_step(
    save: str, quality: int | None, subsampling: str, backend: str, png_compress_level: int = 1
) -> Step:
    """The final encoder of a chain: lossless PNG, or JPEG at ``quality``."""
    if save == "jpeg":
        return Step("jpeg", backend, JpegParams(quality=quality, subsampling=subsampling))
    return Step("png", "pillow", PngParams(compress_level=png_compress_level))
