"""JPEG by a named implementation: libjpeg-turbo as bundled by Pillow and OpenCV, and IJG
libjpeg 6b..9f, libjpeg-turbo 1.2..2.1 and mozjpeg through the ``jpeglib`` package (optional
extra ``codecs``), with the decoder's IDCT method and fancy upsampling as parameters.

The same quality written or read by different libjpeg builds gives different bytes and pixels
(Benes, Hofer, Boehme, "Know your library", IH&MMSec 2022); forensic models see the difference.
Each step records the implementation (the libjpeg build) and ``version`` (the Python wrapper
that called it: Pillow, OpenCV or jpeglib).

``jpeglib`` is file based and keeps the selected libjpeg build in process-global state: every
call here selects its build explicitly, so steps never depend on what ran before.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import field

import numpy as np

from ..backends import backend_names, get_backend, register_kernel
from ..core.errors import ConfigError, OpError
from ..core.messages import short_repr
from ..core.records import record, spec
from ._base import ImageState, OpDef, register_op
from .jpeg import SUBSAMPLINGS, JpegParams, decode_opencv, decode_pillow, jpeg_opencv, jpeg_pillow
from .metadata import KINDS

__all__ = [
    "JpegCodecParams",
    "JpegDecodeParams",
    "JPEGLIB_IMPLEMENTATIONS",
    "DCT_METHODS",
    "ENCODE_BACKENDS",
    "JPEG_BUNDLERS",
    "is_mozjpeg",
    "bundled_implementation",
    "wrapper_version",
    "jpeglib_available",
    "require_jpeglib",
    "jpeg_codec_pillow",
    "jpeg_codec_opencv",
    "jpeg_codec_jpeglib",
    "jpeg_decode_pillow",
    "jpeg_decode_opencv",
    "jpeg_decode_jpeglib",
]

DCT_METHODS = ("islow", "ifast", "float")
# The backends that call a named libjpeg build (pillow, opencv, jpeglib).
ENCODE_BACKENDS = backend_names(lambda b: b.calls_libjpeg)


def _jpeglib_names() -> dict[str, str]:
    """Our implementation names -> jpeglib's version tokens (every build jpeglib 1.x ships)."""
    names = {f"libjpeg-{v}": v for v in ("6b", "7", "8", "8a", "8b", "8c", "8d")}
    names.update({f"libjpeg-{v}": v for v in ("9", "9a", "9b", "9c", "9d", "9e", "9f")})
    for tok in ("120", "130", "140", "150", "200", "210"):
        names[f"libjpeg-turbo-{tok[0]}.{tok[1]}.{tok[2]}"] = f"turbo{tok}"
    for tok in ("101", "201", "300", "403"):
        names[f"mozjpeg-{tok[0]}.{tok[1]}.{tok[2]}"] = f"mozjpeg{tok}"
    return names


JPEGLIB_IMPLEMENTATIONS: dict[str, str] = _jpeglib_names()


def jpeglib_available() -> bool:
    """True when the optional ``jpeglib`` package is installed."""
    return get_backend("jpeglib").version() is not None


def require_jpeglib(what: str) -> None:
    """ConfigError naming ``what`` and the install command when jpeglib is missing."""
    if not jpeglib_available():
        raise ConfigError(
            f"{what} needs the optional package 'jpeglib' (IJG libjpeg / mozjpeg builds); "
            f"install it with: pip install 'degradebench[codecs]'"
        )


# The backends whose package bundles its own libjpeg (pillow, opencv).
JPEG_BUNDLERS = backend_names(lambda b: b.jpeg_build is not None)
_JPEG_BUNDLERS = JPEG_BUNDLERS  # the earlier private name


def is_mozjpeg(implementation: str) -> bool:
    """mozjpeg (through jpeglib) writes its own (non-IJG) tables, always progressive and
    optimised: what an implementation name says, not its backend (jpeglib has IJG builds too)."""
    return implementation.startswith("mozjpeg")


def bundled_implementation(backend: str) -> str:
    """The libjpeg build inside Pillow or OpenCV, e.g. ``libjpeg-turbo-3.2.0``."""
    build = get_backend(backend).jpeg_build if backend in _JPEG_BUNDLERS else None
    if build is None:
        names = " or ".join(JPEG_BUNDLERS)
        raise ConfigError(f"backend: {backend!r} bundles no libjpeg; use {names}")
    return build()


def wrapper_version(backend: str) -> str:
    """The version of the Python package that calls libjpeg (Pillow, OpenCV or jpeglib)."""
    if backend not in ENCODE_BACKENDS:
        names = f"{', '.join(ENCODE_BACKENDS[:-1])} or {ENCODE_BACKENDS[-1]}"
        raise ConfigError(f"backend: must be {names}, got {short_repr(backend)}")
    version = get_backend(backend).version()
    if version is None:  # only the optional jpeglib can be missing
        require_jpeglib(f"backend {backend!r}")
    return version


