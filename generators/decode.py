"""Decode one source image into the project's in-memory image type, under a documented policy.

Decode policy (the README quotes this; `load_step["params"]` records what was done per file):

1. Complete decode or nothing. Every file is fully decoded (`Image.load()`) with Pillow's
   `ImageFile.LOAD_TRUNCATED_IMAGES` left False, so a truncated file is never gray-filled. If
   other code in the process has set that global to True, decoding refuses to run (a
   `DegradebenchError`) rather than silently accept partial images.
2. Bad files raise `SourceError(path, stage="decode", message, error_type)`; the run records it
   and goes on. `error_type` is one of:
   - "empty": the file has 0 bytes;
   - "truncated": the data ends early (Pillow: "image file is truncated", "Truncated File
     Read"; or an image signature whose header is cut short, e.g. a JPEG ending before its
     first scan); JPEGs missing their end-of-image marker count as truncated;
   - "corrupt": an image signature but broken contents (Pillow: "broken data stream", a
     failing header parse, any other decoder error);
   - "not_an_image": no format Pillow knows (text, random bytes, a .txt renamed .jpg);
   - "decompression_bomb": width x height above `max_pixels` (default: Pillow's
     `Image.MAX_IMAGE_PIXELS`, read at call time); Pillow's `DecompressionBombWarning` is an
     error here (only inside this call: `warnings.catch_warnings()`, no global filter change),
     and its `DecompressionBombError` (over twice Pillow's limit) is one whatever `max_pixels`;
     also a PNG text or ICC chunk that inflates past Pillow's `MAX_TEXT_CHUNK`;
   - "unsupported_mode": decodable but with no defined conversion to 8-bit: mode "F" (32-bit
     float: no display range is defined, so no guess is made; convert it to 8/16-bit integers
     first), 12-bit JPEG (Pillow decodes 8-bit JPEG only), EPS (refused: decoding runs
     Ghostscript), any other mode Pillow returns that is not listed below.
   Limit: corruption inside JPEG entropy-coded data that libjpeg-turbo only warns about (most
   single bit flips) cannot be seen through Pillow; such files decode to damaged pixels.
3. Usable odd images are converted, and each conversion is recorded in `conversions`:
   - EXIF orientation 2..8 is applied (`ImageOps.exif_transpose`); `exif_orientation` records
     the tag (1..8, or null when absent or invalid). Pixels are then in display orientation.
   - "1" -> "L" (0/255). "L" stays "L". "RGB" stays "RGB".
   - "I;16", "I;16L", "I;16B", "I;16N", "I" (16-bit gray) -> "L" by round(v * 255 / 65535)
     (values clipped to 0..65535 first; the number clipped is recorded when non-zero).
     16-bit RGB(A) PNG/TIFF: Pillow itself returns 8-bit RGB(A) keeping the high byte
     (floor(v / 256)); recorded as `depth_reduction`.
   - "P" -> "RGB", or via "RGBA" when it has transparency; "PA" -> "RGBA".
   - Alpha ("LA", "La", "RGBA", "RGBa", "PA", or "L"/"RGB"/"P" with a transparency key): the
     colour is composited over white, exactly (c * a + 255 * (255 - a) + 127) // 255 per
     channel; `alpha` = "composite-white". A fully opaque alpha channel is just dropped
     (`alpha` = "dropped"); no alpha: null. "RGBX" -> "RGB" (padding, not alpha).
   - "CMYK" -> "RGB" by Pillow's conversion (R = (255 - C)(255 - K) / 255, no ICC). Pillow
     reads every CMYK JPEG as Adobe-inverted CMYK (rawmode "CMYK;I"), as Photoshop writes it.
   - "YCbCr", "LAB", "HSV" -> "RGB" by Pillow's conversion.
   - Embedded ICC profiles are kept as-is and not applied: `icc` = "kept-as-is: pixels not
     colour-managed" (with its sha256), null without a profile.
   - Multi-frame files (GIF, TIFF, MPO): the first frame is used; `frames` records the count.
4. Output: `pixels` is uint8, HxWx3 (RGB) or HxW (gray), C-contiguous and read-only.

A lossless file whose pixels carry an 8x8 JPEG grid (a decompressed JPEG saved as PNG, as
scikit-image's `chelsea.png` and `grass.png` are) is a JPEG-history source: `with_jpeg_history`
records the estimated phase and confidence as `source_jpeg_history` in the load step's params.

`jpeg_grid` is the (row, col) phase of the source file's own 8x8 JPEG grid in the returned
(display-orientation) pixels: (0, 0) without rotation; mirrors and rotations move the origin
to the far edge, so phases become W % 8 or H % 8 of the stored size (see `_ORIENTATION_GRID`).
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from ._decode_convert import bit_depth, to_uint8
from ._decode_errors import (
    DECODE_ERROR_TYPES,
    classify_load_error,
    classify_unidentified,
    fail,
    sniff,
)
from ._decode_meta import metadata_kinds, text_tag
from .core.errors import DegradebenchError, SourceError
from .core.plugins import register_plugins
from .jpeginfo import JpegProbe, jpeg_history, probe_jpeg

__all__ = [
    "DECODE_ERROR_TYPES",
    "DecodedSource",
    "decode_source",
    "jpeg_grid_after_orientation",
    "with_jpeg_history",
]

ICC_POLICY = "kept-as-is: pixels not colour-managed"
register_plugins()  # HEIC and JPEG XL files open like any other (with the codecs extra)
_REFUSED_FORMATS = {"EPS": "decoding EPS runs Ghostscript; rasterise it to PNG or TIFF first"}
_ORIENTATION_NAMES = {
    1: "none",
    2: "mirror left-right",
    3: "rotate 180",
    4: "mirror top-bottom",
    5: "transpose",
    6: "rotate 90 clockwise",
    7: "transverse",
    8: "rotate 90 counter-clockwise",
}
# EXIF orientation -> how the stored grid origin lands in display pixels: for each display
# axis (row, col), None = phase 0 (that axis keeps the stored origin), "W"/"H" = the stored
# width/height mod 8 (that axis is a flipped copy of the stored columns/rows).
_ORIENTATION_GRID: dict[int, tuple[str | None, str | None]] = {
    1: (None, None),
    2: (None, "W"),  # FLIP_LEFT_RIGHT
    3: ("H", "W"),  # ROTATE_180
    4: ("H", None),  # FLIP_TOP_BOTTOM
    5: (None, None),  # TRANSPOSE: rows <- columns, columns <- rows, no flip
    6: (None, "H"),  # ROTATE_270 (90 cw): display columns are reversed stored rows
    7: ("W", "H"),  # TRANSVERSE
    8: ("W", None),  # ROTATE_90 (90 ccw): display rows are reversed stored columns
}


@dataclass(frozen=True)
class DecodedSource:
    """A fully decoded source image and the record of how it was decoded.

    Attributes:
        pixels: uint8, HxWx3 RGB or HxW gray, C-contiguous, read-only, display orientation.
        load_step: `{"op": "load", "backend": "pillow", "params": {...}}` for the chain.
        is_jpeg: the file is a JPEG (including MPO, whose first frame is a JPEG).
        jpeg_grid: (row, col) phase of the file's own 8x8 JPEG grid in `pixels`, None if not JPEG.
        exif_make, exif_model: EXIF Make / Model tags, stripped, None when absent or empty.
        has_metadata: EXIF, XMP, IPTC, ICC, a comment or PNG text chunks are present.
        width, height: size of `pixels`.
        jpeg_probe: header facts of the JPEG file (tables, subsampling...), None if not JPEG.
        embedded: the file's raw ``exif`` / ``icc`` / ``xmp`` bytes (None where absent), so a
            chain that keeps metadata needs no second parse of the header.
        jpeg_history: for a lossless file whose pixels carry a JPEG grid (a decompressed JPEG
            saved as PNG): the estimate (phase, confidence; see :func:`with_jpeg_history`).
    """

    pixels: np.ndarray
    load_step: dict[str, Any]
    is_jpeg: bool
    jpeg_grid: tuple[int, int] | None
    exif_make: str | None
    exif_model: str | None
    has_metadata: bool
    width: int
    height: int
    jpeg_probe: JpegProbe | None = None
    embedded: dict[str, bytes | None] = field(default_factory=dict)
    jpeg_history: dict | None = None  # an estimated earlier JPEG grid of a lossless file

    @property
    def grid(self) -> tuple[int, int] | None:
        """The 8x8 grid the pixels carry: the file's own, else a confident estimated one."""
        if self.jpeg_grid is not None:
            return self.jpeg_grid
        return tuple(self.jpeg_history["phase"]) if self.jpeg_history else None


