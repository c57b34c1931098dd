"""Large manifests for scale tests and benchmarks, made in seconds from a small real one: each
source's rows are copied under new source ids (new variant ids and paths too). No variant file
is written: what this measures is reading, compacting and checking the manifest itself."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .compact import (
    DATA_PREFIX,
    DONE_FILE,
    data_schema,
    file_metas,
    open_manifest,
    write_done_index,
)
from .merge import RowGroupWriter, conform, sort_table
from .schema import MANIFEST_DIR, RUNS_FILE, STATE_DIR
from .writer import part_name

__all__ = ["synthetic_manifest"]

_CHUNK = 16_384


def _source_copies(
    table: pa.Table, rows: int, seed: int
) -> tuple[list[str], np.ndarray, list[str]]:
    """(new source ids in sort order, the original source each one copies, original ids)."""
    sources = pc.unique(table.column("source_id")).to_pylist()
    per_source = max(1, table.num_rows // max(1, len(sources)))
    copies = -(-rows // per_source) + len(sources)
    rng = np.random.default_rng(seed)
    ids = np.unique(rng.integers(1 << 60, (1 << 63) - 1, size=copies, dtype=np.int64))
    order = rng.permutation(len(ids))
    new_ids = [f"{int(x):016x}" for x in ids]
    return new_ids, order % len(sources), sources


def _copies(table: pa.Table, rows: int, seed: int) -> Iterator[pa.Table]:
    """Tables of copied sources, ``rows`` rows in all, in sort order when ``table`` holds one
    suite (else the reader sorts them)."""
    new_ids, which, sources = _source_copies(table, rows, seed)
    rows_of: dict[str, list[int]] = {}
    for i, s in enumerate(table.column("source_id").to_pylist()):
        rows_of.setdefault(s, []).append(i)
    rng = np.random.default_rng(seed + 1)
    made, at = 0, 0
    while made < rows:
        idx: list[int] = []
        old: list[str] = []
        new: list[str] = []
        while len(idx) < _CHUNK and made + len(idx) < rows and at < len(new_ids):
            src = sources[which[at]]
            take = rows_of[src][: rows - made - len(idx)]
            idx += take
            old += [src] * len(take)
            new += [new_ids[at]] * len(take)
            at += 1
        if not idx:
            return
        part = table.take(pa.array(idx, pa.int64()))
        n = part.num_rows
        vids = rng.integers(0, (1 << 63) - 1, size=n, dtype=np.int64)
        part = _set(part, "variant_id", [f"{int(x):016x}" for x in vids])
        part = _set(part, "source_id", new)
        for col in ("path", "mask_path", "source_mask_path"):
            vals = part.column(col).to_pylist()
            part = _set(part, col, [v.replace(o, w) if v else v for v, o, w in zip(vals, old, new)])
        made += n
        yield sort_table(part)


def _set(t: pa.Table, name: str, values: list) -> pa.Table:
    i = t.schema.get_field_index(name)
    return t.set_column(i, t.schema.field(i), pa.array(values, t.schema.field(i).type))


def synthetic_manifest(
    src: str | Path, dst: str | Path, rows: int, *, layout: str = "compacted", seed: int = 0
) -> Path:
    """Write an OUT at ``dst`` whose manifest holds ``rows`` rows copied from OUT ``src``'s.

    Args:
        layout: ``"compacted"`` (sorted data files, as ``generate`` leaves them) or ``"parts"``
            (one part per source: a killed run, or an OUT of the previous version).
    Returns:
        ``dst``. Its ``runs.json`` is ``src``'s; no variant file exists (``verify`` reports
        every row missing).
    """
    if layout not in ("compacted", "parts"):
        raise ValueError(f"layout: must be 'compacted' or 'parts', got {layout!r}")
    src, dst = Path(src), Path(dst)
    files = open_manifest(src)
    if not files.all or rows < 1:
        raise ValueError(
            f"synthetic_manifest: {src} has no manifest rows to copy, or rows={rows} < 1"
        )
    table = pa.concat_tables([conform(pq.read_table(p)) for p in files.all])
    metas = [m for p in files.all[:1] for m in file_metas(p)]
    mdir = dst / MANIFEST_DIR
    mdir.mkdir(parents=True, exist_ok=True)
    if (src / RUNS_FILE).is_file():
        shutil.copy(src / RUNS_FILE, dst / RUNS_FILE)
    schema = data_schema(metas[:1])
    names: list[str] = []
    if layout == "compacted":
        writer = RowGroupWriter(mdir, f"{DATA_PREFIX}000000-", schema)
    for chunk in _copies(table, rows, seed):
        pairs = chunk.select(["suite", "source_id"]).group_by(["suite", "source_id"]).aggregate([])
        names += [part_name(r["suite"], r["source_id"]) for r in pairs.to_pylist()]
        if layout == "compacted":
            writer.write(chunk)
            continue
        for r in pairs.to_pylist():
            mask = pc.equal(chunk.column("source_id"), r["source_id"])
            pq.write_table(chunk.filter(mask).replace_schema_metadata(schema.metadata),
                           mdir / part_name(r["suite"], r["source_id"]))  # fmt: skip
    if layout == "compacted":
        writer.close()
        write_done_index(dst / STATE_DIR / DONE_FILE, names, writer.names)
    return dst
