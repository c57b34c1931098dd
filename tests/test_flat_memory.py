"""Issue 16's flat-memory pieces: verify's orphan walk and name index, the compaction key read
from a part's footer, and the allocator switch that both passes use."""

from __future__ import annotations

import importlib
import os

import pyarrow as pa
import pyarrow.parquet as pq
from degradebench.generators.manifest import compact, memory
from degradebench.generators.manifest.merge import conform
from degradebench.generators.manifest.schema import MANIFEST_SCHEMA

# the module (``degradebench.generators.verify`` is also the function)
verify_mod = importlib.import_module("degradebench.generators.verify")


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
