"""Benchmark fixtures over the data in :mod:`.data` (a camera-like folder of JPEG sources and a
config with the suites the benchmarks run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .data import BENCH_CONFIG, N_SOURCES, SIZE, _sources, make_bench_tree

__all__ = ["BENCH_CONFIG", "N_SOURCES", "SIZE", "_sources", "make_bench_tree"]


@pytest.fixture(scope="session")
def bench_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bench_tree(tmp_path_factory.mktemp("bench") / "data")


@pytest.fixture(scope="session")
def bench_config(bench_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = tmp_path_factory.mktemp("cfg") / "datasets.yaml"
    cfg.write_text(BENCH_CONFIG.format(root=bench_tree))
    return cfg


@pytest.fixture()
def fresh_dir(tmp_path_factory: pytest.TempPathFactory):
    counter = iter(range(10**6))

    def make() -> Path:
        return tmp_path_factory.mktemp(f"out{next(counter)}")

    return make
