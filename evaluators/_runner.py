"""Run a model over manifest rows: batches in, per-variant probabilities out.

Handles the device (auto | cuda | cpu), mixed precision, a forward batch that halves on CUDA
out-of-memory and stays halved, tile averaging, and checks every output (shape, finiteness,
probability rows) so a faulty model stops with a message that names it and the batch.

The loop runs at the speed of the model: batches are decoded by worker processes into a ring
of preallocated shared (on CUDA page-locked) slabs (:mod:`._pipeline`), copied to the device
asynchronously on a side stream, and the outputs stay on the device, checked and copied back a
chunk at a time (:mod:`._pipe_outputs`): no per-batch wait for the device. ``decode="gpu"``
decodes JPEG files on the GPU (:mod:`._gpu_decode`, needs torchvision). The number of decode
workers, when not given, comes from the measured decode and forward rates (:mod:`._pipe_plan`).
A localization model's maps are checked, brought to each image's size and scored per image as
each batch arrives (:mod:`._localize`); only the per-image figures are kept.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd
import torch
from degradebench.generators.core.errors import ConfigError
from degradebench.generators.manifest.memory import HeapTrim
from tqdm import tqdm

from ._fit import normalise
from ._loader import MaskSpec, VariantDataset, cpu_cores
from ._localize import LocalizeSpec, as_parts, cat_parts, localize_batch
from ._pipe_outputs import (
    Outputs,
    bad_flag,
    check_shape,
    ids_text,
    image_probs,
    regression_values,
)
from ._pipe_plan import choose_workers, row_bytes, row_plan, slot_bytes
from ._pipeline import RING_BYTES, DecodePool, SlabRing, fill_batch
from .models import Model, ModelError

__all__ = ["RunOutput", "run_model", "resolve_device", "DECODERS"]

DECODERS = ("cpu", "gpu")


@dataclass
class RunOutput:
    """Per-row results of one model over a manifest (rows that failed are in ``errors``)."""

    rows: np.ndarray  # positions (into the given manifest frame) that produced scores
    probs: np.ndarray  # [N, C] float32
    n_tiles: np.ndarray  # [N]
    errors: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    images_per_s: float = 0.0
    device: str = "cpu"
    batch_size: int = 0
    final_forward_batch: int = 0
    amp: bool = False
    workers: int = 0
    channels_last: bool = False
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # per-row columns (localization)
    decode: str = "cpu"  # where JPEG files were decoded: cpu (worker processes) or gpu
    # how the loop was fed: workers and why, measured decode/forward rates, ring slots (run.json)
    pipeline: dict = field(default_factory=dict)


def resolve_device(device: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without CUDA is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda: CUDA is not available here; use --device cpu or auto")
        return torch.device(device)
    if device == "cpu":
        return torch.device("cpu")
    raise ConfigError(f"--device: must be auto, cuda, cuda:N or cpu, got {device!r}")


class _Forward:
    """Forward pass in chunks; on CUDA out-of-memory the chunk halves and stays halved."""

    def __init__(self, model: Model, amp: bool, device: torch.device, localize: bool = False):
        self.model = model
        self.localize = localize
        self.chunk: int | None = None  # None: the whole loader batch in one forward pass
        self.amp = amp
        self.device = device
        self.halvings = 0

    def __call__(self, x: torch.Tensor):
        """Scores ``[N, C]`` (or, for localization, ``{"map": ..., "score": ...}``)."""
        outs = []
        i = 0
        while i < len(x):
            part = x[i : i + self.chunk] if self.chunk else x[i:]
            try:
                if self.amp:
                    dtype = torch.float16 if self.device.type == "cuda" else torch.bfloat16
                    with torch.autocast(self.device.type, dtype=dtype):
                        out = self.model.predict(part)
                else:
                    out = self.model.predict(part)
            except torch.OutOfMemoryError:
                if len(part) == 1:
                    msg = f"model {self.model.name!r}: out of memory even with a batch of 1 image"
                    raise ModelError(msg) from None
                self.chunk = max(1, len(part) // 2)
                self.halvings += 1
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                print(
                    f"degradebench evaluate: out of memory; forward batch halved to {self.chunk}",
                    file=sys.stderr,
                )
                continue
            outs.append(as_parts(out, self.model.name) if self.localize else _scores_of(out))
            i += len(part)
        if self.localize:
            return cat_parts(outs)
        return torch.cat(outs) if outs else torch.empty((0, 0))


def _scores_of(out) -> torch.Tensor:
    if not isinstance(out, torch.Tensor):
        # Some modules return (logits, aux); the first tensor is the scores.
        if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
            out = out[0]
        elif isinstance(out, Mapping):
            keys = sorted(map(str, out))
            raise TypeError(f"returned a dict with keys {keys}, not a tensor (a model returning "
                            "maps needs task: localization in its input config)")  # fmt: skip
        else:
            raise TypeError(f"returned {type(out).__name__}, not a tensor; expected a tensor "
                            "[N, C] of class scores ([N] or [N, 1] for a numeric --target), or, "
                            "with task: localization in the input config, a map [N, 1, h, w] / "
                            "[N, h, w] or {'score': [N], 'map': [N, 1, h, w]}")  # fmt: skip
    return out.float()


def _score(batch, model: Model, forward: _Forward, dev, n_classes: int, ids, channels_last: bool,
           regression: bool = False, localize: LocalizeSpec | None = None):  # fmt: skip
    """One batch -> (per-image values, raw output, bad flag), all on the device and unchecked
    but for the shape (localization: the per-image columns of :mod:`._localize`, checked);
    every failure named with the batch's ids (``ids()``: computed only when needed)."""
    cfg = model.input_config
    n = len(batch.index)
    x = normalise(batch.tiles.to(dev, non_blocking=True), cfg)
    # Tiles may arrive channels last (:func:`_batches`); the model gets the layout it asked for,
    # so the numbers do not depend on how the workers laid out the bytes.
    layout = torch.channels_last if channels_last else torch.contiguous_format
    x = x.contiguous(memory_format=layout)
    try:
        out = forward(x)
    except ModelError as exc:
        if "variant ids" in str(exc):
            raise
        # e.g. out of memory at one image: say which images
        raise ModelError(f"{exc} (a batch of {n} images, variant ids: {ids_text(ids())})") from exc
    except Exception as exc:
        want = (f"a map [{len(x)}, 1, h, w] or {{'score', 'map'}}" if localize is not None
                else f"scores [{len(x)}, {n_classes}]")  # fmt: skip
        msg = (
            f"model {model.name!r} raised {type(exc).__name__}: {exc} on a batch of "
            f"{n} images (variant ids: {ids_text(ids())}); expected input "
            f"[{len(x)}, 3, {x.shape[2]}, {x.shape[3]}] float -> {want}"
        )
        raise ModelError(msg) from exc
    if localize is not None:
        return localize_batch(out, batch, model, ids(), localize)
    counts = batch.counts.numpy()
    if regression:
        vals = regression_values(out, counts, model, ids)
        return vals, out, ~torch.isfinite(out).all()
    check_shape(out, len(x), n_classes, model, ids)
    return image_probs(out, counts, cfg), out, bad_flag(out, cfg.output)


