"""Work started before the model (issue 16 point 1, the whole command): the manifest read and
hashed in the background while the model file imports, CUDA started early, the bootstrap's
weights drawn while a GPU runs the model. What is prefetched never changes the numbers."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from _evalfix import make_manifest
from degradebench.evaluators import _prefetch
from degradebench.evaluators import metrics as M
from degradebench.evaluators._manifest_in import read_input
from degradebench.evaluators._reuse import manifest_sha256
from degradebench.generators.core.errors import ConfigError


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    return make_manifest(tmp_path_factory.mktemp("pf") / "m", per_class=(2, 2, 1),
                         qualities=(90, 30), double=())  # fmt: skip


def test_a_prefetched_manifest_is_the_one_read_in_line(manifest):
    _prefetch.prefetch_input(manifest, None)
    mi, full, sha = _prefetch.take_input(manifest, None)
    mi2, full2 = read_input(manifest, None)
    pd.testing.assert_frame_equal(full, full2)
    pd.testing.assert_frame_equal(mi.frame, mi2.frame)
    assert sha == manifest_sha256(full2) and mi.planned == mi2.planned
    # taken once: a second call reads in line and has no hash yet
    assert _prefetch.take_input(manifest, None)[2] is None


def test_a_prefetch_for_other_folds_is_not_used(manifest):
    _prefetch.prefetch_input(manifest, [0])
    mi, _, sha = _prefetch.take_input(manifest, None)  # all folds: read now
    assert sha is None and len(mi.frame) == len(read_input(manifest, None)[0].frame)
    assert _prefetch.take_input(manifest, [0])[2] is not None  # still waiting for its call


def test_a_prefetch_error_is_raised_where_the_read_would_raise(tmp_path):
    _prefetch.prefetch_input(tmp_path / "nothing", None)  # the background thread fails
    with pytest.raises(ConfigError) as got:
        _prefetch.take_input(tmp_path / "nothing", None)
    with pytest.raises(ConfigError) as want:
        read_input(tmp_path / "nothing", None)
    assert str(got.value) == str(want.value)


def test_the_early_bootstrap_is_the_bootstrap_of_the_scored_sources():
    ids = pd.Series([f"s{k % 7}" for k in range(40)])
    early = _prefetch.EarlyBootstrap(ids, 200, 3)
    got, want = early.get(ids[::-1].iloc[::-1]), M.Bootstrap(ids, n_boot=200, seed=3)
    assert got.sources.equals(want.sources) and np.array_equal(got.weights, want.weights)
    # a source whose every variant failed is not scored: the weights are drawn again for the rest
    kept = ids[ids != "s3"]
    got = _prefetch.EarlyBootstrap(ids, 200, 3).get(kept)
    want = M.Bootstrap(kept, n_boot=200, seed=3)
    assert got.sources.equals(want.sources) and np.array_equal(got.weights, want.weights)
    assert got.weights.shape == (200, 6)
    assert _prefetch.EarlyBootstrap(ids, 0, 3).get(ids).n_boot == 0


def test_cuda_warm_up_is_nothing_on_cpu_and_harmless_without_a_gpu():
    assert _prefetch.warm_cuda("cpu") is None
    bg = _prefetch.warm_cuda("auto")
    assert bg is not None and bg.result() is None  # no CUDA here: returns; with CUDA: warmed


def test_background_passes_on_the_exception():
    with pytest.raises(ZeroDivisionError):
        _prefetch.Background(lambda: 1 / 0).result()


def test_the_command_with_prefetch_gives_the_api_results(manifest, tmp_path):
    import degradebench as db

    cmd = [sys.executable, "-m", "degradebench", "evaluate", "--manifest", str(manifest),
           "--model", "dummy", "--out", str(tmp_path / "cli"), "--device", "cpu",
           "--bootstrap", "50", "--no-progress"]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    api = db.evaluate(manifest, "dummy", tmp_path / "api", device="cpu", n_boot=50,
                      progress=False)  # fmt: skip
    cli = json.loads((tmp_path / "cli" / "run.json").read_text())
    assert cli["key_sha256"] == api.run["key_sha256"]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "cli" / "summary.parquet"),
                                  api.summary.reset_index(drop=True), check_dtype=False)  # fmt: skip


@pytest.mark.gpu
def test_on_a_gpu_the_early_bootstrap_gives_the_intervals_of_a_plain_one(manifest, tmp_path):
    import degradebench as db
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    res = db.evaluate(manifest, "dummy", tmp_path / "r", device="cuda", n_boot=200,
                      progress=False)  # fmt: skip
    boot = M.Bootstrap(res.predictions["source_id"], n_boot=200, seed=0)
    want, _ = M.level_metrics(res.predictions, boot, (5,))
    cols = [c for c in want.columns if c in res.summary.columns]
    pd.testing.assert_frame_equal(res.summary[cols].reset_index(drop=True),
                                  want[cols].reset_index(drop=True), check_dtype=False)  # fmt: skip
