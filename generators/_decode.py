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

`jpeg_grid` is the (row, col) phase of the source file's own 8x8 JPEG grid in the returned
(display-orientation) pixels: (0, 0) without rotation; mirrors and rotations move the origin
to the far edge, so phases become W % 8 or H % 8 of the stored size (see `_ORIENTATION_GRID`).
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from .core.errors import DegradebenchError, SourceError
from ._jpeginfo import JpegProbe, probe_jpeg

__all__ = ["DECODE_ERROR_TYPES", "DecodedSource", "decode_source", "jpeg_grid_after_orientation"]

DECODE_ERROR_TYPES = (
    "empty",
    "truncated",
    "corrupt",
    "not_an_image",
    "decompression_bomb",
    "unsupported_mode",
)
ICC_POLICY = "kept-as-is: pixels not colour-managed"
_REFUSED_FORMATS = {"EPS": "decoding EPS runs Ghostscript; rasterise it to PNG or TIFF first"}
_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}
_TO_RGB_MODES = {"CMYK", "YCbCr", "LAB", "HSV", "RGBX"}
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
# Make, Model, DateTime, Orientation, Exif IFD, GPS IFD: camera metadata, not TIFF structure.
_TIFF_EXIF_TAGS = (0x010F, 0x0110, 0x0132, 0x0112, 0x8769, 0x8825)
_ALPHA_NOTE = {
    "composite-white": "alpha composited over white",
    "dropped": "alpha dropped (fully opaque)",
}
_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
    (b"%!PS", "EPS"),
)


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


def _fail(path: str, error_type: str, message: str) -> SourceError:
    return SourceError(path, stage="decode", message=message, error_type=error_type)


def _sniff(data: bytes) -> str | None:
    for sig, fmt in _SIGNATURES:
        if data.startswith(sig):
            return fmt
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _png_header_truncated(data: bytes) -> bool:
    """True when the PNG chunk list ends inside a chunk before the first IDAT."""
    pos, n = 8, len(data)
    while pos + 8 <= n:
        length = int.from_bytes(data[pos : pos + 4], "big")
        if data[pos + 4 : pos + 8] == b"IDAT":
            return False
        if pos + 12 + length > n:
            return True
        pos += 12 + length
    return True


def _classify_unidentified(path: str, data: bytes, exc: Exception) -> SourceError:
    fmt = _sniff(data)
    if fmt is None:
        head = data[:8].hex(" ")
        msg = (
            f"not an image Pillow can read ({len(data)} bytes starting {head}); "
            "remove it from the dataset or convert it to PNG/JPEG"
        )
        return _fail(path, "not_an_image", msg)
    if fmt == "JPEG":
        try:
            probe = probe_jpeg(data)
        except ValueError as err:
            kind = "truncated" if str(err).startswith("truncated") else "corrupt"
            return _fail(path, kind, f"JPEG signature but unreadable header: {err}")
        if probe.precision != 8:
            msg = (
                f"{probe.precision}-bit JPEG: Pillow decodes 8-bit JPEG only; "
                "convert it to a 16-bit PNG/TIFF first"
            )
            return _fail(path, "unsupported_mode", msg)
    if fmt == "PNG" and _png_header_truncated(data):
        msg = f"PNG signature but the data ends ({len(data)} bytes) before the image data"
        return _fail(path, "truncated", msg)
    reason = re.sub(r" <_io\.BytesIO object at 0x[0-9a-f]+>", "", str(exc))  # no memory address
    return _fail(path, "corrupt", f"{fmt} signature but Pillow cannot read its header ({reason})")


def _classify_load_error(path: str, fmt: str, exc: Exception) -> SourceError:
    text = str(exc)
    if "Decompressed data too large" in text:  # Pillow's cap on zTXt/iTXt/iCCP chunks
        msg = (
            f"{fmt} has a compressed text or ICC chunk that expands beyond Pillow's safety "
            f"limit ({text})"
        )
        return _fail(path, "decompression_bomb", msg)
    if isinstance(exc, (OSError, EOFError)) and "truncated" in text.lower():
        return _fail(path, "truncated", f"{fmt} data ends early: {text}; the file is incomplete")
    return _fail(path, "corrupt", f"{fmt} data is corrupt: {type(exc).__name__}: {text}")


