"""``--decode gpu``: JPEG variants decoded in batches on the GPU (nvJPEG through torchvision).

Readers (:mod:`._gpu_read`; threads, or forked processes) read each variant's bytes, check them
against the manifest's sha256 (the same stages and messages as :class:`._loader.VariantDataset`:
missing, read, verify, decode) and decode the files that are not JPEG (the clean PNGs) on the CPU
with :func:`._loader.decode_rgb`. One decoder thread hands each batch's JPEG files to
``torchvision.io.decode_jpeg`` as one list (batched nvJPEG: the hardware decoder on A100/H100;
the call is synchronous), uploads the CPU-decoded images in one page-locked asynchronous copy per
size, fits every image on the device (crop, pad, tile or full: gathers of pixels, so the result
equals the CPU fit of the same pixels) on a side stream and hands the :class:`._loader.Batch`
over with a CUDA event: the consumer's stream waits on it, the decoder thread does not (it is
already reading and decoding the next batch). :class:`GpuDecodeOptions` picks the variants that
``bench/gpu_check.py`` profiles (per-batch phase timings through ``stats``).

nvJPEG's IDCT and chroma upsampling are not libjpeg-turbo's: pixels can differ from the CPU
decoder's by a few levels, so predictions can differ slightly from ``--decode cpu``.
torchvision is imported only when GPU decoding runs: it is never a dependency.
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice

import numpy as np
import torch
from degradebench.generators.core.errors import ConfigError, DegradebenchError

from ._fit import tile_origins
from ._gpu_read import READ_PHASES, gather, read_item, reader_pool, submit
from ._input_config import InputConfig
from ._loader import Batch, VariantDataset, decode_rgb, odd_size

__all__ = ["gpu_decode_problem", "gpu_batches", "GPU_FITS", "fit_tensor", "read_item",
           "GpuDecodeOptions", "DEFAULT_OPTIONS"]

# Fit modes that only move pixels (no resampling): the same gather on the GPU as on the CPU.
GPU_FITS = ("center_crop", "pad", "tile", "full")
# Batched decode_jpeg(list, device="cuda") arrived in torchvision 0.20 (its release notes).
MIN_TORCHVISION = (0, 20)
QUEUE_TIMEOUT_S = 600  # a decoder thread silent this long is stuck: fail instead of waiting
_NP_PAD = {"reflect": "reflect", "symmetric": "symmetric", "edge": "edge"}


@dataclass(frozen=True)
class GpuDecodeOptions:
    """How ``gpu_batches`` feeds the GPU (``bench/gpu_check.py`` profiles the choices).

    ``readers``: ``threads`` (read, hash and decode non-JPEG files in threads of this process)
    or ``processes`` (in forked processes: no GIL shared with the decoder thread). ``chunk``: JPEG
    files per ``decode_jpeg`` call (None: the whole batch in one call). ``sync``: ``event`` (the
    consumer's stream waits on the batch's CUDA event; the decoder thread goes on at once) or
    ``host`` (the decoder thread waits until the batch is on the device). ``upload``: ``batched``
    (the batch's non-JPEG images in one page-locked, asynchronous copy per image size) or
    ``each`` (one synchronous copy per image)."""

    # Reader processes by default: on an H200 with 16 cores, 8 reader threads fed 4,033 img/s
    # (GIL-bound: reading, hashing, and the clean PNGs' CPU decode), 8 forked reader processes
    # 9,531 img/s (session 4's gpu_batches profile in bench/RESULTS.md).
    readers: str = "processes"
    chunk: int | None = None
    sync: str = "event"
    upload: str = "batched"

    def problem(self) -> str | None:
        """None when the options are valid, else what is wrong and the values allowed."""
        allowed = {"readers": ("threads", "processes"), "sync": ("event", "host"),
                   "upload": ("batched", "each")}  # fmt: skip
        for name, values in allowed.items():
            if getattr(self, name) not in values:
                return f"{name} {getattr(self, name)!r}: expected one of {', '.join(values)}"
        if self.chunk is not None and int(self.chunk) < 1:
            return f"chunk {self.chunk!r}: expected None (the whole batch) or >= 1 files"
        return None


DEFAULT_OPTIONS = GpuDecodeOptions()


def _torchvision_problem() -> str | None:
    try:
        import torchvision
        from torchvision.io import decode_jpeg  # noqa: F401
    except ImportError as exc:
        return (f"torchvision is not importable ({exc}); install the torchvision build that "
                f"matches torch {torch.__version__}, or use --decode cpu")  # fmt: skip
    try:
        have = tuple(int(p) for p in torchvision.__version__.split("+")[0].split(".")[:2])
    except ValueError:
        return None  # a development build: let it try
    if have < MIN_TORCHVISION:
        return (f"torchvision {torchvision.__version__} cannot decode JPEG batches on the GPU "
                "(from 0.20 on); upgrade torchvision, or use --decode cpu")  # fmt: skip
    return None


def gpu_decode_problem(cfg: InputConfig, device: torch.device | str) -> str | None:
    """None when ``--decode gpu`` can run for ``cfg`` on ``device``, else a one-line reason that
    names the fix (the runner raises ``ConfigError("--decode gpu: " + reason)``)."""
    if cfg.task == "localization":
        return ("a localization run reads each variant's mask, which only the CPU decode path "
                "does; use --decode cpu")  # fmt: skip
    if cfg.fit not in GPU_FITS:
        what = ("resamples with the CPU libraries' kernels" if cfg.fit == "resize"
                else "is registered for the CPU only")  # fmt: skip
        return (f"fit {cfg.fit!r} {what}, so the GPU cannot give the same input; "
                f"use --decode cpu, or a fit of {', '.join(GPU_FITS)}")  # fmt: skip
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type != "cuda":
        return (f"JPEG files are decoded on a CUDA device, but the model runs on {dev}; use "
                "--device cuda, or --decode cpu")  # fmt: skip
    if not torch.cuda.is_available():
        return "CUDA is not available here; use --decode cpu"
    return _torchvision_problem()


# --- fitting on tensors (any device) -----------------------------------------------------------


def _axis_index(n: int, size: int, mode: str, centred: bool) -> np.ndarray:
    """Source positions along one axis after padding to ``size`` (-1: a constant pad)."""
    pad = max(0, size - n)
    before = pad // 2 if centred else 0
    idx = np.arange(n)
    if not pad:
        return idx
    if mode == "constant":
        return np.pad(idx, (before, pad - before), constant_values=-1)
    return np.pad(idx, (before, pad - before), mode=_NP_PAD[mode])


@lru_cache(maxsize=256)
def _fit_plan(h: int, w: int, cfg: InputConfig) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Per tile, the source rows and columns of an ``h`` x ``w`` image under ``cfg``'s fit
    (the CPU fit in :mod:`._fit`, written as index maps: padding is np.pad of the positions)."""
    if cfg.fit == "full":
        return ((np.arange(h), np.arange(w)),)
    th, tw = cfg.input_size
    mode = cfg.pad_mode
    if mode == "reflect" and (h < 2 or w < 2):
        mode = "edge"  # as _fit._pad_to: reflection needs two pixels along the padded axis
    centred = cfg.fit == "center_crop"
    rows = _axis_index(h, th, mode, centred)
    cols = _axis_index(w, tw, mode, centred)
    if cfg.fit == "center_crop":
        y0, x0 = (len(rows) - th) // 2, (len(cols) - tw) // 2
        return ((rows[y0 : y0 + th], cols[x0 : x0 + tw]),)
    if cfg.fit == "pad":
        return ((rows[:th], cols[:tw]),)
    if cfg.fit == "tile":
        origins = tile_origins(len(rows), len(cols), cfg)
        return tuple((rows[y : y + th], cols[x : x + tw]) for y, x in origins)
    raise ConfigError(f"fit {cfg.fit!r}: not a GPU fit; use one of {', '.join(GPU_FITS)}")


def _take(x: torch.Tensor, dim: int, idx: np.ndarray) -> torch.Tensor:
    """``x`` at positions ``idx`` along ``dim`` (a slice when they are consecutive; zeros where
    ``idx`` is -1)."""
    if len(idx) and idx[0] >= 0 and np.array_equal(idx, np.arange(idx[0], idx[0] + len(idx))):
        return x.narrow(dim, int(idx[0]), len(idx))
    out = x.index_select(dim, torch.from_numpy(np.maximum(idx, 0)).to(x.device))
    if (idx < 0).any():
        shape = [1] * x.ndim
        shape[dim] = len(idx)
        keep = torch.from_numpy(idx >= 0).to(x.device).view(shape)
        out = out * keep.to(out.dtype)
    return out


def fit_tensor(x: torch.Tensor, cfg: InputConfig) -> tuple[torch.Tensor, int]:
    """Images of one size, uint8 ``[N, 3, h, w]`` on any device -> (tiles ``[N * T, 3, H, W]``,
    T): image ``i`` owns tiles ``i*T .. i*T+T-1``, as :func:`._fit.fit_image` cuts them."""
    plan = _fit_plan(int(x.shape[2]), int(x.shape[3]), cfg)
    tiles = [_take(_take(x, 2, rows), 3, cols) for rows, cols in plan]
    out = torch.stack(tiles, dim=1).flatten(0, 1)
    if cfg.channel_order == "BGR":
        out = out.flip(1)
    return out.contiguous(), len(plan)


# --- decoding and assembling one batch (decoder thread) -----------------------------------------


def _decode_jpegs(datas: list[torch.Tensor], device: torch.device) -> list[torch.Tensor]:
    """JPEG bytes -> RGB uint8 [3, H, W] tensors on ``device``, one batched nvJPEG call. Grey
    files come out as three equal channels. API (torchvision >= 0.20, a list of CPU uint8
    tensors, device="cuda", all or nothing on error):
    https://docs.pytorch.org/vision/0.25/generated/torchvision.io.decode_jpeg.html"""
    from torchvision.io import ImageReadMode, decode_jpeg

    return list(decode_jpeg(datas, mode=ImageReadMode.RGB, device=device))


_WARNED: set[str] = set()


def _warn_once(msg: str) -> None:
    """One stderr line per kind of failure: a batch nvJPEG refused is decoded file by file."""
    key = msg[:60]
    if key not in _WARNED:
        _WARNED.add(key)
        print(msg, file=sys.stderr, flush=True)


def _upload(img: np.ndarray, device: torch.device) -> torch.Tensor:
    """RGB HxWx3 -> [3, H, W] on ``device`` (Pillow's arrays are read-only: torch wants a copy)."""
    img = img if img.flags.writeable else img.copy()
    return torch.from_numpy(img).permute(2, 0, 1).to(device)


def _upload_many(imgs: list[np.ndarray], device: torch.device) -> list[torch.Tensor]:
    """RGB HxWx3 images -> [3, H, W] on ``device``: one stacked copy per image size, from
    page-locked memory and asynchronous on CUDA (the host allocator keeps the pinned block until
    the copy is done)."""
    out: list = [None] * len(imgs)
    groups: dict[tuple, list[int]] = {}
    for k, im in enumerate(imgs):
        groups.setdefault(im.shape, []).append(k)
    for ks in groups.values():
        host = torch.from_numpy(np.stack([imgs[k] for k in ks]))
        if device.type == "cuda":
            host = host.pin_memory()
        dev = host.to(device, non_blocking=True).permute(0, 3, 1, 2)
        for j, k in enumerate(ks):
            out[k] = dev[j]
    return out


def _tick(tm: dict | None, key: str, t: float) -> float:
    """Add the seconds since ``t`` to ``tm[key]`` (when timing); the time now."""
    now = time.perf_counter()
    if tm is not None:
        tm[key] = tm.get(key, 0.0) + now - t
    return now


def _decode_batch(items: list, device: torch.device, where: Callable[[int], str],
                  opts: GpuDecodeOptions = DEFAULT_OPTIONS, tm: dict | None = None) -> list:  # fmt: skip
    """Each ("jpeg", bytes) item -> ("image", [3, H, W] on ``device``); batched calls of
    ``opts.chunk`` files, and when one fails (nvJPEG gives all or nothing), its files one at a
    time, then the CPU decoder. ``tm``: seconds of decode_jpeg and of the uploads added to it."""
    items = list(items)
    at = [k for k, (kind, _) in enumerate(items) if kind == "jpeg"]
    t = time.perf_counter()
    step = int(opts.chunk or len(at) or 1)
    for c in range(0, len(at), step):
        part = at[c : c + step]
        try:
            decoded = _decode_jpegs([items[k][1] for k in part], device)
        except Exception as exc:
            _warn_once(f"degradebench: nvJPEG refused a batch ({type(exc).__name__}: "
                       f"{str(exc)[:200]}); decoding its files one at a time")  # fmt: skip
            decoded = [_decode_one(items[k][1], device, where, k) for k in part]
        for k, out in zip(part, decoded):
            items[k] = out if isinstance(out, tuple) else ("image", out)
    t = _tick(tm, "decode_jpeg", t)
    px = [k for k, (kind, _) in enumerate(items) if kind == "pixels"]
    if opts.upload == "batched" and px:
        for k, v in zip(px, _upload_many([items[k][1] for k in px], device)):
            items[k] = ("image", v)
    else:
        for k in px:
            items[k] = ("image", _upload(items[k][1], device))
    _tick(tm, "upload", t)
    return items


def _decode_one(data: torch.Tensor, device: torch.device, where: Callable[[int], str], k: int):
    try:
        return _decode_jpegs([data], device)[0]
    except Exception:
        pass
    try:  # nvJPEG refused it (e.g. an unusual subsampling): the project's own decoder
        return _upload(decode_rgb(data.numpy().tobytes()), device)
    except Exception as exc:
        return "error", ("decode", f"{where(k)}: {exc}")


def assemble(rows: list[int], items: list, cfg: InputConfig, device: torch.device,
             where: Callable[[int], str], opts: GpuDecodeOptions = DEFAULT_OPTIONS,
             tm: dict | None = None) -> Batch:  # fmt: skip
    """Read items of the rows of one batch -> a :class:`Batch` with tiles on ``device``
    (``where(k)``: the path of item ``k``, for error messages; ``tm``: phase timings)."""
    errors: list[tuple[int, str, str]] = []
    ok: list[tuple[int, torch.Tensor]] = []
    for pos, (kind, v) in zip(rows, _decode_batch(items, device, where, opts, tm)):
        if kind == "error":
            errors.append((pos, *v))
        else:
            ok.append((pos, v))
    t = time.perf_counter()
    if cfg.fit == "full" and ok:
        want = tuple(ok[0][1].shape[1:])
        errors += [odd_size(p, tuple(im.shape[1:]), want) for p, im in ok
                   if tuple(im.shape[1:]) != want]  # fmt: skip
        ok = [(p, im) for p, im in ok if tuple(im.shape[1:]) == want]
    groups: dict[tuple, list[int]] = {}
    for k, (_, im) in enumerate(ok):
        groups.setdefault(tuple(im.shape[1:]), []).append(k)
    per_image: list = [None] * len(ok)
    counts = [0] * len(ok)
    tiles = None
    for ks in groups.values():
        fitted, t_ = fit_tensor(torch.stack([ok[k][1] for k in ks]), cfg)
        if len(groups) == 1:
            tiles = fitted
        for j, k in enumerate(ks):
            per_image[k] = fitted[j * t_ : (j + 1) * t_]
            counts[k] = t_
    if tiles is None:
        tiles = (torch.cat(per_image) if ok else
                 torch.empty((0, 3, 1, 1), dtype=torch.uint8, device=device))  # fmt: skip
    if tm is not None:
        tm["groups"] = tm.get("groups", 0) + len(groups)
    _tick(tm, "stack_fit", t)
    return Batch(index=torch.tensor([p for p, _ in ok], dtype=torch.long), tiles=tiles,
                 counts=torch.tensor(counts, dtype=torch.long), errors=errors)  # fmt: skip


# --- the pipeline --------------------------------------------------------------------------------


def _put(q: queue.Queue, msg: tuple, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            q.put(msg, timeout=0.1)
            return
        except queue.Full:
            continue


def _produce(ds: VariantDataset, batches: list[list[int]], device: torch.device, threads: int,
             q: queue.Queue, stop: threading.Event, opts: GpuDecodeOptions,
             stats: dict | None) -> None:  # fmt: skip
    """The decoder thread: reads two batches ahead, decodes and fits each, queues it (with the
    CUDA event after which its tiles are complete, or None). ``stats``: per-batch phase
    timings go to ``stats["batches"]``, the readers' clock to ``stats["readers"]``."""
    clock = [0.0] * (len(READ_PHASES) + 1) if stats is not None else None
    try:
        side = torch.cuda.Stream(device) if device.type == "cuda" else None
        ctx = torch.cuda.stream(side) if side is not None else contextlib.nullcontext()
        timed = stats is not None
        with reader_pool(ds, threads, opts.readers) as pool, ctx:
            todo = iter(batches)
            ahead: deque[tuple[list[int], list[Future]]] = deque(
                (rows, submit(pool, ds, rows, threads, timed)) for rows in islice(todo, 2)
            )
            while ahead and not stop.is_set():
                tm: dict | None = {} if timed else None
                t = time.perf_counter()
                rows, futs = ahead.popleft()
                nxt = next(todo, None)
                if nxt is not None:
                    ahead.append((nxt, submit(pool, ds, nxt, threads, timed)))
                items = gather(futs, clock)
                _tick(tm, "wait_reads", t)
                batch = assemble(rows, items, ds.cfg, device,
                                 lambda k, rows=rows: str(ds.root / ds.paths[rows[k]]), opts, tm)
                t = time.perf_counter()
                done = None
                if side is not None and opts.sync == "host":
                    side.synchronize()  # the tiles are complete before another stream reads them
                elif side is not None:
                    done = torch.cuda.Event()
                    done.record(side)
                t = _tick(tm, "sync", t)
                _put(q, ("batch", (batch, done)), stop)
                _tick(tm, "queue_put", t)
                if stats is not None:
                    stats.setdefault("batches", []).append({**tm, "images": len(rows)})
            pool.shutdown(cancel_futures=True)
        if stats is not None:
            stats["readers"] = dict(zip((*READ_PHASES, "files"), clock))
        _put(q, ("done", None), stop)
    except BaseException as exc:  # handed to the consumer, raised there
        _put(q, ("error", exc), stop)


def gpu_batches(dataset: VariantDataset, batches: list[list[int]], device: torch.device | str,
                *, threads: int = 8, prefetch: int = 3, options: GpuDecodeOptions | None = None,
                stats: dict | None = None) -> Iterator[Batch]:  # fmt: skip
    """Batches of ``dataset``'s rows (``batches``: row positions per batch, in order) with tiles
    decoded and fitted on ``device``; ``index``/``counts``/``errors`` as the CPU loader's.

    ``threads`` readers read, hash and CPU-decode non-JPEG files; one decoder thread keeps up to
    ``prefetch`` batches ready. ``options``: how (None: :data:`DEFAULT_OPTIONS`); ``stats``: a
    dict that gets per-batch phase timings and the readers' clock (profiling). The consumer's
    current CUDA stream waits for each batch's tiles, and they are recorded on it, so memory is
    not reused before the consumer's work on it is done.

    Raises:
        ConfigError: masks (localization), a fit the GPU cannot reproduce (see
            :func:`gpu_decode_problem`), or invalid ``options``.
    """
    if dataset.masks is not None:
        raise ConfigError("--decode gpu: a localization run reads masks, which only the CPU "
                          "decode path does; use --decode cpu")  # fmt: skip
    if dataset.cfg.fit not in GPU_FITS:
        raise ConfigError(f"--decode gpu: fit {dataset.cfg.fit!r} cannot run on the GPU; use "
                          f"--decode cpu, or one of {', '.join(GPU_FITS)}")  # fmt: skip
    opts = options or DEFAULT_OPTIONS
    if opts.problem():
        raise ConfigError(f"GPU decode options: {opts.problem()}; see GpuDecodeOptions")
    dev = torch.device(device)
    q: queue.Queue = queue.Queue(maxsize=max(1, prefetch))
    stop = threading.Event()
    worker = threading.Thread(target=_produce, args=(dataset, batches, dev, max(1, threads), q,
                              stop, opts, stats), name="degradebench-gpu-decode",
                              daemon=True)  # fmt: skip
    worker.start()
    try:
        while True:
            try:
                kind, value = q.get(timeout=QUEUE_TIMEOUT_S)
            except queue.Empty:
                raise DegradebenchError(f"--decode gpu: no batch decoded in {QUEUE_TIMEOUT_S} s "
                                        "(the decoder thread is stuck); rerun with --decode "
                                        "cpu") from None  # fmt: skip
            if kind == "done":
                return
            if kind == "error":
                raise value
            batch, done = value
            if dev.type == "cuda" and batch.tiles.numel():
                current = torch.cuda.current_stream(dev)
                if done is not None:
                    current.wait_event(done)
                batch.tiles.record_stream(current)
            yield batch
    finally:
        stop.set()
        worker.join(timeout=5)
