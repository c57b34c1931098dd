"""Merge sorted runs of manifest rows into large sorted Parquet files, holding a few row groups
in memory whatever the manifest's size (compaction's engine; ``compact`` owns the protocol).

Rows are ordered by ``SORT_KEYS`` (a missing key sorts as ""): the compacted files, read in name
order, are one sorted run, so readers need no sort."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .memory import release_arrow_heap
from .schema import MANIFEST_SCHEMA

__all__ = [
    "SORT_KEYS",
    "ROW_GROUP_ROWS",
    "FILE_ROWS",
    "READ_ROWS",
    "conform",
    "sort_table",
    "is_sorted",
    "file_run",
    "merge_runs",
    "RowGroupWriter",
]

SORT_KEYS = ("suite", "source_id", "axis", "variant_id")
# A Parquet row group is written whole from Arrow memory (pyarrow has no buffered row groups):
# a manifest row is ~1.9 KB in Arrow (quant tables, chain) and ~260 B encoded, so 2k rows keep
# the writer's buffer at ~4 MB whatever the manifest's size. Compaction's peak memory follows
# this buffer: 8k rows made it ~10 MiB higher at 200k rows than at 2k (bench/scale.py, issue 16);
# reading 400k rows took as long with 2k-row as with 8k-row groups.
ROW_GROUP_ROWS = 2_048
FILE_ROWS = 131_072  # 8 files for 1M rows
# Rows read at a time from an input run (~0.5 MB in Arrow). Compaction holds about a row group
# pending plus two of these (read, sorted): 1,024 rows made its Arrow peak 11 MiB, 256 rows
# 5.7 MiB, the same bytes written in the same time (200k rows, bench/scale.py's data).
READ_ROWS = 256


def conform(table: pa.Table) -> pa.Table:
    """``table`` with exactly MANIFEST_SCHEMA's columns (missing ones null, others cast)."""
    if table.schema.equals(MANIFEST_SCHEMA, check_metadata=False):
        return table.replace_schema_metadata(None)
    cols = []
    for f in MANIFEST_SCHEMA:
        if f.name in table.column_names:
            col = table.column(f.name)
            cols.append(col if col.type == f.type else col.cast(f.type))
        else:
            cols.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(cols, schema=MANIFEST_SCHEMA)


def _keys(table: pa.Table) -> list[tuple[str, pa.ChunkedArray]]:
    return [
        (k, pc.fill_null(table.column(k).cast(pa.string()), ""))
        for k in SORT_KEYS if k in table.column_names
    ]  # fmt: skip


def sort_table(table: pa.Table) -> pa.Table:
    """``table`` sorted by the sort keys it has (nulls as "")."""
    keys = _keys(table)
    if not keys or table.num_rows < 2:
        return table
    tmp = pa.table({f"k{i}": col for i, (_, col) in enumerate(keys)})
    idx = pc.sort_indices(tmp, [(f"k{i}", "ascending") for i in range(len(keys))])
    return table.take(idx)


def is_sorted(table: pa.Table) -> bool:
    """Whether ``table``'s rows are in sort-key order (vectorised: no sort)."""
    keys = _keys(table)
    n = table.num_rows
    if not keys or n < 2:
        return True
    bad = None  # bad[i]: row i+1 sorts before row i
    for _, col in reversed(keys):
        prev, nxt = col.slice(0, n - 1), col.slice(1)
        lt = pc.less(nxt, prev)
        bad = lt if bad is None else pc.or_(lt, pc.and_(pc.equal(nxt, prev), bad))
    return not pc.any(bad).as_py()


def _last_key(table: pa.Table) -> tuple[str, ...]:
    return tuple(col[-1].as_py() for _, col in _keys(table.slice(table.num_rows - 1)))


def _count_le(table: pa.Table, bound: tuple[str, ...]) -> int:
    """Rows of sorted ``table`` whose key is <= ``bound`` (they are a prefix of it)."""
    le = None
    for (_, col), b in reversed(list(zip(_keys(table), bound))):
        if le is None:
            le = pc.less_equal(col, b)
        else:
            le = pc.or_(pc.less(col, b), pc.and_(pc.equal(col, b), le))
    return int(pc.sum(pc.cast(le, pa.int64())).as_py() or 0)


