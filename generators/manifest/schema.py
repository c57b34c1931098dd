"""The manifest's contract: the Arrow schema of a variant row and of an error row (issue 2: column
names and types are exact; new columns are additions), the folder names, and the file metadata."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from ..core.errors import DegradebenchError

__all__ = [
    "MANIFEST_SCHEMA",
    "ERRORS_SCHEMA",
    "MANIFEST_DIR",
    "STATE_DIR",
    "ERRORS_FILE",
    "META_KEY",
    "META_ALL_KEY",
    "RUNS_FILE",
    "ManifestError",
    "with_metadata",
]

MANIFEST_DIR = "manifest"
STATE_DIR = ".state"  # run state: error parts waiting to be compacted
ERRORS_FILE = "errors.parquet"
META_KEY = b"degradebench"
META_ALL_KEY = b"degradebench_all"  # a compacted file: every distinct META_KEY value (JSON list)
RUNS_FILE = "runs.json"  # in OUT: the suite definitions it holds (written by generate)

MANIFEST_SCHEMA = pa.schema(
    [
        # identity
        ("variant_id", pa.string()),
        ("source_id", pa.string()),
        ("source_path", pa.string()),
        ("source_sha256", pa.string()),
        ("dataset", pa.string()),
        ("label", pa.string()),
        ("fold", pa.int64()),
        ("suite", pa.string()),
        ("axis", pa.string()),
        ("level", pa.string()),
        ("level_value", pa.float64()),
        ("axis_params", pa.string()),  # JSON text
        # recipe
        ("chain", pa.string()),  # JSON text: [{op, backend, params}, ...]
        ("seed", pa.int64()),
        # output
        ("path", pa.string()),  # relative to OUT, POSIX separators
        ("sha256", pa.string()),
        ("format", pa.string()),
        ("width", pa.int64()),
        ("height", pa.int64()),
        # codec truth, read back from the written file
        ("jpeg_quality", pa.int64()),
        ("estimated_quality", pa.int64()),
        ("quant_tables", pa.list_(pa.list_(pa.int64()))),
        ("quant_tables_sha256", pa.string()),
        ("subsampling", pa.string()),
        ("jpeg_passes", pa.int64()),
        ("prior_grid", pa.list_(pa.list_(pa.int64()))),
        # fidelity
        ("psnr", pa.float64()),
        # metadata: the source's camera as its EXIF claims it; whether the output kept any metadata
        ("source_exif_make", pa.string()),
        ("source_exif_model", pa.string()),
        ("metadata_survived", pa.bool_()),
        # skip rules (skip_if_small), in chain order: true where the incoming file was small
        # enough to pass through unchanged
        ("reencode_skipped", pa.list_(pa.bool_())),
        # additions (issue 12): per kind, did the source's metadata survive into the output
        # bytes (null: the source had none of that kind)
        ("exif_survived", pa.bool_()),
        ("icc_survived", pa.bool_()),
        ("xmp_survived", pa.bool_()),
        # an 8x8 JPEG grid estimated in a lossless source's pixels (JSON text: phase,
        # confidence, separation, method, "estimate": true); null when none was found
        ("source_jpeg_history", pa.string()),
        # additions (issue 14): task targets derived from the recipe (manifest/targets.py)
        ("manipulated", pa.bool_()),
        ("manipulation", pa.string()),  # the first manipulation op's name, else "none"
        ("double_compressed", pa.bool_()),
        ("aligned", pa.bool_()),  # null: fewer than two JPEG passes
        ("primary_quality", pa.int64()),
        ("hops", pa.int64()),
        ("platform", pa.string()),
        # masks written beside the variants (manifest/masks.py); null when the output has none
        ("mask_path", pa.string()),  # relative to OUT, POSIX separators
        ("mask_sha256", pa.string()),
        ("mask_fraction", pa.float64()),  # share of mask pixels in the output
        ("source_mask_path", pa.string()),  # a copy-move's copied-from region
        # addition (issue 13): what a WebP/AVIF/HEIC/JPEG XL/JPEG 2000 file's header says
        # (JSON text, generators/codecinfo.py: chroma, bit depth, lossless, layers...); null
        # for JPEG (its own columns) and PNG
        ("codec_info", pa.string()),
    ]
)

ERRORS_SCHEMA = pa.schema(
    [
        ("source_path", pa.string()),
        ("stage", pa.string()),
        ("error_type", pa.string()),
        ("message", pa.string()),
        ("source_id", pa.string()),
        ("suite", pa.string()),
        ("variant", pa.string()),
    ]
)


class ManifestError(DegradebenchError):
    """A manifest that is missing, unreadable or unsafe (a path escaping OUT)."""


def with_metadata(schema: pa.Schema, meta: dict[str, Any]) -> pa.Schema:
    """``schema`` carrying ``meta`` (config hash, suite, versions...) as its file metadata."""
    return schema.with_metadata({META_KEY: json.dumps(meta, sort_keys=True, default=str).encode()})
