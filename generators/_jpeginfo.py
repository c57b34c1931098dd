"""What a JPEG file really holds: quantization tables, subsampling, IJG quality, grid phase.

Pure functions used by the generator engine to record codec truth read back from the bytes
(STYLE.md section 6), never what was asked of the encoder.

- `ijg_quant_tables(q)`: the tables IJG libjpeg / libjpeg-turbo (`jcparam.c`) writes for quality q.
- `probe_jpeg(data)`: a header-only marker parser (no pixel decode).
- `estimate_quality(tables)`: exact IJG quality match, or None for non-IJG (e.g. camera) tables.
- `tables_sha256(tables)`: hash of a canonical serialization of the tables.
- `blockiness_phase(pixels)`: the 8x8 grid phase of a decoded JPEG image.

All tables are in NATURAL (row-major 8x8) order. The file stores them in zigzag order; Pillow
(since 8.3.0, python-pillow/Pillow PR #4989 "De-zigzag JPEG's DQT when loading") converts them to
natural order too: `JpegImagePlugin.DQT` does
`self.quantization[v & 15] = [data[i] for i in zigzag_index]` (checked in Pillow 13.0.0), so
`Image.open(f).quantization` equals `probe_jpeg(f).quant_tables` entry for entry.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ANNEX_K_CHROMA",
    "ANNEX_K_LUMA",
    "JpegProbe",
    "blockiness_phase",
    "blockiness_scores",
    "estimate_quality",
    "ijg_quant_tables",
    "probe_jpeg",
    "tables_sha256",
]

# ITU-T T.81 Annex K.1 / K.2 example tables (IJG's std_luminance/chrominance_quant_tbl),
# natural (row-major) order.
ANNEX_K_LUMA = np.array(
    [
        16, 11, 10, 16, 24, 40, 51, 61,
        12, 12, 14, 19, 26, 58, 60, 55,
        14, 13, 16, 24, 40, 57, 69, 56,
        14, 17, 22, 29, 51, 87, 80, 62,
        18, 22, 37, 56, 68, 109, 103, 77,
        24, 35, 55, 64, 81, 104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101,
        72, 92, 95, 98, 112, 100, 103, 99,
    ],
    dtype=np.int64,
)  # fmt: skip
ANNEX_K_CHROMA = np.array(
    [
        17, 18, 24, 47, 99, 99, 99, 99,
        18, 21, 26, 66, 99, 99, 99, 99,
        24, 26, 56, 99, 99, 99, 99, 99,
        47, 66, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99,
    ],
    dtype=np.int64,
)  # fmt: skip
ANNEX_K_LUMA.setflags(write=False)
ANNEX_K_CHROMA.setflags(write=False)


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


def _check_quality(quality: object) -> int:
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)):
        msg = f"quality must be an integer from 1 to 100, got {quality!r}"
        raise TypeError(msg)
    if not 1 <= int(quality) <= 100:
        msg = f"quality must be an integer from 1 to 100, got {quality}"
        raise ValueError(msg)
    return int(quality)


def _scale(base: np.ndarray, quality: int, force_baseline: bool) -> np.ndarray:
    # jcparam.c jpeg_quality_scaling: C integer division 5000 / quality.
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    q = (base * scale + 50) // 100
    return np.clip(q, 1, 255 if force_baseline else 32767)


def _build_cache(force_baseline: bool) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    cache = {}
    for q in range(1, 101):
        luma = _scale(ANNEX_K_LUMA, q, force_baseline)
        chroma = _scale(ANNEX_K_CHROMA, q, force_baseline)
        luma.setflags(write=False)
        chroma.setflags(write=False)
        cache[q] = (luma, chroma)
    return cache


_IJG_BASELINE = _build_cache(True)
_IJG_EXTENDED = _build_cache(False)
# bytes of a table -> quality, for an O(1) exact lookup in estimate_quality.
_LUMA_INDEX = {
    cache[q][0].tobytes(): q for cache in (_IJG_EXTENDED, _IJG_BASELINE) for q in range(1, 101)
}


def ijg_quant_tables(quality: int, force_baseline: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Return the (luma, chroma) tables IJG libjpeg writes for `quality` (natural order).

    Args:
        quality: IJG quality 1..100.
        force_baseline: clamp entries to 1..255 (what Pillow and OpenCV do), else 1..32767.

    Returns:
        Two read-only int64 arrays of 64 entries, natural (row-major 8x8) order.

    Raises:
        ValueError: quality outside 1..100. TypeError: quality not an integer.
    """
    q = _check_quality(quality)
    return (_IJG_BASELINE if force_baseline else _IJG_EXTENDED)[q]