def file_run(paths: Iterable[Path]) -> Iterator[pa.Table]:
    """The rows of sorted files, in file order, a few thousand rows at a time."""
    for p in paths:
        pf = pq.ParquetFile(p)
        for batch in pf.iter_batches(batch_size=READ_ROWS):
            yield conform(pa.Table.from_batches([batch]))


def _next(it: Iterator[pa.Table]) -> pa.Table | None:
    for t in it:
        if t.num_rows:
            return t
    return None


def merge_runs(runs: list[Iterator[pa.Table]]) -> Iterator[pa.Table]:
    """Merge sorted runs (each an iterator of sorted tables) into one sorted stream of tables.

    Each step emits every buffered row up to the smallest of the buffers' last keys, so at
    least one buffer is used up per step and memory stays at one buffer per run."""
    bufs = {i: t for i, it in enumerate(runs) if (t := _next(it)) is not None}
    while bufs:
        if len(bufs) == 1:
            ((i, t),) = bufs.items()
            yield t
            yield from (t for t in runs[i] if t.num_rows)
            return
        bound = min(_last_key(t) for t in bufs.values())
        pieces = []
        for i in list(bufs):
            t = bufs[i]
            n = t.num_rows if _last_key(t) == bound else _count_le(t, bound)
            if n:
                pieces.append(t.slice(0, n))
            if n == t.num_rows:
                nxt = _next(runs[i])
                if nxt is None:
                    del bufs[i]
                else:
                    bufs[i] = nxt
            else:
                bufs[i] = t.slice(n)
        if pieces:
            yield sort_table(pa.concat_tables(pieces)) if len(pieces) > 1 else pieces[0]


class RowGroupWriter:
    """Writes a sorted stream into ``folder/{prefix}{i:05d}.parquet`` files of ``FILE_ROWS``
    rows in row groups of ``ROW_GROUP_ROWS``; ``names`` lists the files written."""

    def __init__(self, folder: Path, prefix: str, schema: pa.Schema):
        self.folder, self.prefix, self.schema = folder, prefix, schema
        self.names: list[str] = []
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._in_file = 0
        self._pending: list[pa.Table] = []
        self._pending_rows = 0

    def write(self, table: pa.Table) -> None:
        self._pending.append(table)
        self._pending_rows += table.num_rows
        while self._pending_rows >= ROW_GROUP_ROWS:
            self._flush(ROW_GROUP_ROWS)

    def _flush(self, n: int) -> None:
        buf = pa.concat_tables(self._pending) if self._pending else self.schema.empty_table()
        head, rest = buf.slice(0, n), buf.slice(n)
        self._pending = [rest] if rest.num_rows else []
        self._pending_rows = rest.num_rows
        if self._writer is None:
            name = f"{self.prefix}{len(self.names):05d}.parquet"
            self.names.append(name)
            # Written under a temp name and renamed when complete: a kill never leaves a
            # partial file under a final name (the staging folder's leftovers are removed by
            # the next recovery).
            self._writer = pq.ParquetWriter(self._tmp(name), self.schema, compression="snappy")
        self._writer.write_table(head.replace_schema_metadata(self.schema.metadata), n)
        release_arrow_heap()  # the writer's mimalloc pages, kept otherwise (``memory``)
        self.rows += n
        self._in_file += n
        if self._in_file >= FILE_ROWS:
            self._close_file()

    def _tmp(self, name: str) -> Path:
        return self.folder / f"{name}.tmp"

    def _close_file(self) -> None:
        if self._writer is not None:
            self._writer.close()
            release_arrow_heap()
            name = self.names[-1]
            os.replace(self._tmp(name), self.folder / name)
        self._writer, self._in_file = None, 0

    def close(self) -> None:
        """Write what is buffered; an empty stream still gets one (empty) file."""
        if self._pending_rows or not self.names:
            self._flush(self._pending_rows)
        self._close_file()
