"""Compaction: the per-source parts a run writes (``OUT/manifest/part-*.parquet``, one per finished
source, for crash safety) become a few large sorted files (``OUT/manifest/data-GEN-I.parquet``,
row groups of 2,048 rows, 128k rows per file: ``merge``), at the end of a run and on first use
of an OUT that still holds parts (one written by an earlier version, or a killed run).

Commit protocol (crash-safe; every step may be killed):
1. write the new data files and the new finished-sources index into ``OUT/.state/compact/``;
2. commit: write ``OUT/.state/commit.json`` atomically (the new files, the files they replace);
3. roll forward: rename the new files into place, then delete the replaced data files and
   parts, then the record. A record found later is rolled forward again (idempotent); a staging
   folder without a record is an uncommitted compaction and is removed. Readers that cannot take
   the lock read the record's view: never a row twice, never a row lost.

The finished-sources index (``OUT/.state/done.parquet``, the names of the parts compacted) is
what ``generate`` checks on resume, beside the parts still present.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..core.errors import OutputError
from ..core.files import DirLock, atomic_write_bytes, write_table_atomic
from .memory import HeapTrim, release_arrow_heap, system_pool
from .merge import READ_ROWS, RowGroupWriter, conform, file_run, merge_runs, sort_table
from .schema import (
    MANIFEST_DIR,
    MANIFEST_SCHEMA,
    META_ALL_KEY,
    META_KEY,
    RUNS_FILE,
    STATE_DIR,
    ManifestError,
)
from .writer import part_name

__all__ = [
    "DATA_PREFIX",
    "KILL_ENV",
    "ManifestFiles",
    "manifest_files",
    "open_manifest",
    "recover",
    "compact_manifest",
    "done_parts",
    "file_metas",
    "data_schema",
    "write_done_index",
]

DATA_PREFIX = "data-"
COMMIT_FILE = "commit.json"  # in OUT/.state
STAGING_DIR = "compact"  # in OUT/.state
DONE_FILE = "done.parquet"  # in OUT/.state
KILL_ENV = "DEGRADEBENCH_COMPACT_KILL_AT"  # crash tests: SIGKILL this process at that step


@dataclass
class ManifestFiles:
    """The files holding OUT's manifest rows: ``data`` (compacted, one sorted run in this order)
    and ``parts`` (per-source parts not compacted yet); each row is in exactly one of them."""

    data: list[Path] = field(default_factory=list)
    parts: list[Path] = field(default_factory=list)

    @property
    def all(self) -> list[Path]:
        return [*self.data, *self.parts]


def _reached(step: str) -> None:
    """A point of the commit protocol; the crash tests kill the process here."""
    if os.environ.get(KILL_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def _listing(out: Path) -> tuple[list[Path], list[Path]]:
    mdir = out / MANIFEST_DIR
    names = sorted(p.name for p in mdir.glob("*.parquet") if not p.name.startswith((".", "_")))
    data = [mdir / n for n in names if n.startswith(DATA_PREFIX)]
    return data, [mdir / n for n in names if not n.startswith(DATA_PREFIX)]


def _read_record(out: Path) -> dict | None:
    p = out / STATE_DIR / COMMIT_FILE
    try:
        rec = json.loads(p.read_text())
        if not isinstance(rec, dict) or not isinstance(rec.get("files"), list):
            raise ValueError("not a compaction record")
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ManifestError(
            f"{p} is unreadable ({exc}); it records a manifest compaction in progress: restore "
            "it, or remove it together with the folder .state/compact and rerun generate"
        ) from None
    return rec


def manifest_files(out: str | Path) -> ManifestFiles:
    """OUT's manifest files as they stand, without the lock: a committed compaction whose
    renames and deletes are not all done counts as done."""
    out = Path(out)
    data, parts = _listing(out)
    rec = _read_record(out)
    if rec is None:
        return ManifestFiles(data, parts)
    mdir, staging = out / MANIFEST_DIR, out / STATE_DIR / STAGING_DIR
    new = [mdir / n if (mdir / n).exists() else staging / n for n in rec["files"]]
    gone = set(rec.get("delete", ()))
    return ManifestFiles(new, [p for p in parts if f"{MANIFEST_DIR}/{p.name}" not in gone])


def _roll_forward(out: Path, rec: dict) -> None:
    mdir, state = out / MANIFEST_DIR, out / STATE_DIR
    staging = state / STAGING_DIR
    for name in rec["files"]:
        if (staging / name).exists():
            os.replace(staging / name, mdir / name)
        elif not (mdir / name).exists():
            raise ManifestError(
                f"{mdir / name} is named by the compaction record {state / COMMIT_FILE} but is "
                "neither in place nor staged; the manifest lost rows: regenerate into a new --out"
            )
    if (staging / DONE_FILE).exists():
        os.replace(staging / DONE_FILE, state / DONE_FILE)
    _reached("renamed")
    delete = list(rec.get("delete", ()))
    for i, rel in enumerate(delete):
        (out / rel).unlink(missing_ok=True)
        if i == len(delete) // 2:
            _reached("deleting")
    (state / COMMIT_FILE).unlink(missing_ok=True)
    shutil.rmtree(staging, ignore_errors=True)


def recover(out: str | Path) -> None:
    """Finish a committed compaction, or drop an uncommitted one. Call it holding OUT's lock."""
    out = Path(out)
    rec = _read_record(out)
    if rec is not None:
        _roll_forward(out, rec)
    else:
        shutil.rmtree(out / STATE_DIR / STAGING_DIR, ignore_errors=True)


