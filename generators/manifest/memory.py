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
import time
from collections.abc import Iterator

import pyarrow as pa

__all__ = ["system_pool", "HeapTrim"]


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
            import ctypes  # noqa: PLC0415 - only the long passes need it

            self._trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            self._trim = None

    def __call__(self, force: bool = False) -> None:
        now = time.perf_counter()
        if self._trim is not None and (force or now - self.last >= self.every):
            self._trim(0)
            self.last = time.perf_counter()