def _as_table_list(tables: object) -> list[list[int]]:
    """Accept a JpegProbe, Pillow's `{id: table}` dict, or a sequence of 64-entry tables."""
    if isinstance(tables, JpegProbe):
        tables = tables.quant_tables
    if isinstance(tables, Mapping):
        tables = [tables[k] for k in sorted(tables)]
    if isinstance(tables, np.ndarray) and tables.ndim == 1:
        tables = [tables]
    if not isinstance(tables, (Sequence, np.ndarray)) or isinstance(tables, (str, bytes)):
        msg = f"tables must be a list of 64-entry quantization tables, got {type(tables).__name__}"
        raise TypeError(msg)
    out = []
    for i, t in enumerate(tables):
        row = [int(v) for v in np.asarray(t).reshape(-1)]
        if len(row) != 64:
            msg = f"tables[{i}] must have 64 entries, got {len(row)}"
            raise ValueError(msg)
        out.append(row)
    return out


def estimate_quality(tables: object) -> int | None:
    """Return the IJG quality whose tables the file holds exactly, or None.

    The first table must equal the IJG luma table for some quality Q (baseline-clamped, or
    unclamped for 16-bit tables) and every further table the IJG chroma table for the same Q.
    All 100 IJG luma tables are distinct, so a match is unambiguous. Camera, Photoshop,
    libjpeg 9 (chroma DC base 16) and custom tables give None.

    Args:
        tables: natural-order tables in table-id order (a list of 64-int lists, Pillow's
            `Image.quantization` dict, or a `JpegProbe`).
    """
    tabs = _as_table_list(tables)
    if not tabs:
        return None
    q = _LUMA_INDEX.get(np.asarray(tabs[0], dtype=np.int64).tobytes())
    if q is None:
        return None
    for cache in (_IJG_BASELINE, _IJG_EXTENDED):
        luma, chroma = cache[q]
        if tabs[0] == luma.tolist() and all(t == chroma.tolist() for t in tabs[1:]):
            return q
    return None