def jpeg_grid_after_orientation(
    orientation: int | None, width: int, height: int
) -> tuple[int, int]:
    """Phase (row, col) of a JPEG's 8x8 grid after applying EXIF `orientation`.

    Args:
        orientation: EXIF orientation 1..8 (None or other values: no transform).
        width, height: the stored (encoded) frame size, before orientation.
    """
    rule = _ORIENTATION_GRID.get(orientation or 1, (None, None))
    size = {"W": width % 8, "H": height % 8, None: 0}
    return size[rule[0]], size[rule[1]]


def _read(path: str | Path, data: bytes | None) -> bytes:
    spath = str(path)
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        msg = (
            "PIL.ImageFile.LOAD_TRUNCATED_IMAGES is True (set by other code in this process); "
            "degradebench will not decode with it, since truncated files would be gray-filled "
            "silently. Remove the line that sets it."
        )
        raise DegradebenchError(msg)
    if data is None:
        try:
            data = Path(path).read_bytes()
        except OSError as err:
            raise SourceError(spath, "read", f"cannot read the file: {err}", "unreadable") from err
    data = bytes(data)
    if not data:
        raise fail(spath, "empty", "the file is empty (0 bytes); re-copy or remove it")
    return data


def _open(spath: str, data: bytes) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as err:
        raise fail(spath, "decompression_bomb", f"{err} Raise max_pixels if trusted.") from err
    except UnidentifiedImageError as err:
        raise classify_unidentified(spath, data, err) from err
    except Exception as err:  # hostile headers can raise anything from a plugin
        raise classify_load_error(spath, sniff(data) or "image", err) from err