def _dataset(model: Model, manifest: pd.DataFrame, root, check_hash: bool,
             localize: LocalizeSpec | None) -> VariantDataset:  # fmt: skip
    sha = manifest["sha256"].tolist() if check_hash and "sha256" in manifest else None
    masks = None
    if localize is not None:
        paths = (
            manifest["mask_path"].tolist() if "mask_path" in manifest else [None] * len(manifest)
        )
        mask_sha = (manifest["mask_sha256"].tolist()
                    if check_hash and "mask_sha256" in manifest else None)  # fmt: skip
        masks = MaskSpec(paths, mask_sha)
    return VariantDataset(root, manifest["path"].tolist(), sha, model.input_config, masks)


def _take(values: list[str], index: np.ndarray) -> list[str]:
    return [values[i] for i in index]


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def _probe(ds: VariantDataset, plan: list) -> dict:
    """Decode rate of one worker (a few rows decoded and fitted here), and the fitted shape."""
    rows = list(plan[0])[:8]
    t = time.perf_counter()
    meta = fill_batch(ds, rows, np.empty(0, np.uint8))  # tiles come back inline
    took = time.perf_counter() - t
    n_ok = len(meta["index"])
    h, w = meta["shape"] or (0, 0)
    return {"decode_img_s_per_worker": n_ok / took if n_ok and took > 0 else None,
            "forward_img_s": None,
            "row_bytes": max(meta["counts"]) * 3 * h * w if n_ok else None,
            "tiles_per_image": sum(meta["counts"]) / n_ok if n_ok else None,
            "tile_shape": (h, w) if n_ok else None}  # fmt: skip


