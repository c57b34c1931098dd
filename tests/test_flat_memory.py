"""Issue 16's flat-memory pieces: verify's orphan walk and name index, the compaction key read
from a part's footer and the order of parts, the allocator switch that both passes use and the
release of Arrow's mimalloc pages, and the columnar source lists that generate plans from."""

from __future__ import annotations

import importlib
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from degradebench.generators.manifest import compact, memory
from degradebench.generators.manifest.merge import conform
from degradebench.generators.manifest.schema import MANIFEST_SCHEMA

# the module (``degradebench.generators.verify`` is also the function)
verify_mod = importlib.import_module("degradebench.generators.verify")
# importing the submodule set the package's ``verify`` to it: give the package its function back,
# or a later ``from degradebench.generators import verify`` (test_manifest_compact) gets the module
importlib.import_module("degradebench.generators").verify = verify_mod.verify


def test_files_under_matches_os_walk(tmp_path) -> None:
    root = tmp_path / "variants"
    for rel in ("a/x/1.jpg", "a/x/2.jpg", "b/3.png", "4.jpg"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "5.jpg").write_bytes(b"x")
    os.symlink(outside, root / "linked")  # a symlinked folder is listed, not entered
    os.symlink(outside / "5.jpg", root / "b" / "6.jpg")  # a symlinked file is a file
    want = sorted(
        os.path.join(d, f) for d, _, files in os.walk(root) for f in files
    )  # fmt: skip
    assert sorted(verify_mod._files_under(str(root))) == want
    assert len(want) == 5
    assert list(verify_mod._files_under(str(tmp_path / "missing"))) == []


def test_named_index_across_batches() -> None:
    named = verify_mod._Named()
    for batch in (["v/a/1.jpg", "v/a/2.jpg"], ["v/b/1.jpg", "v/a/1.jpg"]):
        for p in batch:
            named.add(p)
        named.freeze()
    named.add("v/c/late.jpg")  # added after the last freeze: still found
    for p in ("v/a/1.jpg", "v/a/2.jpg", "v/b/1.jpg", "v/c/late.jpg"):
        assert p in named
    assert "v/b/2.jpg" not in named
    named.add("v/d/after-a-lookup.jpg")
    named.freeze()
    assert "v/d/after-a-lookup.jpg" in named and "v/a/2.jpg" in named


def test_system_pool_is_restored() -> None:
    before = pa.default_memory_pool().backend_name
    with memory.system_pool():
        assert pa.default_memory_pool().backend_name == "system"
        buf = pa.array(list(range(1000)))
    assert pa.default_memory_pool().backend_name == before
    assert buf.sum().as_py() == sum(range(1000))  # a buffer outlives the switch
    memory.HeapTrim(every=0.0)(force=True)  # a no-op or a trim: never an error


def _part(tmp_path, name: str, suite: list, source: list):
    t = conform(pa.table({"suite": suite, "source_id": source, "variant_id": ["v"] * len(suite)}))
    assert t.schema.equals(MANIFEST_SCHEMA, check_metadata=False)
    pq.write_table(t, tmp_path / name)
    return pq.read_metadata(tmp_path / name)


def test_part_key_from_footer_statistics(tmp_path) -> None:
    md = _part(tmp_path, "one.parquet", ["s", "s"], ["abc", "abc"])
    assert compact._part_key(md) == (2, ("s", "abc"))
    md = _part(tmp_path, "two.parquet", ["s", "s"], ["abc", "abd"])  # two sources: no key
    assert compact._part_key(md) == (2, None)
    md = _part(tmp_path, "nulls.parquet", ["s", None], ["abc", "abc"])
    assert compact._part_key(md) == (2, None)


# --- columnar sources (issue 16, point 4): a run holds arrays, not an object per source --------


def test_strings_round_trip_take_and_sort_keys() -> None:
    from degradebench.generators.datasets import Strings

    items = ["b/é.jpg", "", "a/\udcff-not-utf8.jpg", "a/x.jpg", "a/x.jpgg", "z" * 300]
    s = Strings(items)
    assert list(s) == items and [s[i] for i in range(len(s))] == items
    assert s[-1] == items[-1] and len(s) == 6
    with pytest.raises(IndexError):
        s[6]
    assert list(s.take([3, 0, 3])) == [items[3], items[0], items[3]]
    assert list(s[1:4]) == items[1:4] and list(s.take([])) == [] and list(Strings()) == []
    order = np.argsort(s.sort_keys(), kind="stable")
    assert [items[i] for i in order] == sorted(items)  # bytes order is str order
    assert s.nbytes < sum(len(x) for x in items) + 8 * len(items) + 16