def _load(im: Image.Image, spath: str, limit: int | None) -> str:
    """Check the declared size and the format, then decode every pixel; returns the format."""
    fmt = im.format or "unknown"
    w0, h0 = im.size
    if limit is not None and w0 * h0 > limit:
        msg = (
            f"declared size {w0}x{h0} = {w0 * h0} pixels exceeds the limit of {limit} "
            "(possible decompression bomb); raise max_pixels if the file is trusted"
        )
        raise fail(spath, "decompression_bomb", msg)
    if fmt in _REFUSED_FORMATS:
        raise fail(spath, "unsupported_mode", f"{fmt} refused: {_REFUSED_FORMATS[fmt]}")
    try:
        im.load()
    except Image.DecompressionBombError as err:
        raise fail(spath, "decompression_bomb", str(err)) from err
    except Exception as err:
        raise classify_load_error(spath, fmt, err) from err
    return fmt


def _orientation(exif: Any) -> int | None:
    orientation = exif.get(0x0112)
    if isinstance(orientation, bool) or not isinstance(orientation, int):
        return None  # absent or a hostile non-integer value
    return orientation if orientation in _ORIENTATION_NAMES else None


def _describe(im: Image.Image, data: bytes, fmt: str, recorded: list[str]) -> dict[str, Any]:
    """The facts read from the header: the load step's params, probe, EXIF, metadata bytes."""
    probe = None
    is_jpeg = fmt in ("JPEG", "MPO") and data.startswith(b"\xff\xd8")
    if is_jpeg:
        try:
            probe = probe_jpeg(data)
        except ValueError as err:
            recorded.append(f"jpeg header probe failed: {err}")
    try:
        exif = im.getexif()
    except Exception as err:  # corrupt EXIF must not sink an otherwise good image
        recorded.append(f"EXIF unreadable: {err}")
        exif = {}
    orientation = _orientation(exif)
    n_frames = int(getattr(im, "n_frames", 1) or 1)
    mode_in = im.mode
    params: dict[str, Any] = {
        "format": fmt,
        "mode_in": mode_in,
        "mode_out": None,
        "bit_depth_in": probe.precision if probe is not None else bit_depth(im, data),
        "exif_orientation": orientation,
        "alpha": None,
        "icc": None,
    }
    conversions: list[str] = []
    icc = im.info.get("icc_profile")
    if icc:
        params["icc"] = ICC_POLICY
        params["icc_sha256"] = hashlib.sha256(icc).hexdigest()
    if n_frames > 1:
        params["frames"] = n_frames
        conversions.append(f"first of {n_frames} frames used")
    if params["bit_depth_in"] == 16 and mode_in in ("RGB", "RGBA"):
        params["depth_reduction"] = "pillow: 16->8 bit keeps the high byte (floor(v/256))"
    if mode_in == "CMYK" and is_jpeg:
        params["cmyk"] = "Adobe-inverted CMYK assumed (Pillow rawmode CMYK;I)"
    xmp = im.info.get("xmp")
    return {
        "params": params,
        "conversions": conversions,
        "probe": probe,
        "is_jpeg": is_jpeg,
        "orientation": orientation,
        "metadata": metadata_kinds(im, exif, probe),
        "embedded": {
            "exif": im.info.get("exif") or None,
            "icc": icc or None,
            "xmp": (xmp.encode() if isinstance(xmp, str) else xmp) or None,
        },
        "make": text_tag(exif, 0x010F),
        "model": text_tag(exif, 0x0110),
    }


