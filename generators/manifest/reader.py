"""Read a manifest (all parts of OUT), its errors table and its file metadata."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .schema import (
    ERRORS_FILE,
    ERRORS_SCHEMA,
    MANIFEST_DIR,
    MANIFEST_SCHEMA,
    META_KEY,
    ManifestError,
)

__all__ = ["read_manifest", "read_errors", "read_metadata"]


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
    """``OUT/errors.parquet`` as a DataFrame (empty with the error columns when absent)."""
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
