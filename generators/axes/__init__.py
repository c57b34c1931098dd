"""Axis types usable in a suite. Importing this package registers the built-in ones in ``AXES``."""

from __future__ import annotations

from . import (  # noqa: F401  (registration side effects)
    clean,
    codec,
    crop,
    document_forgery,
    documents,
    double_jpeg,
    filters,
    gamma,
    geometry,
    imagenet_c,
    jpeg,
    manipulate,
    mixed,
    modern_codecs,
    noise,
    resize,
    social,
    tone,
)
from ._base import AXES, AxisDef, Level, Peer, PlanContext, register_axis

__all__ = ["AXES", "AxisDef", "Level", "Peer", "PlanContext", "register_axis"]
