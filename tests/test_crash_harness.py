"""Crash harness: SIGKILL ``degradebench generate`` and ``degradebench evaluate`` at random moments
(seeded), rerun, and check that nothing was lost or corrupted.

Each trial kills a run 1-3 times at random moments in [0, the uninterrupted run's time],
checking after every kill that whatever is on disk is whole (each manifest part and results file
readable), then runs to completion and checks: exit 0 (a lock left by a killed run never blocks
the next), ``verify`` passes, no temp (``.tmp-``) or orphan files, and the final manifest, errors,
variant files (by sha256) or predictions/summary equal an uninterrupted run's.

CI mode: 20 trials per command, each child forked from a helper process that imported
degradebench and torch once (a trial costs milliseconds, not an interpreter start), the killed
process being a session leader whose whole group is killed. ``--runslow`` (or DEGRADEBENCH_SLOW=1):
100 trials per command, each a fresh ``python -m degradebench`` process, half of them with
``--jobs 2`` so loky workers die with their parent. DEGRADEBENCH_CRASH_TRIALS overrides the count.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from _evalfix import make_manifest
from conftest import TINY_CONFIG, jpeg_bytes, photo, png_bytes
from degradebench.evaluators import read_results
from degradebench.generators import read_errors, read_manifest, verify

TESTS = Path(__file__).resolve().parent
SEED = 20261122


@pytest.fixture(scope="module")
def mode(runslow: bool) -> dict:
    slow = runslow
    trials = int(os.environ.get("DEGRADEBENCH_CRASH_TRIALS", 100 if slow else 20))
    return {"slow": slow, "trials": trials}


# --- launching and killing -----------------------------------------------------------------------

_ZYGOTE = r"""
import json, os, sys, traceback
sys.path.insert(0, sys.argv[1])
# Import once here what every run imports lazily; nothing here starts a thread, so fork is safe.
import cv2, pyarrow.parquet, torch, filelock, joblib, tqdm.auto  # noqa: F401,E401
import degradebench.evaluators, degradebench.generators.runner  # noqa: F401,E401
from degradebench.evaluators import _evaluate, _runner, metrics  # noqa: F401
from degradebench.generators import decode, jpeginfo, verify  # noqa: F401
from degradebench.generators.config import load_config
from degradebench.cli import main, build_parser
load_config()  # imports every axis and op
build_parser()  # and every command module

def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()