def _old_refs(n: int) -> list:
    from degradebench.generators.datasets import SourceRef

    return [SourceRef(f"/data/c{i % 3}/img{i:05d}.jpg", f"c{i % 3}", f"g{i // 2}", f"c{i % 3}/img{i:05d}.jpg", i % 5)
            for i in range(n)]  # fmt: skip


def test_source_table_is_the_list_it_packs() -> None:
    from degradebench.generators.datasets import SourceRef, SourceTable

    refs = _old_refs(50)
    table = SourceTable.from_refs(refs)
    assert table == refs and list(table) == refs and table[7] == refs[7] and table[-1] == refs[-1]
    assert table[10:13] == refs[10:13] and table.take([4, 2]) == [refs[4], refs[2]]
    assert SourceTable.from_refs(table) is table
    assert table.with_folds([1] * 50)[3].fold == 1 and table[3].fold == refs[3].fold
    assert table != refs[:-1] and table != [*refs[:-1], SourceRef("x", "c0", "g", "k", 0)]
    # groups that equal their keys are not stored twice
    same = SourceTable.from_refs([SourceRef(r.path, r.label, r.key, r.key, r.fold) for r in refs])
    assert same.groups is same.keys and table.groups is not table.keys
    # what a source costs: its strings' bytes plus a few integers, not a ~1 KB object
    per_source = table.nbytes / len(table)
    strings = sum(len(r.path) + len(r.group) + len(r.key) for r in refs) / len(refs)
    assert per_source < strings + 40, (per_source, strings)


def test_list_and_folder_kinds_resolve_paths_as_pathlib_did(tmp_path) -> None:
    from pathlib import Path

    from degradebench.generators.datasets import SourceTable, list_folder, list_table

    for rel in ("a/x.jpg", "a/sub/y.png", "b/z.jpg"):
        (tmp_path / "d" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "d" / rel).write_bytes(b"x")
    os.symlink(tmp_path / "d" / "b" / "z.jpg", tmp_path / "d" / "a" / "link.jpg")
    refs = list_folder(tmp_path / "d", k=2)
    assert isinstance(refs, SourceTable)
    want = {"a/x.jpg", "a/sub/y.png", "a/link.jpg", "b/z.jpg"}
    assert {r.key for r in refs} == want and all(r.group == r.key for r in refs)
    for r in refs:  # what the pathlib code gave: the resolved path (symlinks followed)
        assert r.path == str((tmp_path / "d" / r.key).resolve())
    (tmp_path / "d" / "list.csv").write_text("path,label\na/./x.jpg,l1\n./b/z.jpg,l2\n")
    rows = list_table(tmp_path / "d" / "list.csv", k=1)
    assert [r.path for r in rows] == [
        str(Path(tmp_path / "d" / p).resolve()) for p in ("a/x.jpg", "b/z.jpg")
    ]
    assert [(r.label, r.group, r.key) for r in rows] == [
        ("l1", "a/./x.jpg", "a/./x.jpg"),
        ("l2", "./b/z.jpg", "./b/z.jpg"),
    ]


def test_limit_per_label_matches_a_sort_by_label_and_key() -> None:
    from degradebench.generators.datasets import SourceRef, limit_per_label

    rng = np.random.default_rng(0)
    refs = [
        SourceRef(f"/p{i}", f"l{rng.integers(4)}", "g", f"k{rng.integers(30):02d}", 0)
        for i in range(80)
    ]
    for n in (1, 3, 100):
        taken, want, count = limit_per_label(refs, n), [], {}
        for r in sorted(refs, key=lambda r: (r.label, r.key)):  # the former implementation
            if count.get(r.label, 0) < n:
                want.append(r)
                count[r.label] = count.get(r.label, 0) + 1
        assert list(taken) == want


def test_plan_holds_sources_as_columns_and_builds_no_peers_without_splices(
    tiny_config, tmp_path
) -> None:
    import pickle

    from degradebench.generators.config import load_config
    from degradebench.generators.datasets import SourceTable
    from degradebench.generators.plan import _FoldPeers, plan_all, resolve_sources, source_digest

    cfg = load_config(tiny_config)
    name, refs = resolve_sources(cfg, "tiny", progress=False)
    assert isinstance(refs, SourceTable)
    jobs, skipped, dups = plan_all(refs, cfg.suite("small"), name, tmp_path / "o", progress=False)
    assert (len(jobs), skipped, dups) == (6, 0, 0)
    assert isinstance(jobs._sources, SourceTable) and jobs._digests.shape == (6, 32)
    assert not any(isinstance(v, (dict, list)) for v in vars(jobs).values() if v is not jobs._folds)
    made = list(jobs)
    assert [j.ref for j in made] == list(refs)  # listing order, the refs the kind listed
    assert [j.source_sha256 for j in made] == [source_digest(r) for r in refs]
    assert jobs.job(made[2].source_id).plans == made[2].plans
    assert jobs._folds == {}  # no splice axis: no Peer was ever made
    peers = _FoldPeers(jobs, made[0].ref.fold, made[0].source_id)
    assert made[0].source_id not in {p.source_id for p in peers} and len(peers) == len(list(peers))
    assert type(pickle.loads(pickle.dumps(peers))) is tuple  # never ships the run's state


