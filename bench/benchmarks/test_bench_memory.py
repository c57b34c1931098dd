"""Peak memory must not grow with the number of sources: manifest parts stream to disk.

Each run is a fresh process (ru_maxrss is per process); the ratio table reports peak(10x) /
peak(1x)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import make_bench_tree

# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across execve, so a child of a big pytest process
# would report its parent's peak.
_SCRIPT = """
import json, re, sys
from degradebench.generators import generate
s = generate(config=sys.argv[1], dataset="bench", suite="ladder13", out=sys.argv[2], progress=False)
hwm = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
print(json.dumps({"variants": s.variants, "peak_kib": hwm}))
"""

CONFIG = """
version: 1
datasets:
  bench: {{kind: folder, root: {root}}}
suites:
  ladder13:
    seed: 0
    axes:
      jpeg: {{qualities: [100, 95, 90, 85, 80, 75, 70, 60, 50, 40, 30, 20, 10]}}
"""


def peak_for(tmp: Path, n: int) -> dict:
    root = make_bench_tree(tmp / f"data{n}", n=n, size=256)
    cfg = tmp / f"cfg{n}.yaml"
    cfg.write_text(CONFIG.format(root=root))
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(cfg), str(tmp / f"out{n}")],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("n", [20, 200])
def test_peak_memory(benchmark, tmp_path, n):
    benchmark.group = "memory-peak"
    result = benchmark.pedantic(lambda: peak_for(tmp_path, n), rounds=1, iterations=1)
    assert result["variants"] == n * 14
    benchmark.extra_info["peak_kib"] = result["peak_kib"]
    benchmark.extra_info["sources"] = n