def _forward_probe(info: dict, ds: VariantDataset, forward: _Forward, dev: torch.device,
                   batch_size: int, channels_last: bool) -> None:  # fmt: skip
    """The model's forward rate on a zero batch of the fitted shape (timed after a warm-up on
    CUDA) into ``info``; on CUDA also the warm-up of the kernels the first batch would pay."""
    if not info.get("tile_shape"):
        return
    h, w = info["tile_shape"]
    n_img = min(batch_size, len(ds)) if dev.type == "cuda" else min(batch_size, 8)
    x = torch.zeros((max(1, round(n_img * info["tiles_per_image"])), 3, h, w), dtype=torch.uint8,
                    device=dev)  # fmt: skip
    try:
        for _ in range(2 if dev.type == "cuda" else 1):  # the first CUDA call warms up
            _sync(dev)
            t = time.perf_counter()
            xin = normalise(x, ds.cfg)
            forward(xin.contiguous(memory_format=torch.channels_last) if channels_last else xin)
            _sync(dev)
            took = time.perf_counter() - t
        info["forward_img_s"] = n_img / took if took > 0 else None
    except Exception as exc:  # the real batches will say what is wrong, with their ids
        info["forward_probe_error"] = f"{type(exc).__name__}: {exc}"[:200]


def _on_device(pool: DecodePool, ring: SlabRing, dev: torch.device):
    """The pool's batches with tiles on ``dev``: on CUDA copied ``non_blocking`` from the
    page-locked slot on a side stream (overlapping the forward), the slot handed back with the
    copy's event; on CPU the slot is handed back when the next batch is asked for."""
    stream = torch.cuda.Stream(dev) if dev.type == "cuda" else None
    for batch, slot in pool:
        if stream is None:
            yield batch
            ring.release(slot)
            continue
        with torch.cuda.stream(stream):
            tiles = batch.tiles.to(dev, non_blocking=True)
            done = torch.cuda.Event()
            done.record(stream)
        ring.release(slot, done)
        current = torch.cuda.current_stream(dev)
        current.wait_event(done)
        tiles.record_stream(current)
        batch.tiles = tiles
        yield batch


def _workers(workers: int | None, ds, plan, forward, dev, batch_size, channels_last) -> dict:
    """The decode worker count (given, or chosen from the measured rates) and its record. With
    the model on a GPU the forward rate is not needed for the choice (every core but one
    decodes); it is measured once the workers run (:func:`_forward_probe`, the warm-up)."""
    if workers is not None:
        return {"workers": int(workers), "workers_chosen": "given"}
    if not plan:
        return {"workers": 0, "workers_chosen": "measured", "why": "no rows"}
    cores = cpu_cores()
    info = _probe(ds, plan)
    gpu = dev.type == "cuda"
    if not gpu and min(cores - 1, 16) > 1 and len(plan) > 1:
        _forward_probe(info, ds, forward, dev, batch_size, channels_last)
    n, why = choose_workers(info["decode_img_s_per_worker"], info["forward_img_s"], cores=cores,
                            n_batches=len(plan), device_bound=gpu)  # fmt: skip
    return {**info, "workers": n, "workers_chosen": "measured", "why": why, "cores": cores}


