"""The manifest: one Parquet row per variant under ``OUT/manifest/`` (a few large sorted files;
one part file per source while a run is going), plus ``OUT/errors.parquet`` for sources and
variants that could not be made.

``schema`` is the contract (column names and types are exact), ``rows`` builds rows from what
execution returns, ``writer`` writes parts atomically, ``compact`` (with ``merge``) turns them
into large sorted files, ``reader`` reads them back, ``synthetic`` makes large test manifests, ``paths``
checks the relative paths rows name, ``targets`` derives the task targets (issue 14) and
``masks`` writes region masks beside the variants.
"""

from __future__ import annotations

from ..core.files import atomic_write_bytes, write_failure, write_table_atomic
from .compact import compact_manifest, done_parts, manifest_files, open_manifest, recover
from .masks import MASK_COLUMNS, MASKS_ROOT, mask_files, mask_path, mask_png, read_mask_png
from .paths import safe_join, unsafe_paths
from .reader import LIST_COLUMNS, iter_manifest, read_errors, read_manifest, read_metadata
from .rows import chain_json, error_row, variant_row
from .schema import (
    ERRORS_FILE,
    ERRORS_SCHEMA,
    MANIFEST_DIR,
    MANIFEST_SCHEMA,
    META_KEY,
    STATE_DIR,
    ManifestError,
    with_metadata,
)
from .targets import MANIPULATION_OPS, TARGET_COLUMNS, is_manipulation, target_columns
from .writer import (
    consolidate_errors,
    errors_dir,
    part_name,
    slug,
    write_errors_part,
    write_manifest_part,
)

__all__ = [
    "MANIFEST_SCHEMA",
    "ERRORS_SCHEMA",
    "MANIFEST_DIR",
    "ERRORS_FILE",
    "STATE_DIR",
    "META_KEY",
    "ManifestError",
    "with_metadata",
    "read_manifest",
    "read_errors",
    "read_metadata",
    "iter_manifest",
    "LIST_COLUMNS",
    "compact_manifest",
    "recover",
    "done_parts",
    "manifest_files",
    "open_manifest",
    "safe_join",
    "unsafe_paths",
    "variant_row",
    "error_row",
    "chain_json",
    "part_name",
    "slug",
    "errors_dir",
    "write_manifest_part",
    "write_errors_part",
    "consolidate_errors",
    "write_table_atomic",
    "atomic_write_bytes",
    "write_failure",
    "MASKS_ROOT",
    "MASK_COLUMNS",
    "mask_files",
    "mask_path",
    "mask_png",
    "read_mask_png",
    "MANIPULATION_OPS",
    "TARGET_COLUMNS",
    "is_manipulation",
    "target_columns",
]
