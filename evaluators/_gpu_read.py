"""The readers of ``--decode gpu`` (:mod:`._gpu_decode`): each variant's bytes read, checked
against the manifest's sha256 (the stages and messages of :class:`._loader.VariantDataset`:
missing, read, verify, decode) and, for a file that is not JPEG, decoded on the CPU. Threads of
this process, or forked processes (no GIL shared with the decoder thread: the JPEG bytes come
back as numpy arrays, which pickle as plain bytes). CPU only, so tests run it anywhere.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import torch

from ._loader import VariantDataset, decode_rgb

__all__ = ["READ_PHASES", "read_item", "reader_pool", "submit", "gather"]

READ_PHASES = ("read", "hash", "wrap", "cpu_decode")  # a reader's clock, seconds per phase


def read_item(ds: VariantDataset, i: int, clock: list[float] | None = None, *,
              as_tensor: bool = True):  # fmt: skip
    """Row ``i`` -> ``("jpeg", uint8 1-D tensor)``, ``("pixels", RGB HxWx3)`` for a file that is
    not JPEG (decoded here), or ``("error", (stage, message))`` as VariantDataset reports it.
    ``clock``: seconds of each of :data:`READ_PHASES` are added to it; ``as_tensor=False``: the
    JPEG bytes as a numpy array (what crosses a process boundary cheaply)."""
    t0 = time.perf_counter() if clock is not None else 0.0
    path = ds.root / ds.paths[i]
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except FileNotFoundError:
        return "error", ("missing", f"{path}: file not found")
    except OSError as exc:
        return "error", ("read", f"{path}: {exc}")
    t1 = time.perf_counter() if clock is not None else 0.0
    want = ds.sha256[i]
    if want:
        got = hashlib.sha256(data).hexdigest()
        if got != want:
            return "error", (
                "verify", f"{path}: sha256 {got[:12]}... differs from the manifest's {want[:12]}..."
            )  # fmt: skip
    t2 = time.perf_counter() if clock is not None else 0.0
    if len(data) > 2 and data[0] == 0xFF and data[1] == 0xD8:
        out = ("jpeg", torch.from_numpy(data) if as_tensor else data)
        if clock is not None:
            clock[0] += t1 - t0
            clock[1] += t2 - t1
            clock[2] += time.perf_counter() - t2
        return out
    try:
        out = ("pixels", decode_rgb(data.tobytes()))
    except Exception as exc:  # any decoder failure is this file's problem, not the run's
        return "error", ("decode", f"{path}: {exc}")
    if clock is not None:
        clock[0] += t1 - t0
        clock[1] += t2 - t1
        clock[3] += time.perf_counter() - t2
    return out


def _read_rows(ds: VariantDataset, rows: list[int], timed: bool = False,
               as_tensor: bool = True) -> tuple[list, list[float] | None]:  # fmt: skip
    """Items of ``rows`` and, when ``timed``, the reader's clock (seconds per phase and files)."""
    clock = [0.0] * len(READ_PHASES) if timed else None
    items = [read_item(ds, i, clock, as_tensor=as_tensor) for i in rows]
    return items, (clock + [float(len(rows))] if clock is not None else None)


_PROC_DS: VariantDataset | None = None  # the dataset of a reader process (set at its start)


def _proc_init(ds: VariantDataset) -> None:
    global _PROC_DS
    _PROC_DS = ds
    torch.set_num_threads(1)


def _proc_read(rows: list[int], timed: bool):
    """In a reader process: numpy arrays only (a tensor would travel as a shared-memory file)."""
    assert _PROC_DS is not None
    return _read_rows(_PROC_DS, rows, timed, as_tensor=False)


def reader_pool(ds: VariantDataset, threads: int, readers: str) -> Executor:
    if readers == "threads":
        return ThreadPoolExecutor(threads, thread_name_prefix="degradebench-read")
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
    return ProcessPoolExecutor(threads, mp_context=ctx, initializer=_proc_init, initargs=(ds,))


def submit(pool: Executor, ds: VariantDataset, rows: list[int], threads: int, timed: bool):
    step = max(1, -(-len(rows) // threads))
    if isinstance(pool, ProcessPoolExecutor):
        return [pool.submit(_proc_read, rows[k : k + step], timed)
                for k in range(0, len(rows), step)]  # fmt: skip
    return [pool.submit(_read_rows, ds, rows[k : k + step], timed)
            for k in range(0, len(rows), step)]  # fmt: skip


def gather(futs: list[Future], clock: list[float] | None) -> list:
    """The items of one batch, JPEG bytes as tensors; reader clocks summed into ``clock``."""
    items = []
    for f in futs:
        got, c = f.result()
        items += [("jpeg", torch.from_numpy(v)) if k == "jpeg" and isinstance(v, np.ndarray)
                  else (k, v) for k, v in got]  # fmt: skip
        if clock is not None and c is not None:
            for j, v in enumerate(c):
                clock[j] += v
    return items