def _check_implementation(backend: str, implementation: str) -> None:
    if get_backend(backend).jpeg_build is None:  # jpeglib: one of the builds it ships
        if implementation not in JPEGLIB_IMPLEMENTATIONS:
            raise OpError(
                f"implementation: jpeglib has {', '.join(JPEGLIB_IMPLEMENTATIONS)}; "
                f"got {implementation!r}"
            )
        return
    bundled = bundled_implementation(backend)
    if implementation != bundled:
        raise OpError(
            f"implementation: {backend} bundles {bundled}, the step asks for {implementation!r}"
        )


def _check_version(backend: str, version: str | None) -> None:
    installed = wrapper_version(backend)
    if version is not None and version != installed:
        raise OpError(
            f"version: the chain was planned with {backend} {version} but {installed} is "
            f"installed; its output would not be what the manifest says"
        )


@record
class JpegCodecParams:
    """A JPEG encode by ``implementation`` (see JPEGLIB_IMPLEMENTATIONS, or the libjpeg-turbo
    bundled in Pillow/OpenCV). mozjpeg through jpeglib always writes progressive, optimised
    files with its own (non-IJG) tables, so it needs ``progressive`` and ``optimize`` true."""

    quality: int = field(metadata=spec(lo=1, hi=100))
    implementation: str
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    optimize: bool = False
    progressive: bool = False
    dct: str = field(default="islow", metadata=spec(choices=DCT_METHODS))
    version: str | None = None  # the wrapper's version (Pillow, OpenCV or jpeglib)

    def _check(self) -> None:
        if self.is_mozjpeg and not (self.progressive and self.optimize):
            raise OpError(
                "progressive/optimize: mozjpeg (through jpeglib) always writes progressive, "
                "optimised files; set both true"
            )

    @property
    def is_mozjpeg(self) -> bool:
        """mozjpeg writes its own (non-IJG) tables, progressive and optimised."""
        return is_mozjpeg(self.implementation)


def _jpeglib_select(implementation: str):  # noqa: ANN202 - the jpeglib module
    require_jpeglib(f"implementation {implementation!r}")
    import jpeglib

    jpeglib.version.set(JPEGLIB_IMPLEMENTATIONS[implementation])
    return jpeglib


def _jpeglib_dct(jpeglib, name: str):  # noqa: ANN001, ANN202
    return {"islow": jpeglib.JDCT_ISLOW, "ifast": jpeglib.JDCT_IFAST, "float": jpeglib.JDCT_FLOAT}[
        name
    ]


@register_kernel
def jpeg_codec_pillow(img: np.ndarray, p: JpegCodecParams) -> bytes:
    """Pillow's bundled libjpeg-turbo (islow DCT only), through the ``jpeg`` op's kernel."""
    if p.dct != "islow":
        raise OpError(f"dct: Pillow always encodes with the islow DCT, got {p.dct!r}")
    return jpeg_pillow(img, JpegParams(p.quality, p.subsampling, p.optimize, p.progressive))


@register_kernel
def jpeg_codec_opencv(img: np.ndarray, p: JpegCodecParams) -> bytes:
    """OpenCV's bundled libjpeg-turbo (islow DCT only), through the ``jpeg`` op's kernel."""
    if p.dct != "islow":
        raise OpError(f"dct: OpenCV always encodes with the islow DCT, got {p.dct!r}")
    return jpeg_opencv(img, JpegParams(p.quality, p.subsampling, p.optimize, p.progressive))


@register_kernel
def jpeg_codec_jpeglib(img: np.ndarray, p: JpegCodecParams) -> bytes:
    """``jpeglib.from_spatial(img).write_spatial(path, qt=quality, dct_method=..., flags=...)``
    with the sampling factors of ``subsampling`` and the selected libjpeg build."""
    jpeglib = _jpeglib_select(p.implementation)
    arr = np.ascontiguousarray(img if img.ndim == 3 else img[..., None])
    im = jpeglib.from_spatial(arr)
    if arr.shape[2] == 3:
        im.samp_factor = jpeglib.Jab_to_factors([int(c) for c in p.subsampling.split(":")])
    flags = [
        ("+" if p.optimize else "-") + "OPTIMIZE_CODING",
        ("+" if p.progressive else "-") + "PROGRESSIVE_MODE",
    ]
    with tempfile.TemporaryDirectory(prefix="degradebench-jpeglib-") as tmp:
        path = os.path.join(tmp, "out.jpg")
        im.write_spatial(path, qt=p.quality, dct_method=_jpeglib_dct(jpeglib, p.dct), flags=flags)
        with open(path, "rb") as fh:
            return fh.read()


