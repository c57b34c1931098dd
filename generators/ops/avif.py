"""AVIF output through Pillow's libavif (the AV1 encoder libaom): quality, speed, chroma."""

from __future__ import annotations

from dataclasses import field

import numpy as np

from ..backends import get_backend, register_kernel
from ..core.records import record, spec
from ._base import ImageState, OpDef, register_op
from ._encoder import encoded_state, kept_metadata, pillow_save

__all__ = ["AvifParams", "AVIF_SUBSAMPLINGS", "avif_pillow"]

AVIF_SUBSAMPLINGS = ("4:2:0", "4:2:2", "4:4:4", "4:0:0")


@record
class AvifParams:
    """``quality`` 0..100 (libavif's quality; Pillow's default 75), ``speed`` 0 (slow, best) ..
    10 (fast), Pillow's default 6; ``subsampling`` of the YUV planes (4:0:0: grey);
    ``range`` full or limited YUV; ``codec`` the AV1 encoder; ``max_threads``: libaom's bytes
    depend on the thread count, so it is pinned (1) instead of Pillow's default, the CPU count."""

    quality: int = field(default=75, metadata=spec(lo=0, hi=100))
    speed: int = field(default=6, metadata=spec(lo=0, hi=10))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=AVIF_SUBSAMPLINGS))
    range: str = field(default="full", metadata=spec(choices=("full", "limited")))
    codec: str = field(default="aom", metadata=spec(choices=("aom", "rav1e", "svt")))
    max_threads: int = field(default=1, metadata=spec(lo=1, hi=256))


@register_kernel
def avif_pillow(img: np.ndarray, p: AvifParams, **metadata: bytes) -> bytes:
    """``Image.save(buf, "AVIF", quality, speed, subsampling, range, codec, max_threads)``."""
    return pillow_save(
        img,
        "AVIF",
        quality=p.quality,
        speed=p.speed,
        subsampling=p.subsampling,
        range=p.range,
        codec=p.codec,
        max_threads=p.max_threads,
        **metadata,
    )


def _apply_avif(state: ImageState, p: AvifParams, backend: str) -> ImageState:
    img = state.require_pixels("avif")
    meta = kept_metadata(state, backend, "avif", ("exif", "icc_profile", "xmp"))
    data = get_backend(backend).kernel("avif")(img, p, **meta)
    return encoded_state(state, img, data, "avif", exact=False)


register_op(
    OpDef(
        "avif",
        AvifParams,
        ("pillow",),
        _apply_avif,
        encoder="avif",
        mask="unchanged",
        doc="encode as AVIF (libavif + libaom through Pillow): quality 0..100, speed, chroma",
    )
)
