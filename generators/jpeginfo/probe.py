"""A header-only JPEG marker parser: tables, subsampling, frame size, EXIF/ICC presence."""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["JpegProbe", "probe_jpeg"]


def _zigzag_to_natural() -> tuple[int, ...]:
    """libjpeg's `jpeg_natural_order`: entry k is the natural index of the k-th zigzag value."""
    order = []
    for s in range(15):  # anti-diagonals r + c = s, alternating direction
        cells = [(r, s - r) for r in range(8) if 0 <= s - r < 8]
        if s % 2 == 0:
            cells.reverse()  # even diagonals run bottom-left -> top-right
        order.extend(r * 8 + c for r, c in cells)
    return tuple(order)


_NATURAL_ORDER = _zigzag_to_natural()


_NATURAL_ORDER = _zigzag_to_natural()


@dataclass(frozen=True)
class JpegProbe:
    """Header facts of a JPEG file (from its markers; no pixels decoded).

    Attributes:
        quant_tables: natural-order tables (64 ints each), in table-id order for the ids present.
        subsampling: "4:4:4", "4:2:2", "4:2:0", "4:4:0", "4:1:1", "gray" (one component), else the
            sampling factors per component, e.g. "h2v1,h1v1,h1v1".
        progressive: True for a progressive frame (SOF2/SOF6/SOF10/SOF14).
        width, height: frame size in pixels as stored (before any EXIF orientation).
        components: number of colour components (1 gray, 3 YCbCr/RGB, 4 CMYK/YCCK).
        restart_interval: MCUs between restart markers (DRI), 0 if none.
        has_exif: an APP1 "Exif" segment is present.
        has_icc: an APP2 "ICC_PROFILE" segment is present.
        precision: sample precision in bits (8; 12 for 12-bit JPEGs Pillow cannot decode).
    """

    quant_tables: list[list[int]]
    subsampling: str
    progressive: bool
    width: int
    height: int
    components: int
    restart_interval: int
    has_exif: bool
    has_icc: bool
    precision: int = 8


_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # DHT, JPG, DAC are not SOFs
_PROGRESSIVE_SOF = frozenset({0xC2, 0xC6, 0xCA, 0xCE})
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0..7: no length field
_NAMED_SUBSAMPLING = {(1, 1): "4:4:4", (2, 1): "4:2:2", (2, 2): "4:2:0", (1, 2): "4:4:0"}
_NAMED_SUBSAMPLING[(4, 1)] = "4:1:1"