for line in sys.stdin:
    req = json.loads(line)
    if req["op"] == "spawn":
        pid = os.fork()
        if pid == 0:
            rc = 3
            try:
                os.setsid()  # its own session and process group: killpg reaches its workers
                nul = os.open(os.devnull, os.O_RDWR)
                log = os.open(req["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(nul, 0); os.dup2(log, 1); os.dup2(log, 2)
                rc = main(req["argv"])
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush(); sys.stderr.flush()
                os._exit(rc)
        reply({"pid": pid})
    elif req["op"] == "wait":
        _, status = os.waitpid(req["pid"], 0)
        reply({"rc": os.waitstatus_to_exitcode(status)})
"""


class Zygote:
    """Forks a child per command from a process that has imported everything once."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _ZYGOTE, str(TESTS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def _ask(self, req: dict) -> dict:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the fork helper died"
        return json.loads(line)

    def spawn(self, argv: list[str], log: Path) -> int:
        return self._ask({"op": "spawn", "argv": argv, "log": str(log)})["pid"]

    def wait(self, pid: int) -> int:
        return self._ask({"op": "wait", "pid": pid})["rc"]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


class Fresh:
    """Each command in a fresh interpreter (``python -m degradebench``), its own session."""

    def __init__(self) -> None:
        self.procs: dict[int, subprocess.Popen] = {}

    def spawn(self, argv: list[str], log: Path) -> int:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
        }
        with open(log, "wb") as fh:
            p = subprocess.Popen([sys.executable, "-m", "degradebench", *argv], stdout=fh,
                                 stderr=fh, stdin=subprocess.DEVNULL, start_new_session=True,
                                 env=env)  # fmt: skip
        self.procs[p.pid] = p
        return p.pid

    def wait(self, pid: int) -> int:
        return self.procs.pop(pid).wait(timeout=600)

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def launcher(mode):
    lx = Fresh() if mode["slow"] else Zygote()
    yield lx
    lx.close()


def run_to_end(lx, argv: list[str], log: Path, timeout: float = 300) -> tuple[int, float]:
    t0 = time.monotonic()
    pid = lx.spawn(argv, log)
    rc = lx.wait(pid)
    took = time.monotonic() - t0
    assert took < timeout
    return rc, took


def run_and_kill(lx, argv: list[str], log: Path, delay: float) -> bool:
    """Start, SIGKILL the whole process group after ``delay`` s; True if it died by the kill."""
    pid = lx.spawn(argv, log)
    time.sleep(delay)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return lx.wait(pid) == -signal.SIGKILL


# --- what must hold -----------------------------------------------------------------------------


def temp_files(root: Path) -> list[str]:
    return sorted(str(p) for p in root.rglob("*") if ".tmp-" in p.name or p.name.endswith(".tmp"))


def files_by_hash(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((root / "variants").rglob("*"))
        if p.is_file()
    }


def check_whole_after_kill(out: Path) -> None:
    """Whatever a killed run left under its final names is complete (temp files may remain)."""
    for part in (out / "manifest").glob("*.parquet") if (out / "manifest").is_dir() else []:
        assert not part.name.startswith("."), part
        pq.read_table(part)  # raises on a partial file
    for p in [out / "errors.parquet", *(out / ".state").rglob("*.parquet")]:
        if p.is_file() and not p.name.startswith("."):
            pq.read_table(p)
    if (out / "runs.json").is_file():
        json.loads((out / "runs.json").read_text())


# --- generate -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gen_setup(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("crash-gen")
    root = tmp / "data"
    for c, label in enumerate(["cam-a", "cam-b"]):
        (root / label).mkdir(parents=True)
        for i, name in enumerate(["astronaut", "coffee", "chelsea"]):
            arr = photo(name, 112 + 16 * i, 20 + 40 * i + 60 * c, 30 + 50 * i)
            data = jpeg_bytes(arr, 92) if i % 2 else png_bytes(arr)
            (root / label / f"img{i}.{'jpg' if i % 2 else 'png'}").write_bytes(data)
    (root / "cam-b" / "broken.jpg").write_bytes(jpeg_bytes(photo("coffee", 96), 90)[:700])
    (root / "cam-b" / "copy.png").write_bytes((root / "cam-a" / "img0.png").read_bytes())
    cfg = tmp / "c.yaml"
    cfg.write_text(TINY_CONFIG.format(root=root).replace("[90, 50]", "[95, 90, 70, 50, 30]"))
    return {"tmp": tmp, "cfg": cfg}


def _gen_argv(cfg: Path, out: Path, jobs: int) -> list[str]:
    return ["generate", "--config", str(cfg), "--dataset", "tiny", "--suite", "small", "--out",
            str(out), "--quiet", "--jobs", str(jobs), "--source-timeout", "120"]  # fmt: skip


def test_generate_survives_sigkill_at_random_moments(gen_setup, launcher, mode) -> None:
    tmp, cfg = gen_setup["tmp"], gen_setup["cfg"]
    ref = tmp / "ref"
    # Kill moments are drawn over the fastest complete run seen so far (a loaded machine only
    # makes runs slower, so kills still land mid-run).
    took = min(
        run_to_end(launcher, _gen_argv(cfg, tmp / f"warm{i}", 1), tmp / "w.log")[1]
        for i in range(2)
    )
    rc, _ = run_to_end(launcher, _gen_argv(cfg, ref, 1), tmp / "ref.log")
    assert rc == 0, (tmp / "ref.log").read_text()
    ref_manifest, ref_errors, ref_files = read_manifest(ref), read_errors(ref), files_by_hash(ref)
    assert len(ref_manifest) == 6 * 12 and len(ref_errors) == 2  # broken.jpg, copy.png
    rng = np.random.default_rng(SEED)
    kills = finished_early = 0
    t_start = time.monotonic()
    for trial in range(mode["trials"]):
        jobs = 2 if mode["slow"] and trial % 2 else 1
        out = tmp / f"t{trial}"
        for _ in range(int(rng.integers(1, 4))):
            delay = float(rng.uniform(0, took))
            if run_and_kill(launcher, _gen_argv(cfg, out, jobs), tmp / "kill.log", delay):
                kills += 1
            else:
                finished_early += 1
            if out.exists():
                check_whole_after_kill(out)
        log = tmp / f"t{trial}.log"
        rc, _ = run_to_end(launcher, _gen_argv(cfg, out, jobs), log)
        assert rc == 0, f"trial {trial}: rerun failed: {log.read_text()[-2000:]}"
        pd.testing.assert_frame_equal(read_manifest(out), ref_manifest)
        pd.testing.assert_frame_equal(
            read_errors(out).sort_values("source_path").reset_index(drop=True),
            ref_errors.sort_values("source_path").reset_index(drop=True),
        )
        assert files_by_hash(out) == ref_files
        rep = verify(out)
        assert rep.ok and rep.orphans == [], (trial, rep.problems[:3], rep.orphans[:3])
        assert temp_files(out) == [], trial
    print(
        f"\ngenerate crash harness: {mode['trials']} trials, {kills} SIGKILLs survived, "
        f"{finished_early} runs finished before their kill, {time.monotonic() - t_start:.0f}s; "
        f"{len(ref_manifest)} variants each time, nothing lost"
    )
    assert kills >= mode["trials"]  # most kills must land mid-run, or nothing was tested


def test_concurrent_generate_is_refused_and_the_first_completes(tmp_path, launcher) -> None:
    root = tmp_path / "data" / "cam"
    root.mkdir(parents=True)
    for i in range(24):  # enough work that the first run is still going when the second starts
        noise = np.random.default_rng(i).integers(0, 256, (192, 192, 3), dtype=np.uint8)
        (root / f"n{i}.png").write_bytes(png_bytes(noise))
    cfg = tmp_path / "c.yaml"
    cfg.write_text(TINY_CONFIG.format(root=tmp_path / "data"))
    out = tmp_path / "o"
    first = launcher.spawn(_gen_argv(cfg, out, 1), tmp_path / "first.log")
    deadline = time.monotonic() + 60
    while not (out / "runs.json").exists():  # written under the lock
        assert time.monotonic() < deadline
        time.sleep(0.002)
    second = launcher.spawn(_gen_argv(cfg, out, 1), tmp_path / "second.log")
    rc2 = launcher.wait(second)
    assert launcher.wait(first) == 0
    err = (tmp_path / "second.log").read_text()
    assert rc2 == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert f"{out} is being written by another degradebench run" in err
    rep = verify(out)
    assert rep.ok and rep.checked == 24 * 9 and rep.orphans == [] and temp_files(out) == []


# --- evaluate -------------------------------------------------------------------------------------


def _eval_argv(manifest: Path, out: Path) -> list[str]:
    return ["evaluate", "--manifest", str(manifest), "--model", "_evalfix:tiny_net_factory",
            "--out", str(out), "--device", "cpu", "--workers", "0", "--batch-size", "4",
            "--bootstrap", "200", "--no-progress"]  # fmt: skip


def _results(out: Path) -> dict:
    res = read_results(out)
    run = res["run"]
    for volatile in ("created_unix", "seconds_total", "throughput"):
        run.pop(volatile, None)
    return res


def check_results_whole(out: Path) -> None:
    """Every results file is whole, and a run.json means a complete set from one run."""
    for p in out.glob("*.parquet") if out.is_dir() else []:
        pq.read_table(p)
    if (out / "run.json").is_file():
        res = read_results(out)
        name = res["run"]["model"]["name"]
        assert set(res["predictions"]["model"]) == set(res["summary"]["model"]) == {name}


def test_evaluate_survives_sigkill_at_random_moments(tmp_path_factory, launcher, mode) -> None:
    tmp = tmp_path_factory.mktemp("crash-eval")
    manifest = make_manifest(tmp / "m", per_class=(3, 2, 2))
    ref = tmp / "ref"
    # Kill moments are drawn over the fastest complete run seen so far (a loaded machine only
    # makes runs slower, so kills still land mid-run).
    took = min(
        run_to_end(launcher, _eval_argv(manifest, tmp / f"warm{i}"), tmp / "w.log")[1]
        for i in range(2)
    )
    rc, _ = run_to_end(launcher, _eval_argv(manifest, ref), tmp / "ref.log")
    assert rc == 0, (tmp / "ref.log").read_text()
    expected = _results(ref)
    other = tmp / "other"
    argv = _eval_argv(manifest, other)
    argv[argv.index("_evalfix:tiny_net_factory")] = "_evalfix:constant_factory"
    assert run_to_end(launcher, argv, tmp / "other.log")[0] == 0
    rng = np.random.default_rng(SEED + 1)
    kills = finished_early = 0
    t_start = time.monotonic()
    for trial in range(mode["trials"]):
        out = tmp / f"t{trial}"
        if trial % 3 == 2:  # also: over a complete result set of another model in that folder
            shutil.copytree(other, out)
        for _ in range(int(rng.integers(1, 4))):
            delay = float(rng.uniform(0, took))
            if run_and_kill(launcher, _eval_argv(manifest, out), tmp / "kill.log", delay):
                kills += 1
            else:
                finished_early += 1
            check_results_whole(out)
        log = tmp / f"t{trial}.log"
        rc, full = run_to_end(launcher, _eval_argv(manifest, out), log)
        took = min(took, full)  # evaluate reruns are complete runs
        assert rc == 0, f"trial {trial}: rerun failed: {log.read_text()[-2000:]}"
        got = _results(out)
        for key in ("predictions", "summary", "axis_summary", "curves", "errors"):
            pd.testing.assert_frame_equal(got[key], expected[key], obj=f"trial {trial} {key}")
        assert got["run"]["model"] == expected["run"]["model"]
        assert got["run"]["config"] == expected["run"]["config"]
        assert temp_files(out) == [], trial
        assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in ref.iterdir())
    print(
        f"\nevaluate crash harness: {mode['trials']} trials, {kills} SIGKILLs survived, "
        f"{finished_early} runs finished before their kill, {time.monotonic() - t_start:.0f}s; "
        f"{len(expected['predictions'])} predictions each time, nothing lost"
    )
    assert kills >= mode["trials"]


