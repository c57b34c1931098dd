"""A skip rule's pass-through: after ``skip_if_small`` let the incoming file through, nothing
runs until the hop's encoder, which emits that file; the hop's metadata policy
(``strip_metadata`` / ``keep_metadata``) still applies to it, losslessly: the EXIF, ICC or XMP
segments (JPEG) or chunks (PNG) it drops are cut out and every other byte is kept, so the pixels
cannot change. What a platform that keeps an upload's image data but strips its metadata does."""

from __future__ import annotations

import struct
from typing import Any

from ..core.errors import OpError

__all__ = ["strip_metadata_bytes", "jpeg_metadata_segments", "passthrough_step", "METADATA_OPS"]

METADATA_OPS = ("strip_metadata", "keep_metadata")
_KINDS = ("exif", "icc", "xmp")

_JPEG_KINDS = {
    (0xE1, b"Exif\x00"): "exif",
    (0xE1, b"http://ns.adobe.com/xap/1.0/\x00"): "xmp",
    (0xE1, b"http://ns.adobe.com/xmp/extension/\x00"): "xmp",
    (0xE2, b"ICC_PROFILE\x00"): "icc",
}
_PNG_SIG = b"\x89PNG\r\n\x1a\n"


def _jpeg_kind(marker: int, payload: bytes) -> str | None:
    for (m, prefix), kind in _JPEG_KINDS.items():
        if marker == m and payload.startswith(prefix):
            return kind
    return None


def jpeg_metadata_segments(data: bytes) -> list[tuple[int, int, str]]:
    """``(start, end, kind)`` of each EXIF/XMP/ICC segment before the first scan of a JPEG."""
    out = []
    pos, n = 2, len(data)
    while pos + 4 <= n and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA or marker == 0xD9:  # SOS / EOI: the header ends
            break
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        end = pos + 2 + length
        kind = _jpeg_kind(marker, data[pos + 4 : end])
        if kind is not None:
            out.append((pos, end, kind))
        pos = end
    return out


def _strip_jpeg(data: bytes, kinds: set[str]) -> bytes:
    cut = [(a, b) for a, b, k in jpeg_metadata_segments(data) if k in kinds]
    if not cut:
        return data
    parts, last = [], 0
    for a, b in cut:
        parts.append(data[last:a])
        last = b
    parts.append(data[last:])
    return b"".join(parts)


def _png_kind(ctype: bytes, body: bytes) -> str | None:
    if ctype == b"eXIf":
        return "exif"
    if ctype == b"iCCP":
        return "icc"
    if ctype in (b"iTXt", b"tEXt", b"zTXt") and body.split(b"\x00", 1)[0] == b"XML:com.adobe.xmp":
        return "xmp"
    return None


def _strip_png(data: bytes, kinds: set[str]) -> bytes:
    parts, pos, n, changed = [data[:8]], 8, len(data), False
    while pos + 12 <= n:
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        ctype = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if _png_kind(ctype, data[pos + 8 : pos + 8 + length]) in kinds:
            changed = True
        else:
            parts.append(data[pos:end])
        pos = end
    parts.append(data[pos:])
    return b"".join(parts) if changed else data


def strip_metadata_bytes(data: bytes, fmt: str | None, kinds: set[str] | tuple[str, ...]) -> bytes:
    """``data`` without its ``kinds`` (``exif``, ``icc``, ``xmp``) of metadata, every other byte
    kept; JPEG and PNG (other formats are returned unchanged)."""
    kinds = set(kinds)
    if not kinds:
        return data
    if fmt == "jpeg" and data[:2] == b"\xff\xd8":
        return _strip_jpeg(data, kinds)
    if fmt == "png" and data.startswith(_PNG_SIG):
        return _strip_png(data, kinds)
    return data


def passthrough_step(state: Any, step: Any, opdef: Any) -> Any:
    """One step of a chain while ``state.passthrough`` holds a file a skip rule let through:
    a metadata step sets what the file keeps; the encoder emits the file, without the kinds it
    does not keep; any other step does nothing."""
    passed = state.passthrough
    if step.op in METADATA_OPS:
        return state.replace(passthrough=opdef.apply(passed, step.params, step.backend))
    if opdef.encoder is None:
        return state
    if opdef.encoder != passed.fmt:
        raise OpError(
            f"a skip rule passed a {passed.fmt} file through but the next "
            f"encoder {step.op!r} writes {opdef.encoder}; list only {opdef.encoder} "
            f"in the skip rule's formats"
        )
    drop = [k for k in _KINDS if k not in passed.meta.get("keep", ())]
    data = strip_metadata_bytes(passed.data, passed.fmt, drop)
    return passed if data is passed.data else passed.replace(data=data)
