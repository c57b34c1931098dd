"""What a WebP, AVIF, HEIC, JPEG XL or JPEG 2000 file really is, read back from its bytes (the
manifest records it beside what was asked, as it records JPEG tables; ``verify`` re-reads it).

Parsed from the containers and headers themselves, with no decoder: WebP's RIFF chunks (``VP8 ``
lossy 4:2:0 / ``VP8L`` lossless), the ISOBMFF item properties of AVIF (``av1C``) and HEIC
(``hvcC``: chroma format and bit depth; ``colr``/``nclx``: full range), JPEG XL's image header
(``xyb_encoded``: false for lossless, bits per sample) and JPEG 2000's ``SIZ``/``COD`` markers
(layers, resolutions, wavelet, colour transform, progression). ``codec_facts`` returns ``{}`` for
JPEG and PNG (JPEG has its own columns) and for a header it cannot read.
"""

from __future__ import annotations

import struct
from typing import Any

__all__ = ["codec_facts", "CHROMA"]

CHROMA = {0: "4:0:0", 1: "4:2:0", 2: "4:2:2", 3: "4:4:4"}  # HEVC chroma_format_idc
_PROGRESSIONS = ("LRCP", "RLCP", "RPCL", "PCRL", "CPRL")


def codec_facts(fmt: str | None, data: bytes) -> dict[str, Any]:
    """The facts ``fmt``'s header exposes (see the module doc); ``{}`` when there are none."""
    reader = _READERS.get(fmt or "")
    if reader is None:
        return {}
    try:
        return reader(data)
    except (IndexError, ValueError, struct.error):
        return {}  # a header we cannot parse: nothing claimed


def _webp(data: bytes) -> dict[str, Any]:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return {}
    pos = 12
    while pos + 8 <= len(data):
        kind, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if kind == b"VP8 ":
            return {"lossless": False, "subsampling": "4:2:0"}
        if kind == b"VP8L":
            return {"lossless": True, "subsampling": "4:4:4"}
        pos += 8 + size + (size & 1)
    return {}


def _box(data: bytes, kind: bytes) -> int:
    """Offset of the payload of the first ISOBMFF box of type ``kind`` (-1 when none)."""
    at = data.find(kind)
    return -1 if at < 4 else at + 4


def _range(data: bytes) -> dict[str, Any]:
    at = data.find(b"colrnclx")
    if at < 4:
        return {}
    matrix = struct.unpack(">H", data[at + 12 : at + 14])[0]
    return {"matrix_coefficients": matrix, "full_range": bool(data[at + 14] >> 7)}


def _avif(data: bytes) -> dict[str, Any]:
    at = _box(data, b"av1C")
    if at < 0:
        return {}
    flags = data[at + 2]  # tier, high_bitdepth, twelve_bit, monochrome, subsampling x/y, position
    high, twelve, mono = flags >> 6 & 1, flags >> 5 & 1, flags >> 4 & 1
    sx, sy = flags >> 3 & 1, flags >> 2 & 1
    chroma = "4:0:0" if mono else {(1, 1): "4:2:0", (1, 0): "4:2:2", (0, 0): "4:4:4"}[(sx, sy)]
    depth = 12 if twelve else 10 if high else 8
    return {"subsampling": chroma, "bit_depth": depth, **_range(data)}


def _heic(data: bytes) -> dict[str, Any]:
    at = _box(data, b"hvcC")
    if at < 0:
        return {}
    chroma = CHROMA[data[at + 16] & 3]
    return {"subsampling": chroma, "bit_depth": (data[at + 17] & 7) + 8, **_range(data)}


class _Bits:
    """JPEG XL's bit reader: least significant bit first."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def u(self, n: int) -> int:
        v = 0
        for i in range(n):
            byte = self.data[(self.pos + i) >> 3]
            v |= (byte >> ((self.pos + i) & 7) & 1) << i
        self.pos += n
        return v

    def u32(self, *dist: tuple[int, int]) -> int:
        """``U32``: a 2-bit selector, then ``(bits, offset)`` of the chosen distribution."""
        bits, offset = dist[self.u(2)]
        return self.u(bits) + offset


_SIZE = ((9, 1), (13, 1), (18, 1), (30, 1))


def _jxl_size(b: _Bits) -> None:
    small = b.u(1)
    _ = b.u(5) if small else b.u32(*_SIZE)
    if b.u(3) == 0:  # no aspect ratio: the width is coded too
        _ = b.u(5) if small else b.u32(*_SIZE)


def _jxl_codestream(data: bytes) -> bytes:
    if data[:2] == b"\xff\x0a":
        return data
    pos = 0
    while pos + 8 <= len(data):  # the ISOBMFF container: the codestream is in jxlc / jxlp
        size, kind = struct.unpack(">I", data[pos : pos + 4])[0], data[pos + 4 : pos + 8]
        head = 8
        if size == 1:
            size, head = struct.unpack(">Q", data[pos + 8 : pos + 16])[0], 16
        end = len(data) if size == 0 else pos + size
        if kind == b"jxlc":
            return data[pos + head : end]
        if kind == b"jxlp":
            return data[pos + head + 4 : end]
        pos = end
    return b""


def _jxl(data: bytes) -> dict[str, Any]:
    code = _jxl_codestream(data)
    if code[:2] != b"\xff\x0a":
        return {}
    b = _Bits(code[2:])
    _jxl_size(b)
    if b.u(1):  # all_default: 8-bit, XYB
        return {"xyb_encoded": True, "bit_depth": 8}
    if b.u(1):  # extra_fields
        b.u(3)  # orientation
        if b.u(1):
            _jxl_size(b)  # intrinsic size
        if b.u(1) or b.u(1):
            return {}  # a preview or an animation header: not written by our encoders
    if b.u(1):  # float samples
        depth = b.u32((0, 32), (0, 16), (0, 24), (6, 1))
        b.u(4)
    else:
        depth = b.u32((0, 8), (0, 10), (0, 12), (6, 1))
    b.u(1)  # modular_16_bit_buffer_sufficient
    if b.u32((0, 0), (0, 1), (4, 2), (12, 1)):
        return {"bit_depth": depth}  # extra channels (alpha): their headers are not parsed
    return {"xyb_encoded": bool(b.u(1)), "bit_depth": depth}


def _jpeg2000(data: bytes) -> dict[str, Any]:
    at = data.find(b"\xff\x4f\xff\x51")
    if at < 0:
        return {}
    facts: dict[str, Any] = {"container": "jp2" if at > 0 else "j2k"}
    pos = at + 2
    while pos + 4 <= len(data):
        marker, length = struct.unpack(">HH", data[pos : pos + 4])
        seg = data[pos + 4 : pos + 2 + length]
        if marker == 0xFF51:  # SIZ
            facts["components"] = struct.unpack(">H", seg[34:36])[0]
            facts["bit_depth"] = (seg[36] & 0x7F) + 1
        elif marker == 0xFF52:  # COD
            facts.update(
                progression=_PROGRESSIONS[seg[1]] if seg[1] < 5 else seg[1],
                layers=struct.unpack(">H", seg[2:4])[0],
                mct=bool(seg[4]),
                resolutions=seg[5] + 1,
                irreversible=seg[9] == 0,  # 0: 9/7 wavelet; 1: 5/3 reversible
            )
        elif marker in (0xFF90, 0xFF93):  # SOT / SOD: the main header is over
            break
        pos += 2 + length
    return facts


_READERS = {"webp": _webp, "avif": _avif, "heic": _heic, "jxl": _jxl, "jpeg2000": _jpeg2000}
