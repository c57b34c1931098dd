"""Parts of ``bench/gpu_check.py``: the GPU-only probes (nvJPEG against the CPU decoder,
``gpu_batches`` alone, the GPU tests) and the markdown table of the results."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["decode_check", "batches_alone", "gpu_tests", "markdown"]


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


def batches_alone(subset: Path, size: int, batch: int, device: str = "cuda") -> dict:
    """img/s of gpu_batches (read, sha256, decode, fit on the GPU) with no model."""
    import torch
    from degradebench.evaluators._gpu_decode import gpu_batches
    from degradebench.evaluators._input_config import InputConfig
    from degradebench.evaluators._loader import VariantDataset
    from degradebench.generators import read_manifest

    m = read_manifest(subset)
    cfg = InputConfig(input_size=(size, size), fit="center_crop")
    ds = VariantDataset(subset, m["path"].tolist(), m["sha256"].tolist(), cfg)
    rows = list(range(len(m)))
    batches = [rows[k : k + batch] for k in range(0, len(rows), batch)]
    t = time.perf_counter()
    n = 0
    for b in gpu_batches(ds, batches, torch.device(device)):
        n += len(b.index)
    _sync(torch.device(device))
    seconds = time.perf_counter() - t
    return {"images": n, "seconds": round(seconds, 2), "images_per_s": round(n / seconds, 1)}


def gpu_tests(timeout: float = 120) -> dict:
    """tests/test_gpu_decode.py on this machine (its nvJPEG test runs only where CUDA is)."""
    tests = Path(__file__).resolve().parents[1] / "tests" / "test_gpu_decode.py"
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", str(tests),
           "-k", "not tiny"]  # fmt: skip
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       cwd=tests.parents[1])  # fmt: skip
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
    lines += ["", "| step | figures |", "|---|---|"]
    for name in ("build_dataset", "generate_subset", "generate_whole", "decode_check",
                 "gpu_batches_alone", "agreement_subset_amp", "agreement_subset_fp32"):  # fmt: skip
        if name in s:
            lines.append(f"| {name} | {json.dumps(s[name], default=str)[:300]} |")
    for kind in ("skipped", "errors"):
        for name, why in d.get(kind, {}).items():
            lines.append(f"| {name} ({kind[:-1] if kind == 'errors' else 'skipped'}) | "
                         f"{why[:300].replace('|', '/')} |")  # fmt: skip
    return "\n".join(lines) + "\n"