def test_evaluate_stopped_between_files_leaves_no_mixed_set(tmp_path, monkeypatch) -> None:
    """Deterministic twin of the harness' worst moment: new predictions written over an older
    result set of another model, then the process dies before the rest."""
    import degradebench.evaluators.results as ev
    from _evalfix import TINY_CONFIG as CFG
    from _evalfix import ConstantNet, TinyNet
    from degradebench.evaluators import evaluate, model_from_module
    from degradebench.generators import ConfigError

    manifest = make_manifest(tmp_path / "m", per_class=(1, 1, 1), qualities=(50,), double=())
    out = tmp_path / "r"

    def run(module, name):
        model = model_from_module(module, name=name, input_config=CFG)
        return evaluate(manifest, model, out, device="cpu", workers=0, n_boot=0, progress=False)

    run(ConstantNet(0), "old")
    real = ev.write_parquet

    def die_after_predictions(df, path):
        real(df, path)
        if path.name == "predictions.parquet":
            raise KeyboardInterrupt  # as if killed right here

    monkeypatch.setattr(ev, "write_parquet", die_after_predictions)
    with pytest.raises(KeyboardInterrupt):
        run(TinyNet(), "new")
    with pytest.raises(ConfigError, match="incomplete results .* run the same"):
        read_results(out)  # not new predictions beside the old summary
    monkeypatch.undo()
    run(TinyNet(), "new")
    res = read_results(out)
    assert set(res["predictions"]["model"]) == set(res["summary"]["model"]) == {"new"}
    assert temp_files(out) == []


def test_second_evaluate_on_the_same_results_is_refused(tmp_path, capsys) -> None:
    from degradebench.cli import main
    from filelock import FileLock

    manifest = make_manifest(tmp_path / "m", per_class=(1, 1, 1), qualities=(50,), double=())
    out = tmp_path / "r"
    out.mkdir()
    held = FileLock(str(out / ".lock"))
    held.acquire()
    try:
        assert main(_eval_argv(manifest, out)) == 2
    finally:
        held.release()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "another degradebench evaluate is writing there" in err
    assert main(_eval_argv(manifest, out)) == 0  # free again
