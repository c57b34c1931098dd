"""Manifests that scale (issue 16): per-source parts compacted into a few large sorted files,
crash-safe at every step of the commit protocol, an old-layout OUT compacted on first use, the
finished-sources index for resume, fast reads without a sort, a streaming verify."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from degradebench.generators import generate, verify
from degradebench.generators.core.files import DirLock
from degradebench.generators.manifest import (
    LIST_COLUMNS,
    MANIFEST_SCHEMA,
    compact_manifest,
    manifest_files,
    merge,
    read_errors,
    read_manifest,
    read_metadata,
    reader,
    unsafe_paths,
)
from degradebench.generators.manifest import compact as compact_mod
from degradebench.generators.manifest.paths import _slow_unsafe
from degradebench.generators.manifest.synthetic import synthetic_manifest

STEPS = ["staged", "committed", "renamed", "deleting"]


@pytest.fixture()
def run(tiny_config: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    generate(config=tiny_config, dataset="tiny", suite="small", out=out, progress=False)
    return out


def _files(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "manifest").iterdir())


def _plain(v: object) -> object:
    """A list cell as nested Python lists, whatever read it (numpy arrays or Arrow lists)."""
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return None
    return [_plain(x) for x in v] if hasattr(v, "__len__") and not isinstance(v, str) else v


def _same_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Same rows, same order, same values (list columns compared as Python lists)."""
    a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    lists = [c for c in LIST_COLUMNS if c in a.columns]
    for c in lists:
        assert [_plain(v) for v in a[c]] == [_plain(v) for v in b[c]], c
    pd.testing.assert_frame_equal(a.drop(columns=lists), b.drop(columns=lists))


def _old_layout(run: Path, dst: Path, rows: int) -> Path:
    """An OUT as the previous version left it: one part per source, no index."""
    return synthetic_manifest(run, dst, rows, layout="parts", seed=1)


def test_generate_leaves_one_sorted_data_file_and_the_index(run: Path) -> None:
    assert _files(run) == ["data-000000-00000.parquet"]
    df = read_manifest(run)
    assert len(df) == 54 and df["variant_id"].is_unique
    keys = list(merge.SORT_KEYS)
    _same_rows(df, df.sort_values(keys, kind="stable"))
    _same_rows(pd.read_parquet(run / "manifest"), read_manifest(run))
    done = pq.read_table(run / ".state" / "done.parquet").column("part").to_pylist()
    assert len(done) == 6 and all(p.startswith("part-small-") for p in done)
    assert (
        not (run / ".state" / "compact").exists() and not (run / ".state" / "commit.json").exists()
    )


def test_resume_skips_compacted_sources_and_redoes_removed_ones(run: Path, tiny_config) -> None:
    data = run / "manifest" / "data-000000-00000.parquet"
    before = data.read_bytes()
    s = generate(config=tiny_config, dataset="tiny", suite="small", out=run, progress=False)
    assert (s.sources_skipped, s.variants) == (6, 0) and data.read_bytes() == before
    data.unlink()  # the manifest removed by hand: its sources are made again
    s = generate(config=tiny_config, dataset="tiny", suite="small", out=run, progress=False)
    assert (s.sources_skipped, s.variants) == (0, 54)
    assert _files(run) == ["data-000000-00000.parquet"] and len(read_manifest(run)) == 54