def _subsampling_name(factors: list[tuple[int, int]]) -> str:
    if len(factors) == 1:
        return "gray"
    generic = ",".join(f"h{h}v{v}" for h, v in factors)
    if len(factors) != 3 or factors[1] != factors[2]:
        return generic
    (h0, v0), (hc, vc) = factors[0], factors[1]
    if h0 % hc or v0 % vc:
        return generic
    return _NAMED_SUBSAMPLING.get((h0 // hc, v0 // vc), generic)


def _parse_dqt(seg: bytes, tables: dict[int, list[int]]) -> None:
    pos = 0
    while pos < len(seg):
        pq, tq = seg[pos] >> 4, seg[pos] & 15
        size = 128 if pq else 64
        if pq > 1 or tq > 3 or pos + 1 + size > len(seg):
            msg = f"corrupt JPEG header: bad DQT table (precision {pq}, id {tq})"
            raise ValueError(msg)
        raw = seg[pos + 1 : pos + 1 + size]
        zz = struct.unpack(">64H", raw) if pq else tuple(raw)
        natural = [0] * 64
        for k, v in enumerate(zz):
            natural[_NATURAL_ORDER[k]] = v
        tables[tq] = natural
        pos += 1 + size


def _skip_entropy(data: bytes, pos: int) -> int:
    """Position of the next marker after entropy-coded data (len(data) when it runs out): the
    next 0xFF not followed by 00 (stuffing) or RSTn."""
    n = len(data)
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= n:
            return n
        nxt = data[pos + 1]
        if nxt == 0x00 or 0xD0 <= nxt <= 0xD7 or nxt == 0xFF:
            pos += 1 if nxt == 0xFF else 2
            continue
        return pos


def _next_marker(data: bytes, pos: int) -> tuple[int, int]:
    """(marker byte, position after it) of the marker at ``pos`` (fill bytes skipped)."""
    n = len(data)
    if pos >= n:
        msg = f"truncated JPEG header: data ends at byte {n} before the first scan (SOS)"
        raise ValueError(msg)
    if data[pos] != 0xFF:
        msg = f"corrupt JPEG header: expected a marker at byte {pos}, got 0x{data[pos]:02X}"
        raise ValueError(msg)
    while pos < n and data[pos] == 0xFF:  # fill bytes
        pos += 1
    if pos >= n:
        msg = f"truncated JPEG header: data ends at byte {n} inside a marker"
        raise ValueError(msg)
    return data[pos], pos + 1


def _segment(data: bytes, pos: int, marker: int) -> tuple[bytes, int]:
    """(payload of the segment whose length field is at ``pos``, position after it)."""
    n = len(data)
    if pos + 2 > n:
        msg = f"truncated JPEG header: marker 0x{marker:02X} at byte {pos - 2} has no length"
        raise ValueError(msg)
    length = (data[pos] << 8) | data[pos + 1]
    if length < 2:
        msg = f"corrupt JPEG header: marker 0x{marker:02X} has length {length}"
        raise ValueError(msg)
    if pos + length > n:
        msg = (
            f"truncated JPEG header: marker 0x{marker:02X} at byte {pos - 2} declares "
            f"{length} bytes, only {n - pos} remain"
        )
        raise ValueError(msg)
    return data[pos + 2 : pos + length], pos + length


class _Header:
    """What the markers said so far."""

    def __init__(self) -> None:
        self.tables: dict[int, list[int]] = {}
        self.frame: dict | None = None
        self.restart = 0
        self.has_exif = self.has_icc = False
        self.in_scans = False  # past the first SOS: only looking for late DQT segments

    def take(self, marker: int, seg: bytes) -> None:
        if marker == 0xDB:
            _parse_dqt(seg, self.tables)
        elif marker == 0xDD:
            if len(seg) < 2:
                raise ValueError("corrupt JPEG header: DRI segment shorter than 2 bytes")
            if not self.in_scans:
                self.restart = (seg[0] << 8) | seg[1]
        elif marker == 0xE1 and seg.startswith(b"Exif\x00"):
            self.has_exif = True
        elif marker == 0xE2 and seg.startswith(b"ICC_PROFILE\x00"):
            self.has_icc = True
        elif marker in _SOF_MARKERS and self.frame is None:
            self.frame = _parse_sof(seg, marker)
        elif marker == 0xDA:
            if self.frame is None:
                raise ValueError("corrupt JPEG header: scan (SOS) before any frame header (SOF)")
            self.in_scans = True

    def complete(self) -> bool:
        """In the scans with every table the frame uses: nothing more to learn."""
        return self.in_scans and self.frame["tq"].issubset(self.tables)


def _parse_sof(seg: bytes, marker: int) -> dict:
    if len(seg) < 6 or len(seg) < 6 + 3 * seg[5]:
        raise ValueError("corrupt JPEG header: SOF segment too short")
    comps = [seg[6 + 3 * i : 9 + 3 * i] for i in range(seg[5])]
    return {
        "precision": seg[0],
        "height": (seg[1] << 8) | seg[2],
        "width": (seg[3] << 8) | seg[4],
        "factors": [(c[1] >> 4, c[1] & 15) for c in comps],
        "tq": {c[2] for c in comps},
        "progressive": marker in _PROGRESSIVE_SOF,
    }


def probe_jpeg(data: bytes) -> JpegProbe:
    """Parse a JPEG's markers up to its first scan (further only for tables defined later).

    Raises:
        ValueError: "not a JPEG: ..." when the bytes do not start with SOI, "truncated JPEG
            header: ..." when they end before the first scan, "corrupt JPEG header: ..." for
            malformed segments.
    """
    data = bytes(data) if not isinstance(data, bytes) else data
    n = len(data)
    if n < 3 or data[0] != 0xFF or data[1] != 0xD8:
        msg = f"not a JPEG: expected SOI bytes FF D8, got {data[:4].hex(' ') or 'no bytes'}"
        raise ValueError(msg)
    head = _Header()
    pos = 2
    while True:
        if head.in_scans:
            pos = _skip_entropy(data, pos)
            if pos >= n:
                break  # truncated scan data: the header facts are complete already
        marker, pos = _next_marker(data, pos)
        if marker in _STANDALONE:
            continue
        if marker == 0xD9:  # EOI
            if head.frame is None or not head.in_scans:
                msg = "truncated JPEG header: end of image (EOI) before the first scan"
                raise ValueError(msg)
            break
        seg, pos = _segment(data, pos, marker)
        head.take(marker, seg)
        if head.complete():
            break
    frame = head.frame
    if frame is None:  # pragma: no cover - the loop only exits with a frame
        raise ValueError("corrupt JPEG header: no frame header (SOF)")
    return JpegProbe(
        quant_tables=[head.tables[k] for k in sorted(head.tables)],
        subsampling=_subsampling_name(frame["factors"]),
        progressive=frame["progressive"],
        width=frame["width"],
        height=frame["height"],
        components=len(frame["factors"]),
        restart_interval=head.restart,
        has_exif=head.has_exif,
        has_icc=head.has_icc,
        precision=frame["precision"],
    )
