"""IJG quantization tables and what a file's tables say: the quality that wrote them, a hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

import numpy as np

from .probe import JpegProbe

__all__ = [
    "ANNEX_K_CHROMA",
    "ANNEX_K_LUMA",
    "estimate_quality",
    "ijg_quant_tables",
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