def done_parts(out: str | Path) -> set[str]:
    """Names of the parts already compacted (finished sources): the index, while the data files
    it was committed with are all there; else (lost, damaged, or data files removed by hand to
    have sources made again) the part names of the sources the data files hold."""
    out = Path(out)
    data = manifest_files(out).data
    try:
        index = pq.read_table(out / STATE_DIR / DONE_FILE)
        files = json.loads((index.schema.metadata or {}).get(b"files", b"null"))
        if isinstance(files, list) and set(files) == {p.name for p in data}:
            return set(index.column("part").to_pylist())
    except (OSError, ValueError, KeyError, pa.ArrowException):
        pass
    done: set[str] = set()
    for f in data:
        t = pq.read_table(f, columns=["suite", "source_id"]).group_by(["suite", "source_id"])
        pairs = t.aggregate([]).to_pylist()
        done.update(part_name(r["suite"] or "", r["source_id"] or "") for r in pairs)
    return done


def write_done_index(path: Path, parts: list[str], files: list[str]) -> None:
    """The finished-sources index: ``parts`` compacted into the data files ``files``."""
    table = pa.table({"part": pa.array(sorted(parts), pa.string())})
    meta = {b"files": json.dumps(sorted(files)).encode()}
    write_table_atomic(table.replace_schema_metadata(meta), path)


def file_metas(path: str | Path, md: pq.FileMetaData | None = None) -> list[bytes]:
    """The file-level metadata values a manifest file carries (a compacted file: all of its
    inputs'; a part: its own). ``md``: its footer, when already read."""
    md = (md or pq.read_metadata(path)).metadata or {}
    if META_ALL_KEY in md:
        return [m.encode() for m in json.loads(md[META_ALL_KEY])]
    return [md[META_KEY]] if META_KEY in md else []


def _footer(path: str | Path) -> pq.FileMetaData:
    try:
        return pq.read_metadata(path)
    except (OSError, pa.ArrowException) as exc:
        raise _bad_part(path, exc) from None


