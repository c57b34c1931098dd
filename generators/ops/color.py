"""Colour handling of an upload: convert to sRGB through the embedded ICC profile, or drop it.

Sources are loaded without colour management (their pixels stay in the space of their ICC
profile, which rides along in ``meta["icc"]``). ``color`` with ``mode: to-srgb`` converts the
pixels from that profile to sRGB with LittleCMS (``PIL.ImageCms``, the named rendering intent)
and then forgets the profile, since the pixels are sRGB now; ``mode: drop-icc`` forgets the
profile and leaves the pixel values alone, so a wide-gamut image is then shown as if it were
sRGB (what a platform that strips the profile without converting does). Pixels without a
profile are taken as sRGB and left untouched.
"""

from __future__ import annotations

import functools
import io
from dataclasses import field

import numpy as np
from PIL import ImageCms

from ..backends import get_backend, register_kernel
from ..core.errors import OpError
from ..core.records import record, spec
from ._base import ImageState, OpDef, register_op
from .jpeg import pil_image

__all__ = ["ColorParams", "MODES", "INTENTS", "color_pillow"]

MODES = ("to-srgb", "drop-icc")
INTENTS = ("perceptual", "relative", "saturation", "absolute")
_INTENT = {
    "perceptual": ImageCms.Intent.PERCEPTUAL,
    "relative": ImageCms.Intent.RELATIVE_COLORIMETRIC,
    "saturation": ImageCms.Intent.SATURATION,
    "absolute": ImageCms.Intent.ABSOLUTE_COLORIMETRIC,
}


@record
class ColorParams:
    """``mode``: convert to sRGB or drop the profile; ``intent``: the LittleCMS rendering intent."""

    mode: str = field(default="to-srgb", metadata=spec(choices=MODES))
    intent: str = field(default="relative", metadata=spec(choices=INTENTS))


@functools.lru_cache(maxsize=1)
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@functools.lru_cache(maxsize=8)
def _transform(icc: bytes, mode: str, intent: str) -> ImageCms.ImageCmsTransform:
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.buildTransform(src, _srgb(), mode, "RGB", renderingIntent=_INTENT[intent])
    except (ImageCms.PyCMSError, OSError, ValueError) as exc:
        raise OpError(
            f"color: cannot convert from the embedded ICC profile to sRGB: {exc}"
        ) from None


@register_kernel
def color_pillow(img: np.ndarray, icc: bytes, p: ColorParams) -> np.ndarray:
    """``img`` (in the space of profile ``icc``) converted to sRGB, as RGB uint8."""
    im = pil_image(img)
    try:
        out = ImageCms.applyTransform(im, _transform(icc, im.mode, p.intent))
    except ImageCms.PyCMSError as exc:
        raise OpError(f"color: LittleCMS failed on a {im.mode} image: {exc}") from None
    return np.asarray(out if out.mode == "RGB" else out.convert("RGB"))


def _apply_color(state: ImageState, p: ColorParams, backend: str) -> ImageState:
    img = state.require_pixels("color")
    icc = state.meta.get("icc")
    if not icc:
        return state  # no profile: the pixels are taken as sRGB already
    meta = {**state.meta, "icc": None}
    if p.mode == "drop-icc":
        return state.replace(meta=meta)
    return state.replace(
        pixels=get_backend(backend).kernel("color")(img, icc, p),
        data=None,
        fmt=None,
        lossless_pixels=False,
        meta=meta,
    )


register_op(
    OpDef(
        "color",
        ColorParams,
        ("pillow",),
        _apply_color,
        mask="unchanged",
        doc="convert pixels from the embedded ICC profile to sRGB (LittleCMS), or drop the profile",
    )
)
