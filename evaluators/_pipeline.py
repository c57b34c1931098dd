"""Decoded batches assembled in place: a ring of preallocated uint8 slabs that workers fill.

The ring holds ``slots`` flat byte buffers of the largest batch's size (:mod:`._pipe_plan`),
allocated once in shared memory (and page-locked with ``cudaHostRegister`` when the model runs
on CUDA, so host-to-device copies are asynchronous). A decode worker process takes a task
``(seq, slot, rows)``, reads, verifies, decodes and fits each row straight into its slot and
returns only metadata (row positions, tile counts, tile shape, errors, masks and sizes): no
tensor storage crosses the process boundary. The main process turns a slot into a
``[T, 3, H, W]`` view, and hands the slot back once the batch's copy to the device is done
(``release(slot, event)``). A batch larger than its slot (a manifest size that is wrong) comes
back inline, whole, in the metadata. With ``workers=0`` the same code runs in the main process.
"""

from __future__ import annotations

import os
import queue
import signal
import time
import traceback
from collections import deque
from collections.abc import Iterator

import numpy as np
import torch
from degradebench.generators.core.errors import DegradebenchError

from ._fit import FIT_MODES
from ._loader import Batch, VariantDataset, odd_size

__all__ = ["fill_batch", "fit_into", "SlabRing", "DecodePool", "RING_BYTES"]

RING_BYTES = 2 << 30  # at most 2 GiB of slabs (fewer slots for very large batches)
WORKER_TIMEOUT_S = 600  # a batch that takes longer means a stuck worker: fail, do not hang


def fit_into(img: np.ndarray, cfg, buf: np.ndarray, offset: int,
             hwc: bool = False) -> tuple[int, tuple, np.ndarray | None]:  # fmt: skip
    """Fit ``img`` (RGB uint8 HxWx3) and write its tiles into ``buf`` from ``offset``, as
    ``[T, 3, H, W]`` or with ``hwc`` as ``[T, H, W, 3]`` (channels last: each tile row is one
    copy, no transpose): (tiles, (H, W), None), or (tiles, (H, W), tiles array) when they do
    not fit. The same bytes as :func:`._fit.fit_image` (in that layout), one copy fewer."""
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 HxWx3 image, got {img.dtype} {img.shape}")
    tiles = FIT_MODES.get(cfg.fit)(img, cfg)
    h, w = tiles[0].shape[:2]
    n = len(tiles)
    need = n * 3 * h * w
    shape = (n, h, w, 3) if hwc else (n, 3, h, w)
    if offset + need > len(buf):
        out = np.empty(shape, np.uint8)
    else:
        out = buf[offset : offset + need].reshape(shape)
    bgr = cfg.channel_order == "BGR"
    for k, tile in enumerate(tiles):
        if hwc:
            np.copyto(out[k], tile[:, :, ::-1] if bgr else tile)
        else:
            chw = tile.transpose(2, 0, 1)
            np.copyto(out[k], chw[::-1] if bgr else chw)
    return n, (h, w), (out if offset + need > len(buf) else None)


def fill_batch(ds: VariantDataset, rows, buf: np.ndarray, hwc: bool = False) -> dict:
    """Decode and fit ``rows`` of ``ds`` into ``buf`` (``hwc``: channels last, see
    :func:`fit_into`); the metadata the main process needs.

    Keys: ``index``, ``counts`` (lists), ``shape`` (tile H, W or None), ``nbytes``, ``errors``
    (``(row, stage, message)``), ``masks``/``sizes`` (localization, else None), ``inline`` (the
    whole batch's tiles when they outgrew ``buf``, else None), ``hwc``. Images whose fitted size
    differs from the batch's first are ``size`` errors (``fit: full`` with a wrong manifest size).
    """
    index: list[int] = []
    counts: list[int] = []
    errors: list[tuple] = []
    odd: list[tuple] = []
    masks: list = []
    sizes: list = []
    spill: list[np.ndarray] | None = None
    shape = None
    used = 0
    for i in rows:
        img, item = ds.decoded(int(i))
        if img is None:
            errors.append((item["index"], *item["error"]))
            continue
        n, hw, out = fit_into(img, ds.cfg, buf, len(buf) + 1 if spill is not None else used, hwc)
        if shape is None:
            shape = hw
        elif hw != shape:
            odd.append(odd_size(item["index"], hw, shape))  # listed after the others, as collate
            continue
        if out is not None:  # outgrew the slot: this batch travels inline
            if spill is None:
                spill = [buf[:used].reshape((-1, *shape, 3) if hwc else (-1, 3, *shape)).copy()]
            spill.append(out)
        else:
            used += n * 3 * hw[0] * hw[1]
        index.append(item["index"])
        counts.append(n)
        if "mask" in item:
            masks.append(item["mask"])
            sizes.append(tuple(int(v) for v in item["size"]))
    return {"index": index, "counts": counts, "shape": shape, "nbytes": used,
            "errors": errors + odd,
            "masks": masks if ds.masks is not None else None,
            "sizes": sizes if ds.masks is not None else None,
            "inline": np.concatenate(spill) if spill is not None else None, "hwc": hwc}  # fmt: skip


