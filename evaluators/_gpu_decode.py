"""``--decode gpu``: JPEG variants decoded in batches on the GPU (nvJPEG through torchvision).

Reader threads read each variant's bytes, check them against the manifest's sha256 (the same
stages and messages as :class:`._loader.VariantDataset`: missing, read, verify, decode) and decode
the files that are not JPEG (the clean PNGs) on the CPU with :func:`._loader.decode_rgb`. One
decoder thread hands each batch's JPEG files to ``torchvision.io.decode_jpeg`` as one list
(batched nvJPEG: the hardware decoder on A100/H100), uploads the CPU-decoded images, fits every
image on the device (crop, pad, tile or full: gathers of pixels, so the result equals the CPU fit
of the same pixels) and hands the :class:`._loader.Batch` over, its ``tiles`` already on the GPU.

nvJPEG's IDCT and chroma upsampling are not libjpeg-turbo's: pixels can differ from the CPU
decoder's by a few levels, so predictions can differ slightly from ``--decode cpu``.
torchvision is imported only when GPU decoding runs: it is never a dependency.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from itertools import islice

import numpy as np
import torch
from degradebench.generators.core.errors import ConfigError, DegradebenchError

from ._fit import tile_origins
from ._input_config import InputConfig
from ._loader import Batch, VariantDataset, decode_rgb, odd_size

__all__ = ["gpu_decode_problem", "gpu_batches", "GPU_FITS", "fit_tensor", "read_item"]

# Fit modes that only move pixels (no resampling): the same gather on the GPU as on the CPU.
GPU_FITS = ("center_crop", "pad", "tile", "full")
# Batched decode_jpeg(list, device="cuda") arrived in torchvision 0.20 (its release notes).
MIN_TORCHVISION = (0, 20)
QUEUE_TIMEOUT_S = 600  # a decoder thread silent this long is stuck: fail instead of waiting
_NP_PAD = {"reflect": "reflect", "symmetric": "symmetric", "edge": "edge"}


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


# --- reading (reader threads; CPU only, so tests run it anywhere) ------------------------------


def read_item(ds: VariantDataset, i: int):
    """Row ``i`` -> ``("jpeg", uint8 1-D tensor)``, ``("pixels", RGB HxWx3)`` for a file that is
    not JPEG (decoded here), or ``("error", (stage, message))`` as VariantDataset reports it."""
    path = ds.root / ds.paths[i]
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except FileNotFoundError:
        return "error", ("missing", f"{path}: file not found")
    except OSError as exc:
        return "error", ("read", f"{path}: {exc}")
    want = ds.sha256[i]
    if want:
        got = hashlib.sha256(data).hexdigest()
        if got != want:
            return "error", (
                "verify", f"{path}: sha256 {got[:12]}... differs from the manifest's {want[:12]}..."
            )  # fmt: skip
    if len(data) > 2 and data[0] == 0xFF and data[1] == 0xD8:
        return "jpeg", torch.from_numpy(data)
    try:
        return "pixels", decode_rgb(data.tobytes())
    except Exception as exc:  # any decoder failure is this file's problem, not the run's
        return "error", ("decode", f"{path}: {exc}")


def _read_rows(ds: VariantDataset, rows: list[int]) -> list:
    return [read_item(ds, i) for i in rows]


def _submit(pool: ThreadPoolExecutor, ds: VariantDataset, rows: list[int], threads: int):
    step = max(1, -(-len(rows) // threads))
    return [pool.submit(_read_rows, ds, rows[k : k + step]) for k in range(0, len(rows), step)]


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


def _decode_batch(items: list, device: torch.device, where: Callable[[int], str]) -> list:
    """Each ("jpeg", bytes) item -> ("image", [3, H, W] on ``device``); one batched call, and
    when it fails (nvJPEG gives all or nothing), one file at a time, then the CPU decoder."""
    items = list(items)
    at = [k for k, (kind, _) in enumerate(items) if kind == "jpeg"]
    if at:
        try:
            decoded = _decode_jpegs([items[k][1] for k in at], device)
        except Exception as exc:
            _warn_once(f"degradebench: nvJPEG refused a batch ({type(exc).__name__}: "
                       f"{str(exc)[:200]}); decoding its files one at a time")  # fmt: skip
            decoded = [_decode_one(items[k][1], device, where, k) for k in at]
        for k, out in zip(at, decoded):
            items[k] = out if isinstance(out, tuple) else ("image", out)
    return [("image", _upload(v, device)) if kind == "pixels" else (kind, v)
            for kind, v in items]  # fmt: skip


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
             where: Callable[[int], str]) -> Batch:  # fmt: skip
    """Read items of the rows of one batch -> a :class:`Batch` with tiles on ``device``
    (``where(k)``: the path of item ``k``, for error messages)."""
    errors: list[tuple[int, str, str]] = []
    ok: list[tuple[int, torch.Tensor]] = []
    for pos, (kind, v) in zip(rows, _decode_batch(items, device, where)):
        if kind == "error":
            errors.append((pos, *v))
        else:
            ok.append((pos, v))
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
        fitted, t = fit_tensor(torch.stack([ok[k][1] for k in ks]), cfg)
        if len(groups) == 1:
            tiles = fitted
        for j, k in enumerate(ks):
            per_image[k] = fitted[j * t : (j + 1) * t]
            counts[k] = t
    if tiles is None:
        tiles = (torch.cat(per_image) if ok else
                 torch.empty((0, 3, 1, 1), dtype=torch.uint8, device=device))  # fmt: skip
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
             q: queue.Queue, stop: threading.Event) -> None:  # fmt: skip
    """The decoder thread: reads two batches ahead, decodes and fits each, queues it."""
    try:
        side = torch.cuda.Stream(device) if device.type == "cuda" else None
        ctx = torch.cuda.stream(side) if side is not None else contextlib.nullcontext()
        with ThreadPoolExecutor(threads, thread_name_prefix="degradebench-read") as pool, ctx:
            todo = iter(batches)
            ahead: deque[tuple[list[int], list[Future]]] = deque(
                (rows, _submit(pool, ds, rows, threads)) for rows in islice(todo, 2)
            )
            while ahead and not stop.is_set():
                rows, futs = ahead.popleft()
                nxt = next(todo, None)
                if nxt is not None:
                    ahead.append((nxt, _submit(pool, ds, nxt, threads)))
                items = [it for f in futs for it in f.result()]
                batch = assemble(rows, items, ds.cfg, device,
                                 lambda k, rows=rows: str(ds.root / ds.paths[rows[k]]))
                if side is not None:
                    side.synchronize()  # the tiles are complete before another stream reads them
                _put(q, ("batch", batch), stop)
            pool.shutdown(cancel_futures=True)
        _put(q, ("done", None), stop)
    except BaseException as exc:  # handed to the consumer, raised there
        _put(q, ("error", exc), stop)


def gpu_batches(dataset: VariantDataset, batches: list[list[int]], device: torch.device | str,
                *, threads: int = 8, prefetch: int = 3) -> Iterator[Batch]:  # fmt: skip
    """Batches of ``dataset``'s rows (``batches``: row positions per batch, in order) with tiles
    decoded and fitted on ``device``; ``index``/``counts``/``errors`` as the CPU loader's.

    ``threads`` reader threads read, hash and CPU-decode non-JPEG files; one decoder thread
    keeps up to ``prefetch`` batches ready. Each batch's tiles are recorded on the consumer's
    current CUDA stream, so memory is not reused before the consumer's work on it is done.

    Raises:
        ConfigError: masks (localization) or a fit the GPU cannot reproduce (see
            :func:`gpu_decode_problem`).
    """
    if dataset.masks is not None:
        raise ConfigError("--decode gpu: a localization run reads masks, which only the CPU "
                          "decode path does; use --decode cpu")  # fmt: skip
    if dataset.cfg.fit not in GPU_FITS:
        raise ConfigError(f"--decode gpu: fit {dataset.cfg.fit!r} cannot run on the GPU; use "
                          f"--decode cpu, or one of {', '.join(GPU_FITS)}")  # fmt: skip
    dev = torch.device(device)
    q: queue.Queue = queue.Queue(maxsize=max(1, prefetch))
    stop = threading.Event()
    worker = threading.Thread(target=_produce, args=(dataset, batches, dev, max(1, threads), q,
                              stop), name="degradebench-gpu-decode", daemon=True)  # fmt: skip
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
            if dev.type == "cuda" and value.tiles.numel():
                value.tiles.record_stream(torch.cuda.current_stream(dev))
            yield value
    finally:
        stop.set()
        worker.join(timeout=5)
