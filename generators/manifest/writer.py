"""Write the manifest's parts: one Parquet part per finished source, and the error parts that
``errors.parquet`` is compacted from. Every write is atomic (temp file + rename)."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..core.files import write_table_atomic
from .schema import (
    ERRORS_FILE,
    ERRORS_SCHEMA,
    MANIFEST_DIR,
    MANIFEST_SCHEMA,
    STATE_DIR,
    with_metadata,
)

__all__ = [
    "slug",
    "part_name",
    "errors_dir",
    "write_manifest_part",
    "write_errors_part",
    "consolidate_errors",
]


def slug(text: str) -> str:
    """``text`` with every run of characters other than letters, digits, ``._-`` made ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


def part_name(suite: str, source_id: str) -> str:
    """File name of one source's manifest part (and of its error part)."""
    return f"part-{slug(suite)}-{source_id}.parquet"


def errors_dir(out_dir: Path) -> Path:
    """Where the per-source error parts wait for compaction into ``errors.parquet``."""
    return out_dir / STATE_DIR / "errors"


def write_manifest_part(
    out_dir: Path, suite: str, source_id: str, rows: list[dict], meta: dict
) -> None:
    """Write one source's rows; the part's presence is what marks the source done."""
    table = pa.Table.from_pylist(rows, schema=with_metadata(MANIFEST_SCHEMA, meta))
    write_table_atomic(table, out_dir / MANIFEST_DIR / part_name(suite, source_id))


def write_errors_part(out_dir: Path, name: str, errors: list[dict]) -> None:
    """Write error rows under ``.state/errors/NAME`` (compacted at the end of the run)."""
    table = pa.Table.from_pylist(errors, schema=ERRORS_SCHEMA)
    write_table_atomic(table, errors_dir(out_dir) / name)


def consolidate_errors(out_dir: Path) -> int:
    """Compact every error part into ``OUT/errors.parquet``; returns its row count."""
    tables = []
    for p in sorted(errors_dir(out_dir).glob("*.parquet")):
        try:
            tables.append(pq.read_table(p, schema=ERRORS_SCHEMA))
        except (OSError, pa.ArrowException):  # damaged state (not written by us): its source
            p.unlink(missing_ok=True)  # was redone, or is made again by the next run
    table = pa.concat_tables(tables) if tables else ERRORS_SCHEMA.empty_table()
    write_table_atomic(table, out_dir / ERRORS_FILE)
    return table.num_rows
