"""Read a manifest (OUT's compacted files and any parts not compacted yet), its errors table
and its file metadata; ``iter_manifest`` streams it in batches (flat memory)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .compact import ManifestFiles, file_metas, manifest_files, open_manifest
from .merge import is_sorted, sort_table
from .schema import ERRORS_FILE, ERRORS_SCHEMA, MANIFEST_DIR, MANIFEST_SCHEMA, ManifestError

__all__ = ["read_manifest", "read_errors", "read_metadata", "iter_manifest", "LIST_COLUMNS"]

# Nested list columns: kept Arrow-backed (an element becomes a Python list when it is read);
# decoding them costs more than all other columns together, so leave them out of ``columns=``
# when they are not needed.
LIST_COLUMNS = tuple(f.name for f in MANIFEST_SCHEMA if pa.types.is_list(f.type))


def _dtype(t: pa.DataType) -> pd.ArrowDtype | None:
    return pd.ArrowDtype(t) if pa.types.is_list(t) or pa.types.is_large_list(t) else None


def _no_manifest(out: str | Path) -> ManifestError:
    mdir = Path(out) / MANIFEST_DIR
    return ManifestError(
        f"no manifest under {str(mdir)!r}; run 'degradebench generate --out {out}' first"
    )


class _Moved(Exception):
    """A file vanished while being read (a compaction renamed it): list the files again."""


def read_manifest(out: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """All manifest rows of ``OUT`` as a DataFrame (columns as in MANIFEST_SCHEMA, or those in
    ``columns``), sorted by (suite, source_id, axis, variant_id) so two runs compare row for
    row. Scalar columns have pandas' default dtypes, list columns (``LIST_COLUMNS``) are
    Arrow-backed. An OUT still holding per-source parts is compacted first when it can be
    (see ``compact.open_manifest``)."""
    files = open_manifest(out)
    for _ in range(5):
        if not files.all:
            raise _no_manifest(out)
        try:
            table = _read_files(files, columns)
            break
        except _Moved:
            files = manifest_files(out)
    else:
        raise ManifestError(
            f"the manifest under {str(Path(out) / MANIFEST_DIR)!r} kept changing while being "
            "read (a compaction running?); read it again when generate has finished"
        )
    return table.to_pandas(types_mapper=_dtype)


def _read_files(files: ManifestFiles, columns: list[str] | None) -> pa.Table:
    tables = [_read_part(p, columns) for p in files.all]
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    # Compacted files are written sorted, in name order; parts are not.
    if files.parts or not is_sorted(table):
        table = sort_table(table)
    return table


def _read_part(p: Path, columns: list[str] | None) -> pa.Table:
    try:
        return pq.read_table(p, columns=columns, schema=MANIFEST_SCHEMA)
    except FileNotFoundError:
        raise _Moved() from None
    except (OSError, pa.ArrowException) as exc:
        if not p.exists():
            raise _Moved() from None
        raise _unreadable(p, exc) from None


def _unreadable(p: Path, exc: BaseException) -> ManifestError:
    return ManifestError(
        f"manifest part {str(p)!r} is unreadable or not a degradebench manifest "
        f"({type(exc).__name__}: {exc}); remove it and rerun 'degradebench generate' with the "
        "same arguments to remake its sources"
    )


def iter_manifest(
    out: str | Path, columns: list[str] | None = None, batch_rows: int = 65_536
) -> Iterator[pd.DataFrame]:
    """OUT's manifest rows in DataFrames of at most ``batch_rows`` rows (file order, not sorted
    across parts): memory stays flat however many rows there are."""
    files = open_manifest(out)
    if not files.all:
        raise _no_manifest(out)
    want = list(columns) if columns is not None else MANIFEST_SCHEMA.names
    for p in files.all:
        try:
            pf = pq.ParquetFile(p, pre_buffer=False)  # pre-buffering keeps ~0.7 MB per file
            have = set(pf.schema_arrow.names)
            cols = [c for c in want if c in have]
            # one row group at a time: ``iter_batches`` keeps ~0.35 MB of Arrow memory per row
            # group read until the file is done (apache/arrow#39808's family)
            for g in range(pf.metadata.num_row_groups):
                group = pf.read_row_group(g, columns=cols, use_threads=False)
                for batch in group.to_batches(max_chunksize=batch_rows):
                    yield _with_columns(pa.Table.from_batches([batch]), want).to_pandas(
                        types_mapper=_dtype
                    )
        except (OSError, pa.ArrowException) as exc:
            raise _unreadable(p, exc) from None


def _with_columns(table: pa.Table, want: list[str]) -> pa.Table:
    """``table`` with the columns ``want`` in that order, typed as in MANIFEST_SCHEMA (missing
    ones null)."""
    cols = []
    for name in want:
        typ = MANIFEST_SCHEMA.field(name).type
        if name in table.column_names:
            col = table.column(name)
            cols.append(col if col.type == typ else col.cast(typ))
        else:
            cols.append(pa.nulls(table.num_rows, typ))
    return pa.table(dict(zip(want, cols)))


def read_errors(out: str | Path) -> pd.DataFrame:
    """``OUT/errors.parquet`` as a DataFrame (empty with the error columns when absent)."""
    p = Path(out) / ERRORS_FILE
    if not p.is_file():
        return ERRORS_SCHEMA.empty_table().to_pandas()
    return pq.read_table(p).to_pandas()


def read_metadata(out: str | Path) -> list[dict]:
    """The file-level metadata of the manifest (config hash, suite, library versions...), one
    entry per distinct value (a compacted file keeps every value of the parts it holds)."""
    files = manifest_files(out)
    seen: dict[bytes, dict] = {}
    for p in [*files.data[:1], *files.parts]:
        for raw in file_metas(p):
            if raw not in seen:
                seen[raw] = json.loads(raw)
    return list(seen.values())
