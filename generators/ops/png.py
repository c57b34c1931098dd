"""Lossless PNG output."""

from __future__ import annotations

import io
from dataclasses import field

import cv2
import numpy as np
from PIL.PngImagePlugin import PngInfo

from ..backends import get_backend, register_kernel
from ..core.errors import OpError
from ..core.records import record, spec
from ._base import ImageState, OpDef, register_op
from .jpeg import pil_image
from .metadata import encoder_metadata_kwargs

__all__ = ["PngParams", "png_pillow", "png_opencv", "XMP_KEYWORD"]


@record
class PngParams:
    """A PNG encode; ``compress_level`` is zlib's 0..9 (the pixels are lossless either way)."""

    # Level 1: lossless either way, and about 5x faster than zlib's default 6 on photographs.
    compress_level: int = field(default=1, metadata=spec(lo=0, hi=9))


XMP_KEYWORD = "XML:com.adobe.xmp"  # the iTXt keyword of XMP in PNG (XMP spec part 3, 1.1.5)


def _xmp_info(xmp: bytes | str) -> PngInfo:
    """An uncompressed iTXt chunk ``XML:com.adobe.xmp`` holding the XMP packet (UTF-8)."""
    try:
        text = xmp if isinstance(xmp, str) else xmp.decode("utf-8")
    except UnicodeDecodeError:
        raise OpError(
            "png: the kept XMP is not UTF-8, so it cannot go into a PNG iTXt chunk; "
            "add strip_metadata with kinds [xmp] before the png step"
        ) from None
    info = PngInfo()
    info.add_itxt(XMP_KEYWORD, text, lang="", tkey="", zip=False)
    return info


@register_kernel
def png_pillow(img: np.ndarray, p: PngParams, **metadata: bytes) -> bytes:
    """``Image.save(buf, "PNG", compress_level=...)`` with the kept metadata. Pillow's PNG
    writer ignores ``xmp=``, so kept XMP is written as an iTXt ``XML:com.adobe.xmp`` chunk."""
    buf = io.BytesIO()
    xmp = metadata.pop("xmp", None)
    if xmp:
        metadata["pnginfo"] = _xmp_info(xmp)
    pil_image(img).save(buf, "PNG", compress_level=p.compress_level, **metadata)
    return buf.getvalue()


@register_kernel
def png_opencv(img: np.ndarray, p: PngParams) -> bytes:
    """``cv2.imencode(".png", bgr, [PNG_COMPRESSION, level])``."""
    bgr = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, p.compress_level])
    if not ok:
        raise OpError(f"OpenCV failed to encode a PNG of shape {img.shape}")
    return buf.tobytes()


def _apply_png(state: ImageState, p: PngParams, backend: str) -> ImageState:
    img = state.require_pixels("png")
    kernel = get_backend(backend).kernel("png")
    data = kernel(img, p, **encoder_metadata_kwargs(state, backend, "png"))
    return state.replace(data=data, fmt="png", lossless_pixels=True)


register_op(
    OpDef(
        "png",
        PngParams,
        ("pillow", "opencv"),
        _apply_png,
        encoder="png",
        mask="unchanged",
        doc="encode losslessly as PNG",
    )
)
