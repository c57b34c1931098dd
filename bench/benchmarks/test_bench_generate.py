"""Whole-suite generation against the floor loop and the naive pipeline, and --jobs 1 vs 2.

Each group is compared in one run: the ratio table (bench/run.py) divides by the group's
baseline (the floor)."""

from __future__ import annotations

import pytest
from degradebench.generators import generate

from .conftest import N_SOURCES
from .floors import floor_crops, floor_hops, floor_ladder, naive_ladder

LADDER = [100, 95, 90, 85, 80, 75, 70, 60, 50, 40, 30, 20, 10]
OFFSETS = [(0, 0), (0, 4), (4, 0), (4, 4), (1, 1), (3, 5), (5, 3), (7, 7)]


def _run(benchmark, fn, fresh_dir, rounds: int = 5):
    return benchmark.pedantic(fn, setup=lambda: ((fresh_dir(),), {}), rounds=rounds, iterations=1)


@pytest.mark.parametrize("psnr", [True, False], ids=["psnr", "nopsnr"])
def test_ladder_floor(benchmark, bench_tree, fresh_dir, psnr):
    benchmark.group = f"ladder13-{'psnr' if psnr else 'nopsnr'}"
    n = _run(benchmark, lambda out: floor_ladder(bench_tree, out, LADDER, psnr), fresh_dir)
    assert n == N_SOURCES * 14


@pytest.mark.parametrize("psnr", [True, False], ids=["psnr", "nopsnr"])
def test_ladder_degradebench(benchmark, bench_config, fresh_dir, psnr):
    benchmark.group = f"ladder13-{'psnr' if psnr else 'nopsnr'}"
    s = _run(
        benchmark,
        lambda out: generate(
            config=bench_config,
            dataset="bench",
            suite="ladder13",
            out=out,
            psnr=psnr,
            progress=False,
        ),
        fresh_dir,
    )
    assert s.variants == N_SOURCES * 14


@pytest.mark.parametrize("psnr", [True, False], ids=["psnr", "nopsnr"])
def test_ladder_naive(benchmark, bench_tree, fresh_dir, psnr):
    benchmark.group = f"ladder13-{'psnr' if psnr else 'nopsnr'}"
    n = _run(benchmark, lambda out: naive_ladder(bench_tree, out, LADDER, psnr), fresh_dir)
    assert n == N_SOURCES * 14


def test_cropgrid_floor(benchmark, bench_tree, fresh_dir):
    benchmark.group = "cropgrid-psnr"
    n = _run(benchmark, lambda out: floor_crops(bench_tree, out, OFFSETS, 90, True), fresh_dir)
    assert n == N_SOURCES * 9


def test_cropgrid_degradebench(benchmark, bench_config, fresh_dir):
    benchmark.group = "cropgrid-psnr"
    s = _run(
        benchmark,
        lambda out: generate(
            config=bench_config, dataset="bench", suite="cropgrid", out=out, progress=False
        ),
        fresh_dir,
    )
    assert s.variants == N_SOURCES * 9


@pytest.mark.parametrize("jobs", [1, 2])
def test_ladder_jobs(benchmark, bench_config, fresh_dir, jobs):
    """One warm-up round: joblib keeps its worker processes between calls, so this measures the
    steady state; a cold CLI run adds the workers' start (about 1 s, once per run)."""
    benchmark.group = "ladder13-jobs"
    s = benchmark.pedantic(
        lambda out: generate(
            config=bench_config, dataset="bench", suite="ladder13", out=out, jobs=jobs,
            progress=False,
        ),
        setup=lambda: ((fresh_dir(),), {}), rounds=3, iterations=1, warmup_rounds=1,
    )  # fmt: skip
    assert s.variants == N_SOURCES * 14


def test_social_floor(benchmark, bench_tree, fresh_dir):
    benchmark.group = "social-psnr"
    n = _run(benchmark, lambda out: floor_hops(bench_tree, out, 3, 75, True), fresh_dir)
    assert n == N_SOURCES * 4


def test_social_degradebench(benchmark, bench_config, fresh_dir):
    benchmark.group = "social-psnr"
    s = _run(
        benchmark,
        lambda out: generate(
            config=bench_config, dataset="bench", suite="social", out=out, progress=False
        ),
        fresh_dir,
    )
    assert s.variants == N_SOURCES * 4
