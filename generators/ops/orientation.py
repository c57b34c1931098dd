"""EXIF orientation as an explicit chain step.

The loader turns every source upright (``ImageOps.exif_transpose``; the ``load`` step records
the tag). ``exif_orientation`` says what an upload pipeline does with that tag:

- ``mode: apply`` (what platforms do today): the pixels stay upright and the EXIF the chain
  carries gets orientation 1, so a kept EXIF block never asks a viewer to rotate twice.
- ``mode: ignore``: the pipeline drops the tag without applying it, so the picture comes out in
  its stored orientation (the sideways photos of early web uploads). The loader's rotation is
  undone, which needs the untouched source pixels: put it first in a chain.
"""

from __future__ import annotations

from dataclasses import field

from PIL import Image

from ..core.errors import OpError
from ..core.records import record, spec
from ._base import ImageState, OpDef, register_op
from .skip import is_source_pixels

__all__ = ["OrientationParams", "MODES", "exif_orientation", "with_orientation"]

MODES = ("apply", "ignore")
_TAG = 0x0112
# Inverse of ImageOps.exif_transpose for each tag: display -> stored orientation.
_UNDO = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@record
class OrientationParams:
    """``apply`` the EXIF orientation (pixels upright, tag 1) or ``ignore`` it (stored pixels)."""

    mode: str = field(default="apply", metadata=spec(choices=MODES))


def exif_orientation(exif: bytes | None) -> int | None:
    """The orientation tag (1..8) of an EXIF block, None when absent or invalid."""
    if not exif:
        return None
    e = Image.Exif()
    try:
        e.load(exif)
    except Exception:  # noqa: BLE001 - a corrupt block has no usable tag
        return None
    v = e.get(_TAG)
    return v if isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 8 else None


def with_orientation(exif: bytes, value: int | None) -> bytes:
    """``exif`` with the orientation tag set to ``value`` (removed when None)."""
    e = Image.Exif()
    e.load(exif)
    if value is None:
        e.pop(_TAG, None)
    else:
        e[_TAG] = value
    return e.tobytes()


def _apply_orientation(state: ImageState, p: OrientationParams, backend: str) -> ImageState:
    img = state.require_pixels("exif_orientation")
    exif = state.meta.get("exif")
    tag = exif_orientation(exif)
    if tag is None:
        return state  # no tag: nothing to apply or ignore
    if p.mode == "apply":
        return state.replace(meta={**state.meta, "exif": with_orientation(exif, 1)})
    meta = {**state.meta, "exif": with_orientation(exif, None)}
    if tag == 1:
        return state.replace(meta=meta)
    if not is_source_pixels(state):
        raise OpError(
            "exif_orientation mode 'ignore' undoes the loader's rotation, so it needs the "
            "untouched source pixels: put it first in the chain"
        )
    import numpy as np

    stored = np.asarray(Image.fromarray(img).transpose(_UNDO[tag]))
    return state.replace(
        pixels=stored,
        data=None,
        fmt=None,
        grids=tuple((0, 0) for _ in state.grids),  # the source grid, in stored coordinates
        region=None,  # transposed: no longer the source's (display) coordinates
        lossless_pixels=False,
        meta=meta,
    )


register_op(
    OpDef(
        "exif_orientation",
        OrientationParams,
        ("pillow",),
        _apply_orientation,
        doc="apply EXIF orientation (pixels upright, tag reset to 1) or ignore it (stored pixels)",
    )
)
