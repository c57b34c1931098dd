"""Tone axes: ``contrast``, ``brightness``, ``saturation`` (factors), ``histogram_equalization``
(channels) and ``clahe`` (clip limits); each a ladder of its op (:mod:`..ops.tone`) with the
backend's formula recorded beside the factor, then the axis' output tail."""

from __future__ import annotations

from dataclasses import field

from ..core.records import spec
from ..ops.tone import CLAHE_CHANNELS, EQUALIZE_CHANNELS, tone_formula
from ._op_axis import register_ladder_axis

__all__ = [
    "ContrastAxisParams",
    "BrightnessAxisParams",
    "SaturationAxisParams",
    "HistogramEqualizationAxisParams",
    "ClaheAxisParams",
]


def _formula(op: str):  # noqa: ANN202 - the recorded formula of the axis' backend
    return lambda p: {"formula": tone_formula(op, p.backend)}


_FACTOR = spec(lo=0.0, hi=20.0)

ContrastAxisParams = register_ladder_axis(
    "contrast",
    "factors",
    "factor",
    float,
    _FACTOR,
    extra=_formula("contrast"),
    doc="contrast factor ladder (1 = unchanged), Pillow ImageEnhance or OpenCV, formula recorded",
)
BrightnessAxisParams = register_ladder_axis(
    "brightness",
    "factors",
    "factor",
    float,
    _FACTOR,
    extra=_formula("brightness"),
    doc="brightness factor ladder (1 = unchanged), Pillow ImageEnhance or OpenCV, formula recorded",
)
SaturationAxisParams = register_ladder_axis(
    "saturation",
    "factors",
    "factor",
    float,
    _FACTOR,
    extra=_formula("saturation"),
    doc="saturation factor ladder (0 = grey), Pillow ImageEnhance.Color or OpenCV, formula recorded",
)
HistogramEqualizationAxisParams = register_ladder_axis(
    "histogram_equalization",
    "channels",
    "channel",
    str,
    spec(choices=EQUALIZE_CHANNELS),
    doc="histogram equalization on luma and/or each RGB channel, Pillow or OpenCV",
)
ClaheAxisParams = register_ladder_axis(
    "clahe",
    "clip_limits",
    "clip_limit",
    float,
    spec(gt=0.0, hi=1000.0),
    fixed=[
        ("tiles", tuple[int, int], field(default=(8, 8), metadata=spec(lo=1, hi=256))),
        ("channel", str, field(default="lab-l", metadata=spec(choices=CLAHE_CHANNELS))),
    ],
    doc="CLAHE clip-limit ladder (tiles and channel fixed), OpenCV",
)
