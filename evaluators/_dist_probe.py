"""Where a Dask worker's time goes: ``run.json``'s ``distributed.per_worker[].phases``.

Before its shard, a worker records its environment (the thread and malloc variables a Dask
Nanny sets, torch's threads, the start method its decode processes get, its cores), starts CUDA
(``cuda_init_s``), moves the model (``model_to_device_s``), decodes a few rows in its own
process (``decode_images_per_second``: one decode worker's rate there) and times the forward
pass on a batch of them (``first_forward_probe_s`` cold, then ``forward_images_per_second``
warm; this is also the warm-up the loop would otherwise pay). During the shard, the model's
``predict`` is clocked: ``to_first_batch_s`` (decode pool start and the first batch),
``first_forward_s`` (the first forward, synchronised), ``rest_s`` and
``rest_images_per_second`` (the loop after it). A probe that fails is recorded, never fatal.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from dataclasses import replace

import numpy as np
import pandas as pd
import torch

from ._fit import normalise
from ._loader import VariantDataset, cpu_cores
from ._pipeline import fill_batch
from ._runner import resolve_device
from .models import Model

__all__ = ["ENV_KEYS", "environment", "restore_environ", "worker_probe", "PredictClock",
           "per_worker"]  # fmt: skip

ENV_KEYS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MALLOC_TRIM_THRESHOLD_",
            "PYTHONHASHSEED", "CUDA_VISIBLE_DEVICES", "CUDA_MODULE_LOADING")  # fmt: skip


def environment() -> dict:
    """The variables of :data:`ENV_KEYS` (None: unset)."""
    return {k: os.environ.get(k) for k in ENV_KEYS}


def restore_environ(before: dict) -> None:
    """A Nanny sets its workers' OMP_NUM_THREADS=1, MALLOC_TRIM_THRESHOLD_ ... in this
    process's environment before spawning them: put this process's own values back (processes
    it starts later must not inherit the workers' settings)."""
    for k, v in before.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def _forward_probe(model: Model, tiles: np.ndarray, dev: torch.device, kw: dict) -> dict:
    n = int(kw.get("batch_size", 32)) if dev.type == "cuda" else min(int(kw.get("batch_size", 8)), 8)
    x8 = torch.from_numpy(tiles).to(dev)
    x8 = x8[torch.arange(n, device=dev) % len(x8)]

    def once():
        x = normalise(x8, model.input_config)
        if kw.get("channels_last"):
            x = x.contiguous(memory_format=torch.channels_last)
        if kw.get("amp"):
            dtype = torch.float16 if dev.type == "cuda" else torch.bfloat16
            with torch.autocast(dev.type, dtype=dtype):
                return model.predict(x)
        return model.predict(x)

    t = time.perf_counter()
    once()
    _sync(dev)
    cold = time.perf_counter() - t
    reps = 3 if dev.type == "cuda" else 1
    t = time.perf_counter()
    for _ in range(reps):
        once()
    _sync(dev)
    warm = time.perf_counter() - t
    return {"first_forward_probe_s": cold, "forward_images_per_second": n * reps / warm}


def worker_probe(model: Model, frame: pd.DataFrame, root: str, kw: dict) -> dict:
    """The worker's environment, CUDA start, model move, decode and forward rates (see the
    module docstring); ``probe_error`` when a probe failed."""
    out: dict = {"env": environment(), "torch_threads": torch.get_num_threads(),
                 "start_method": multiprocessing.get_start_method(allow_none=True),
                 "cores": cpu_cores(), "daemon": multiprocessing.current_process().daemon,
                 "cuda_initialized_before": torch.cuda.is_initialized()}  # fmt: skip
    try:
        dev = resolve_device(str(kw.get("device", "auto")))
        t = time.perf_counter()
        if dev.type == "cuda":
            torch.cuda.init()
            torch.zeros(1, device=dev)
            _sync(dev)
        out["cuda_init_s"] = time.perf_counter() - t
        t = time.perf_counter()
        model.to(dev)
        if kw.get("channels_last") and model.module is not None:
            model.module.to(memory_format=torch.channels_last)
        _sync(dev)
        out["model_to_device_s"] = time.perf_counter() - t
        rows = frame.head(8)
        sha = rows["sha256"].tolist() if kw.get("check_hash", True) and "sha256" in rows else None
        ds = VariantDataset(root, rows["path"].tolist(), sha, model.input_config)
        t = time.perf_counter()
        meta = fill_batch(ds, range(len(rows)), np.empty(0, np.uint8))  # tiles come back inline
        took = time.perf_counter() - t
        if meta["index"] and took > 0:
            out["decode_images_per_second"] = len(meta["index"]) / took
            out.update(_forward_probe(model, meta["inline"], dev, kw))
    except Exception as exc:  # the shard itself will say what is wrong, with its ids
        out["probe_error"] = f"{type(exc).__name__}: {exc}"[:300]
    return out


class PredictClock:
    """``model`` with a clocked ``predict`` (``self.model``): the first call synchronised and
    timed, the others only counted."""

    def __init__(self, model: Model):
        self.first: tuple[float, float, int] | None = None  # start, end, inputs
        self.calls = 0
        self.last_end = 0.0
        fn = model.predict_fn

        def clocked(x: torch.Tensor):
            if self.first is None:
                t = time.perf_counter()
                out = fn(x)
                if isinstance(x, torch.Tensor) and x.is_cuda:
                    torch.cuda.synchronize(x.device)
                self.first = (t, time.perf_counter(), len(x))
            else:
                out = fn(x)
            self.calls += 1
            self.last_end = time.perf_counter()
            return out

        self.model = replace(model, predict_fn=clocked)

    def phases(self, start: float, end: float, images: int) -> dict:
        """The loop's phases, for a ``run_model`` from ``start`` to ``end`` of ``images``."""
        if self.first is None:
            return {"loop_s": end - start, "forward_calls": 0}
        t0, t1, n = self.first
        rest = end - t1
        return {"loop_s": end - start, "to_first_batch_s": t0 - start, "first_forward_s": t1 - t0,
                "rest_s": rest, "rest_images_per_second": (images - n) / rest if rest > 0 else None,
                "forward_calls": self.calls, "after_last_forward_s": end - self.last_end}  # fmt: skip


def per_worker(metas: list[dict]) -> list[dict]:
    """The workers' figures summed over their shards (throughput = images / model-loop time);
    ``phases``: seconds (``*_s``) summed, the rest from the worker's first shard."""
    by: dict[str, dict] = {}
    for m in metas:
        w = by.setdefault(m["worker"], {"worker": m["worker"], "host": m["host"],
                                        "gpu": m["cuda_visible_devices"], "device": m["device"],
                                        "shards": 0, "images": 0, "errors": 0, "seconds": 0.0,
                                        "model_load_s": 0.0, "decode_workers": m["decode_workers"],
                                        "phases": {}})  # fmt: skip
        w["shards"] += 1
        for k in ("images", "errors", "seconds", "model_load_s"):
            w[k] += m[k]
        ph = w["phases"]
        for k, v in (m.get("phases") or {}).items():
            add = k.endswith("_s") and isinstance(v, (int, float)) and isinstance(ph.get(k), float)
            ph[k] = ph[k] + v if add else ph.get(k, v)
    for w in by.values():
        w["images_per_s"] = w["images"] / w["seconds"] if w["seconds"] > 0 else None
    return sorted(by.values(), key=lambda w: w["worker"])
