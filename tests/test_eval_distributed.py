"""``evaluate --scheduler``: a real 2-worker Dask LocalCluster on loopback (CPU) gives the results
of a single-process run; sharding, errors and refusals."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _evalfix import TINY_CONFIG, TinyNet, make_manifest
from degradebench.evaluators import ModelError, evaluate, load_model, model_from_module
from degradebench.evaluators._distributed import (
    SHARDS_DIR,
    _part_path,
    _write_part,
    check_scheduler,
    shard_rows,
)
from degradebench.evaluators._manifest_in import read_input
from degradebench.evaluators._runner import RunOutput
from degradebench.generators.core.errors import ConfigError

pytest.importorskip("distributed")

RUN = {"device": "cpu", "batch_size": 8, "workers": 0, "n_boot": 20, "progress": False}


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=40) as c:  # fmt: skip
        yield c


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    out = make_manifest(tmp_path_factory.mktemp("m"), per_class=(2, 2, 1), size=20)
    df = pd.read_parquet(out / "manifest")
    # one damaged and one missing file: the workers that get them record them in errors
    jpegs = df[df["axis"] == "jpeg"]
    (out / jpegs["path"].iloc[0]).write_bytes(b"not a jpeg")
    (out / jpegs["path"].iloc[-1]).unlink()
    return out


def _dist(manifest: Path, model, out: Path, cluster, **kw):
    return evaluate(manifest, model, out, **RUN, scheduler=cluster.scheduler_address, **kw)


def test_two_workers_equal_one_process(manifest: Path, cluster, tmp_path: Path) -> None:
    """The built-in ``dummy`` is loaded from its spec on each worker (its width set by the
    manifest's classes there too); shards of whole batches give every image the batch it has
    in one process, so predictions and summary are equal to the bit."""
    one = evaluate(manifest, "dummy", tmp_path / "one", **RUN)
    dist = _dist(manifest, "dummy", tmp_path / "dist", cluster)
    assert len(one.predictions) == len(dist.predictions) == 48
    np.testing.assert_allclose(np.stack(one.predictions["probs"]),
                               np.stack(dist.predictions["probs"]), atol=1e-6)  # fmt: skip
    pd.testing.assert_frame_equal(one.predictions, dist.predictions, check_exact=True)
    pd.testing.assert_frame_equal(one.summary, dist.summary, check_exact=True)
    pd.testing.assert_frame_equal(one.axis_summary, dist.axis_summary)
    pd.testing.assert_frame_equal(one.errors, dist.errors)
    assert sorted(dist.errors["stage"]) == ["missing", "verify"]
    run = json.loads((tmp_path / "dist" / "run.json").read_text())
    d = run["distributed"]
    assert d["scheduler"] == cluster.scheduler_address and d["shards"] == 2
    assert len(d["per_worker"]) == 2 and all(w["images_per_s"] > 0 for w in d["per_worker"])
    assert sum(w["images"] for w in d["per_worker"]) == 48
    assert sum(w["errors"] for w in d["per_worker"]) == 2
    for w in d["per_worker"]:  # where each worker's time went (diagnostics of slow workers)
        ph = w["phases"]
        assert "probe_error" not in ph, ph
        assert ph["decode_images_per_second"] > 0 and ph["forward_images_per_second"] > 0
        assert ph["forward_calls"] >= 1 and ph["to_first_batch_s"] >= 0 and ph["write_s"] >= 0
        assert ph["task_s"] >= ph["loop_s"] >= ph["rest_s"] >= 0
        assert set(ph["env"]) >= {"OMP_NUM_THREADS", "MALLOC_TRIM_THRESHOLD_"}
        assert ph["queued_s"] is not None and ph["cores"] >= 1
    assert run["config"]["scheduler"] == cluster.scheduler_address
    assert run["key_sha256"] == one.run["key_sha256"]  # the scheduler does not change the key
    assert not (tmp_path / "dist" / SHARDS_DIR).exists()  # parts removed after the merge
    again = evaluate(manifest, "dummy", tmp_path / "dist", **RUN)  # same key: reused
    assert again.reused


def test_in_memory_model_travels_pickled(manifest: Path, cluster, tmp_path: Path) -> None:
    """A module without a spec goes to the workers pickled; a conv net's scores equal a
    single-process run's too."""
    model = model_from_module(TinyNet(), name="tiny", input_config=TINY_CONFIG)
    one = evaluate(manifest, model, tmp_path / "one", **RUN, reuse=False)
    dist = _dist(manifest, model, tmp_path / "dist", cluster, reuse=False)
    np.testing.assert_allclose(np.stack(one.predictions["probs"]),
                               np.stack(dist.predictions["probs"]), atol=1e-6)  # fmt: skip
    pd.testing.assert_frame_equal(one.summary, dist.summary, check_exact=True)
    assert dist.run["model"]["weights_sha256"] == one.run["model"]["weights_sha256"]


def test_a_worker_loading_other_weights_stops_the_run(manifest: Path, cluster,
                                                       tmp_path: Path) -> None:  # fmt: skip
    factory = tmp_path / "unseeded.py"
    factory.write_text("import torch\n\ndef build():\n"
                       "    return torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), "
                       "torch.nn.Flatten(), torch.nn.Linear(3, 3))\n")  # fmt: skip
    with pytest.raises(ModelError, match="loads other weights on Dask worker .* seed"):
        _dist(manifest, load_model(f"{factory}:build"), tmp_path / "r", cluster)


def test_a_part_left_by_a_stopped_run_is_reused(manifest: Path, cluster, tmp_path: Path) -> None:
    """A part already in RESULTS/.shards/<key> (a run stopped after that shard) is merged, not
    recomputed; another key's parts are stale and removed."""
    first = _dist(manifest, "dummy", tmp_path / "r", cluster)
    mi, _ = read_input(manifest, None)
    shards = shard_rows(mi.frame, 2, RUN["batch_size"])
    base = tmp_path / "r" / SHARDS_DIR
    part = _part_path(base / first.run["key_sha256"][:16], mi.frame, shards[0])
    n = len(shards[0])
    fake = RunOutput(rows=np.arange(n), probs=np.full((n, 3), 0.25, np.float32),
                     n_tiles=np.ones(n, np.int64))  # fmt: skip
    meta = {"worker": "w", "host": "h", "cuda_visible_devices": None, "device": "cpu",
            "images": n, "errors": 0, "seconds": 1.0, "model_load_s": 0.0, "decode_workers": 0,
            "final_forward_batch": 8, "notes": []}  # fmt: skip
    _write_part(part, fake, meta)
    (base / "0123456789abcdef").mkdir()
    again = _dist(manifest, "dummy", tmp_path / "r", cluster, reuse=False)
    assert again.run["distributed"]["shards_reused"] == 1
    reused = again.predictions["variant_id"].isin(set(mi.frame["variant_id"].iloc[shards[0]]))
    assert np.allclose(np.stack(again.predictions["probs"][reused]), 0.25)
    assert not np.allclose(np.stack(again.predictions["probs"][~reused]), 0.25)
    assert not base.exists()


def test_shards_are_whole_batches_cut_at_sources() -> None:
    frame = pd.DataFrame({"source_id": list("aaaabbbbccccddddeeeeffff")})
    shards = shard_rows(frame, 3, batch_size=4)
    assert [s.tolist() for s in shards] == [list(range(0, 8)), list(range(8, 16)),
                                            list(range(16, 24))]  # fmt: skip
    shards = shard_rows(frame, 2, batch_size=8)  # the middle (12) is no batch boundary
    assert [len(s) for s in shards] in ([8, 16], [16, 8])
    assert np.concatenate(shards).tolist() == list(range(24))
    for bs in (1, 3, 5, 7):
        shards = shard_rows(frame, 4, batch_size=bs)
        assert np.concatenate(shards).tolist() == list(range(24))
        assert all(s[0] % bs == 0 for s in shards)  # every shard starts a batch
    assert [len(s) for s in shard_rows(frame.iloc[:22], 2, batch_size=4)] == [12, 10]
    assert len(shard_rows(frame, 4, batch_size=32)) == 1  # one batch: one shard
    assert shard_rows(frame.iloc[:0], 2, batch_size=4) == []


@pytest.mark.parametrize("bad", ["local:0", "local:x", "http://nope:1", "tcp://host", "4"])
def test_bad_scheduler_is_a_config_error(bad: str) -> None:
    with pytest.raises(ConfigError, match="--scheduler"):
        check_scheduler(bad)


def test_bad_scheduler_fails_before_the_model_runs(manifest: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"local:N .* or tcp://HOST:PORT .*got 'gpu:2'"):
        evaluate(manifest, "_evalfix:tiny_net_factory", tmp_path / "r", **RUN, scheduler="gpu:2")
    assert not (tmp_path / "r").exists()


def test_localization_model_is_refused(manifest: Path, tmp_path: Path) -> None:
    model = load_model("_evalfix:tiny_net_factory", input_config={"task": "localization",
                                                                   "fit": "full"})  # fmt: skip
    with pytest.raises(ConfigError, match="localization model .* drop --scheduler"):
        evaluate(manifest, model, tmp_path / "r", **RUN, scheduler="local:2")


def test_decode_is_checked_and_in_the_key(manifest: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--decode: must be one of cpu, gpu, got 'nvjpeg'"):
        evaluate(manifest, "_evalfix:tiny_net_factory", tmp_path / "r", **RUN, decode="nvjpeg")
    from degradebench.evaluators._evaluate import _settings

    base = {"baseline": None, "target": "label"}
    assert "decode" not in _settings(False, **base, decode="cpu")  # old keys stay valid
    assert _settings(False, **base, decode="gpu")["decode"] == "gpu"


def test_cli_scheduler_and_decode(manifest: Path, tmp_path: Path, capsys) -> None:
    from degradebench.cli import main

    args = ["evaluate", "--manifest", str(manifest), "--model", "dummy", "--device", "cpu",
            "--workers", "0", "--no-progress", "--bootstrap", "10", "--batch-size", "8"]  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "a"), "--scheduler", "local"]) == 2
    err = capsys.readouterr().err
    assert "--scheduler: expected local:N" in err and "got 'local'" in err
    assert "Traceback" not in err
    with pytest.raises(SystemExit):
        main([*args, "--out", str(tmp_path / "b"), "--decode", "tpu"])
    assert "invalid choice: 'tpu'" in capsys.readouterr().err
    # local:N: a LocalCluster of its own, closed after the run
    assert main([*args, "--out", str(tmp_path / "c"), "--scheduler", "local:2"]) == 0
    assert "x 2 Dask workers" in capsys.readouterr().out
    run = json.loads((tmp_path / "c" / "run.json").read_text())
    assert run["config"]["decode"] == "cpu" and "decode" not in run["key"]["settings"]
    assert run["distributed"]["scheduler"] == "local:2" and run["distributed"]["shards"] == 2


def test_per_worker_sums_seconds_and_keeps_the_rest() -> None:
    from degradebench.evaluators._dist_probe import per_worker

    def meta(images: int, task_s: float) -> dict:
        return {"worker": "w1", "host": "h", "cuda_visible_devices": "0", "device": "cuda",
                "decode_workers": 3, "images": images, "errors": 0, "seconds": 2.0,
                "model_load_s": 1.0, "phases": {"task_s": task_s, "cores": 8,
                                                "rest_images_per_second": 50.0}}  # fmt: skip

    (w,) = per_worker([meta(100, 3.0), meta(60, 2.5)])
    assert w["images"] == 160 and w["seconds"] == 4.0 and w["images_per_s"] == 40.0
    assert w["phases"] == {"task_s": 5.5, "cores": 8, "rest_images_per_second": 50.0}


def test_the_nannys_environment_is_undone(monkeypatch) -> None:
    from degradebench.evaluators._dist_probe import environment, restore_environ

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    before = environment()
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")  # what a Nanny does to its parent
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    restore_environ(before)
    assert "MALLOC_TRIM_THRESHOLD_" not in os.environ and os.environ["OMP_NUM_THREADS"] == "4"
