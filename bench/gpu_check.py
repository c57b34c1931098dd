"""The GPU check of issue 16: generate >= 200,000 variants, then time evaluation against the model.

    python3 -m pip install --no-deps --no-build-isolation -e . && python3 bench/gpu_check.py

For a lent GPU machine (16 cores, H100/H200, torch + torchvision, no network). It builds a
virtual-cameras dataset (6 models x 2 devices x 1,191 scenes, 256 px), generates a 1,200-source
subset of the jpeg-ladder (13 levels + clean: 16,800 variants) and the whole set (200,088) with
``--jobs`` = all cores, then, with a torchvision ResNet-50 (no weights, 6 classes, a ``python:``
model file), 224 centre crop, ImageNet mean/std, batch 256, channels-last, measures in order of
importance: forward-only img/s on tensors already on the GPU (AMP, fp32); the CPU decode pool
alone (no model: the ceiling of CPU decoding, channels-last vs CHW tiles); the GPU tests and
nvJPEG's pixels against the CPU decoder; on the whole set the evaluate loop (run.json, AMP and
fp32), the whole ``evaluate`` command (default
bootstrap, with run.json's phase timings), the GPU-decode loop and its agreement with the CPU
decode; ``evaluate --scheduler local:2`` with each Dask worker's phases; the subset loops. A
failing step is recorded and the rest go on; a step that would pass ``--budget`` (default
420 s) is skipped and says so. ``gpu_check.json`` and ``gpu_check.md`` go to ``--out``
(default ``$OUT``), rewritten after every step. ``--tiny``: the same steps on the CPU with a few
sources and a tiny model (a test runs it).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from degradebench._gpu_check_parts import decode_check, decode_scaling, gpu_tests, markdown

T0 = time.perf_counter()

RESNET_MODEL = '''"""ResNet-50 (torchvision, no weights, 6 classes): the model of the issue-16 GPU check."""
import torch
import torchvision


def build():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)  # the same random weights in every process
        model = torchvision.models.resnet50(weights=None, num_classes=6)
    cfg = {"input_size": [224, 224], "fit": "center_crop",
           "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    return model.eval(), cfg
'''

TINY_MODEL = '''"""A tiny CNN (6 classes) for gpu_check --tiny."""
import torch
from torch import nn


def build():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                              nn.Flatten(), nn.Linear(8, 6))
    cfg = {"input_size": [64, 64], "fit": "center_crop",
           "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    return model.eval(), cfg
'''


@dataclass(frozen=True)
class Sizes:
    """How big each part of the check is."""

    devices: int  # per camera model (6 models)
    images: int  # per device
    subset_limit: int  # sources per label in the subset
    batch: int
    device: str
    input_size: int
    iters: int  # timed forward-only iterations
    workers: int | None  # None: the runner's choice
    model_src: str


FULL = Sizes(2, 1191, 200, 256, "cuda", 224, 50, None, RESNET_MODEL)
TINY = Sizes(1, 2, 1, 16, "cpu", 64, 3, 0, TINY_MODEL)


def say(msg: str) -> None:
    print(f"[{time.perf_counter() - T0:6.1f} s] {msg}", flush=True)


def _tail(text: str, n: int = 1500) -> str:
    return text[-n:].strip()


class Report:
    """Results so far (``data``), rewritten to OUT after each step; steps run under a budget."""

    def __init__(self, out: Path, budget_s: float, args: dict):
        self.out = out
        self.budget = budget_s
        self.data: dict = {"args": args, "machine": {}, "steps": {}, "skipped": {}, "errors": {}}
        out.mkdir(parents=True, exist_ok=True)

    def left(self) -> float:
        return self.budget - (time.perf_counter() - T0)

    def step(self, name: str, fn, *args, estimate_s: float = 0.0, **kwargs):
        """Run ``fn``; record its result (a dict) or its error; skip it past the budget."""
        if estimate_s > self.left():
            why = f"needs ~{estimate_s:.0f} s, {max(self.left(), 0):.0f} s of the budget left"
            self.data["skipped"][name] = why
            say(f"SKIP {name}: {why}")
            self.save()
            return None
        say(f"{name} ...")
        t = time.perf_counter()
        try:
            res = fn(*args, **kwargs)
        except Exception as exc:  # one failing mode must not cost the others
            self.data["errors"][name] = f"{type(exc).__name__}: {_tail(str(exc))}"
            say(f"FAIL {name}: {type(exc).__name__}: {_tail(str(exc), 400)}")
            self.save()
            return None
        res = {**res, "step_seconds": round(time.perf_counter() - t, 2)}
        self.data["steps"][name] = res
        say(f"done {name}: {json.dumps(res, default=str)[:400]}")
        self.save()
        return res

    def save(self) -> None:
        from degradebench.generators.core.files import atomic_write_bytes

        self.data["elapsed_s"] = round(time.perf_counter() - T0, 1)
        atomic_write_bytes(self.out / "gpu_check.json",
                           (json.dumps(self.data, indent=1, default=str) + "\n").encode())
        atomic_write_bytes(self.out / "gpu_check.md", markdown(self.data).encode())


def machine_info(sizes: Sizes) -> dict:
    import torch

    info = {"python": sys.version.split()[0], "torch": torch.__version__,
            "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else
            os.cpu_count(), "cuda": torch.cuda.is_available()}  # fmt: skip
    try:
        import torchvision

        info["torchvision"] = torchvision.__version__
    except ImportError:
        info["torchvision"] = None
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def _run(cmd: list[str], timeout: float) -> tuple[float, str]:
    """Run a degradebench CLI command; (seconds, stderr). Raises with its output on failure."""
    t = time.perf_counter()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=max(timeout, 10), env=env)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[2:5])} exited {p.returncode}: "
                           f"{_tail(p.stderr + p.stdout)}")  # fmt: skip
    return time.perf_counter() - t, p.stderr


def _rows(out: Path) -> int:
    import pyarrow.dataset as pads

    return int(pads.dataset(str(out / "manifest"), format="parquet").count_rows())


def build_dataset(sizes: Sizes, root: Path, jobs: int, timeout: float) -> dict:
    cmd = [sys.executable, "-m", "degradebench", "build-dataset", "virtual-cameras", "--out",
           str(root), "--devices", str(sizes.devices), "--images", str(sizes.images), "--size",
           "256", "--jobs", str(jobs), "--quiet"]  # fmt: skip
    seconds, _ = _run(cmd, timeout)
    n = 6 * sizes.devices * sizes.images
    return {"images": n, "seconds": round(seconds, 2), "images_per_s": round(n / seconds, 1),
            "jobs": jobs}  # fmt: skip


def generate(config: Path, root: Path, out: Path, jobs: int, timeout: float,
             limit: int | None = None) -> dict:  # fmt: skip
    cmd = [sys.executable, "-m", "degradebench", "generate", "--config", str(config),
           "--dataset", str(root), "--suite", "jpeg-ladder", "--out", str(out), "--jobs",
           str(jobs), "--quiet"]  # fmt: skip
    if limit is not None:
        cmd += ["--limit", str(limit)]
    seconds, err = _run(cmd, timeout)
    line = next((ln for ln in err.splitlines() if "variants from" in ln), "")
    said = re.search(r"([\d,]+) variants from", line)
    n = int(said.group(1).replace(",", "")) if said else _rows(out)
    return {"variants": n, "seconds": round(seconds, 2), "variants_per_s": round(n / seconds, 1),
            "jobs": jobs, "summary": line.strip()}  # fmt: skip


def forward_only(model, sizes: Sizes, amp: bool) -> dict:
    """img/s of normalise + channels-last + the model's predict on uint8 tensors on the device."""
    import torch
    from degradebench.evaluators._fit import normalise

    dev = torch.device(sizes.device)
    model.to(dev)
    model.module.to(memory_format=torch.channels_last)
    gen = torch.Generator(device=dev).manual_seed(0)
    s = sizes.input_size
    x8 = torch.randint(0, 256, (sizes.batch, 3, s, s), generator=gen, device=dev,
                       dtype=torch.uint8)  # fmt: skip
    dtype = torch.float16 if dev.type == "cuda" else torch.bfloat16

    def once():
        x = normalise(x8, model.input_config).contiguous(memory_format=torch.channels_last)
        if amp:
            with torch.autocast(dev.type, dtype=dtype):
                return model.predict(x).float()
        return model.predict(x).float()

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    for _ in range(3):
        once()
    sync()
    t = time.perf_counter()
    for _ in range(sizes.iters):
        once()
    sync()
    seconds = time.perf_counter() - t
    n = sizes.iters * sizes.batch
    return {"images": n, "seconds": round(seconds, 3), "images_per_s": round(n / seconds, 1)}


