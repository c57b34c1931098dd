"""Atomic files and the one directory lock: readers see nothing or everything, a second writer
is refused, and the OS releases the lock if its holder dies."""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import OutputError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "atomic_write_bytes",
    "write_table_atomic",
    "atomic_replace_dir",
    "remove_temp_files",
    "is_temp_name",
    "write_failure",
    "DirLock",
    "build_dataset_once",
]


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is a temp file of this module's writers (``.NAME.tmp-*``) or of releases
    that wrote ``NAME.parquet.tmp``."""
    return (name.startswith(".") and ".tmp-" in name) or name.endswith(".parquet.tmp")


def remove_temp_files(folder: str | Path, *, recursive: bool) -> int:
    """Remove the temp files a killed writer left in ``folder`` (and below it when
    ``recursive``); returns how many. Call it while holding the folder's lock."""
    n = 0
    for dirpath, dirnames, files in os.walk(folder):
        for name in files:
            if is_temp_name(name):
                Path(dirpath, name).unlink(missing_ok=True)
                n += 1
        if not recursive:
            dirnames.clear()
    return n


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


def atomic_replace_dir(target: str | Path, fill: Callable[[Path], None]) -> None:
    """Build a folder in a temp sibling (``fill(tmp)``) and rename it to ``target``: readers see
    no folder or the whole one. ``target`` may exist only as an empty folder. Temp folders of
    killed builds are removed first, so call it while holding a lock on the build (e.g. a
    :class:`DirLock` on the parent folder); on any failure the temp folder is removed.

    Raises:
        OutputError: creating or renaming the folder failed (ENOSPC, EACCES, EROFS...).
    """
    target = Path(target)
    for stale in target.parent.glob(f".{target.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = _tmp_name(target)
    try:
        tmp.mkdir(parents=True)
        fill(tmp)
        if target.is_dir():
            target.rmdir()  # empty: a non-empty target is refused (OSError ENOTEMPTY)
        os.replace(tmp, target)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):
            raise write_failure(target, exc) from exc
        raise


class DirLock:
    """An exclusive lock on a folder (``DIR/.lock``, flock via filelock), released by the OS if
    the holder dies. ``busy`` is the error raised when another live process holds it; with
    ``wait`` the lock waits for the holder instead. ``name`` is the lock file's name in the
    folder (e.g. ``.NAME.lock`` in a parent folder, to lock the build of ``NAME``)."""

    def __init__(
        self,
        folder: Path,
        busy: Exception,
        *,
        create: bool = False,
        wait: bool = False,
        name: str = ".lock",
    ):
        from filelock import FileLock  # noqa: PLC0415 - keeps `--help` fast

        self.folder = Path(folder)
        self.busy = busy
        self.create = create
        self.lock = FileLock(str(self.folder / name), timeout=-1 if wait else 0)

    def __enter__(self) -> DirLock:
        from filelock import Timeout  # noqa: PLC0415

        try:
            if self.create:
                self.folder.mkdir(parents=True, exist_ok=True)
            self.lock.acquire()
        except Timeout:
            raise self.busy from None
        except OSError as exc:  # the folder is not writable: the lock file cannot be created
            raise write_failure(self.lock.lock_file, exc) from exc
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def build_dataset_once(
    root: Path, what: str, want: str, marker: str, fill: Callable[[Path], None]
) -> None:
    """Build dataset ``what`` (e.g. ``virtual-cameras``) at ``root`` once: a no-op when
    ``root/marker`` holds ``want`` (the params hash ``fill`` writes there), else ``fill(tmp)``
    under a lock on the parent and an atomic rename (:func:`atomic_replace_dir`); a concurrent
    builder waits, then finds the finished folder.

    Raises:
        ConfigError: ``root`` holds another build of ``what`` or other files.
    """
    from .errors import ConfigError, LockedError

    def done() -> bool:
        if (root / marker).is_file():
            have = (root / marker).read_text(encoding="utf-8").strip()
            if have == want:
                return True
            raise ConfigError(
                f"{root}: holds a {what} dataset built with other params "
                f"(hash {have[:12]}, wanted {want[:12]}); remove it or choose another folder"
            )
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise ConfigError(
                f"{root}: exists and is not a complete {what} dataset; "
                "remove it or choose another folder"
            )
        return False

    if done():
        return
    busy = LockedError(f"{root}: another process is building it")  # not raised: ``wait``
    with DirLock(root.parent, busy, create=True, wait=True, name=f".{root.name}.lock"):
        if not done():  # another process may have finished it while we waited
            atomic_replace_dir(root, fill)
