"""Lossless PNG output."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..core.errors import OpError
from ..core.records import spec
from ._base import ImageState, OpDef, register_op
from .jpeg import pil_image
from .metadata import encoder_metadata_kwargs

__all__ = ["PngParams", "png_pillow", "png_opencv"]


@dataclass(frozen=True)
class PngParams:
    # Level 1: lossless either way, and about 5x faster than zlib's default 6 on photographs.
    compress_level: int = field(default=1, metadata=spec(lo=0, hi=9))

    def __post_init__(self) -> None:
        if not 0 <= self.compress_level <= 9:
            raise OpError(f"compress_level: must be an integer 0..9, got {self.compress_level!r}")


def png_pillow(img: np.ndarray, p: PngParams, **metadata: bytes) -> bytes:
    buf = io.BytesIO()
    pil_image(img).save(buf, "PNG", compress_level=p.compress_level, **metadata)
    return buf.getvalue()


def png_opencv(img: np.ndarray, p: PngParams) -> bytes:
    bgr = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, p.compress_level])
    if not ok:
        raise OpError(f"OpenCV failed to encode a PNG of shape {img.shape}")
    return buf.tobytes()


_KERNELS = {"pillow": png_pillow, "opencv": png_opencv}


def _apply_png(state: ImageState, p: PngParams, backend: str) -> ImageState:
    img = state.require_pixels("png")
    data = _KERNELS[backend](img, p, **encoder_metadata_kwargs(state, backend, "png"))
    return state.replace(data=data, fmt="png", lossless_pixels=True)


register_op(
    OpDef(
        "png",
        PngParams,
        ("pillow", "opencv"),
        _apply_png,
        encoder="png",
        doc="encode losslessly as PNG",
    )
)