def loop(model, manifest: Path, res: Path, sizes: Sizes, amp: bool, decode: str) -> dict:
    """One in-process ``degradebench.evaluate`` (no bootstrap): run.json's loop throughput."""
    import degradebench as db

    kw = {} if decode == "cpu" else {"decode": decode}
    t = time.perf_counter()
    r = db.evaluate(manifest, model, res, device=sizes.device, batch_size=sizes.batch, amp=amp,
                    channels_last=True, n_boot=0, progress=False, reuse=False,
                    workers=sizes.workers, **kw)  # fmt: skip
    wall = time.perf_counter() - t
    thr = r.run.get("throughput", {})
    cfg = r.run.get("config", {})
    out = {"images": thr.get("images"), "loop_seconds": round(thr.get("seconds", 0.0), 2),
           "loop_images_per_s": round(thr.get("images_per_s", 0.0), 1),
           "evaluate_call_seconds": round(wall, 2), "skipped_rows": r.run.get("skipped"),
           "config": {k: cfg.get(k) for k in ("decode", "workers", "resolved_device",
                                              "final_forward_batch", "amp") if k in cfg}}  # fmt: skip
    extra = {k: v for k, v in thr.items() if k not in ("images", "seconds", "images_per_s")}
    if extra:
        out["throughput_extra"] = extra
    return out


