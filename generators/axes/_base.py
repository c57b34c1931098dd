"""Axes: a named family of levels. An axis turns its params (from datasets.yaml) into concrete
levels for one source, each a chain with every parameter fixed. Planning touches no pixels."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.registry import Registry
from ..ops import Step

__all__ = ["Level", "PlanContext", "AxisDef", "AXES", "register_axis", "output_step"]


@dataclass(frozen=True)
class Level:
    """One point on an axis: ``level`` is the tick label, ``level_value`` the x-position (or None)."""

    level: str
    level_value: float | None
    axis_params: dict[str, Any]
    chain: tuple[Step, ...]
    slot: str  # the variant's name inside the axis, used to seed its random draws


@dataclass(frozen=True)
class PlanContext:
    """What a planner may know about a source: its id, and a seeded RNG per variant name."""

    source_id: str
    rng_for: Callable[[str], np.random.Generator]


@dataclass(frozen=True)
class AxisDef:
    name: str
    params_cls: type
    plan: Callable[[Any, PlanContext], list[Level]]
    doc: str = ""


AXES: Registry[AxisDef] = Registry("axis type")


def register_axis(axis: AxisDef) -> AxisDef:
    AXES.register(axis.name, axis)
    return axis


def output_step(
    save: str, quality: int | None, subsampling: str, backend: str, png_compress_level: int = 1
) -> Step:
    """The final encoder of a chain: lossless PNG, or JPEG at ``quality``."""
    from ..ops.jpeg import JpegParams
    from ..ops.png import PngParams

    if save == "jpeg":
        return Step("jpeg", backend, JpegParams(quality=quality, subsampling=subsampling))
    return Step("png", "pillow", PngParams(compress_level=png_compress_level))
