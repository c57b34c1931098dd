"""WebP output through Pillow's libwebp: lossy (quality 0..100) or lossless."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np

from ..core.errors import OpError
from ..core.records import spec
from ._base import ImageState, OpDef, register_op
from .jpeg import pil_image
from .metadata import encoder_metadata_kwargs

__all__ = ["WebpParams", "webp_pillow", "libwebp_version"]


def _int_in(v: object, lo: int, hi: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


@dataclass(frozen=True)
class WebpParams:
    """``quality``: libwebp's 0..100 (lossy: visual quality; lossless: compression effort).
    ``method``: speed/size trade-off 0 (fast) .. 6 (slow), Pillow's default 4."""

    quality: int = field(default=80, metadata=spec(lo=0, hi=100))
    lossless: bool = False
    method: int = field(default=4, metadata=spec(lo=0, hi=6))

    def __post_init__(self) -> None:
        if not _int_in(self.quality, 0, 100):
            raise OpError(f"quality: must be an integer 0..100, got {self.quality!r}")
        if not isinstance(self.lossless, bool):
            raise OpError(f"lossless: must be true or false, got {self.lossless!r}")
        if not _int_in(self.method, 0, 6):
            raise OpError(f"method: must be an integer 0..6, got {self.method!r}")


def libwebp_version() -> str | None:
    from PIL import features

    return features.version("webp")


def webp_pillow(img: np.ndarray, p: WebpParams, **metadata: bytes) -> bytes:
    buf = io.BytesIO()
    im = pil_image(img)
    if im.mode == "L":
        im = im.convert("RGB")  # libwebp stores RGB; make the conversion explicit
    im.save(buf, "WEBP", quality=p.quality, lossless=p.lossless, method=p.method, **metadata)
    return buf.getvalue()


def _apply_webp(state: ImageState, p: WebpParams, backend: str) -> ImageState:
    img = state.require_pixels("webp")
    data = webp_pillow(img, p, **encoder_metadata_kwargs(state, "pillow", "webp"))
    exact = p.lossless and img.ndim == 3  # lossless RGB decodes to exactly these pixels
    return state.replace(
        pixels=img if exact else None, data=data, fmt="webp", lossless_pixels=exact
    )


register_op(
    OpDef(
        "webp",
        WebpParams,
        ("pillow",),
        _apply_webp,
        encoder="webp",
        doc="encode as WebP (libwebp through Pillow): lossy at quality 0..100, or lossless",
    )
)