def agreement(a: Path, b: Path) -> dict:
    """Top-1 agreement and the largest probability difference between two results folders."""
    import numpy as np
    import pandas as pd

    pa_ = pd.read_parquet(a / "predictions.parquet", columns=["variant_id", "pred", "probs"])
    pb = pd.read_parquet(b / "predictions.parquet", columns=["variant_id", "pred", "probs"])
    m = pa_.merge(pb, on="variant_id", suffixes=("_a", "_b"))
    diff = np.abs(np.stack(m["probs_a"].to_numpy()) - np.stack(m["probs_b"].to_numpy()))
    return {"rows": len(m), "top1_agreement": round(float((m["pred_a"] == m["pred_b"]).mean()), 5),
            "max_abs_prob_diff": round(float(diff.max()), 5),
            "mean_abs_prob_diff": round(float(diff.mean()), 6)}  # fmt: skip


def cli_evaluate(spec: str, manifest: Path, res: Path, sizes: Sizes, amp: bool, decode: str,
                 timeout: float) -> dict:  # fmt: skip
    """The whole ``degradebench evaluate`` command in a subprocess, default bootstrap."""
    cmd = [sys.executable, "-m", "degradebench", "evaluate", "--manifest", str(manifest),
           "--model", spec, "--out", str(res), "--device", sizes.device, "--batch-size",
           str(sizes.batch), "--channels-last", "--no-progress"]  # fmt: skip
    cmd += ["--amp"] if amp else []
    cmd += ["--decode", decode] if decode != "cpu" else []
    cmd += ["--workers", str(sizes.workers)] if sizes.workers is not None else []
    seconds, err = _run(cmd, timeout)
    run = json.loads((res / "run.json").read_text(encoding="utf-8"))
    thr = run.get("throughput", {})
    n = int(thr.get("images") or 0)
    return {"images": n, "wall_seconds": round(seconds, 2),
            "images_per_s_wall": round(n / seconds, 1),
            "loop_images_per_s": round(thr.get("images_per_s", 0.0), 1),
            "seconds_total_in_run_json": run.get("seconds_total"),
            "workers": run.get("config", {}).get("workers"), "timings": run.get("timings"),
            "pipeline": thr.get("pipeline"), "stderr_tail": _tail(err, 600)}  # fmt: skip