def _bit_depth(im: Image.Image, data: bytes) -> int:
    if im.format == "PNG" and len(data) > 24:
        return int(data[24])  # IHDR bit depth
    if im.format == "TIFF":
        bits = getattr(im, "tag_v2", {}).get(258)
        if bits:
            return int(bits[0] if isinstance(bits, tuple) else bits)
    return {"1": 1, "I;16": 16, "I;16L": 16, "I;16B": 16, "I;16N": 16, "I": 32, "F": 32}.get(
        im.mode, 8
    )


def _text_tag(exif: Any, tag: int) -> str | None:
    value = exif.get(tag)
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    text = str(value).replace("\x00", "").strip()
    return text or None


def _composite_white(arr: np.ndarray) -> tuple[np.ndarray, str]:
    """Composite an ...xA uint8 array over white; drop an all-opaque alpha."""
    colour, alpha = arr[..., :-1], arr[..., -1:]
    if alpha.min() == 255:
        return colour, "dropped"
    a = alpha.astype(np.uint32)
    out = (colour.astype(np.uint32) * a + 255 * (255 - a) + 127) // 255
    return out.astype(np.uint8), "composite-white"


def _to_uint8(im: Image.Image, params: dict[str, Any], conversions: list[str], path: str):
    """Convert any supported Pillow mode to a uint8 L or RGB array (see the module policy)."""
    mode = im.mode
    if mode == "F":
        msg = (
            "mode F (32-bit float) has no defined display range; "
            "convert it to an 8- or 16-bit integer image first"
        )
        raise _fail(path, "unsupported_mode", msg)
    if mode in _SIXTEEN_BIT_MODES:
        v = np.asarray(im).astype(np.int64)
        clipped = int(np.count_nonzero((v < 0) | (v > 65535)))
        v = np.clip(v, 0, 65535)
        conversions.append(f"{mode}->L: round(v*255/65535)")
        if clipped:
            params["clipped_pixels"] = clipped
        return ((v + 128) // 257).astype(np.uint8)  # exact rounding: v/257 never ends in .5
    has_key = "transparency" in im.info and mode in ("L", "RGB", "P")
    if mode == "1":
        conversions.append("1->L")
        return np.array(im.convert("L"))
    if mode in ("LA", "La") or (mode == "L" and has_key):
        if mode != "LA":
            conversions.append(f"{mode}->LA" + (" (transparency key)" if has_key else ""))
        out, params["alpha"] = _composite_white(np.array(im.convert("LA")))
        conversions.append(f"LA->L: {_ALPHA_NOTE[params['alpha']]}")
        return out[..., 0]
    if mode in ("RGBA", "RGBa", "PA") or (mode in ("RGB", "P") and has_key):
        if mode != "RGBA":
            conversions.append(f"{mode}->RGBA" + (" (transparency key)" if has_key else ""))
        out, params["alpha"] = _composite_white(np.array(im.convert("RGBA")))
        conversions.append(f"RGBA->RGB: {_ALPHA_NOTE[params['alpha']]}")
        return out
    if mode == "P":
        conversions.append("P->RGB")
        return np.array(im.convert("RGB"))
    if mode in _TO_RGB_MODES:
        note = " (pillow, no ICC)" if mode == "CMYK" else " (pillow)"
        conversions.append(f"{mode}->RGB{note}")
        return np.array(im.convert("RGB"))
    if mode in ("L", "RGB"):
        return np.array(im)
    msg = f"mode {mode} has no defined conversion to 8-bit L or RGB"
    raise _fail(path, "unsupported_mode", msg)


def _metadata_kinds(im: Image.Image, exif: Any, probe: JpegProbe | None) -> list[str]:
    info = im.info
    kinds = []
    if (probe is not None and probe.has_exif) or "exif" in info:
        kinds.append("exif")
    elif im.format == "TIFF" and any(tag in exif for tag in _TIFF_EXIF_TAGS):
        kinds.append("exif")  # a TIFF's getexif() also holds its structural tags: look deeper
    if info.get("icc_profile"):
        kinds.append("icc")
    if "xmp" in info or "XML:com.adobe.xmp" in info:
        kinds.append("xmp")
    if "photoshop" in info:
        kinds.append("iptc")
    if info.get("comment"):
        kinds.append("comment")
    if getattr(im, "text", None):  # PNG tEXt/iTXt/zTXt chunks
        kinds.append("text")
    return kinds


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
        raise _fail(spath, "empty", "the file is empty (0 bytes); re-copy or remove it")
    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else int(max_pixels)

    recorded: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Our own size check below replaces the warning, so a caller's max_pixels above
        # Pillow's warning threshold is honoured.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as err:
            raise _fail(spath, "decompression_bomb", f"{err} Raise max_pixels if trusted.") from err
        except UnidentifiedImageError as err:
            raise _classify_unidentified(spath, data, err) from err
        except Exception as err:  # hostile headers can raise anything from a plugin
            raise _classify_load_error(spath, _sniff(data) or "image", err) from err
        with im:
            fmt = im.format or "unknown"
            w0, h0 = im.size
            if limit is not None and w0 * h0 > limit:
                msg = (
                    f"declared size {w0}x{h0} = {w0 * h0} pixels exceeds the limit of {limit} "
                    "(possible decompression bomb); raise max_pixels if the file is trusted"
                )
                raise _fail(spath, "decompression_bomb", msg)
            if fmt in _REFUSED_FORMATS:
                raise _fail(spath, "unsupported_mode", f"{fmt} refused: {_REFUSED_FORMATS[fmt]}")
            try:
                im.load()
            except Image.DecompressionBombError as err:
                raise _fail(spath, "decompression_bomb", str(err)) from err
            except Exception as err:
                raise _classify_load_error(spath, fmt, err) from err

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
            orientation = exif.get(0x0112)
            if isinstance(orientation, bool) or not isinstance(orientation, int):
                orientation = None  # absent or a hostile non-integer value
            orientation = orientation if orientation in _ORIENTATION_NAMES else None
            n_frames = int(getattr(im, "n_frames", 1) or 1)
            mode_in = im.mode
            params: dict[str, Any] = {
                "format": fmt,
                "mode_in": mode_in,
                "mode_out": None,
                "bit_depth_in": probe.precision if probe is not None else _bit_depth(im, data),
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
            metadata = _metadata_kinds(im, exif, probe)
            xmp = im.info.get("xmp")
            embedded = {
                "exif": im.info.get("exif") or None,
                "icc": icc or None,
                "xmp": (xmp.encode() if isinstance(xmp, str) else xmp) or None,
            }
            make, model = _text_tag(exif, 0x010F), _text_tag(exif, 0x0110)

            if orientation not in (None, 1):
                try:
                    im = ImageOps.exif_transpose(im)
                except Exception as err:
                    raise _classify_load_error(spath, fmt, err) from err
                name = _ORIENTATION_NAMES[orientation]
                conversions.append(f"exif orientation {orientation}: {name}")
            pixels = _to_uint8(im, params, conversions, spath)
        recorded.extend(
            str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning)
        )

    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    pixels.setflags(write=False)
    params["mode_out"] = "L" if pixels.ndim == 2 else "RGB"
    params["conversions"] = conversions
    if metadata:
        params["metadata"] = metadata
    if recorded:
        params["decoder_warnings"] = recorded
    grid = jpeg_grid_after_orientation(orientation, w0, h0) if is_jpeg else None
    return DecodedSource(
        pixels=pixels,
        load_step={"op": "load", "backend": "pillow", "params": params},
        is_jpeg=is_jpeg,
        jpeg_grid=grid,
        exif_make=make,
        exif_model=model,
        has_metadata=bool(metadata),
        width=int(pixels.shape[1]),
        height=int(pixels.shape[0]),
        jpeg_probe=probe,
        embedded=embedded,
    )
