"""JPEG encoding (libjpeg-turbo through Pillow or OpenCV) and decoding of encoded bytes."""

from __future__ import annotations

import io
import weakref
from dataclasses import field

import cv2
import numpy as np
from PIL import Image

from ..backends import get_backend, register_kernel
from ..core.errors import OpError
from ..core.records import record, spec
from ._base import ImageState, OpDef, register_op
from .metadata import KINDS, encoder_metadata_kwargs

_last_pil: tuple[weakref.ref, Image.Image] | None = None


def pil_image(img: np.ndarray) -> Image.Image:
    """``Image.fromarray`` with a one-entry cache: a ladder encodes the same pixels many times, and
    the copy into Pillow's memory is 10-20% of a JPEG encode. Safe because ops never mutate
    arrays (the identity check goes through a weak reference, so a freed array never matches)."""
    global _last_pil
    last = _last_pil  # read once: another thread may swap it
    if last is not None and last[0]() is img:
        return last[1]
    im = Image.fromarray(img)
    _last_pil = (weakref.ref(img), im)
    return im


__all__ = [
    "JpegParams",
    "DecodeParams",
    "jpeg_pillow",
    "jpeg_opencv",
    "decode_pillow",
    "decode_opencv",
    "SUBSAMPLINGS",
]

SUBSAMPLINGS = ("4:4:4", "4:2:2", "4:2:0")
# OpenCV's IMWRITE_JPEG_SAMPLING_FACTOR values (imgcodecs.hpp: IMWRITE_JPEG_SAMPLING_FACTOR_*).
_CV_SAMPLING = {"4:4:4": 0x111111, "4:2:2": 0x211111, "4:2:0": 0x221111}


@record
class JpegParams:
    """A JPEG encode: IJG ``quality``, chroma ``subsampling``, Huffman ``optimize``, ``progressive``."""

    quality: int = field(metadata=spec(lo=1, hi=100, doc="IJG quality 1..100"))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    optimize: bool = False
    progressive: bool = False


@register_kernel
def jpeg_pillow(img: np.ndarray, p: JpegParams, **metadata: bytes) -> bytes:
    """``Image.save(buf, "JPEG", quality=..., subsampling=..., ...)`` with the kept metadata."""
    buf = io.BytesIO()
    pil_image(img).save(
        buf,
        "JPEG",
        quality=p.quality,
        subsampling=p.subsampling,
        optimize=p.optimize,
        progressive=p.progressive,
        **metadata,  # exif / icc_profile / xmp the chain keeps (encoder_metadata_kwargs)
    )
    return buf.getvalue()


@register_kernel
def jpeg_opencv(img: np.ndarray, p: JpegParams) -> bytes:
    """``cv2.imencode(".jpg", bgr, [QUALITY, SAMPLING_FACTOR, OPTIMIZE, PROGRESSIVE])``."""
    bgr = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2BGR)  # RGB->BGR at the boundary
    flags = [
        cv2.IMWRITE_JPEG_QUALITY,
        p.quality,
        cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
        _CV_SAMPLING[p.subsampling],
        cv2.IMWRITE_JPEG_OPTIMIZE,
        int(p.optimize),
        cv2.IMWRITE_JPEG_PROGRESSIVE,
        int(p.progressive),
    ]
    ok, buf = cv2.imencode(".jpg", bgr, flags)
    if not ok:
        raise OpError(f"OpenCV failed to encode a JPEG of shape {img.shape}")
    return buf.tobytes()


def _apply_jpeg(state: ImageState, p: JpegParams, backend: str) -> ImageState:
    img = state.require_pixels("jpeg")
    kernel = get_backend(backend).kernel("jpeg")
    data = kernel(img, p, **encoder_metadata_kwargs(state, backend, "jpeg"))
    return state.replace(
        pixels=None,
        data=data,
        fmt="jpeg",
        passes=state.passes + 1,
        jpeg_quality=p.quality,
        lossless_pixels=False,
    )


register_op(
    OpDef(
        "jpeg",
        JpegParams,
        ("pillow", "opencv"),
        _apply_jpeg,
        encoder="jpeg",
        mask="unchanged",
        doc="encode as baseline/progressive JPEG with IJG quality scaling (libjpeg-turbo)",
    )
)


@record
class DecodeParams:
    """Decoding of the previous encoder's bytes (libjpeg-turbo defaults: islow IDCT, fancy upsampling)."""


@register_kernel
def decode_pillow(data: bytes) -> np.ndarray:
    """The one variant decoder: encoded bytes -> uint8 RGB (or L) pixels, through Pillow."""
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        if im.mode not in ("RGB", "L"):
            im = im.convert("RGB")
        return np.asarray(im)


@register_kernel
def decode_opencv(data: bytes) -> np.ndarray:
    """``cv2.imdecode`` -> uint8 RGB (converted from BGR at the boundary) or L pixels."""
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise OpError("OpenCV could not decode the encoded bytes")
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)  # BGR->RGB at the boundary
    return arr


def _apply_decode(state: ImageState, p: DecodeParams, backend: str) -> ImageState:
    if state.data is None:
        raise OpError(
            "op 'decode' needs encoded bytes: put it after an encoder step (jpeg, png, ...)"
        )
    if state.lossless_pixels and state.pixels is not None:
        pixels = state.pixels  # a lossless format decodes to exactly what was encoded
    else:
        pixels = get_backend(backend).kernel("decode")(state.data)
    grids = state.grids + ((0, 0),) if state.fmt == "jpeg" else state.grids
    # The decoded file holds only the metadata its encoder kept: a later keep_metadata cannot
    # bring back what an earlier encode stripped (multi-hop chains).
    keep = state.meta.get("keep", ())
    meta = {**state.meta, **{k: None for k in KINDS if k not in keep}}
    return state.replace(
        pixels=pixels, data=None, fmt=None, grids=grids, lossless_pixels=False, meta=meta
    )


register_op(
    OpDef(
        "decode",
        DecodeParams,
        ("pillow", "opencv"),
        _apply_decode,
        mask="unchanged",
        doc="decode the previous encoder's bytes back to pixels",
    )
)