def test_failed_source_stays_recorded_and_done(tiny_config, tiny_tree: Path, tmp_path) -> None:
    (tiny_tree / "cam-a" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    out = tmp_path / "o"
    generate(config=tiny_config, dataset="tiny", suite="small", out=out, progress=False)
    errs = read_errors(out)
    assert list(errs.source_path.str.endswith("broken.jpg")) == [True]
    s = generate(config=tiny_config, dataset="tiny", suite="small", out=out, progress=False)
    assert s.sources_skipped == 7 and len(read_errors(out)) == 1 and len(read_manifest(out)) == 54


def test_old_layout_is_compacted_on_first_use(run: Path, tmp_path: Path) -> None:
    old = _old_layout(run, tmp_path / "old", 300)
    parts = sorted((old / "manifest").glob("part-*.parquet"))
    assert len(parts) > 20
    expect = merge.sort_table(pa.concat_tables([merge.conform(pq.read_table(p)) for p in parts]))
    df = read_manifest(old)
    assert _files(old) == ["data-000000-00000.parquet"]  # parts gone, one data file
    _same_rows(df, expect.to_pandas(types_mapper=reader._dtype))
    _same_rows(pd.read_parquet(old / "manifest"), read_manifest(old))
    assert read_metadata(old) == read_metadata(run)
    assert verify(old).checked == 300  # verify reads it too (files are missing: synthetic)


def test_a_locked_or_hand_made_out_is_read_as_it_stands(run: Path, tmp_path: Path) -> None:
    old = _old_layout(run, tmp_path / "old", 120)
    with DirLock(old, RuntimeError("held")):  # a generate running: read parts, compact nothing
        df = read_manifest(old)
    assert len(df) == 120 and all(n.startswith("part-") for n in _files(old))
    (old / "runs.json").unlink()  # not an OUT of generate: its files are not rewritten
    _same_rows(read_manifest(old), df)
    assert all(n.startswith("part-") for n in _files(old))


def _half_compacted(run: Path, tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    """A compacted OUT plus parts of new sources: what a resumed run has before compacting."""
    old = _old_layout(run, tmp_path / "old", 200)
    for p in (run / "manifest").glob("*.parquet"):
        (old / "manifest" / "data-000003-00000.parquet").write_bytes(p.read_bytes())
    expect = pd.concat([read_manifest(run)] + [
        pq.read_table(p).to_pandas(types_mapper=reader._dtype)
        for p in (old / "manifest").glob("part-*.parquet")
    ])  # fmt: skip
    expect = expect.sort_values(list(merge.SORT_KEYS)).reset_index(drop=True)
    return old, expect


class Killed(BaseException):
    """Stands for a SIGKILL: nothing in compaction catches it."""


@pytest.mark.parametrize("step", STEPS)
def test_kill_at_each_step_then_readers_and_next_use_are_right(run, tmp_path, monkeypatch, step):
    out, expect = _half_compacted(run, tmp_path)

    def die(at: str) -> None:
        if at == step:
            raise Killed(at)

    monkeypatch.setattr(compact_mod, "_reached", die)
    with pytest.raises(Killed), DirLock(out, RuntimeError("held")):
        compact_manifest(out)
    monkeypatch.undo()
    assert (out / ".state" / "commit.json").exists() == (step != "staged")
    with DirLock(out, RuntimeError("held")):  # a reader while the lock is held: no repair
        _same_rows(read_manifest(out), expect)
    _same_rows(read_manifest(out), expect)  # the next use repairs, then reads
    assert [n[:12] for n in _files(out)] == ["data-000004-"]
    assert (
        not (out / ".state" / "compact").exists() and not (out / ".state" / "commit.json").exists()
    )
    _same_rows(pd.read_parquet(out / "manifest"), expect)
    done = set(pq.read_table(out / ".state" / "done.parquet").column("part").to_pylist())
    assert len(done) == expect.groupby(["suite", "source_id"]).ngroups


def test_sigkill_during_compaction_in_a_real_process(run: Path, tmp_path: Path) -> None:
    out, expect = _half_compacted(run, tmp_path)
    code = "import sys; from degradebench.generators.manifest import read_manifest; read_manifest(sys.argv[1])"
    env = {**os.environ, compact_mod.KILL_ENV: "renamed"}
    proc = subprocess.run([sys.executable, "-c", code, str(out)], env=env, timeout=120)
    assert proc.returncode == -9
    assert any(n.startswith("part-") for n in _files(out))  # killed before the deletes
    _same_rows(read_manifest(out), expect)
    assert not any(n.startswith("part-") for n in _files(out))


def test_large_manifest_layout_no_sort_and_lazy_lists(run, tmp_path, monkeypatch) -> None:
    big = synthetic_manifest(run, tmp_path / "big", 140_000)
    files = manifest_files(big).data
    assert [pq.ParquetFile(f).metadata.num_rows for f in files] == [131_072, 8_928]
    assert pq.ParquetFile(files[0]).metadata.num_row_groups == 131_072 // merge.ROW_GROUP_ROWS
    monkeypatch.setattr(reader, "sort_table", lambda t: pytest.fail("sorted sorted files"))
    df = read_manifest(big, columns=["suite", "source_id", "axis", "variant_id", "quant_tables"])
    assert len(df) == 140_000 and isinstance(df["quant_tables"].dtype, pd.ArrowDtype)
    assert not df.duplicated(["suite", "source_id", "axis", "variant_id"]).any()
    jpeg = df["quant_tables"].dropna().iloc[0]
    assert len(jpeg) >= 1 and len(list(jpeg[0])) == 64  # an element reads as a Python list


def test_verify_streams_in_batches(run: Path, tmp_path: Path, monkeypatch) -> None:
    sizes: list[int] = []
    real = reader.iter_manifest

    def spy(out, columns=None, batch_rows=65_536):
        for frame in real(out, columns, batch_rows=50):
            sizes.append(len(frame))
            yield frame

    import degradebench.generators.manifest as mf

    monkeypatch.setattr(mf, "iter_manifest", spy)
    report = verify(run)
    assert report.ok and report.checked == 54 and max(sizes) == 50 and not report.orphans
    (run / "variants" / "stray.png").write_bytes(b"x")
    assert verify(run).orphans == ["variants/stray.png"]


def test_vectorised_path_check_equals_the_path_by_path_one(tmp_path: Path) -> None:
    r = tmp_path / "o"
    (r / "variants" / "a").mkdir(parents=True)
    (r / "variants" / "c").mkdir()
    (r / "variants" / "b").symlink_to("/etc")
    (r / "variants" / "a" / "x.jpg").symlink_to("/etc/hostname")
    (r / "variants" / "d").symlink_to(r / "variants" / "c")
    (r / "masks").symlink_to("/etc")
    paths = [
        "variants/a/y.jpg", "../x", "/abs", "variants/b/hosts", "variants/a/x.jpg", "c:/x",
        "variants/./a/x.jpg", "", None, "variants/d/z.jpg", "a\\b", "ok/x..y", "masks/q.png",
        "variants/b", "x.jpg",
    ]  # fmt: skip
    want = _slow_unsafe(r, paths)
    assert len(want) == 11
    assert unsafe_paths(r, paths) == want
    assert unsafe_paths(r, pd.Series(paths, dtype="str")) == want


def test_schema_of_compacted_files_is_the_contract(run: Path) -> None:
    f = manifest_files(run).data[0]
    assert pq.read_schema(f).remove_metadata() == MANIFEST_SCHEMA
