"""The "skip if already small enough" rule platforms use: re-encode only a file that is larger
than N pixels (or N on its longer side) or B bytes, or not in the format the platform writes.

``skip_if_small`` looks at the incoming *file*: the bytes the previous encoder wrote, or the
source file itself when it is the first step of a chain. When every limit holds, the file passes
through unchanged: the following steps do nothing and the next encoder emits those bytes as they
are (``ImageState.passthrough``, honoured by ``run_chain``). Whether the rule fired is recorded
per rule in ``meta["skip_rules"]`` (the manifest's ``reencode_skipped`` column).

A source passes only when its pixels are exactly what its file decodes to: JPEG, PNG or WebP,
no EXIF rotation and no conversion at load time.
"""

from __future__ import annotations

import io
from dataclasses import field
from typing import Any, NamedTuple

import numpy as np
from PIL import Image

from ..core.errors import OpError
from ..core.records import record, spec
from ._base import ImageState, OpDef, register_op
from .jpeg import decode_pillow
from .metadata import KINDS

__all__ = [
    "SkipIfSmallParams",
    "FORMATS",
    "SourceFile",
    "SOURCE_FILE_KEY",
    "fits",
    "is_source_pixels",
    "source_file_meta",
]

FORMATS = ("jpeg", "png", "webp", "avif", "heic", "jxl", "jpeg2000")
SOURCE_FILE_KEY = "source_file"
_PIL_FORMATS = {
    "JPEG": "jpeg",
    "PNG": "png",
    "WEBP": "webp",
    "AVIF": "avif",
    "HEIF": "heic",
    "JXL": "jxl",
    "JPEG2000": "jpeg2000",
}


@record
class SkipIfSmallParams:
    """Pass the incoming file through when it is in ``formats`` and within every given limit."""

    max_pixels: int | None = field(default=None, metadata=spec(lo=1, doc="width * height"))
    max_side: int | None = field(default=None, metadata=spec(lo=1, doc="longer side, pixels"))
    max_bytes: int | None = field(default=None, metadata=spec(lo=1, doc="file size, bytes"))
    formats: tuple[str, ...] = field(
        default=("jpeg",), metadata=spec(choices=FORMATS, nonempty=True)
    )

    def _check(self) -> None:
        if all(getattr(self, n) is None for n in ("max_pixels", "max_side", "max_bytes")):
            raise OpError("skip_if_small: give at least one of max_pixels, max_side, max_bytes")


def fits(p: SkipIfSmallParams, fmt: str | None, width: int, height: int, nbytes: int) -> bool:
    """True when a file of this format, size and byte count may pass through unchanged."""
    return (
        fmt in p.formats
        and (p.max_pixels is None or width * height <= p.max_pixels)
        and (p.max_side is None or max(width, height) <= p.max_side)
        and (p.max_bytes is None or nbytes <= p.max_bytes)
    )


class SourceFile(NamedTuple):
    """The source file as the runner read it: ``pixels`` is the decoded array (compared by
    identity: an op that changes pixels makes a new array); ``exact`` says whether those pixels
    are exactly what the file decodes to (JPEG, PNG or WebP, no EXIF rotation, no conversion)."""

    data: bytes
    fmt: str | None
    pixels: np.ndarray
    exact: bool


def source_file_meta(data: bytes, load_params: dict, pixels: np.ndarray) -> dict[str, Any]:
    """What the runner adds to the first ``ImageState.meta``, so that a first-step skip rule can
    pass the source file itself through and ``exif_orientation`` can tell untouched pixels."""
    fmt = _PIL_FORMATS.get(str(load_params.get("format")))
    exact = (
        fmt is not None
        and load_params.get("exif_orientation") in (None, 1)
        and not load_params.get("conversions")
    )
    return {SOURCE_FILE_KEY: SourceFile(data, fmt, pixels, exact)}


def is_source_pixels(state: ImageState) -> bool:
    """True while ``state.pixels`` is still the untouched array the source decoded to."""
    src = state.meta.get(SOURCE_FILE_KEY)
    return src is not None and state.pixels is not None and state.pixels is src.pixels


def _incoming(state: ImageState) -> tuple[ImageState, np.ndarray] | None:
    """The incoming file as an encoded state (no pixels, no passthrough) and its decoded pixels;
    None when there is no file (pixels changed since the source, or an unusable source)."""
    if state.data is not None and state.fmt is not None:
        if state.lossless_pixels and state.pixels is not None:
            pixels = state.pixels
        else:
            pixels = decode_pillow(state.data)
        return state.replace(pixels=None, lossless_pixels=False), pixels
    if not is_source_pixels(state) or not state.meta[SOURCE_FILE_KEY].exact:
        return None  # pixels changed since the source, or the file does not decode to them
    data, fmt, pixels, _ = state.meta[SOURCE_FILE_KEY]
    file_state = state.replace(
        pixels=None,
        data=data,
        fmt=fmt,
        grids=(),  # the source's own grid is the file's, not an earlier one
        region=(0, 0),
        jpeg_quality=None,  # no JPEG pass of ours
        lossless_pixels=False,
        meta={**state.meta, "keep": KINDS},  # the file carries whatever metadata it has
    )
    return file_state, pixels


def _size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as im:  # header only
        return im.size


def _apply_skip(state: ImageState, p: SkipIfSmallParams, backend: str) -> ImageState:
    rules = tuple(state.meta.get("skip_rules", ()))
    found = _incoming(state)
    if found is not None:
        file_state, pixels = found
        width, height = _size(file_state.data)
        if fits(p, file_state.fmt, width, height, len(file_state.data)):
            kept = file_state.replace(meta={**file_state.meta, "skip_rules": rules + (True,)})
            return kept.replace(pixels=pixels, passthrough=kept)
    return state.replace(meta={**state.meta, "skip_rules": rules + (False,)})


register_op(
    OpDef(
        "skip_if_small",
        SkipIfSmallParams,
        ("pillow",),
        _apply_skip,
        mask="unchanged",
        doc=(
            "pass the incoming file through unchanged (no later step runs until the next "
            "encoder) when it is in `formats` and within max_pixels / max_side / max_bytes"
        ),
    )
)