def _part_key(md: pq.FileMetaData) -> tuple[int, tuple[str, str] | None]:
    """(rows, (suite, source_id)) of a part from its footer ``md``; key None when the part
    holds several sources or no statistics (read whole and sorted instead)."""
    if md.num_rows == 0 or md.num_row_groups == 0:
        return md.num_rows, None
    # Leaf columns by name from a row group: ``md.schema`` and ``md`` form a reference cycle,
    # which kept every footer read (~2.5 KB each, ~35 MiB) until the garbage collector ran.
    first = md.row_group(0)
    at = {first.column(j).path_in_schema: j for j in range(first.num_columns)}
    if not {"suite", "source_id"} <= at.keys():
        return md.num_rows, None
    key = []
    for col in ("suite", "source_id"):
        i = at[col]
        vals = set()
        for g in range(md.num_row_groups):
            st = md.row_group(g).column(i).statistics
            if st is None or not st.has_min_max or st.null_count:
                return md.num_rows, None
            vals.update((st.min, st.max))
        if len(vals) != 1:
            return md.num_rows, None
        key.append(vals.pop())
    return md.num_rows, (key[0], key[1])


def _bad_part(path: Path, exc: BaseException) -> ManifestError:
    return ManifestError(
        f"manifest part {str(path)!r} is unreadable or not a degradebench manifest "
        f"({type(exc).__name__}: {exc}); remove it and rerun 'degradebench generate' with the "
        "same arguments to remake that source"
    )


def _read_part(path: str | Path) -> pa.Table:
    try:
        return conform(pq.ParquetFile(path).read(use_threads=False))
    except (OSError, pa.ArrowException) as exc:
        raise _bad_part(path, exc) from None


def _parts_run(parts: Iterable[str | Path]) -> Iterator[pa.Table]:
    """Single-source parts in key order, about ``READ_ROWS`` rows per (sorted) chunk."""
    chunk, rows = [], 0
    for p in parts:
        t = _read_part(p)
        chunk.append(t)
        rows += t.num_rows
        if rows >= READ_ROWS:
            yield sort_table(pa.concat_tables(chunk))
            chunk, rows = [], 0
    if chunk:
        yield sort_table(pa.concat_tables(chunk))


def data_schema(metas: list[bytes]) -> pa.Schema:
    """MANIFEST_SCHEMA carrying ``metas`` (a compacted file's metadata: the first value under
    META_KEY, as a part has it, and all of them under META_ALL_KEY)."""
    if not metas:
        return MANIFEST_SCHEMA
    every = json.dumps([m.decode() for m in metas])
    return MANIFEST_SCHEMA.with_metadata({META_KEY: metas[0], META_ALL_KEY: every.encode()})


def _next_gen(data: list[Path]) -> int:
    gens = [int(p.name.split("-")[1]) for p in data if p.name.split("-")[1].isdigit()]
    return max(gens, default=-1) + 1


def compact_manifest(out: str | Path) -> int:
    """Compact OUT's parts with its data files (see the module docstring); returns the parts
    compacted. Call it holding OUT's lock. Memory stays flat: a part costs its name and an int
    until the end, rows stream through a few row groups, Arrow runs on the system allocator
    and the freed heap goes back to the OS as it goes (``memory``)."""
    out = Path(out)
    recover(out)
    data_names, part_names = _names(out)
    if not part_names:
        return 0
    with system_pool():
        trim = HeapTrim()
        release_arrow_heap()  # what the run's writes left: start from the smallest heap
        trim(force=True)
        return _compact(out, data_names, part_names, trim)


def _names(out: Path) -> tuple[list[str], list[str]]:
    """(data file names, part names) in ``OUT/manifest``, sorted: names, not ``Path`` objects,
    because a run of 100k sources has 100k parts."""
    try:
        with os.scandir(out / MANIFEST_DIR) as it:
            names = sorted(e.name for e in it if e.name.endswith(".parquet"))
    except FileNotFoundError:
        return [], []
    names = [n for n in names if not n.startswith((".", "_"))]
    return [n for n in names if n.startswith(DATA_PREFIX)], [
        n for n in names if not n.startswith(DATA_PREFIX)
    ]


