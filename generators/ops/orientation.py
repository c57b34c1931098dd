"""EXIF orientation as an explicit chain step.

The loader turns every source upright (``ImageOps.exif_transpose``; the ``load`` step records
the tag). ``exif_orientation`` says what an upload pipeline does with that tag:

- ``mode: apply`` (what platforms do today): the pixels stay upright and the EXIF the chain
  carries gets orientation 1, so a kept EXIF block never asks a viewer to rotate twice.
- ``mode: ignore``: the pipeline drops the tag without applying it, so the picture comes out in
  its stored orientation (the sideways photos of early web uploads). The loader's rotation is
  undone, which needs the untouched source pixels: put it first in a chain. A mask is
  transposed with the pixels.
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


# Where an 8x8 grid at phase (row, col) of an HxW image lands after each transposition: a flip
# of an axis of length L moves phase p to (L - p) mod 8; a transposition swaps the axes. Exact
# for a JPEG file's own grid (back to (0, 0) in stored coordinates) and for a grid estimated on
# the displayed pixels of a lossless source (source_jpeg_history), which can sit at any phase.
_GRID_MAP = {
    Image.Transpose.FLIP_LEFT_RIGHT: lambda r, c, h, w: (r, (w - c) % 8),
    Image.Transpose.FLIP_TOP_BOTTOM: lambda r, c, h, w: ((h - r) % 8, c),
    Image.Transpose.ROTATE_180: lambda r, c, h, w: ((h - r) % 8, (w - c) % 8),
    Image.Transpose.TRANSPOSE: lambda r, c, h, w: (c, r),
    Image.Transpose.ROTATE_90: lambda r, c, h, w: ((w - c) % 8, r),
    Image.Transpose.ROTATE_270: lambda r, c, h, w: (c, (h - r) % 8),
    Image.Transpose.TRANSVERSE: lambda r, c, h, w: ((w - c) % 8, (h - r) % 8),
}


def _grid_through(op: Image.Transpose, grid: tuple[int, int], h: int, w: int) -> tuple[int, int]:
    """The phase of ``grid`` (in an ``h`` x ``w`` image) after Pillow transposition ``op``."""
    return _GRID_MAP[op](grid[0], grid[1], h, w)

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
    mask = state.mask
    if mask is not None:  # the same transposition, on the mask as an 8-bit image
        mask = np.asarray(Image.fromarray(mask.astype(np.uint8)).transpose(_UNDO[tag])) != 0
    return state.replace(
        pixels=stored,
        data=None,
        fmt=None,
        grids=tuple(_grid_through(_UNDO[tag], g, img.shape[0], img.shape[1]) for g in state.grids),
        region=None,  # transposed: no longer the source's (display) coordinates
        lossless_pixels=False,
        meta=meta,
        mask=mask,
    )


register_op(
    OpDef(
        "exif_orientation",
        OrientationParams,
        ("pillow",),
        _apply_orientation,
        mask="geometric",
        doc="apply EXIF orientation (pixels upright, tag reset to 1) or ignore it (stored pixels)",
    )
)
