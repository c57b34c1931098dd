"""Peak memory must not grow with the number of sources: manifest parts stream to disk.

Each run is a fresh process (:func:`.cases.peak_memory` reads its VmHWM); the ratio table
reports peak(10x) / peak(1x)."""

from __future__ import annotations

import pytest

from .cases import peak_memory


@pytest.mark.parametrize("n", [20, 200])
def test_peak_memory(benchmark, tmp_path, n):
    benchmark.group = "memory-peak"
    result = benchmark.pedantic(lambda: peak_memory(tmp_path, n), rounds=1, iterations=1)
    assert result["variants"] == n * 14
    benchmark.extra_info["peak_kib"] = result["peak_kib"]
    benchmark.extra_info["sources"] = n
