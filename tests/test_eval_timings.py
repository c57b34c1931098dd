"""Phase timings of evaluate (run.json ``timings``, the CLI's breakdown line) and the faster
non-loop steps (manifest hash, predictions table): same values as the straightforward code."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _evalfix import make_manifest
from degradebench import _cmd_evaluate, cli
from degradebench.evaluators import evaluate, load_model
from degradebench.evaluators._predictions import predictions_frame
from degradebench.evaluators._reuse import _MANIFEST_KEY_COLUMNS, manifest_sha256
from degradebench.evaluators._runinfo import PHASES, PhaseClock
from degradebench.evaluators._runner import RunOutput
from degradebench.evaluators.metrics.pairing import is_clean, suite_of

IN_EVALUATE = ("read_manifest", "results_key", "setup", "loop", "predictions", "metrics", "write")


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    return make_manifest(tmp_path_factory.mktemp("m"), per_class=(2, 1, 1), qualities=(50,),
                         double=())  # fmt: skip


def _run(manifest: Path, out: Path, **kw):
    return evaluate(manifest, load_model("dummy"), out, device="cpu", workers=0, n_boot=10,
                    progress=False, **kw)  # fmt: skip


def test_run_json_records_every_phase_in_order(manifest, tmp_path):
    res = _run(manifest, tmp_path / "r", timings={"cli_start_to_evaluate": 1.5, "model_load": 0.25})
    on_disk = json.loads((tmp_path / "r" / "run.json").read_text())
    t = on_disk["timings"]
    assert t == res.run["timings"]
    assert list(t) == list(PHASES)  # caller's phases first, then this call's, in order
    assert t["cli_start_to_evaluate"] == 1.5 and t["model_load"] >= 0.25
    assert all(isinstance(v, float) and v >= 0 for v in t.values())
    assert t["loop"] == pytest.approx(on_disk["throughput"]["seconds"], abs=1e-3)
    inside = sum(t[p] for p in IN_EVALUATE) + t["model_load"] - 0.25
    # seconds_total stops before the tables are written; the phases cover it without gaps
    assert on_disk["seconds_total"] <= inside + 1e-3
    assert inside - t["write"] <= on_disk["seconds_total"] + 1e-3


def test_without_a_caller_there_are_no_cli_phases(manifest, tmp_path):
    t = _run(manifest, tmp_path / "r").run["timings"]
    assert "cli_start_to_evaluate" not in t and set(IN_EVALUATE) <= set(t)


def test_phase_clock_splits_the_model_call_and_adds_repeated_phases():
    clock = PhaseClock({"model_load": 1.0})
    clock.lap("model_load")
    time.sleep(0.02)
    clock.run(RunOutput(rows=np.zeros(0, int), probs=np.zeros((0, 1)), n_tiles=np.zeros(0),
                        seconds=0.005))  # fmt: skip
    clock.times["metrics"] = 0.5
    done = clock.done("write")
    assert done["model_load"] >= 1.0 and done["loop"] == pytest.approx(0.005, abs=1e-4)
    assert done["setup"] >= 0.01
    assert list(done) == ["model_load", "setup", "loop", "metrics", "write"]


def test_timings_line_and_process_age():
    line = _cmd_evaluate.timings_line({"cli_start_to_evaluate": 2.0, "loop": 10.25}, 12.5)
    assert line == "timings: start 2.00 s, loop 10.25 s; sum 12.25 s, wall 12.50 s"
    age = _cmd_evaluate.process_age()
    assert 0 < age < time.time()  # a real age, not an epoch
    assert age >= time.perf_counter() - _cmd_evaluate._IMPORTED - 0.05


def test_cli_prints_the_breakdown_and_records_the_cli_phases(manifest, tmp_path, capsys,
                                                             monkeypatch):  # fmt: skip
    monkeypatch.setattr(os, "_exit", lambda rc: pytest.fail("main(argv) must not end the process"))
    out = tmp_path / "r"
    rc = cli.main(["evaluate", "--manifest", str(manifest), "--model", "dummy", "--out", str(out),
                   "--device", "cpu", "--workers", "0", "--bootstrap", "10", "--no-progress"])  # fmt: skip
    assert rc == 0
    err = capsys.readouterr().err
    line = [x for x in err.splitlines() if "timings:" in x]
    assert len(line) == 1 and "start" in line[0] and "model" in line[0] and "wall" in line[0]
    t = json.loads((out / "run.json").read_text())["timings"]
    assert list(t)[:2] == ["cli_start_to_evaluate", "model_load"]
    assert t["cli_start_to_evaluate"] > 0
    # a rerun reuses the results: no breakdown of a run that did not happen
    assert cli.main(["evaluate", "--manifest", str(manifest), "--model", "dummy", "--out",
                     str(out), "--device", "cpu", "--bootstrap", "10", "--no-progress"]) == 0  # fmt: skip
    assert "timings:" not in capsys.readouterr().err


def test_quick_exit_only_when_nothing_is_left_running(monkeypatch):
    import multiprocessing
    import threading

    calls: list[int] = []
    monkeypatch.setattr(os, "_exit", calls.append)
    # Earlier tests in this process may leave their own children or threads: only ours count.
    monkeypatch.setattr(multiprocessing, "active_children", lambda: [])
    ours = {threading.main_thread()}
    real_enumerate = threading.enumerate
    monkeypatch.setattr(threading, "enumerate",
                        lambda: [t for t in real_enumerate() if t in ours])  # fmt: skip
    monkeypatch.setenv("DEGRADEBENCH_FULL_EXIT", "1")
    cli._quick_exit(0)
    assert calls == []
    monkeypatch.delenv("DEGRADEBENCH_FULL_EXIT")
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    ours.add(worker)
    worker.start()
    try:
        cli._quick_exit(0)
        assert calls == []  # a non-daemon thread still runs
    finally:
        stop.set()
        worker.join()
    cli._quick_exit(3)
    assert calls == [3]


def test_a_program_run_ends_with_the_results_on_disk(manifest, tmp_path):
    out = tmp_path / "r"
    cmd = [sys.executable, "-m", "degradebench", "evaluate", "--manifest", str(manifest),
           "--model", "dummy", "--out", str(out), "--device", "cpu", "--workers", "0",
           "--bootstrap", "10", "--no-progress"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "evaluated" in done.stdout and "timings:" in done.stderr  # flushed before the exit
    assert json.loads((out / "run.json").read_text())["timings"]["write"] >= 0


# --- the faster steps give the values of the straightforward code ---------------------------


def _manifest_sha256_before(manifest: pd.DataFrame) -> str:
    """The hash as it was computed before (a sorted copy of the frame)."""
    cols = [c for c in _MANIFEST_KEY_COLUMNS if c in manifest]
    df = manifest[cols].astype(str).sort_values(cols, kind="stable").reset_index(drop=True)
    hashed = pd.util.hash_pandas_object(df, index=False).to_numpy(dtype=np.uint64)
    return hashlib.sha256(hashed.tobytes() + json.dumps(cols).encode()).hexdigest()


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "variant_id": [f"{x:016x}" for x in rng.integers(0, 1 << 40, n)],
        "source_id": [f"s{x}" for x in rng.integers(0, 5, n)],
        "label": pd.array(rng.choice(["a", "b", None], n), dtype="string"),
        "fold": rng.integers(0, 3, n), "level_value": np.where(rng.random(n) < 0.3, np.nan, 1.5),
        "axis": rng.choice(["jpeg", "clean"], n), "level": rng.choice(["10", "clean"], n),
        "path": [f"v/{i}.jpg" for i in range(n)], "manipulated": rng.random(n) < 0.5,
    })  # fmt: skip


@pytest.mark.parametrize("case", ["unique", "duplicate_ids", "shuffled", "empty", "nan_id"])
def test_manifest_hash_is_unchanged(case):
    df = _frame(300, 1)
    if case == "duplicate_ids":
        df["variant_id"] = [f"v{i % 7}" for i in range(len(df))]
    elif case == "shuffled":
        df = df.sample(frac=1.0, random_state=3).set_index(np.arange(len(df)) * 2 + 5)
    elif case == "empty":
        df = df.iloc[:0]
    elif case == "nan_id":
        df["variant_id"] = df["variant_id"].astype(object)
        df.loc[4, "variant_id"] = None
    assert manifest_sha256(df) == _manifest_sha256_before(df)
    assert manifest_sha256(df.iloc[::-1]) == manifest_sha256(df)  # order-free


def _pairing_before(out: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    key = pd.Series(list(zip(suite_of(out), out["source_id"])), index=out.index, dtype=object)
    clean = is_clean(out)
    clean_pos = pd.Series(np.flatnonzero(clean), index=pd.Index(key[clean].tolist()))
    clean_pos = clean_pos[~clean_pos.index.duplicated()]
    cpos = key.map(clean_pos).to_numpy(dtype=float, na_value=np.nan)
    has = ~np.isnan(cpos)
    return np.where(has, cpos, 0).astype(int), has


@pytest.mark.parametrize("classes", [["a", "b", "c"], ["b", "a", "b", "c"], ["x", "y"]])
def test_predictions_table_is_unchanged(classes):
    n = 240
    df = _frame(n, 2)
    df["suite"] = np.random.default_rng(5).choice(["s1", "s2", None], n)
    df["label"] = pd.array(np.random.default_rng(6).choice(["a", "b", "zz", None], n),
                           dtype="string")  # fmt: skip
    probs = np.random.default_rng(7).random((n, len(classes))).astype(np.float32)
    rows = np.arange(0, n, 2)
    run = RunOutput(rows=rows, probs=probs[rows], n_tiles=np.ones(len(rows), np.int64))
    preds = predictions_frame(df, run, "m", classes, (1, 2))
    m = df.iloc[rows].reset_index(drop=True)
    index = {c: i for i, c in enumerate(classes)}
    expect = [index.get(x, pd.NA) if x is not pd.NA else pd.NA for x in m["label"]]
    assert preds["label_index"].tolist() == pd.array(expect, dtype="Int64").tolist()
    assert preds["pred_label"].tolist() == [classes[i] for i in probs[rows].argmax(axis=1)]
    top = np.argsort(-probs[rows], axis=1, kind="stable")[:, :2]
    assert [list(t) for t in preds["topk"]] == top.tolist()
    assert all(p.dtype == np.float32 for p in preds["probs"])
    assert np.array_equal(np.stack(preds["probs"].to_list()), probs[rows])
    ci, has = _pairing_before(preds)
    assert preds["clean_pred"].isna().to_numpy().tolist() == (~has).tolist()
    pred = preds["pred"].to_numpy()
    assert preds["clean_pred"].dropna().tolist() == pred[ci][has].tolist()
    assert 0 < has.sum() < n // 2  # some rows paired, some not: both branches ran
