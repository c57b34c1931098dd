"""The whole ``evaluate`` command's time before the loop (issue 16 point 1), without a GPU.

A model file that imports torchvision costs seconds (``torch._dynamo`` comes with it); the
command reads and hashes the manifest meanwhile in a background thread
(:mod:`degradebench.evaluators._prefetch`). This measures that overlap on a 200,000-row
manifest: fresh processes, interleaved, each importing what such a model file imports
(``torch._dynamo``, scipy) and then taking the manifest and its hash, in line (``sequential``)
or prefetched before the imports (``prefetch``).

Run: ``python -m pytest bench/benchmarks/test_bench_prefetch.py --benchmark-enable -q -s``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROWS = 200_000
ROUNDS = 5

_CHILD = """
import json, sys, time
t0 = time.perf_counter()
mode, manifest = sys.argv[1], sys.argv[2]
from degradebench.evaluators import _prefetch
from degradebench.evaluators._manifest_in import read_input
from degradebench.evaluators._reuse import manifest_sha256
if mode == "prefetch":
    _prefetch.prefetch_input(manifest, None)
import scipy.signal, scipy.stats, torch._dynamo  # what a torchvision model file pulls in
t1 = time.perf_counter()
if mode == "prefetch":
    mi, full, sha = _prefetch.take_input(manifest, None)
else:
    mi, full = read_input(manifest, None)
    sha = manifest_sha256(full)
t2 = time.perf_counter()
print(json.dumps({"total_s": t2 - t0, "imports_s": t1 - t0, "after_imports_s": t2 - t1,
                  "rows": len(full)}))
"""


@pytest.fixture(scope="module")
def big_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from degradebench.generators import generate
    from degradebench.generators.manifest.synthetic import synthetic_manifest

    from .data import make_bench_tree, write_bench_config

    root = tmp_path_factory.mktemp("prefetch")
    tree = make_bench_tree(root / "tree", n=4, size=64)
    cfg = write_bench_config(tree, root / "datasets.yaml")
    small = root / "small"
    generate(config=cfg, dataset="bench", suite="ladder13", out=small, progress=False)
    return synthetic_manifest(small, root / "big", ROWS)


def _child(mode: str, manifest: Path) -> dict:
    p = subprocess.run([sys.executable, "-c", _CHILD, mode, str(manifest)], capture_output=True,
                       text=True, check=True)  # fmt: skip
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_manifest_read_overlaps_the_model_imports(benchmark, big_manifest):
    benchmark.group = "evaluate-before-the-loop"
    runs: dict[str, list[dict]] = {"sequential": [], "prefetch": []}

    def rounds():
        for _ in range(ROUNDS):
            for mode in runs:  # interleaved: both sides see the same machine
                runs[mode].append(_child(mode, big_manifest))

    benchmark.pedantic(rounds, rounds=1, iterations=1)
    stats = {}
    for mode, rs in runs.items():
        totals = sorted(r["total_s"] for r in rs)
        assert all(r["rows"] == ROWS for r in rs)
        stats[mode] = {"min_s": round(totals[0], 3), "median_s": round(totals[len(totals) // 2], 3),
                       "after_imports_median_s": round(sorted(r["after_imports_s"] for r in rs)
                                                       [len(rs) // 2], 3)}  # fmt: skip
    saved = stats["sequential"]["median_s"] - stats["prefetch"]["median_s"]
    benchmark.extra_info.update(rows=ROWS, rounds=ROUNDS, **stats, saved_median_s=round(saved, 3))
    print(f"\nimports + manifest read and hash ({ROWS:,} rows), medians of {ROUNDS} interleaved "
          f"fresh processes: sequential {stats['sequential']['median_s']:.2f} s, prefetch "
          f"{stats['prefetch']['median_s']:.2f} s (saved {saved:.2f} s); minima "
          f"{stats['sequential']['min_s']:.2f} / {stats['prefetch']['min_s']:.2f} s")  # fmt: skip