class SlabRing:
    """``slots`` flat uint8 buffers of ``nbytes`` each; shared (for worker processes) and,
    for a CUDA device, page-locked. A released slot is reused once its copy event is done."""

    def __init__(self, slots: int, nbytes: int, *, shared: bool, pin: bool):
        self.slab = torch.empty((slots, nbytes), dtype=torch.uint8)
        self.pinned = False
        if shared:
            self.slab.share_memory_()
        if pin:
            if shared:  # page-lock the shared pages in place (pin_memory() would copy them)
                ptr, size = self.slab.data_ptr(), self.slab.numel()
                self.pinned = int(torch.cuda.cudart().cudaHostRegister(ptr, size, 1)) == 0
            else:
                self.slab = self.slab.pin_memory()
                self.pinned = True
        self.free: deque = deque((k, None) for k in range(slots))

    def view(self, slot: int, meta: dict) -> torch.Tensor:
        """The batch of ``meta`` as uint8 ``[T, 3, H, W]`` (a view of the slot, or inline); a
        channels-last batch (``meta["hwc"]``) is that view of its ``[T, H, W, 3]`` bytes, dense,
        so a copy to the device moves it in one block and keeps the layout."""
        hwc = bool(meta.get("hwc"))
        if meta["inline"] is not None:
            t = torch.from_numpy(meta["inline"])
        elif meta["shape"] is None:
            return torch.empty((0, 3, 1, 1), dtype=torch.uint8)
        else:
            h, w = meta["shape"]
            t = self.slab[slot, : meta["nbytes"]].view((-1, h, w, 3) if hwc else (-1, 3, h, w))
        return t.permute(0, 3, 1, 2) if hwc else t

    def release(self, slot: int, event=None) -> None:
        self.free.append((slot, event))

    def take(self, block: bool) -> int | None:
        """A free slot whose copy is done (waits for it when ``block``), else None."""
        if not self.free:
            return None
        slot, ev = self.free[0]
        if ev is not None and not ev.query():
            if not block:
                return None
            ev.synchronize()
        self.free.popleft()
        return slot

    def close(self) -> None:
        if self.pinned and self.slab.is_shared():
            torch.cuda.synchronize()  # no copy may still read the pages (a run that failed)
            torch.cuda.cudart().cudaHostUnregister(self.slab.data_ptr())
            self.pinned = False


