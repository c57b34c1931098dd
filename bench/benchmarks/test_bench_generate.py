"""Whole-suite generation against the floor loop and the naive pipeline, and --jobs 1 vs 2.

The workloads live in :mod:`.cases`; ``python bench/run.py`` times the same functions
interleaved (A, B, A, B, ...) for its ratio table, these tests time them one after the other."""

from __future__ import annotations

import pytest

from .cases import crops_floor, hops_floor, ladder_floor, ladder_naive, ours
from .conftest import N_SOURCES


def _run(benchmark, fn, fresh_dir, rounds: int = 5):
    return benchmark.pedantic(fn, setup=lambda: ((fresh_dir(),), {}), rounds=rounds, iterations=1)


@pytest.mark.parametrize("psnr", [True, False], ids=["psnr", "nopsnr"])
def test_ladder_floor(benchmark, bench_tree, fresh_dir, psnr):
    benchmark.group = f"ladder13-{'psnr' if psnr else 'nopsnr'}"
    assert _run(benchmark, ladder_floor(bench_tree, psnr), fresh_dir) == N_SOURCES * 14


@pytest.mark.parametrize("psnr", [True, False], ids=["psnr", "nopsnr"])
def test_ladder_degradebench(benchmark, bench_config, fresh_dir, psnr):
    benchmark.group = f"ladder13-{'psnr' if psnr else 'nopsnr'}"
    assert _run(benchmark, ours(bench_config, "ladder13", psnr), fresh_dir) == N_SOURCES * 14


@pytest.mark.parametrize("psnr", [True, False], ids=["psnr", "nopsnr"])
def test_ladder_naive(benchmark, bench_tree, fresh_dir, psnr):
    benchmark.group = f"ladder13-{'psnr' if psnr else 'nopsnr'}"
    assert _run(benchmark, ladder_naive(bench_tree, psnr), fresh_dir) == N_SOURCES * 14


def test_cropgrid_floor(benchmark, bench_tree, fresh_dir):
    benchmark.group = "cropgrid-psnr"
    assert _run(benchmark, crops_floor(bench_tree), fresh_dir) == N_SOURCES * 9


def test_cropgrid_degradebench(benchmark, bench_config, fresh_dir):
    benchmark.group = "cropgrid-psnr"
    assert _run(benchmark, ours(bench_config, "cropgrid"), fresh_dir) == N_SOURCES * 9


@pytest.mark.parametrize("jobs", [1, 2])
def test_ladder_jobs(benchmark, bench_config, fresh_dir, jobs):
    """One warm-up round: joblib keeps its worker processes between calls, so this measures the
    steady state; a cold CLI run adds the workers' start (about 1 s, once per run)."""
    benchmark.group = "ladder13-jobs"
    n = benchmark.pedantic(
        ours(bench_config, "ladder13", jobs=jobs),
        setup=lambda: ((fresh_dir(),), {}), rounds=3, iterations=1, warmup_rounds=1,
    )  # fmt: skip
    assert n == N_SOURCES * 14


def test_social_floor(benchmark, bench_tree, fresh_dir):
    benchmark.group = "social-psnr"
    assert _run(benchmark, hops_floor(bench_tree), fresh_dir) == N_SOURCES * 4


def test_social_degradebench(benchmark, bench_config, fresh_dir):
    benchmark.group = "social-psnr"
    assert _run(benchmark, ours(bench_config, "social"), fresh_dir) == N_SOURCES * 4