def _est(n: int, rate: float | None, overhead: float, fallback: float) -> float:
    return n / rate + overhead if rate else fallback


def dask_evaluate(spec: str, manifest: Path, res: Path, sizes: Sizes, n: int,
                  timeout: float) -> dict:  # fmt: skip
    """``evaluate --scheduler local:N`` (AMP, decode cpu, no bootstrap) in a subprocess: wall
    time and run.json's per-worker phases (where each worker's time went)."""
    cmd = [sys.executable, "-m", "degradebench", "evaluate", "--manifest", str(manifest),
           "--model", spec, "--out", str(res), "--device", sizes.device, "--batch-size",
           str(sizes.batch), "--channels-last", "--amp", "--no-progress", "--bootstrap", "0",
           "--scheduler", f"local:{n}"]  # fmt: skip
    seconds, err = _run(cmd, timeout)
    run = json.loads((res / "run.json").read_text(encoding="utf-8"))
    d = run.get("distributed", {})
    images = int(run.get("throughput", {}).get("images") or 0)
    return {"workers": n, "images": images, "wall_seconds": round(seconds, 2),
            "images_per_s_wall": round(images / seconds, 1),
            "dask_seconds": d.get("seconds"), "dask_images_per_s": d.get("images_per_s"),
            "per_worker": d.get("per_worker"), "notes": d.get("notes"),
            "stderr_tail": _tail(err, 400)}  # fmt: skip


