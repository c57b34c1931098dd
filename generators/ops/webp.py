"""WebP output through Pillow's libwebp: lossy (quality 0..100) or lossless."""

from __future__ import annotations

import io
from dataclasses import field

import numpy as np

from ..backends import get_backend, register_kernel
from ..core.records import record, spec
from ._base import ImageState, OpDef, register_op
from .jpeg import pil_image
from .metadata import encoder_metadata_kwargs

__all__ = ["WebpParams", "webp_pillow"]


@record
class WebpParams:
    """``quality``: libwebp's 0..100 (lossy: visual quality; lossless: compression effort).
    ``method``: speed/size trade-off 0 (fast) .. 6 (slow), Pillow's default 4."""

    quality: int = field(default=80, metadata=spec(lo=0, hi=100))
    lossless: bool = False
    method: int = field(default=4, metadata=spec(lo=0, hi=6))


@register_kernel
def webp_pillow(img: np.ndarray, p: WebpParams, **metadata: bytes) -> bytes:
    """``Image.save(buf, "WEBP", quality=..., lossless=..., method=...)`` (L converted to RGB)."""
    buf = io.BytesIO()
    im = pil_image(img)
    if im.mode == "L":
        im = im.convert("RGB")  # libwebp stores RGB; make the conversion explicit
    im.save(buf, "WEBP", quality=p.quality, lossless=p.lossless, method=p.method, **metadata)
    return buf.getvalue()


def _apply_webp(state: ImageState, p: WebpParams, backend: str) -> ImageState:
    img = state.require_pixels("webp")
    kernel = get_backend(backend).kernel("webp")
    data = kernel(img, p, **encoder_metadata_kwargs(state, backend, "webp"))
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
        mask="unchanged",
        doc="encode as WebP (libwebp through Pillow): lossy at quality 0..100, or lossless",
    )
)