def _gpu_batches(ds, plan, dev, cfg, threads: int):
    try:
        from ._gpu_decode import gpu_batches, gpu_decode_problem
    except ImportError as exc:
        raise ConfigError(f"--decode gpu: GPU decoding is not available in this installation "
                          f"({exc}); use --decode cpu") from exc  # fmt: skip
    problem = gpu_decode_problem(cfg, dev)
    if problem:
        raise ConfigError(f"--decode gpu: {problem}")
    return gpu_batches(ds, [list(b) for b in plan], dev, threads=threads)


def _batches(ds, manifest, plan, dev, decode: str, pipe: dict, channels_last: bool):
    """(iterator of batches with tiles on ``dev``, pool or None to close)."""
    cfg = ds.cfg
    if decode == "gpu":
        return _gpu_batches(ds, plan, dev, cfg, pipe["workers"] or 8), None
    unknown = pipe.get("row_bytes") or 3 * int(cfg.input_size[0]) * int(cfg.input_size[1])
    nbytes = min(slot_bytes(plan, row_bytes(manifest, cfg, unknown)), RING_BYTES // 2)
    w = pipe["workers"]
    slots = 2 if w == 0 else max(2, min(w + 3, RING_BYTES // nbytes))
    ring = SlabRing(slots, nbytes, shared=w > 0, pin=dev.type == "cuda")
    # Channels last (HWC) when the model takes it or the model is on a GPU (which transposes
    # for free): a worker then copies tile rows instead of transposing (~10% of its time).
    hwc = channels_last or dev.type == "cuda"
    pipe.update(slots=slots, slot_mb=round(nbytes / 2**20, 3), pinned=ring.pinned,
                layout="NHWC" if hwc else "NCHW")  # fmt: skip
    pool = DecodePool(ds, plan, ring, w, hwc=hwc)
    return _on_device(pool, ring, dev), pool


def _feed(ds, manifest, plan, forward, dev, decode: str, workers, batch_size: int,
          channels_last: bool):  # fmt: skip
    """(batches on ``dev``, pool or None, the pipeline's record): the decode workers chosen
    and started; on CUDA the model's warm-up (:func:`_forward_probe`) runs while they decode
    the first batches."""
    if decode == "cpu":
        pipe = {"decode": decode, **_workers(workers, ds, plan, forward, dev, batch_size,
                                             channels_last)}  # fmt: skip
    else:
        pipe = {"decode": decode, "workers": workers,
                "workers_chosen": "given" if workers else "default"}  # fmt: skip
    batches, pool = _batches(ds, manifest, plan, dev, decode, pipe, channels_last)
    if dev.type == "cuda" and pipe.get("tile_shape") and pipe.get("forward_img_s") is None:
        if pool is not None:
            pool.start()
        _forward_probe(pipe, ds, forward, dev, batch_size, channels_last)
    for k in ("tiles_per_image", "tile_shape"):  # the probe's, for the warm-up only
        pipe.pop(k, None)
    return batches, pool, pipe


def run_model(
    model: Model,
    manifest: pd.DataFrame,
    root,
    *,
    n_classes: int,
    device: str = "auto",
    batch_size: int = 32,
    workers: int | None = None,
    amp: bool = False,
    check_hash: bool = True,
    progress: bool = True,
    channels_last: bool = False,
    regression: bool = False,
    localize: LocalizeSpec | None = None,
    decode: str = "cpu",
) -> RunOutput:
    """Score every manifest row with ``model``; failures per file land in ``errors``.

    With ``regression`` the model returns one number per image (``[N]`` or ``[N, 1]``) and
    ``probs`` holds it as ``[N, 1]`` (no softmax). With ``localize`` (a localization model) the
    loader reads each variant's mask, and ``extra`` holds the per-image columns of
    :data:`._localize.LOCALIZATION_COLUMNS` (``probs`` is ``[N, 0]``). Rows come back in manifest
    order. ``workers``: decode processes (None: chosen from the measured rates, recorded in
    ``pipeline``); ``decode``: ``cpu`` (worker processes) or ``gpu`` (JPEG decoded on the GPU;
    ``workers`` is then its reader threads).

    Raises:
        ModelError: the model raised, returned NaN/inf, or the wrong shape.
        ConfigError: ``decode`` is unknown, or ``gpu`` cannot run here (the reason says why).
    """
    if decode not in DECODERS:
        raise ConfigError(f"--decode: must be cpu or gpu, got {decode!r}")
    dev = resolve_device(device)
    model.to(dev)
    if channels_last and model.module is not None:
        # NHWC convolutions: about 1.6x faster on CPU; scores differ from NCHW by float rounding.
        model.module.to(memory_format=torch.channels_last)
    ds = _dataset(model, manifest, root, check_hash, localize)
    plan = row_plan(manifest, model.input_config.fit, batch_size)
    forward = _Forward(model, amp, dev, localize=localize is not None)
    variant_ids = manifest["variant_id"].astype(str).tolist()
    paths = manifest["path"].tolist()
    got = Outputs(model, regression, ids_of=lambda idx: [variant_ids[i] for i in idx])
    errors: list[dict] = []
    bar = tqdm(total=len(ds), unit="img", desc=f"evaluate {model.name}", disable=not progress,
               file=sys.stderr, dynamic_ncols=True)  # fmt: skip
    t0 = time.perf_counter()
    batches, pool, pipe = _feed(ds, manifest, plan, forward, dev, decode, workers, batch_size,
                                channels_last)  # fmt: skip
    first = None
    # Each batch allocates large temporaries that glibc serves from its heap; freed, they
    # fragment it and RSS grew with the batches (bench/scale.py: ~9 KB per variant, 0.5 ->
    # 2.2 GB from 2k to 200k variants). Trimming every half second keeps it flat.
    trim = HeapTrim(every=0.5)
    try:
        for batch in batches:
            first = first or time.perf_counter()
            trim()
            errors += [{"variant_id": variant_ids[pos], "path": paths[pos], "stage": stage,
                        "message": message} for pos, stage, message in batch.errors]  # fmt: skip
            if len(batch.index):
                index = batch.index.numpy()
                ids = partial(_take, variant_ids, index)
                out = _score(batch, model, forward, dev, n_classes, ids, channels_last,
                             regression, localize)  # fmt: skip
                if localize is not None:
                    got.add_columns(index, batch.counts.numpy(), out)
                else:
                    got.add(index, batch.counts.numpy(), *out)
            bar.update(len(batch.index) + len(batch.errors))
        rows, probs, n_tiles, extra = got.arrays(n_classes)
    finally:
        bar.close()
        if pool is not None:
            pool.close()
    seconds = time.perf_counter() - t0
    pipe["first_batch_s"] = round(first - t0, 3) if first else None
    if pool is not None:
        pipe["decode_wait_s"] = round(pool.waited, 3)  # > 0 at speed: decode-bound
    return RunOutput(
        rows=rows,
        probs=probs,
        n_tiles=n_tiles,
        errors=errors,
        seconds=seconds,
        images_per_s=len(rows) / seconds if seconds > 0 else float("nan"),
        device=str(dev),
        batch_size=batch_size,
        final_forward_batch=forward.chunk or batch_size,
        amp=amp,
        workers=int(pipe["workers"] or 0),
        channels_last=channels_last,
        extra=extra,
        decode=decode,
        pipeline={k: v for k, v in pipe.items() if k != "row_bytes"},
    )