def test_compaction_order_is_suite_source_name(tmp_path) -> None:
    from degradebench.generators.manifest.writer import part_name

    names = {
        part_name("s", "ba"): ("s", ["ba", "ba"]),
        part_name("s", "ab"): ("s", ["ab"]),
        part_name("r", "zz"): ("r", ["zz"]),
        "part-s-renamed.parquet": ("s", ["b0"]),  # its name does not spell its id
        "part-s-two.parquet": ("s", ["a1", "a2"]),  # two sources: read whole
    }
    for name, (suite, ids) in names.items():
        _part(tmp_path, name, [suite] * len(ids), ids)
    part_names = sorted(names)
    trim = memory.HeapTrim()
    order, irregular = compact._keyed_order(str(tmp_path), part_names, set(), [], trim)
    got = [part_names[i] for i in order]
    want = [
        part_name("r", "zz"),
        part_name("s", "ab"),
        "part-s-renamed.parquet",
        part_name("s", "ba"),
    ]
    assert got == want and irregular == ["part-s-two.parquet"]
    order, _ = compact._keyed_order(str(tmp_path), part_names, {part_name("s", "ab")}, [], trim)
    assert part_name("s", "ab") not in [part_names[i] for i in order]  # done: only deleted


def test_release_arrow_heap_finds_the_bundled_mimalloc() -> None:
    import glob

    memory.release_arrow_heap()  # never an error, whatever the build
    bundled = glob.glob(os.path.join(os.path.dirname(pa.__file__), "libarrow.*"))
    if not bundled or pa.default_memory_pool().backend_name != "mimalloc":
        pytest.skip("this pyarrow bundles no mimalloc beside it")
    assert memory._mi_collect() is not None


def _former_assign_folds(groups, labels, k, seed):
    """The Counter-per-group implementation that ``assign_folds`` replaced (same folds)."""
    import hashlib
    from collections import Counter, defaultdict

    def seeded(g):
        return int.from_bytes(hashlib.sha256(f"{seed}/{g}".encode()).digest()[:8], "big")

    members = defaultdict(Counter)
    for g, lab in zip(groups, labels):
        members[g][lab] += 1
    counts, totals, fold_of = [Counter() for _ in range(k)], [0] * k, {}
    for g in sorted(members, key=lambda g: (-sum(members[g].values()), seeded(g), g)):
        labs = members[g]
        best = min(range(k), key=lambda f: (sum(counts[f][lab] for lab in labs), totals[f], f))
        fold_of[g] = best
        counts[best].update(labs)
        totals[best] += sum(labs.values())
    return [fold_of[g] for g in groups]


def test_assign_folds_in_arrays_gives_the_former_folds() -> None:
    from degradebench.generators.datasets import assign_folds

    rng = np.random.default_rng(1)
    for _ in range(60):
        n = int(rng.integers(0, 50))
        groups = [f"g{rng.integers(0, 1 + rng.integers(1, 25))}" for _ in range(n)]
        labels = [f"l{rng.integers(0, 1 + rng.integers(0, 5))}" for _ in range(n)]
        k, seed = int(rng.integers(1, 7)), int(rng.integers(0, 3))
        assert assign_folds(groups, labels, k, seed) == _former_assign_folds(
            groups, labels, k, seed
        )


def test_scale_bench_runs_generate_alone_and_reads_its_columns(monkeypatch) -> None:
    from pathlib import Path

    bench = Path(__file__).resolve().parents[1] / "bench"
    monkeypatch.syspath_prepend(str(bench))
    import scale

    def size(n: int, peak: int) -> dict:
        step = {"work_s": n / 1000, "wall_s": n / 1000 + 1, "maxrss_kib": peak * 1024,
                "self_hwm_kib": peak * 1024}  # fmt: skip
        return {
            "target_variants": n,
            "variants": n,
            "sources": n // 14,
            "steps": {"generate": step},
        }

    rec = {"steps": ["generate"], "sizes": [size(2_000, 186), size(200_000, 198)]}
    text = scale.partial_markdown(rec)
    assert "| 200,000 | 14,285 | 1.000 (201.0) | 198 (198) |" in text
    assert "peak memory, generate: largest 1.06x the smallest size's: PASS" in text
    rec["sizes"][1]["steps"]["generate"]["maxrss_kib"] = 210 * 1024
    assert "MISS" in scale.partial_markdown(rec)
    for bad in (["--steps", "generate,fit"], ["--steps", "generate", "--write"]):
        with pytest.raises(SystemExit):
            scale.main(bad)
