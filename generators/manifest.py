"""The manifest: one Parquet row per variant under ``OUT/manifest/`` (one part file per source),
plus ``OUT/errors.parquet`` for sources and variants that could not be made.

The Arrow schema below is the contract (issue 2): column names and types are exact.
"""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .core.errors import DegradebenchError
from .core.files import atomic_write_bytes, write_failure, write_table_atomic

__all__ = [
    "MANIFEST_SCHEMA",
    "ERRORS_SCHEMA",
    "MANIFEST_DIR",
    "ERRORS_FILE",
    "read_manifest",
    "read_errors",
    "read_metadata",
    "write_table_atomic",
    "atomic_write_bytes",
    "safe_join",
    "unsafe_paths",
    "ManifestError",
    "write_failure",
]

MANIFEST_DIR = "manifest"
ERRORS_FILE = "errors.parquet"
META_KEY = b"degradebench"

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
    return schema.with_metadata({META_KEY: json.dumps(meta, sort_keys=True, default=str).encode()})


def _lexical_problem(rel: object) -> str | None:
    """Why ``rel`` is not a plain relative POSIX path (None when it is)."""
    if not isinstance(rel, str) or not rel:
        return "empty or not text"
    p = PurePosixPath(rel)
    if p.is_absolute() or "\\" in rel or ":" in p.parts[0]:
        return "absolute"
    if ".." in p.parts:
        return "contains '..'"
    return None


def safe_join(root: Path, rel: str) -> Path:
    """``root / rel`` for a manifest path; rejects absolute paths, '..' and symlinks leaving root."""
    if _lexical_problem(rel) is not None:
        raise ManifestError(
            f"unsafe manifest path {rel!r}: must be relative to the output folder, without '..'"
        )
    full = root / Path(*PurePosixPath(rel).parts)
    root_real = os.path.realpath(root)
    if os.path.commonpath([root_real, os.path.realpath(full)]) != root_real:
        raise ManifestError(f"manifest path {rel!r} resolves outside {str(root)!r} (symlink?)")
    return full


def unsafe_paths(root: str | Path, paths: list) -> list[tuple[str, str]]:
    """``(path, why)`` for each manifest path that is absolute, climbs with '..', or resolves
    outside ``root`` through a symlinked folder or file. Each folder is resolved once and each
    file only lstat-ed, so a 100k-row manifest is checked in well under a second."""
    root_real = os.path.realpath(root)
    inside: dict[str, bool] = {}
    bad: list[tuple[str, str]] = []
    for rel in paths:
        why = _lexical_problem(rel)
        if why is not None:
            bad.append((str(rel), why))
            continue
        full = os.path.join(os.fspath(root), *PurePosixPath(rel).parts)
        parent = os.path.dirname(full)
        if parent not in inside:
            real = os.path.realpath(parent)
            inside[parent] = os.path.commonpath([root_real, real]) == root_real
        if not inside[parent]:
            bad.append((rel, f"its folder resolves to {os.path.realpath(parent)}"))
        elif os.path.islink(full):
            real = os.path.realpath(full)
            if os.path.commonpath([root_real, real]) != root_real:
                bad.append((rel, f"a symlink to {real}"))
    return bad


def read_manifest(out: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """All manifest rows of ``OUT`` as a DataFrame (columns as in MANIFEST_SCHEMA), sorted by
    (suite, source_id, axis, variant_id) so two runs compare row for row."""
    mdir = Path(out) / MANIFEST_DIR
    parts = sorted(p for p in mdir.glob("*.parquet")) if mdir.is_dir() else []
    if not parts:
        raise ManifestError(
            f"no manifest under {str(mdir)!r}; run 'degradebench generate --out {out}' first"
        )
    tables = [_read_part(p, columns) for p in parts]
    df = pa.concat_tables(tables).to_pandas()
    keys = [k for k in ("suite", "source_id", "axis", "variant_id") if k in df.columns]
    return df.sort_values(keys, kind="stable").reset_index(drop=True) if keys else df


def _read_part(p: Path, columns: list[str] | None) -> pa.Table:
    try:
        return pq.read_table(p, columns=columns, schema=MANIFEST_SCHEMA)
    except (OSError, pa.ArrowException) as exc:
        raise ManifestError(
            f"manifest part {str(p)!r} is unreadable or not a degradebench manifest "
            f"({type(exc).__name__}: {exc}); remove it and rerun 'degradebench generate' with the "
            "same arguments to remake that source"
        ) from None


def read_errors(out: str | Path) -> pd.DataFrame:
    p = Path(out) / ERRORS_FILE
    if not p.is_file():
        return ERRORS_SCHEMA.empty_table().to_pandas()
    return pq.read_table(p).to_pandas()


def read_metadata(out: str | Path) -> list[dict]:
    """The file-level metadata of each manifest part (config hash, suite, library versions...),
    one entry per distinct value."""
    mdir = Path(out) / MANIFEST_DIR
    seen: dict[str, dict] = {}
    for p in sorted(mdir.glob("*.parquet")):
        raw = (pq.read_schema(p).metadata or {}).get(META_KEY)
        if raw and raw not in seen:
            seen[raw] = json.loads(raw)
    return list(seen.values())