def _apply_codec(state: ImageState, p: JpegCodecParams, backend: str) -> ImageState:
    img = state.require_pixels("jpeg_codec")
    _check_implementation(backend, p.implementation)
    _check_version(backend, p.version)
    data = get_backend(backend).kernel("jpeg_codec")(img, p)
    return state.replace(
        pixels=None,
        data=data,
        fmt="jpeg",
        passes=state.passes + 1,
        jpeg_quality=None if p.is_mozjpeg else p.quality,  # mozjpeg's tables are not IJG-scaled
        lossless_pixels=False,
    )


register_op(
    OpDef(
        "jpeg_codec",
        JpegCodecParams,
        ENCODE_BACKENDS,
        _apply_codec,
        encoder="jpeg",
        mask="unchanged",
        doc="JPEG encode by a named libjpeg implementation (libjpeg-turbo, IJG libjpeg, mozjpeg)",
    )
)


@record
class JpegDecodeParams:
    """A JPEG decode by ``implementation`` with the IDCT method and fancy (smooth) chroma
    upsampling as parameters. Pillow and OpenCV decode with islow and fancy upsampling only."""

    implementation: str
    idct: str = field(default="islow", metadata=spec(choices=DCT_METHODS))
    fancy_upsampling: bool = True
    version: str | None = None  # the wrapper's version (Pillow, OpenCV or jpeglib)


def _fixed_decoder(backend: str, p: JpegDecodeParams) -> None:
    if p.idct != "islow" or not p.fancy_upsampling:
        raise OpError(
            f"{backend} decodes with idct islow and fancy upsampling only; use backend jpeglib "
            f"for idct={p.idct} fancy_upsampling={str(p.fancy_upsampling).lower()}"
        )


@register_kernel
def jpeg_decode_pillow(data: bytes, p: JpegDecodeParams) -> np.ndarray:
    """Pillow's decoder (islow, fancy upsampling only): :func:`decode_pillow`."""
    _fixed_decoder("pillow", p)
    return decode_pillow(data)


@register_kernel
def jpeg_decode_opencv(data: bytes, p: JpegDecodeParams) -> np.ndarray:
    """OpenCV's decoder (islow, fancy upsampling only): :func:`decode_opencv`."""
    _fixed_decoder("opencv", p)
    return decode_opencv(data)


@register_kernel
def jpeg_decode_jpeglib(data: bytes, p: JpegDecodeParams) -> np.ndarray:
    """``jpeglib.read_spatial(path, dct_method=..., flags=['+/-DO_FANCY_UPSAMPLING']).spatial``."""
    jpeglib = _jpeglib_select(p.implementation)
    flags = [("+" if p.fancy_upsampling else "-") + "DO_FANCY_UPSAMPLING"]
    with tempfile.TemporaryDirectory(prefix="degradebench-jpeglib-") as tmp:
        path = os.path.join(tmp, "in.jpg")
        with open(path, "wb") as fh:
            fh.write(data)
        im = jpeglib.read_spatial(path, dct_method=_jpeglib_dct(jpeglib, p.idct), flags=flags)
        arr = np.array(im.spatial, dtype=np.uint8)
    return arr[..., 0] if arr.ndim == 3 and arr.shape[2] == 1 else arr


def _apply_decode(state: ImageState, p: JpegDecodeParams, backend: str) -> ImageState:
    if state.data is None or state.fmt != "jpeg":
        raise OpError(
            f"op 'jpeg_decode' needs JPEG bytes: put it after a JPEG encoder step, "
            f"got {state.fmt or 'pixels'}"
        )
    _check_implementation(backend, p.implementation)
    _check_version(backend, p.version)
    pixels = get_backend(backend).kernel("jpeg_decode")(state.data, p)
    # Like ``decode``: the file holds only the metadata its encoder kept, so a later
    # keep_metadata cannot bring back what an earlier encode stripped.
    keep = state.meta.get("keep", ())
    meta = {**state.meta, **{k: None for k in KINDS if k not in keep}}
    return state.replace(
        pixels=pixels,
        data=None,
        fmt=None,
        grids=state.grids + ((0, 0),),
        lossless_pixels=False,
        meta=meta,
    )


register_op(
    OpDef(
        "jpeg_decode",
        JpegDecodeParams,
        ENCODE_BACKENDS,
        _apply_decode,
        mask="unchanged",
        doc="JPEG decode by a named implementation with IDCT method and fancy upsampling",
    )
)
