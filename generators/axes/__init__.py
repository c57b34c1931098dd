"""Axis types usable in a suite. Importing this package registers the built-in ones in ``AXES``."""

from __future__ import annotations

from . import clean, crop, double_jpeg, jpeg  # noqa: F401  (registration side effects)
from ._base import AXES, AxisDef, Level, PlanContext, register_axis

__all__ = ["AXES", "AxisDef", "Level", "PlanContext", "register_axis"]
