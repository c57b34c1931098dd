"""What a JPEG file really holds: quantization tables, subsampling, IJG quality, grid phase.

Pure functions used by the generator engine to record codec truth read back from the bytes
(STYLE.md section 6), never what was asked of the encoder.

- `ijg_quant_tables(q)`: the tables IJG libjpeg / libjpeg-turbo (`jcparam.c`) writes for quality q.
- `probe_jpeg(data)`: a header-only marker parser (no pixel decode).
- `estimate_quality(tables)`: exact IJG quality match, or None for non-IJG (e.g. camera) tables.
- `tables_sha256(tables)`: hash of a canonical serialization of the tables.
- `blockiness_phase(pixels)`: the 8x8 grid phase of a decoded JPEG image;
  `jpeg_history(pixels)`: whether lossless pixels were a JPEG once (phase and confidence).

All tables are in NATURAL (row-major 8x8) order. The file stores them in zigzag order; Pillow
(since 8.3.0, python-pillow/Pillow PR #4989 "De-zigzag JPEG's DQT when loading") converts them to
natural order too: `JpegImagePlugin.DQT` does
`self.quantization[v & 15] = [data[i] for i in zigzag_index]` (checked in Pillow 13.0.0), so
`Image.open(f).quantization` equals `probe_jpeg(f).quant_tables` entry for entry.
"""

from __future__ import annotations

from .grid import blockiness_phase, blockiness_scores
from .history import JpegHistory, jpeg_history
from .probe import JpegProbe, probe_jpeg
from .tables import ANNEX_K_CHROMA, ANNEX_K_LUMA, estimate_quality, ijg_quant_tables, tables_sha256

__all__ = [
    "ANNEX_K_CHROMA",
    "ANNEX_K_LUMA",
    "JpegHistory",
    "JpegProbe",
    "blockiness_phase",
    "blockiness_scores",
    "estimate_quality",
    "ijg_quant_tables",
    "jpeg_history",
    "probe_jpeg",
    "tables_sha256",
]