def _keyed_order(
    mdir: str, part_names: list[str], done: set[str], metas: list[bytes], trim: HeapTrim
) -> tuple[np.ndarray, list[str]]:
    """(indices into ``part_names`` of the single-source parts to merge, in key order (suite,
    source_id, name); the names of the other parts, read whole). ``metas`` gains the parts'
    metadata values. A part costs an int while the rows are merged, not a tuple of strings: a
    part's source id is read back from its name (``part_name``) unless the name disagrees."""
    suites: dict[str, int] = {}
    codes = np.full(len(part_names), -1, dtype=np.int32)  # suite code; -1: not keyed
    odd_ids: dict[int, str] = {}  # parts whose name does not spell their source id
    irregular: list[str] = []
    for i, name in enumerate(part_names):
        if name in done:  # already compacted (a copy of compacted rows): only deleted
            continue
        path = os.path.join(mdir, name)
        md = _footer(path)  # one footer at a time: a footer is large beside a part's rows
        key = _part_key(md)[1]
        if key is None:
            irregular.append(name)
        else:
            codes[i] = suites.setdefault(key[0], len(suites))
            if name != part_name(key[0], key[1]):
                odd_ids[i] = key[1]
        metas += [m for m in file_metas(path, md) if m not in metas]
        del md
        trim()
    names = list(suites)
    cut = [len(part_name(n, "")) - len(".parquet") for n in names]  # where the id starts

    def key(i: int) -> tuple[str, str, str]:
        c = int(codes[i])
        sid = odd_ids[i] if i in odd_ids else part_names[i][cut[c] : -len(".parquet")]
        return names[c], sid, part_names[i]

    order = sorted(np.flatnonzero(codes >= 0).tolist(), key=key)
    return np.array(order, dtype=np.int64), irregular


def _compact(out: Path, data_names: list[str], part_names: list[str], trim: HeapTrim) -> int:
    mdir = out / MANIFEST_DIR
    data = [mdir / n for n in data_names]
    done = done_parts(out) if data else set()
    metas: list[bytes] = list(file_metas(data[0])) if data else []
    order, irregular = _keyed_order(str(mdir), part_names, done, metas, trim)
    staging = out / STATE_DIR / STAGING_DIR
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    gen = _next_gen(data)
    writer = RowGroupWriter(staging, f"{DATA_PREFIX}{gen:06d}-", data_schema(metas))
    parts = (os.path.join(mdir, part_names[i]) for i in order.tolist())
    runs = [file_run(data), _parts_run(parts)]
    if irregular:
        runs.append(iter([sort_table(pa.concat_tables([_read_part(mdir / n) for n in irregular]))]))
    for table in merge_runs(runs):
        writer.write(table)
        trim()
    writer.close()
    del runs
    trim(force=True)
    names = sorted(done.union((part_names[i] for i in order.tolist()), irregular))
    write_done_index(staging / DONE_FILE, names, writer.names)
    del names, done
    _reached("staged")
    delete = [f"{MANIFEST_DIR}/{n}" for n in [*data_names, *part_names]]
    rec = {"version": 1, "files": writer.names, "delete": delete, "rows": writer.rows}
    atomic_write_bytes(out / STATE_DIR / COMMIT_FILE, json.dumps(rec).encode())
    _reached("committed")
    _roll_forward(out, rec)
    return len(part_names)


class _Busy(Exception):
    """OUT's lock is held by another process."""


def open_manifest(out: str | Path) -> ManifestFiles:
    """OUT's manifest files for a reader: an OUT made by ``generate`` that still holds parts
    (written by an earlier version, or a killed run) is compacted first when its lock is free;
    otherwise (held, read-only) it is read as it stands, parts and compacted files together."""
    out = Path(out)
    files = manifest_files(out)
    pending = (out / STATE_DIR / COMMIT_FILE).exists() or (out / STATE_DIR / STAGING_DIR).exists()
    if not (files.parts or pending) or not (out / RUNS_FILE).is_file():
        return files
    try:
        with DirLock(out, _Busy()):
            compact_manifest(out)
    except (_Busy, OutputError, PermissionError):
        return manifest_files(out)
    return manifest_files(out)
