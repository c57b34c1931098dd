"""``evaluate --scheduler``: the manifest sharded by source across Dask workers.

One shard per worker: contiguous whole batches, balanced, cut where a source begins when a batch
boundary allows (:func:`shard_rows`: each image keeps its single-process batch, so CPU scores are
the same to the bit). A worker loads the model (its spec, checked against the weights hash here;
or the pickled ``Model`` when it has none), runs :func:`._runner.run_model` on its shard and
writes ``RESULTS/.shards/<key>/part-<ids>.npz`` atomically (rows, probabilities, tiles, extra
columns, errors, its figures). The main process merges the parts (rows become main-frame
positions), removes them and goes on as after a single-process run; a part left by a stopped run
with the same key and shard is reused. GPUs: ``local:N`` pins worker i to GPU i mod G
(``CUDA_VISIBLE_DEVICES`` before CUDA starts); on ``tcp://`` clusters, workers started with
``--resources GPU=1`` (one per GPU, each with its own ``CUDA_VISIBLE_DEVICES``) get one shard
each. Manifest and RESULTS must be at one path on every worker (a shared file system).
Localization models are refused (their maps are written by the main process).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import multiprocessing
import os
import re
import shutil
import socket
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from degradebench.generators.core.errors import ConfigError, DegradebenchError
from degradebench.generators.core.files import atomic_write_bytes, remove_temp_files

from ._dist_probe import PredictClock, environment, per_worker, restore_environ, worker_probe
from ._input_config import InputConfig
from ._reuse import weights_sha256
from ._runner import RunOutput, run_model
from .models import Model, ModelError, load_model

__all__ = ["SHARDS_DIR", "check_scheduler", "shard_rows", "run_distributed"]

SHARDS_DIR = ".shards"
_SCHEDULER = re.compile(r"^(local:\d+|(tcp|tls)://[^\s/]+:\d+/?|inproc://\S+)$")
# Manifest columns the workers never need (large per row); the rest travels with each shard.
_HEAVY = ("quant_tables", "chain", "axis_params", "prior_grid", "source_path")
_SPEC_KINDS = ("torchscript", "export", "onnx", "python", "builtin")


def check_scheduler(scheduler: Any, localization: bool = False) -> None:
    """Fail fast (before the manifest is read) on a bad ``--scheduler`` or a missing Dask
    (None: no scheduler, nothing to check)."""
    if scheduler is None:
        return
    if not isinstance(scheduler, str) or not _SCHEDULER.match(scheduler):
        raise ConfigError(
            "--scheduler: expected local:N (N Dask worker processes on this machine) or "
            f"tcp://HOST:PORT (a running Dask scheduler), got {scheduler!r}"
        )
    if scheduler.startswith("local:") and int(scheduler[6:]) < 1:
        raise ConfigError(f"--scheduler: local:N needs N >= 1 workers, got {scheduler!r}")
    if localization:
        raise ConfigError(
            f"--scheduler {scheduler}: a localization model (input config task: localization) "
            "runs in one process (its maps and overlays are written by the main process); drop "
            "--scheduler"
        )
    if importlib.util.find_spec("distributed") is None:
        raise ConfigError(
            f"--scheduler {scheduler}: needs dask.distributed; install it with: "
            "pip install 'degradebench[dask]'"
        )


def shard_rows(frame: pd.DataFrame, n: int, batch_size: int) -> list[np.ndarray]:
    """Positions of ``frame`` in at most ``n`` contiguous shards of whole batches (the batches a
    single-process run makes: ``batch_size`` consecutive rows), balanced by rows: each cut is
    one of the two batch boundaries around the even split, the one where a source begins when
    there is one (sources stay whole), else the nearer. Every image then meets the same batch
    companions as in a single-process run, so its scores are the same to the bit on CPU (a
    model's scores may depend on its batch)."""
    total, bs = len(frame), max(1, int(batch_size))
    if not total:
        return []
    n = max(1, min(int(n), -(-total // bs)))
    src = frame["source_id"].astype(str).to_numpy()
    starts = set(np.flatnonzero(np.r_[True, src[1:] != src[:-1]]).tolist())
    cuts = [0]
    for i in range(1, n):
        ideal = i * total / n
        around = [int(ideal // bs) * bs, int(ideal // bs) * bs + bs]
        cut = min([c for c in around if c in starts] or around, key=lambda c: abs(c - ideal))
        cuts.append(min(max(cut, cuts[-1]), total))
    cuts.append(total)
    return [np.arange(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


@dataclass(frozen=True)
class _ModelRef:
    """How a worker gets the model: its spec (loaded there) or None (the pickled Model)."""

    spec: str | None
    name: str
    input_config: InputConfig
    n_classes: int
    weights: str | None


def _worker_model(ref: _ModelRef, obj: Model | None) -> Model:
    if obj is not None:
        return obj
    model = load_model(ref.spec, name=ref.name).with_input_config(ref.input_config)
    hook = getattr(model.module, "configure_classes", None) if model.module is not None else None
    if callable(hook) and ref.input_config.classes is None:
        hook(ref.n_classes)  # as evaluate did in the main process
    got = weights_sha256(model)
    if ref.weights is not None and got != ref.weights:
        raise ModelError(
            f"model {ref.name!r}: spec {ref.spec!r} loads other weights on Dask worker "
            f"{socket.gethostname()} (sha256 {str(got)[:12]}) than in the main process "
            f"({ref.weights[:12]}); expected the same model everywhere: seed the factory's "
            "weights or load them from a file, or pass the loaded Model through the Python API"
        )
    return model


def _pin_gpu(gpu: str) -> bool:
    """Run on a local worker before any task: this worker sees only ``gpu``. Returns False when
    CUDA had already started there (then the pin cannot take effect)."""
    torch = sys.modules.get("torch")
    started = torch is not None and torch.cuda.is_initialized()
    os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    return not started


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


def _shard_task(ref: _ModelRef, obj: Model | None, frame: pd.DataFrame, root: str, part: str,
                run_kw: dict, submitted: float | None = None) -> dict:  # fmt: skip
    """On a worker: load the model, run the shard, write its part; returns the worker's figures
    (``phases``: where its time went, see :mod:`._dist_probe`)."""
    t0 = time.perf_counter()
    kw, notes = dict(run_kw), []
    if kw.get("workers") != 0 and multiprocessing.current_process().daemon:
        kw["workers"] = 0
        notes.append("decoding in the Dask worker's own process (a daemonic worker cannot start "
                     "decode processes; start workers with DASK_DISTRIBUTED__WORKER__DAEMON=False)")  # fmt: skip
    phases: dict = {"queued_s": time.time() - submitted if submitted else None,
                    "start_method_was": multiprocessing.get_start_method(allow_none=True)}  # fmt: skip
    if "fork" in multiprocessing.get_all_start_methods():
        # A Nanny's worker inherits "spawn": every decode process would start a fresh
        # interpreter and import torch again, per shard; fork them, as a single process does.
        multiprocessing.set_start_method("fork", force=True)
    model = _worker_model(ref, obj)
    load_s = time.perf_counter() - t0
    phases.update(worker_probe(model, frame, root, kw))
    clock = PredictClock(model)
    t = time.perf_counter()
    run = run_model(clock.model, frame, root, **kw)
    phases.update(clock.phases(t, time.perf_counter(), len(run.rows)))
    meta = {"worker": _worker_address(), "host": socket.gethostname(), "pid": os.getpid(),
            "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"), "device": run.device,
            "images": int(len(run.rows)), "errors": len(run.errors), "seconds": run.seconds,
            "images_per_s": run.images_per_s, "model_load_s": load_s,
            "decode_workers": run.workers, "final_forward_batch": run.final_forward_batch,
            "pipeline": getattr(run, "pipeline", {}), "notes": notes, "phases": phases}  # fmt: skip
    t = time.perf_counter()
    _write_part(Path(part), run, meta)
    meta["phases"]["write_s"] = time.perf_counter() - t
    meta["phases"]["task_s"] = time.perf_counter() - t0
    return meta


def _write_part(path: Path, run: RunOutput, meta: dict) -> None:
    arrays = {"rows": run.rows, "probs": run.probs, "n_tiles": run.n_tiles}
    objects = {}
    for k, v in run.extra.items():
        if v.dtype == object:
            objects[k] = [None if x is None else str(x) for x in v]
        else:
            arrays["extra." + k] = v
    doc = {"meta": meta, "errors": run.errors, "objects": objects}
    arrays["doc"] = np.frombuffer(json.dumps(doc, default=str).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def _read_part(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        doc = json.loads(z["doc"].tobytes().decode())
        extra = {k[6:]: z[k] for k in z.files if k.startswith("extra.")}
        extra.update({k: np.asarray(v, dtype=object) for k, v in doc["objects"].items()})
        return {"rows": z["rows"], "probs": z["probs"], "n_tiles": z["n_tiles"], "extra": extra,
                "errors": doc["errors"], "meta": doc["meta"]}  # fmt: skip


def _connect(scheduler: str):
    import dask
    import distributed  # noqa: F401  (loads its config defaults before the set below)
    from degradebench.generators import dask_client

    # Non-daemonic local workers may start decode processes of their own.
    with dask.config.set({"distributed.worker.daemon": False}):
        return dask_client(scheduler)


def _workers(client, scheduler: str) -> dict[str, dict]:
    """address -> resources of the connected workers (waits up to 60 s for one)."""
    try:
        client.wait_for_workers(1, timeout=60)
    except (TimeoutError, OSError) as exc:
        raise DegradebenchError(
            f"--scheduler {scheduler}: no Dask worker connected within 60 s ({exc}); start "
            f"workers with: dask worker {scheduler} --nthreads 1"
        ) from None
    try:
        info = client.scheduler_info(n_workers=-1)
    except TypeError:  # older distributed
        info = client.scheduler_info()
    return {a: dict(w.get("resources") or {}) for a, w in sorted(info["workers"].items())}


def _visible_gpus() -> list[str]:
    import torch

    if not torch.cuda.is_available():
        return []
    n = torch.cuda.device_count()
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    ids = [x.strip() for x in env.split(",") if x.strip()] if env else []
    return ids[:n] if ids else [str(i) for i in range(n)]


def _targets(client, scheduler: str, run_kw: dict) -> tuple[list[str], dict, dict]:
    """(worker addresses that get a shard, submit options, {worker: GPU}); pins local GPUs and
    adapts the per-worker device and decode workers."""
    workers = _workers(client, scheduler)
    gpu_workers = [a for a, r in workers.items() if float(r.get("GPU", 0)) >= 1]
    if gpu_workers:  # a tcp:// cluster whose workers declare --resources GPU=1
        return gpu_workers, {"resources": {"GPU": 1}}, {a: "resource GPU" for a in gpu_workers}
    addrs = list(workers)
    pins: dict[str, str] = {}
    if scheduler.startswith("local:"):
        if run_kw["device"] != "cpu":
            gpus = _visible_gpus()
            for i, addr in enumerate(addrs if gpus else []):
                pins[addr] = gpus[i % len(gpus)]
                ok = client.run(_pin_gpu, pins[addr], workers=[addr])[addr]
                if not ok:
                    print(f"degradebench evaluate: CUDA had already started on Dask worker "
                          f"{addr}; it may not be on GPU {pins[addr]}", file=sys.stderr)  # fmt: skip
            if pins and str(run_kw["device"]).startswith("cuda:"):
                run_kw["device"] = "cuda"  # each worker sees its one GPU as cuda:0
        if run_kw.get("workers") is None:  # share the cores: N workers, each model + decoders
            run_kw["workers"] = max(0, _cores() // len(addrs) - 1)
    return addrs, {}, pins


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _absolute_spec(spec: str) -> str:
    """A model file or ``file.py:function`` spec with an absolute path (workers may run in
    another folder); other specs as they are."""
    if Path(spec).is_file():
        return str(Path(spec).resolve())
    head, sep, tail = spec.rpartition(":")
    if sep and head.endswith(".py") and Path(head).is_file():
        return f"{Path(head).resolve()}:{tail}"
    return spec


def _model_ref(model: Model, n_classes: int) -> _ModelRef:
    """Built-in formats load from their spec on the workers; anything else (an in-memory
    module, a format registered at run time) travels pickled."""
    spec = _absolute_spec(model.spec) if model.kind in _SPEC_KINDS else None
    return _ModelRef(spec, model.name, model.input_config, n_classes, weights_sha256(model))


def _scatter_model(client, model: Model, ref: _ModelRef):
    if ref.spec is not None:
        return None
    try:
        return client.scatter(model, broadcast=True, hash=False)
    except Exception as exc:  # pickling errors come in many types
        raise ConfigError(
            f"model {model.name!r} ({model.spec}) cannot be sent to the Dask workers "
            f"({type(exc).__name__}: {exc}); load it from a spec string (a file, "
            "'package.module:function' or 'file.py:function') instead"
        ) from exc


def _part_path(shard_dir: Path, frame: pd.DataFrame, rows: np.ndarray) -> Path:
    ids = "\n".join(frame["variant_id"].astype(str).iloc[rows])
    return shard_dir / f"part-{hashlib.sha256(ids.encode()).hexdigest()[:20]}.npz"


def _shard_dir(out: Path, token: str) -> Path:
    """``RESULTS/.shards/<token>``; parts of other keys (stale, from older runs) removed."""
    base = out / SHARDS_DIR
    if base.is_dir():
        for entry in base.iterdir():
            if entry.name == token:
                continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
    shard_dir = base / token
    shard_dir.mkdir(parents=True, exist_ok=True)
    remove_temp_files(shard_dir, recursive=False)
    return shard_dir


def _submit(client, ref, obj, frame, root, shard_dir, shards, targets, opts, run_kw, token):
    """Futures of the shards to run, and the parts already there (a resumed run)."""
    futures, done = {}, {}
    cols = [c for c in frame.columns if c not in _HEAVY]
    for i, rows in enumerate(shards):
        part = _part_path(shard_dir, frame, rows)
        try:
            done[i] = _read_part(part)
            continue
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            part.unlink(missing_ok=True)  # none yet (or unreadable): run the shard
        target = targets[i % len(targets)]
        sub = frame[cols].iloc[rows].reset_index(drop=True)
        data = client.scatter(sub, workers=[target], hash=False)
        futures[client.submit(
            _shard_task, ref, obj, data, root, str(part), run_kw, time.time(), workers=[target],
            allow_other_workers=True, pure=False, key=f"degradebench-evaluate-{token}-{i}", **opts,
        )] = (i, part)  # fmt: skip
    return futures, done


def _merge(parts: list[dict], shards: list[np.ndarray], frame: pd.DataFrame, n_classes: int):
    """The parts -> (rows, probs, n_tiles, extra, errors) in main-frame positions and order."""
    rows = [shards[i][p["rows"].astype(np.int64)] for i, p in enumerate(parts)]
    all_rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    order = np.argsort(all_rows, kind="stable")
    probs = np.concatenate([p["probs"] for p in parts]) if parts else np.zeros((0, n_classes))
    tiles = np.concatenate([p["n_tiles"] for p in parts]) if parts else np.zeros(0, np.int64)
    keys = sorted({k for p in parts for k in p["extra"]})
    extra = {k: np.concatenate([p["extra"][k] for p in parts])[order] for k in keys}
    pos = {v: i for i, v in enumerate(frame["variant_id"].astype(str))}
    errors = sorted((e for p in parts for e in p["errors"]),
                    key=lambda e: pos.get(str(e["variant_id"]), -1))  # fmt: skip
    return (all_rows[order], probs[order].astype(np.float32), tiles[order], extra, errors)


def run_distributed(scheduler: str, model: Model, frame: pd.DataFrame, root: Path, out: Path,
                    token: str, run_kw: dict, progress: bool = True) -> tuple[RunOutput, dict]:  # fmt: skip
    """Run ``run_model(model, frame, root, **run_kw)`` sharded across the Dask workers of
    ``scheduler``: (the merged RunOutput, the ``distributed`` entry of run.json)."""
    check_scheduler(scheduler)
    run_kw = {**run_kw, "progress": False}
    out = Path(out).resolve()
    t0 = time.perf_counter()
    before = environment()
    client, cluster = _connect(scheduler)
    restore_environ(before)
    try:
        targets, opts, gpus = _targets(client, scheduler, run_kw)
        shards = shard_rows(frame, len(targets), int(run_kw.get("batch_size", 32)))
        ref = _model_ref(model, int(run_kw["n_classes"]))
        obj = _scatter_model(client, model, ref)
        shard_dir = _shard_dir(out, token)
        futures, done = _submit(client, ref, obj, frame, str(Path(root).resolve()), shard_dir,
                                shards, targets, opts, run_kw, token)  # fmt: skip
        if progress:
            print(f"degradebench evaluate: {len(frame)} variants in {len(shards)} shards on "
                  f"{len(targets)} Dask workers ({scheduler}); {len(done)} shards already "
                  "done", file=sys.stderr)  # fmt: skip
        _collect(futures, done, scheduler, progress)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    wall = time.perf_counter() - t0
    parts = [done[i] for i in range(len(shards))]
    rows, probs, tiles, extra, errors = _merge(parts, shards, frame, int(run_kw["n_classes"]))
    metas = [p["meta"] for p in parts]
    shutil.rmtree(shard_dir, ignore_errors=True)
    with contextlib.suppress(OSError):  # other keys' parts, if any, stay
        shard_dir.parent.rmdir()
    run = RunOutput(
        rows=rows, probs=probs, n_tiles=tiles, errors=errors, seconds=wall,
        images_per_s=len(rows) / wall if wall > 0 else float("nan"),
        device=",".join(sorted({m["device"] for m in metas})) or "cpu",
        batch_size=int(run_kw.get("batch_size", 0)),
        final_forward_batch=min((m["final_forward_batch"] for m in metas), default=0),
        amp=bool(run_kw.get("amp")), workers=max((m["decode_workers"] for m in metas), default=0),
        channels_last=bool(run_kw.get("channels_last")), extra=extra,
        **_pipeline_fields(run_kw, metas),
    )  # fmt: skip
    info = {"scheduler": scheduler, "dask_workers": len(targets), "shards": len(shards),
            "shards_reused": len(shards) - len(futures), "gpu_resource": bool(opts),
            "gpus": gpus, "seconds": wall, "images_per_s": run.images_per_s,
            "per_worker": per_worker(metas),
            "notes": sorted({n for m in metas for n in m["notes"]})}  # fmt: skip
    return run, info


def _pipeline_fields(run_kw: dict, metas: list[dict]) -> dict:
    """RunOutput's ``decode`` and ``pipeline`` (each shard's record), where it has them."""
    have = getattr(RunOutput, "__dataclass_fields__", {})
    out = {"decode": run_kw.get("decode", "cpu"),
           "pipeline": {"shards": [m.get("pipeline", {}) for m in metas]}}  # fmt: skip
    return {k: v for k, v in out.items() if k in have}


def _collect(futures: dict, done: dict, scheduler: str, progress: bool) -> None:
    """Wait for every shard; read each part as it lands (a worker's exception is re-raised)."""
    from distributed import as_completed

    for fut in as_completed(list(futures)):
        i, part = futures[fut]
        meta = fut.result()
        try:
            done[i] = _read_part(part)
            late = {k: v for k, v in meta.get("phases", {}).items() if k in ("write_s", "task_s")}
            done[i]["meta"].setdefault("phases", {}).update(late)  # timed after the part
        except OSError:
            raise DegradebenchError(
                f"--scheduler {scheduler}: Dask worker {meta['worker']} on {meta['host']} wrote "
                f"{part}, which this machine cannot read; --out (and the manifest) must be at "
                "the same path on every worker (a shared file system)"
            ) from None
        if progress:
            print(f"degradebench evaluate: shard {i + 1}: {meta['images']} variants on "
                  f"{meta['worker']} ({meta['images_per_s']:.1f} images/s)", file=sys.stderr)  # fmt: skip
