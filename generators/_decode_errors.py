"""How a source that cannot be decoded is classified (the decode policy's error types)."""

from __future__ import annotations

import re

from .core.errors import SourceError
from .jpeginfo import probe_jpeg

__all__ = ["DECODE_ERROR_TYPES", "fail", "sniff", "classify_unidentified", "classify_load_error"]

DECODE_ERROR_TYPES = (
    "empty",
    "truncated",
    "corrupt",
    "not_an_image",
    "decompression_bomb",
    "unsupported_mode",
)
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


def fail(path: str, error_type: str, message: str) -> SourceError:
    return SourceError(path, stage="decode", message=message, error_type=error_type)


def sniff(data: bytes) -> str | None:
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


def classify_unidentified(path: str, data: bytes, exc: Exception) -> SourceError:
    fmt = sniff(data)
    if fmt is None:
        head = data[:8].hex(" ")
        msg = (
            f"not an image Pillow can read ({len(data)} bytes starting {head}); "
            "remove it from the dataset or convert it to PNG/JPEG"
        )
        return fail(path, "not_an_image", msg)
    if fmt == "JPEG":
        try:
            probe = probe_jpeg(data)
        except ValueError as err:
            kind = "truncated" if str(err).startswith("truncated") else "corrupt"
            return fail(path, kind, f"JPEG signature but unreadable header: {err}")
        if probe.precision != 8:
            msg = (
                f"{probe.precision}-bit JPEG: Pillow decodes 8-bit JPEG only; "
                "convert it to a 16-bit PNG/TIFF first"
            )
            return fail(path, "unsupported_mode", msg)
    if fmt == "PNG" and _png_header_truncated(data):
        msg = f"PNG signature but the data ends ({len(data)} bytes) before the image data"
        return fail(path, "truncated", msg)
    reason = re.sub(r" <_io\.BytesIO object at 0x[0-9a-f]+>", "", str(exc))  # no memory address
    return fail(path, "corrupt", f"{fmt} signature but Pillow cannot read its header ({reason})")


def classify_load_error(path: str, fmt: str, exc: Exception) -> SourceError:
    text = str(exc)
    if "Decompressed data too large" in text:  # Pillow's cap on zTXt/iTXt/iCCP chunks
        msg = (
            f"{fmt} has a compressed text or ICC chunk that expands beyond Pillow's safety "
            f"limit ({text})"
        )
        return fail(path, "decompression_bomb", msg)
    if isinstance(exc, (OSError, EOFError)) and "truncated" in text.lower():
        return fail(path, "truncated", f"{fmt} data ends early: {text}; the file is incomplete")
    return fail(path, "corrupt", f"{fmt} data is corrupt: {type(exc).__name__}: {text}")
