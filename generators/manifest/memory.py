"""Flat memory for the manifest's long passes (compaction, ``verify``): Arrow on the system
allocator while they run, and glibc's free heap handed back to the OS as they go.

Why (measured with bench/scale.py's data, issue 16): with Arrow's default mimalloc pool, reading
one 8k-row group of 11 manifest columns raised RSS by ~24 MiB for ~4 MiB of Arrow buffers (~10 MiB
for a 2k-row group), so peak memory followed the row-group and run size; on the system
allocator the same read costs ~5 MiB. Freed glibc memory stays in the heap, fragmented, unless
``malloc_trim`` returns it: without it, ``verify``'s RSS crept up ~3 MiB per 20k rows.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import glob
import os
import time
from collections.abc import Callable, Iterator

import pyarrow as pa

__all__ = ["system_pool", "HeapTrim", "release_arrow_heap"]


@contextlib.contextmanager
def system_pool() -> Iterator[None]:
    """Arrow's default memory pool is the system allocator inside the block (buffers made
    before or after keep the pool that made them: switching is safe at any time)."""
    before = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(before)


class HeapTrim:
    """``malloc_trim(0)`` at most every ``every`` seconds (a no-op without glibc); call it as
    often as convenient, e.g. once per batch."""

    def __init__(self, every: float = 0.25):
        self.every, self.last = every, time.perf_counter()
        try:
            self._trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            self._trim = None

    def __call__(self, force: bool = False) -> None:
        now = time.perf_counter()
        if self._trim is not None and (force or now - self.last >= self.every):
            self._trim(0)
            self.last = time.perf_counter()


@functools.cache
def _mi_collect() -> Callable[[bool], None] | None:
    """``mi_collect`` of the mimalloc that Arrow bundles (exported as ``arrow_mi_collect``), or
    None (a build without it)."""
    # beside pyarrow (wheels); not pa.get_library_dirs(), which forks pkg-config: a child of a
    # large process counts as large in peak-memory figures
    libs = sorted(glob.glob(os.path.join(os.path.dirname(pa.__file__), "libarrow.*")))
    for lib in libs:
        try:
            fn = ctypes.CDLL(lib).arrow_mi_collect
        except (OSError, AttributeError):
            continue
        fn.argtypes, fn.restype = [ctypes.c_bool], None
        return fn
    return None


def release_arrow_heap() -> None:
    """Hand back the pages Arrow's mimalloc keeps after freeing them (``mi_collect(force)``).

    Why (issue 16): the Parquet writer allocates from Arrow's C++ default pool (mimalloc), which
    ``system_pool`` does not reach; writing a 2,048-row group of the manifest peaks at ~4 MB of
    buffers but left 18-34 MiB resident between groups (purged only later, by mimalloc's own
    timer), so compaction's peak grew with the number of groups written. Collected after each
    group it stays at ~3 MiB. A no-op where Arrow has no mimalloc."""
    fn = _mi_collect()
    if fn is not None:
        fn(True)