def _evaluations(rep: Report, model, spec: str, work: Path, sizes: Sizes, config: Path,
                 root: Path, jobs: int) -> None:  # fmt: skip
    """In order of importance, each under the budget: the CPU decode pool alone, the GPU tests
    (the new paths agree with the CPU), the whole set (generated here): its loops (AMP, fp32),
    its whole commands with their timings, its GPU-decode loop; the Dask run; subset loops."""
    cuda, full = sizes.device == "cuda", sizes is FULL
    fo = {p: (rep.data["steps"].get(f"forward_only_{p}") or {}).get("images_per_s")
          for p in ("amp", "fp32")}  # fmt: skip
    w = max(1, (os.cpu_count() or 2) - 1)
    rep.step("decode_scaling", decode_scaling, work / "subset", sizes.input_size, sizes.batch,
             [(w, True), (w, False), (max(1, w // 2), True)], 16384 if full else 64,
             estimate_s=10 if full else 1)  # fmt: skip
    if cuda:
        rep.step("pytest_gpu", gpu_tests, estimate_s=20)
        rep.step("decode_check", decode_check, work / "subset", estimate_s=5)
    whole = rep.step("generate_whole", generate, config, root, work / "whole", jobs,
                     min(rep.left(), 150), estimate_s=80 if full else 1)  # fmt: skip
    if whole:
        n = whole["variants"]
        for p in ("amp", "fp32"):
            rep.step(f"loop_whole_{p}_cpu", loop, model, work / "whole", work / "res" /
                     f"whole_{p}_cpu", sizes, p == "amp", "cpu",
                     estimate_s=_est(n, 0.8 * fo[p] if fo[p] else None, 6, 30))  # fmt: skip
        for p in ("amp", "fp32"):
            rep.step(f"command_whole_{p}_cpu", cli_evaluate, spec, work / "whole", work / "res" /
                     f"command_{p}_cpu", sizes, p == "amp", "cpu", rep.left(),
                     estimate_s=_est(n, 0.8 * fo[p] if fo[p] else None, 16, 40))  # fmt: skip
        if cuda:
            rep.step("loop_whole_amp_gpu", loop, model, work / "whole", work / "res" /
                     "whole_amp_gpu", replace(sizes, workers=8), True, "gpu",
                     estimate_s=_est(n, 0.5 * fo["amp"] if fo["amp"] else None, 6, 40))  # fmt: skip
            a, b = work / "res" / "whole_amp_cpu", work / "res" / "whole_amp_gpu"
            if (a / "predictions.parquet").is_file() and (b / "predictions.parquet").is_file():
                rep.step("agreement_whole_amp", agreement, a, b)
    if importlib.util.find_spec("distributed") is not None:
        rep.step("dask_subset_local2", dask_evaluate, spec, work / "subset", work / "res" /
                 "dask2", sizes, 2, max(rep.left(), 60), estimate_s=25 if cuda else 1)  # fmt: skip
    else:
        rep.data["skipped"]["dask_subset_local2"] = "distributed is not importable"
    for p in ("amp", "fp32"):  # start-up dominated at 16,800: comparable with earlier runs
        rep.step(f"loop_subset_{p}_cpu", loop, model, work / "subset",
                 work / "res" / f"subset_{p}_cpu", sizes, p == "amp", "cpu",
                 estimate_s=6 if full else 1)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 bench/gpu_check.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--out", type=Path, help="results folder (default: $OUT, else ./gpu_check_out)")
    ap.add_argument("--work", type=Path, help="scratch folder for data (default: a temp folder)")
    ap.add_argument("--tiny", action="store_true", help="a tiny CPU run that tests this script")
    ap.add_argument("--jobs", type=int, help="generation jobs (default: all cores)")
    ap.add_argument("--budget", type=float, help="seconds: steps that would end later are "
                    "skipped (default 420: with ~20 s of install, 440 s in all; --tiny 300)")  # fmt: skip
    args = ap.parse_args(argv)
    sizes = TINY if args.tiny else FULL
    out = args.out or Path(os.environ.get("OUT") or "gpu_check_out")
    work = args.work or Path(tempfile.mkdtemp(prefix="gpu_check_"))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    jobs = args.jobs or cpus or 1
    budget = args.budget or (300.0 if args.tiny else 420.0)
    import degradebench as db
    import degradebench.generators as gen

    rep = Report(out, budget, {"tiny": args.tiny, "jobs": jobs, "work": str(work),
                               "sizes": {k: v for k, v in asdict(sizes).items() if k != "model_src"}})
    rep.data["machine"] = machine_info(sizes)
    say(f"machine: {rep.data['machine']}; work: {work}; out: {out}")
    if sizes.device == "cuda" and not rep.data["machine"]["cuda"]:
        rep.data["errors"]["machine"] = "no CUDA device: run with --tiny on a CPU machine"
        rep.save()
        return 1
    config = Path(gen.__file__).parent / "datasets.yaml"
    root = work / "vc"
    if rep.step("build_dataset", build_dataset, sizes, root, jobs, min(rep.left(), 150)) is None:
        return 1
    if rep.step("generate_subset", generate, config, root, work / "subset", jobs, 90,
                sizes.subset_limit) is None:  # fmt: skip
        return 1
    spec = f"{work / 'gpu_check_model.py'}:build"
    (work / "gpu_check_model.py").write_text(sizes.model_src, encoding="utf-8")
    try:
        model = db.load_model(spec)
    except Exception as exc:  # e.g. no torchvision: nothing below can run
        rep.data["errors"]["load_model"] = f"{type(exc).__name__}: {_tail(str(exc))}"
        rep.save()
        return 1
    for p in ("amp", "fp32"):
        rep.step(f"forward_only_{p}", forward_only, model, sizes, p == "amp")
    _evaluations(rep, model, spec, work, sizes, config, root, jobs)
    rep.save()
    say("results: " + str(out / "gpu_check.json"))
    print(markdown(rep.data), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
