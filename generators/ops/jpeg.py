"""JPEG encoding (libjpeg-turbo through Pillow or OpenCV) and decoding of encoded bytes."""

from __future__ import annotations

import io
import weakref
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from ..core.errors import OpError
from ..core.records import spec
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


@dataclass(frozen=True)
class JpegParams:
    quality: int = field(metadata=spec(lo=1, hi=100, doc="IJG quality 1..100"))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    optimize: bool = False
    progressive: bool = False

    def __post_init__(self) -> None:
        if (
            isinstance(self.quality, bool)
            or not isinstance(self.quality, int)
            or not 1 <= self.quality <= 100
        ):
            raise OpError(f"quality: must be an integer 1..100, got {self.quality!r}")
        if self.subsampling not in SUBSAMPLINGS:
            raise OpError(
                f"subsampling: must be one of {', '.join(SUBSAMPLINGS)}, got {self.subsampling!r}"
            )


def jpeg_pillow(img: np.ndarray, p: JpegParams, **metadata: bytes) -> bytes:
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


def jpeg_opencv(img: np.ndarray, p: JpegParams) -> bytes:
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


_JPEG_KERNELS = {"pillow": jpeg_pillow, "opencv": jpeg_opencv}


def _apply_jpeg(state: ImageState, p: JpegParams, backend: str) -> ImageState:
    img = state.require_pixels("jpeg")
    data = _JPEG_KERNELS[backend](img, p, **encoder_metadata_kwargs(state, backend, "jpeg"))
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
        doc="encode as baseline/progressive JPEG with IJG quality scaling (libjpeg-turbo)",
    )
)


@dataclass(frozen=True)
class DecodeParams:
    """Decoding of the previous encoder's bytes (libjpeg-turbo defaults: islow IDCT, fancy upsampling)."""


def decode_pillow(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        if im.mode not in ("RGB", "L"):
            im = im.convert("RGB")
        return np.asarray(im)


def decode_opencv(data: bytes) -> np.ndarray:
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise OpError("OpenCV could not decode the encoded bytes")
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)  # BGR->RGB at the boundary
    return arr


_DECODERS = {"pillow": decode_pillow, "opencv": decode_opencv}


def _apply_decode(state: ImageState, p: DecodeParams, backend: str) -> ImageState:
    if state.data is None:
        raise OpError(
            "op 'decode' needs encoded bytes: put it after an encoder step (jpeg, png, ...)"
        )
    if state.lossless_pixels and state.pixels is not None:
        pixels = state.pixels  # a lossless format decodes to exactly what was encoded
    else:
        pixels = _DECODERS[backend](state.data)
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
        doc="decode the previous encoder's bytes back to pixels",
    )
)
