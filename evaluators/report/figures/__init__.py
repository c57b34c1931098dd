"""Axis-level figure kinds, registered by name in :data:`FIGURE_KINDS` (one extension pattern).

A figure kind is a callable ``draw(view: AxisView) -> list[Drawn]`` (empty when it does not apply
to the axis). The report draws, for every axis, the kinds named in its options (``report.json``:
``figures``), in that order. Register your own with ``FIGURE_KINDS.register("name", draw)`` or a
lazy ``"package.module:function"`` target.
"""

from __future__ import annotations

from degradebench.generators.core.registry import Registry

from .base import DPI, Drawn, save_figure

__all__ = ["FIGURE_KINDS", "Drawn", "save_figure", "DPI"]

FIGURE_KINDS: Registry = Registry("figure kind")
FIGURE_KINDS.register("curve", "degradebench.evaluators.report.figures.curves:draw_curves")
FIGURE_KINDS.register("heatmap", "degradebench.evaluators.report.figures.heatmap:draw_heatmap")
FIGURE_KINDS.register("paths", "degradebench.evaluators.report.figures.paths:draw_paths")
FIGURE_KINDS.register(
    "libraries", "degradebench.evaluators.report.figures.libraries:draw_libraries"
)
FIGURE_KINDS.register("forensic", "degradebench.evaluators.report.figures.forensic:draw_forensic")
FIGURE_KINDS.register(
    "regression", "degradebench.evaluators.report.figures.regression:draw_regression"
)
FIGURE_KINDS.register("overlays", "degradebench.evaluators.report.figures.overlays:draw_overlays")