def _worker_loop(ds: VariantDataset, slab: torch.Tensor, tasks, results, parent: int,
                 hwc: bool = False) -> None:  # fmt: skip
    """A decode worker: fill slots until told to stop (None) or the parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    torch.set_num_threads(1)
    buf = slab.numpy()
    while True:
        try:
            task = tasks.get(timeout=5.0)
        except queue.Empty:
            if os.getppid() != parent:
                return
            continue
        if task is None:
            return
        seq, slot, rows = task
        try:
            meta = fill_batch(ds, rows, buf[slot], hwc)
        except Exception:  # a bug, not a bad file (those are errors in meta): report it whole
            meta = {"failure": traceback.format_exc()}
        results.put((seq, slot, meta))


class DecodePool:
    """Batches of ``plan`` (row positions per batch) decoded by ``workers`` processes into a
    :class:`SlabRing` (``hwc``: channels last), yielded in order as ``(Batch, slot)``; the
    consumer calls ``ring.release(slot, event)`` when the batch's tiles are no longer read.
    ``waited``: seconds the consumer spent waiting for decoded batches (high: decode-bound)."""

    def __init__(self, ds: VariantDataset, plan: list, ring: SlabRing, workers: int,
                 hwc: bool = False):  # fmt: skip
        self.ds, self.plan, self.ring, self.workers, self.hwc = ds, plan, ring, workers, hwc
        self.waited = 0.0
        self.sent = 0  # batches handed to the workers so far
        self.procs: list = []
        if workers > 0:
            ctx = torch.multiprocessing.get_context()
            self.tasks, self.results = ctx.Queue(), ctx.Queue()
            self.procs = [ctx.Process(target=_worker_loop, daemon=True,
                                      args=(ds, ring.slab, self.tasks, self.results, os.getpid(),
                                            hwc))
                          for _ in range(workers)]  # fmt: skip
            for p in self.procs:
                p.start()

    def _send(self, seq: int) -> None:
        """Hand every free slot a batch (waits for a slot only when batch ``seq`` is not sent)."""
        while self.sent < len(self.plan):
            slot = self.ring.take(block=self.sent <= seq)
            if slot is None:
                break
            self.tasks.put((self.sent, slot, self.plan[self.sent]))
            self.sent += 1

    def start(self) -> None:
        """Start decoding now (the first batches), before the consumer asks: the caller can
        warm up the model meanwhile. Iterating starts it too."""
        if self.procs and not self.sent:
            self._send(0)

    def _batch(self, seq: int, slot: int, meta: dict) -> Batch:
        if "failure" in meta:
            rows = self.plan[seq]
            raise DegradebenchError(
                f"a decoding worker failed on rows {rows[0]}..{rows[-1]} (a bug, not a bad file; "
                f"rerun with --workers 0 to see it in the main process):\n{meta['failure']}"
            )
        return Batch(index=torch.tensor(meta["index"], dtype=torch.long),
                     tiles=self.ring.view(slot, meta),
                     counts=torch.tensor(meta["counts"], dtype=torch.long),
                     errors=meta["errors"], masks=meta["masks"], sizes=meta["sizes"])  # fmt: skip

    def __iter__(self) -> Iterator[tuple[Batch, int]]:
        if not self.procs:
            for seq, rows in enumerate(self.plan):
                slot = self.ring.take(block=True)
                meta = fill_batch(self.ds, rows, self.ring.slab[slot].numpy(), self.hwc)
                yield self._batch(seq, slot, meta), slot
            return
        done: dict = {}
        for seq in range(len(self.plan)):
            self._send(seq)
            t = time.perf_counter()
            while seq not in done:
                got = self._receive()
                done[got[0]] = got[1:]
            self.waited += time.perf_counter() - t
            slot, meta = done.pop(seq)
            yield self._batch(seq, slot, meta), slot

    def _receive(self) -> tuple:
        since = time.monotonic()
        while True:
            try:
                return self.results.get(timeout=1.0)
            except queue.Empty:
                pass
            for p in self.procs:
                if p.exitcode is not None:
                    raise DegradebenchError(
                        f"a decoding worker (pid {p.pid}) exited with code {p.exitcode} (out of "
                        "memory or killed?); rerun with --workers 0 to decode in the main process"
                    )
            if time.monotonic() - since > WORKER_TIMEOUT_S:
                raise DegradebenchError(
                    f"decoding workers stalled: no batch in {WORKER_TIMEOUT_S} s; rerun with "
                    "--workers 0 to decode in the main process"
                )

    def close(self) -> None:
        """Stop the workers (they finish the batch in hand) and unpin the ring."""
        for _ in self.procs:
            self.tasks.put(None)
        deadline = time.monotonic() + 5.0
        for p in self.procs:
            p.join(timeout=max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.terminate()
                p.join(timeout=1.0)
        if self.procs:
            self.tasks.cancel_join_thread()
            self.results.cancel_join_thread()
            self.tasks.close()
            self.results.close()
        self.procs = []
        self.ring.close()
