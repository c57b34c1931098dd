"""Evaluator throughput against the model's forward pass alone on pre-decoded, pre-fitted tensors.

Efficiency = time(forward only) / time(evaluate): 1.0 means decoding, fitting and bookkeeping are
fully hidden behind the model. The workloads live in :mod:`.cases` (shared with bench/run.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .cases import eval_manifest as _eval_manifest
from .cases import evaluate_reference, forward_only


@pytest.fixture(scope="module")
def eval_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _eval_manifest(tmp_path_factory.mktemp("evalbench"))


def test_evaluate_reference(benchmark, eval_manifest, tmp_path_factory):
    from degradebench.generators import read_manifest

    benchmark.group = "eval-reference-cpu"
    run = evaluate_reference(eval_manifest)
    outs = iter(range(100))
    benchmark.pedantic(
        lambda: run(tmp_path_factory.mktemp(f"r{next(outs)}")), rounds=3, iterations=1
    )
    benchmark.extra_info["images"] = len(read_manifest(eval_manifest))


def test_forward_only(benchmark, eval_manifest):
    benchmark.group = "eval-reference-cpu"
    run, n = forward_only(eval_manifest)
    benchmark.pedantic(run, rounds=3, iterations=1)
    benchmark.extra_info["images"] = n
