"""Atomic files and the one directory lock: readers see nothing or everything, a second writer
is refused, and the OS releases the lock if its holder dies."""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import OutputError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["atomic_write_bytes", "write_table_atomic", "write_failure", "DirLock"]


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")


def write_failure(path: str | Path, exc: OSError) -> OutputError:
    """The one-line error for a failed write: the file, the reason, and that the run resumes."""
    code = errno.errorcode.get(exc.errno or 0)
    reason = (exc.strerror or str(exc)) + (f" ({code})" if code else "")
    return OutputError(
        f"cannot write {os.fspath(path)}: {reason}; free space or fix permissions, then run the "
        "same command again: finished work is kept"
    )


def atomic_write_bytes(path: str | Path, data: bytes, *, make_parent: bool = True) -> None:
    """Write via a temp file in the same folder + rename: readers see nothing or everything.

    Raises:
        OutputError: the write failed (ENOSPC, EACCES, EROFS...); no temp file is left behind.
    """
    path = os.fspath(path)
    head, tail = os.path.split(path)
    tmp = os.path.join(head, f".{tail}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        if make_parent:
            os.makedirs(head, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise write_failure(path, exc) from exc
        raise


def write_table_atomic(table: pa.Table, path: Path) -> None:
    """Write a Parquet file via a temp file + rename (see :func:`atomic_write_bytes`)."""
    tmp = _tmp_name(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        import pyarrow.parquet as pq  # noqa: PLC0415 - keeps the kernel (and --help) light

        pq.write_table(table, tmp, compression="snappy")
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.lexists(tmp):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise write_failure(path, exc) from exc
        raise


class DirLock:
    """An exclusive lock on a folder (``DIR/.lock``, flock via filelock), released by the OS if
    the holder dies. ``busy`` is the error raised when another live process holds it."""

    def __init__(self, folder: Path, busy: Exception, *, create: bool = False):
        from filelock import FileLock  # noqa: PLC0415 - keeps `--help` fast

        self.folder = Path(folder)
        self.busy = busy
        self.create = create
        self.lock = FileLock(str(self.folder / ".lock"), timeout=0)

    def __enter__(self) -> DirLock:
        from filelock import Timeout  # noqa: PLC0415

        try:
            if self.create:
                self.folder.mkdir(parents=True, exist_ok=True)
            self.lock.acquire()
        except Timeout:
            raise self.busy from None
        except OSError as exc:  # the folder is not writable: the lock file cannot be created
            raise write_failure(self.folder / ".lock", exc) from exc
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock.release()