def tables_sha256(tables: object) -> str:
    """sha256 hex digest of the tables' canonical serialization.

    Canonical form: the natural-order tables in table-id order as compact JSON, UTF-8 encoded:
    `json.dumps([[q0, ..., q63], ...], separators=(",", ":"))`, e.g. `[[8,6,5,...],[9,...]]`.
    Any language can recompute it from `quant_tables`.
    """
    tabs = _as_table_list(tables)
    text = json.dumps(tabs, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
    tables: dict[int, list[int]] = {}
    frame: dict | None = None
    restart = 0
    has_exif = has_icc = False
    pos = 2
    in_scans = False  # past the first SOS: only looking for late DQT segments
    while True:
        if in_scans:
            # Skip entropy-coded data: the next 0xFF not followed by 00 (stuffing) or RSTn.
            while True:
                pos = data.find(b"\xff", pos)
                if pos < 0 or pos + 1 >= n:
                    pos = n
                    break
                nxt = data[pos + 1]
                if nxt == 0x00 or 0xD0 <= nxt <= 0xD7 or nxt == 0xFF:
                    pos += 1 if nxt == 0xFF else 2
                    continue
                break
            if pos >= n:
                break  # truncated scan data: the header facts are complete already
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
        marker = data[pos]
        pos += 1
        if marker in _STANDALONE:
            continue
        if marker == 0xD9:  # EOI
            if frame is None or not in_scans:
                msg = "truncated JPEG header: end of image (EOI) before the first scan"
                raise ValueError(msg)
            break
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
        seg = data[pos + 2 : pos + length]
        pos += length
        if marker == 0xDB:
            _parse_dqt(seg, tables)
        elif marker == 0xDD:
            if len(seg) < 2:
                raise ValueError("corrupt JPEG header: DRI segment shorter than 2 bytes")
            if not in_scans:
                restart = (seg[0] << 8) | seg[1]
        elif marker == 0xE1 and seg.startswith(b"Exif\x00"):
            has_exif = True
        elif marker == 0xE2 and seg.startswith(b"ICC_PROFILE\x00"):
            has_icc = True
        elif marker in _SOF_MARKERS and frame is None:
            if len(seg) < 6 or len(seg) < 6 + 3 * seg[5]:
                raise ValueError("corrupt JPEG header: SOF segment too short")
            ncomp = seg[5]
            comps = [seg[6 + 3 * i : 9 + 3 * i] for i in range(ncomp)]
            frame = {
                "precision": seg[0],
                "height": (seg[1] << 8) | seg[2],
                "width": (seg[3] << 8) | seg[4],
                "factors": [(c[1] >> 4, c[1] & 15) for c in comps],
                "tq": {c[2] for c in comps},
                "progressive": marker in _PROGRESSIVE_SOF,
            }
        elif marker == 0xDA:
            if frame is None:
                raise ValueError("corrupt JPEG header: scan (SOS) before any frame header (SOF)")
            in_scans = True
        if in_scans and frame["tq"].issubset(tables):
            break
    if frame is None:  # pragma: no cover - the loop only exits with a frame
        raise ValueError("corrupt JPEG header: no frame header (SOF)")
    return JpegProbe(
        quant_tables=[tables[k] for k in sorted(tables)],
        subsampling=_subsampling_name(frame["factors"]),
        progressive=frame["progressive"],
        width=frame["width"],
        height=frame["height"],
        components=len(frame["factors"]),
        restart_interval=restart,
        has_exif=has_exif,
        has_icc=has_icc,
        precision=frame["precision"],
    )


# Orthonormal 8-point DCT-II matrix: row u holds basis function u.
_N8 = np.arange(8)
_DCT8 = np.sqrt(2 / 8) * np.cos((2 * _N8[None, :] + 1) * _N8[:, None] * np.pi / 16)
_DCT8[0] /= np.sqrt(2)
_BLOCKINESS_MAX_SIDE = 512  # larger images: a central 512x512 window, cut at multiples of 8


def _luma(pixels: np.ndarray) -> np.ndarray:
    arr = np.asarray(pixels)
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        rgb = arr[..., :3].astype(np.float64)
        return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114  # JFIF Y
    if arr.ndim == 2:
        return arr.astype(np.float64)
    msg = f"pixels must be HxW or HxWx3 (RGB), got shape {arr.shape}"
    raise ValueError(msg)


def blockiness_scores(pixels: np.ndarray) -> np.ndarray:
    """Score each of the 64 candidate 8x8 grid phases (row, col) of a decoded image.

    For phase (r, c) the luma is cut into 8x8 blocks whose top-left corners sit at rows = r
    and columns = c (mod 8); the score is the fraction of AC coefficients of those blocks'
    orthonormal DCT with magnitude below 1. On the grid a JPEG used, the coefficients its
    quantizer zeroed come back as near-zero (only rounding noise), so the true phase scores
    highest; a never-compressed image gives flat, uninformative scores.

    Returns:
        8x8 float array indexed [row phase, col phase].
    """
    y = _luma(pixels)
    h, w = y.shape
    if h < 16 or w < 16:
        msg = f"blockiness needs an image of at least 16x16 pixels, got {w}x{h}"
        raise ValueError(msg)
    # A window starting at multiples of 8 keeps every phase unchanged.
    if h > _BLOCKINESS_MAX_SIDE:
        top = (h - _BLOCKINESS_MAX_SIDE) // 16 * 8
        y = y[top : top + _BLOCKINESS_MAX_SIDE]
    if w > _BLOCKINESS_MAX_SIDE:
        left = (w - _BLOCKINESS_MAX_SIDE) // 16 * 8
        y = y[:, left : left + _BLOCKINESS_MAX_SIDE]
    h, w = y.shape
    nr, nc = (h - 7) // 8, (w - 7) // 8  # blocks per phase: the same count for all 64 phases
    scores = np.empty((8, 8))
    for r in range(8):
        rows = y[r : r + 8 * nr].reshape(nr, 8, w).transpose(1, 0, 2).reshape(8, -1)
        vert = (_DCT8 @ rows).reshape(8, nr, w)  # vertical DCT of each block column
        for c in range(8):
            coef = vert[:, :, c : c + 8 * nc].reshape(-1, 8) @ _DCT8.T
            small = np.abs(coef).reshape(8, nr, nc, 8) < 1.0
            n_small = small.sum() - small[0, :, :, 0].sum()  # AC coefficients only
            scores[r, c] = n_small / (nr * nc * 63)
    return scores


def blockiness_phase(pixels: np.ndarray) -> tuple[int, int]:
    """Estimate the (row, col) phase of the 8x8 JPEG grid in decoded pixels.

    The phase is the index mod 8 of the first row/column of a block: an image decoded from a
    JPEG as-is gives (0, 0); cropping r rows and c columns off its top/left gives
    ((8 - r) % 8, (8 - c) % 8). Reliable for JPEG quality <= 95 on natural photographs of
    128 px and up (see `blockiness_scores` for the method); meaningless for images that were
    never JPEG-compressed or were resampled after it.

    Args:
        pixels: uint8 (or float) HxW gray or HxWx3 RGB array, at least 16x16.
    """
    scores = blockiness_scores(pixels)
    r, c = np.unravel_index(int(np.argmax(scores)), scores.shape)
    return int(r), int(c)