def decode_source(
    path: str | Path, data: bytes | None = None, max_pixels: int | None = None
) -> DecodedSource:
    """Decode a source image completely and convert it under the module's policy.

    Args:
        path: the file's path (read when `data` is None; always used in error messages).
        data: the file's bytes when the caller has read them already (read once, hashed once).
        max_pixels: refuse images with more pixels than this (decompression bombs); default
            Pillow's `Image.MAX_IMAGE_PIXELS` at call time (None there: no limit).

    Raises:
        SourceError: stage "decode", `error_type` in `DECODE_ERROR_TYPES` (stage "read",
            error_type "unreadable" when the file itself cannot be read).
        DegradebenchError: `PIL.ImageFile.LOAD_TRUNCATED_IMAGES` was set True elsewhere.
    """
    spath = str(path)
    data = _read(path, data)
    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else int(max_pixels)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Our own size check below replaces the warning, so a caller's max_pixels above
        # Pillow's warning threshold is honoured.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        recorded: list[str] = []
        im = _open(spath, data)
        with im:
            fmt = _load(im, spath, limit)
            w0, h0 = im.size
            facts = _describe(im, data, fmt, recorded)
            params, conversions = facts["params"], facts["conversions"]
            orientation = facts["orientation"]
            if orientation not in (None, 1):
                try:
                    im = ImageOps.exif_transpose(im)
                except Exception as err:
                    raise classify_load_error(spath, fmt, err) from err
                conversions.append(
                    f"exif orientation {orientation}: {_ORIENTATION_NAMES[orientation]}"
                )
            pixels = to_uint8(im, params, conversions, spath)
        recorded.extend(
            str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning)
        )
    return _finish(pixels, facts, recorded, (w0, h0))


def _finish(
    pixels: np.ndarray, facts: dict[str, Any], recorded: list[str], size: tuple[int, int]
) -> DecodedSource:
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    pixels.setflags(write=False)
    params = facts["params"]
    params["mode_out"] = "L" if pixels.ndim == 2 else "RGB"
    params["conversions"] = facts["conversions"]
    if facts["metadata"]:
        params["metadata"] = facts["metadata"]
    if recorded:
        params["decoder_warnings"] = recorded
    is_jpeg = facts["is_jpeg"]
    grid = jpeg_grid_after_orientation(facts["orientation"], *size) if is_jpeg else None
    return DecodedSource(
        pixels=pixels,
        load_step={"op": "load", "backend": "pillow", "params": params},
        is_jpeg=is_jpeg,
        jpeg_grid=grid,
        exif_make=facts["make"],
        exif_model=facts["model"],
        has_metadata=bool(facts["metadata"]),
        width=int(pixels.shape[1]),
        height=int(pixels.shape[0]),
        jpeg_probe=facts["probe"],
        embedded=facts["embedded"],
    )


def with_jpeg_history(src: DecodedSource) -> DecodedSource:
    """``src`` with an estimated earlier JPEG grid when it is a lossless file that carries one
    confidently (blockiness, ``jpeginfo.jpeg_history``): recorded in the load step's params as
    ``source_jpeg_history`` (``"estimate": true``), and counted by the engine as a JPEG pass."""
    if src.is_jpeg:
        return src
    found = jpeg_history(src.pixels)
    if found is None or not found.confident:
        return src
    record = found.to_json()
    params = {**src.load_step["params"], "source_jpeg_history": record}
    load = {**src.load_step, "params": params}
    return replace(src, load_step=load, jpeg_history=record)
