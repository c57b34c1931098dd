"""Ops: pure functions on uint8 arrays (or bytes at codec boundaries), one module per family.

Importing this package registers every built-in op in ``OPS``.
"""

from __future__ import annotations

from . import (  # noqa: F401  (registration side effects)
    avif,
    center_crop,
    codec,
    color,
    copy_move,
    crop,
    crop_to,
    doc_forgery,
    filters,
    filters_sharp,
    gamma,
    geometry,
    heic,
    illumination,
    imagenet_c,
    inpaint,
    jpeg,
    jpeg2000,
    jxl,
    metadata,
    noise,
    orientation,
    perspective,
    pixelate,
    png,
    print_scan,
    resize,
    resize_max,
    retouch,
    screenshot,
    skip,
    splice,
    tone,
    webp,
)
from ._base import OPS, ImageState, OpDef, Step, canonical_chain, make_step, register_op, run_chain

__all__ = [
    "OPS",
    "ImageState",
    "OpDef",
    "Step",
    "canonical_chain",
    "make_step",
    "register_op",
    "run_chain",
]
