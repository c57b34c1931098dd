"""Parts of ``bench/gpu_check.py``: nvJPEG against the CPU decoder, the CPU decode pool alone,
the GPU tests, and the markdown table of the results. (Session 4's ``gpu_batches`` profile,
whose figures are in bench/RESULTS.md, is in the git history: commit 338ce4b.)"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["decode_check", "decode_scaling", "gpu_tests", "markdown"]


def _tail(text: str, n: int = 1500) -> str:
    return text[-n:].strip()


def _sync(dev) -> None:
    import torch

    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def decode_check(subset: Path, n: int = 256, device: str = "cuda") -> dict:
    """nvJPEG vs the CPU decoder on the subset's JPEG files, plus the GPU fit against the CPU fit."""
    import numpy as np
    import torch
    from degradebench.evaluators._fit import fit_image
    from degradebench.evaluators._gpu_decode import _decode_jpegs, fit_tensor
    from degradebench.evaluators._input_config import InputConfig
    from degradebench.evaluators._loader import decode_rgb
    from degradebench.generators import read_manifest

    m = read_manifest(subset)
    m = m[m["format"].astype(str) == "jpeg"].iloc[:: max(1, len(m) // n)].head(n)
    datas = [torch.from_numpy(np.fromfile(subset / p, dtype=np.uint8)) for p in m["path"]]
    dev = torch.device(device)
    t = time.perf_counter()
    gpu = _decode_jpegs(datas, dev)
    _sync(dev)
    first = time.perf_counter() - t
    t = time.perf_counter()
    gpu = _decode_jpegs(datas, dev)
    _sync(dev)
    again = time.perf_counter() - t
    diffs = []
    for d, g in zip(datas, gpu):
        cpu = decode_rgb(d.numpy().tobytes())
        diffs.append(np.abs(g.permute(1, 2, 0).cpu().numpy().astype(int) - cpu.astype(int)))
    allv = np.concatenate([x.ravel() for x in diffs])
    cfg = InputConfig(input_size=(224, 224), fit="center_crop")
    cpu0 = decode_rgb(datas[0].numpy().tobytes()).copy()
    same_fit = bool(np.array_equal(
        fit_tensor(torch.from_numpy(cpu0).permute(2, 0, 1)[None].to(dev), cfg)[0].cpu().numpy(),
        fit_image(cpu0, cfg)))  # fmt: skip
    return {"files": len(datas), "batched_decode_first_s": round(first, 4),
            "batched_decode_img_per_s": round(len(datas) / again, 1),
            "max_abs_pixel_diff": int(allv.max()), "mean_abs_pixel_diff": round(float(allv.mean()), 4),
            "share_pixels_differing": round(float((allv > 0).mean()), 4),
            "gpu_fit_equals_cpu_fit": same_fit}  # fmt: skip


def decode_scaling(subset: Path, size: int, batch: int, settings: list[tuple[int, bool]],
                   max_images: int = 16384) -> dict:  # fmt: skip
    """The CPU decode pool alone (read, sha256, decode, fit into the shared ring; no model, no
    GPU): images per second for each (workers, channels-last) setting, on the same first
    ``max_images`` rows of ``subset``: the ceiling the evaluate loop can reach with CPU decoding."""
    import pandas as pd
    from degradebench.evaluators._pipe_plan import row_bytes, slot_bytes
    from degradebench.evaluators._pipeline import DecodePool, SlabRing

    ds, plan = _subset_batches(subset, size, batch)
    plan = plan[: max(1, max_images // batch)]
    n_rows = sum(len(b) for b in plan)
    nbytes = slot_bytes(plan, row_bytes(pd.DataFrame(index=range(n_rows)), ds.cfg, 0))
    out: dict = {"images": n_rows, "settings": {}}
    for workers, hwc in settings:
        ring = SlabRing(max(2, workers + 3), nbytes, shared=workers > 0, pin=False)
        pool = DecodePool(ds, plan, ring, workers, hwc=hwc)
        t = time.perf_counter()
        try:
            for _, slot in pool:
                ring.release(slot)
        finally:
            pool.close()
        seconds = time.perf_counter() - t
        out["settings"][f"{workers}w_{'nhwc' if hwc else 'nchw'}"] = {
            "workers": workers, "hwc": hwc, "seconds": round(seconds, 3),
            "images_per_s": round(n_rows / seconds, 1),
            "per_worker_img_s": round(n_rows / seconds / max(workers, 1), 1)}  # fmt: skip
    return out


def _subset_batches(subset: Path, size: int, batch: int):
    from degradebench.evaluators._input_config import InputConfig
    from degradebench.evaluators._loader import VariantDataset
    from degradebench.generators import read_manifest

    m = read_manifest(subset)
    cfg = InputConfig(input_size=(size, size), fit="center_crop")
    ds = VariantDataset(subset, m["path"].tolist(), m["sha256"].tolist(), cfg)
    rows = list(range(len(m)))
    return ds, [rows[k : k + batch] for k in range(0, len(rows), batch)]


def gpu_tests(timeout: float = 120) -> dict:
    """The CUDA tests (nvJPEG, the slab ring and device-resident outputs vs CPU) on this machine."""
    root = Path(__file__).resolve().parents[1]
    files = [root / "tests" / f for f in ("test_gpu_decode.py", "test_eval_pipeline_speed.py",
                                          "test_evaluators_pipeline.py", "test_prefetch.py")]  # fmt: skip
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *map(str, files),
           "-m", "gpu", "-rs"]  # fmt: skip
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=root)
    if p.returncode != 0:
        raise RuntimeError(f"pytest exited {p.returncode}: {_tail(p.stdout + p.stderr, 3000)}")
    return {"summary": _tail(p.stdout, 300)}


def _fmt(step: dict | None, key: str, ref: float | None = None) -> str:
    if not step or step.get(key) is None:
        return "-"
    v = float(step[key])
    return f"{v:,.0f}" + (f" ({v / ref:.2f})" if ref else "")


def markdown(d: dict) -> str:
    """The figures as a markdown table (ratios to forward-only in brackets)."""
    s = d["steps"]
    mach = d.get("machine", {})
    lines = [f"GPU check on {mach.get('gpu', mach.get('cuda'))}, {mach.get('cpus')} CPUs, torch "
             f"{mach.get('torch')}, torchvision {mach.get('torchvision')}; "
             f"elapsed {d.get('elapsed_s')} s", "",
             "| img/s (ratio to forward-only) | AMP | fp32 |", "|---|---|---|"]  # fmt: skip
    fo = {p: (s.get(f"forward_only_{p}") or {}).get("images_per_s") for p in ("amp", "fp32")}
    lines.append(f"| forward only (tensors on the device) | {_fmt(s.get('forward_only_amp'), 'images_per_s')} | "
                 f"{_fmt(s.get('forward_only_fp32'), 'images_per_s')} |")  # fmt: skip
    for where in ("subset", "whole"):
        for dec in ("cpu", "gpu"):
            cells = [_fmt(s.get(f"loop_{where}_{p}_{dec}"), "loop_images_per_s", fo[p])
                     for p in ("amp", "fp32")]  # fmt: skip
            lines.append(f"| evaluate loop, {where}, decode {dec} | {cells[0]} | {cells[1]} |")
    for dec in ("cpu", "gpu"):
        cells = [_fmt(s.get(f"command_whole_{p}_{dec}"), "images_per_s_wall", fo[p])
                 for p in ("amp", "fp32")]  # fmt: skip
        if cells != ["-", "-"]:
            lines.append(f"| whole evaluate command (wall), decode {dec} | {cells[0]} | {cells[1]} |")
    scaling = (s.get("decode_scaling") or {}).get("settings") or {}
    if scaling:
        lines += ["", "| CPU decode pool alone (no model) | img/s | per worker |", "|---|---|---|"]
        lines += [f"| {k} | {v['images_per_s']:,.0f} | {v['per_worker_img_s']:,.0f} |"
                  for k, v in scaling.items()]  # fmt: skip
    for name in ("command_whole_amp_cpu", "command_whole_fp32_cpu"):
        if (s.get(name) or {}).get("timings"):
            lines.append(f"\n{name} timings (s): {json.dumps(s[name]['timings'])}")
    for w in (s.get("dask_subset_local2") or {}).get("per_worker") or []:
        ph = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in w.get("phases", {}).items()
              if k != "env"}  # fmt: skip
        lines.append(f"\nDask worker {w.get('worker')}: {w.get('images_per_s') or 0:,.0f} img/s; "
                     f"{json.dumps(ph, default=str)[:600]}")  # fmt: skip
    lines += ["", "| step | figures |", "|---|---|"]
    for name in ("build_dataset", "generate_subset", "generate_whole", "decode_check",
                 "agreement_subset_amp", "agreement_subset_fp32"):  # fmt: skip
        if name in s:
            lines.append(f"| {name} | {json.dumps(s[name], default=str)[:300]} |")
    for kind in ("skipped", "errors"):
        for name, why in d.get(kind, {}).items():
            lines.append(f"| {name} ({kind[:-1] if kind == 'errors' else 'skipped'}) | "
                         f"{why[:300].replace('|', '/')} |")  # fmt: skip
    return "\n".join(lines) + "\n"
