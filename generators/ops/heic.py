"""HEIC output through pillow-heif (libheif with the x265 HEVC encoder), as phones shoot.

Needs the optional ``pillow-heif`` (``pip install "degradebench[codecs]"``); importing this
module registers its Pillow plugin when installed, so every reader opens HEIC files.
"""

from __future__ import annotations

from dataclasses import field

import numpy as np

from ..backends import get_backend, register_kernel
from ..core.plugins import register_plugins, require_plugin
from ..core.records import record, spec
from ._base import ImageState, OpDef, register_op
from ._encoder import encoded_state, kept_metadata, pillow_save

__all__ = ["HeicParams", "HEIC_CHROMAS", "heic_pillow"]

HEIC_CHROMAS = ("4:2:0", "4:2:2", "4:4:4")

register_plugins()


@record
class HeicParams:
    """``quality`` 0..100 (libheif's quality for x265; pillow-heif's default 50); ``chroma``
    subsampling of the coded YUV (pillow-heif ``chroma=420|422|444``). Grey input is coded as
    RGB (converted explicitly)."""

    quality: int = field(default=50, metadata=spec(lo=0, hi=100))
    chroma: str = field(default="4:2:0", metadata=spec(choices=HEIC_CHROMAS))


@register_kernel
def heic_pillow(img: np.ndarray, p: HeicParams, **metadata: bytes) -> bytes:
    """``Image.save(buf, "HEIF", quality=..., chroma=420|422|444)`` through pillow-heif."""
    require_plugin("heif", "op 'heic'")
    chroma = int(p.chroma.replace(":", ""))
    return pillow_save(img, "HEIF", rgb=True, quality=p.quality, chroma=chroma, **metadata)


def _apply_heic(state: ImageState, p: HeicParams, backend: str) -> ImageState:
    img = state.require_pixels("heic")
    meta = kept_metadata(state, backend, "heic", ("exif", "icc_profile", "xmp"))
    data = get_backend(backend).kernel("heic")(img, p, **meta)
    return encoded_state(state, img, data, "heic", exact=False)


register_op(
    OpDef(
        "heic",
        HeicParams,
        ("pillow",),
        _apply_heic,
        encoder="heic",
        mask="unchanged",
        doc="encode as HEIC (libheif + x265 through pillow-heif): quality 0..100, chroma",
    )
)
