"""Columnar source lists (issue 16): the sources of a dataset as a few arrays (paths, keys and
groups packed as UTF-8, labels as codes into their names, folds as integers: ~150 bytes a source)
instead of one ``SourceRef`` object per source (~1 KB each, and a fragmented heap once freed).

A :class:`SourceTable` is a sequence of ``SourceRef`` made one at a time on access, so code that
indexes or iterates a list of sources works unchanged; the dataset kinds build one row by row
(:class:`SourceTableBuilder`) without holding a Python object per source.
"""

from __future__ import annotations

import operator
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

import numpy as np

from .base import SourceRef

__all__ = ["Strings", "SourceTable", "SourceTableBuilder"]

_ENC = ("utf-8", "surrogatepass")  # round-trips any str, file names that are not UTF-8 included


class Strings(Sequence[str]):
    """Immutable strings packed in one UTF-8 buffer with their end offsets (``str`` made on
    access). UTF-8 byte order is code point order, so sorting the bytes sorts the strings."""

    __slots__ = ("_buf", "_ends")

    def __init__(self, items: Iterable[str] = ()):
        buf, ends = bytearray(), array("q")
        for s in items:
            buf += s.encode(*_ENC)
            ends.append(len(buf))
        self._buf, self._ends = bytes(buf), np.array(ends, dtype=np.int64)

    @classmethod
    def _of(cls, buf: bytes, ends: np.ndarray) -> Strings:
        new = cls.__new__(cls)
        new._buf, new._ends = buf, ends
        return new

    def __len__(self) -> int:
        return len(self._ends)

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> Strings: ...
    def __getitem__(self, i):
        if isinstance(i, slice):
            return self.take(np.arange(len(self))[i])
        start, end = self._span(i)
        return self._buf[start:end].decode(*_ENC)

    def _span(self, i: int) -> tuple[int, int]:
        n = len(self._ends)
        i = operator.index(i)
        j = i + n if i < 0 else i
        if not 0 <= j < n:
            raise IndexError(f"string index {i} out of range for {n} strings")
        return (int(self._ends[j - 1]) if j else 0), int(self._ends[j])

    def __iter__(self) -> Iterator[str]:
        buf, start = self._buf, 0
        for end in self._ends.tolist():
            yield buf[start:end].decode(*_ENC)
            start = end

    def take(self, idx: Sequence[int] | np.ndarray) -> Strings:
        """The strings at ``idx`` (in that order) as a new packed column."""
        idx = np.asarray(idx, dtype=np.int64)
        starts = np.concatenate(([0], self._ends[:-1]))[idx] if len(self) else idx
        ends = self._ends[idx] if len(self) else idx
        view = memoryview(self._buf)
        buf = b"".join(view[s:e] for s, e in zip(starts.tolist(), ends.tolist()))
        return Strings._of(buf, np.cumsum(ends - starts, dtype=np.int64))

    def sort_keys(self) -> np.ndarray:
        """A fixed-width bytes array that sorts as the strings do (``np.lexsort`` key)."""
        if not len(self):
            return np.zeros(0, dtype="S1")
        view, start, out = self._buf, 0, []
        for end in self._ends.tolist():
            out.append(view[start:end])
            start = end
        return np.array(out, dtype=f"S{max(1, max(map(len, out)))}")

    @property
    def nbytes(self) -> int:
        return len(self._buf) + self._ends.nbytes

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Strings):
            return self._buf == other._buf and np.array_equal(self._ends, other._ends)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Strings({len(self)} strings, {self.nbytes} bytes)"


class SourceTable(Sequence[SourceRef]):
    """The sources of a dataset, columnar: ``paths``, ``keys`` and ``groups`` (:class:`Strings`;
    ``groups`` is ``keys`` when no group differs from its key), ``label_codes`` into
    ``label_names`` and ``folds`` (-1 before they are assigned). Indexing makes a ``SourceRef``.
    Equal to any sequence of the same ``SourceRef`` values (a list of them included)."""

    __slots__ = ("paths", "keys", "groups", "label_codes", "label_names", "folds")

    def __init__(
        self,
        paths: Strings,
        keys: Strings,
        groups: Strings | None,
        label_codes: np.ndarray,
        label_names: tuple[str, ...],
        folds: np.ndarray | None = None,
    ):
        n = len(paths)
        self.paths, self.keys = paths, keys
        self.groups = keys if groups is None else groups
        self.label_codes = np.asarray(label_codes, dtype=np.int32)
        self.label_names = tuple(label_names)
        self.folds = np.full(n, -1, np.int32) if folds is None else np.asarray(folds, np.int32)
        if not (len(keys) == len(self.groups) == len(self.label_codes) == len(self.folds) == n):
            raise ValueError(
                f"SourceTable columns differ in length: paths {n}, keys {len(keys)}, groups "
                f"{len(self.groups)}, labels {len(self.label_codes)}, folds {len(self.folds)}"
            )

    @classmethod
    def from_refs(cls, refs: Iterable[SourceRef]) -> SourceTable:
        """``refs`` as a table (a table is returned as it is)."""
        if isinstance(refs, SourceTable):
            return refs
        b = SourceTableBuilder()
        for r in refs:
            b.add(r.path, r.label, r.group, r.key, r.fold)
        return b.build()

    def __len__(self) -> int:
        return len(self.paths)

    @overload
    def __getitem__(self, i: int) -> SourceRef: ...
    @overload
    def __getitem__(self, i: slice) -> SourceTable: ...
    def __getitem__(self, i):
        if isinstance(i, slice):
            return self.take(np.arange(len(self))[i])
        key = self.keys[i]
        group = key if self.groups is self.keys else self.groups[i]  # one str, as listed
        return SourceRef(self.paths[i], self.label(i), group, key, self.fold(i))

    def __iter__(self) -> Iterator[SourceRef]:
        names, codes, folds = self.label_names, self.label_codes.tolist(), self.folds.tolist()
        own = self.groups is not self.keys
        groups = iter(self.groups) if own else None
        for p, k, c, f in zip(self.paths, self.keys, codes, folds):
            yield SourceRef(p, names[c], next(groups) if own else k, k, f)  # type: ignore[arg-type]

    def label(self, i: int) -> str:
        return self.label_names[int(self.label_codes[i])]

    def fold(self, i: int) -> int:
        return int(self.folds[i])

    @property
    def labels(self) -> list[str]:
        """Every source's label, in order."""
        names = self.label_names
        return [names[c] for c in self.label_codes.tolist()]

    def take(self, idx: Sequence[int] | np.ndarray) -> SourceTable:
        """The sources at ``idx``, in that order."""
        idx = np.asarray(idx, dtype=np.int64)
        groups = None if self.groups is self.keys else self.groups.take(idx)
        return SourceTable(
            self.paths.take(idx), self.keys.take(idx), groups, self.label_codes[idx],
            self.label_names, self.folds[idx],
        )  # fmt: skip

    def with_folds(self, folds: Sequence[int] | np.ndarray) -> SourceTable:
        """The same sources with ``folds`` (one per source); the columns are shared."""
        groups = None if self.groups is self.keys else self.groups
        return SourceTable(
            self.paths, self.keys, groups, self.label_codes, self.label_names, np.asarray(folds)
        )

    @property
    def nbytes(self) -> int:
        """Bytes held by the columns (what a run keeps per source)."""
        groups = 0 if self.groups is self.keys else self.groups.nbytes
        return (
            self.paths.nbytes + self.keys.nbytes + groups + self.label_codes.nbytes
            + self.folds.nbytes + sum(len(s) for s in self.label_names)
        )  # fmt: skip

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SourceTable({len(self)} sources, {len(self.label_names)} labels)"


class SourceTableBuilder:
    """Rows appended one at a time (``add``), packed as they come; ``build`` makes the table."""

    def __init__(self) -> None:
        self._bufs = [bytearray(), bytearray(), bytearray()]  # paths, keys, groups
        self._ends = [array("q"), array("q"), array("q")]
        self._codes, self._folds = array("i"), array("i")
        self._labels: dict[str, int] = {}
        self._own_groups = False  # some group differs from its key

    def __len__(self) -> int:
        return len(self._codes)

    def add(self, path: str, label: str, group: str, key: str, fold: int = -1) -> None:
        for buf, ends, s in zip(self._bufs, self._ends, (path, key, group)):
            buf += s.encode(*_ENC)
            ends.append(len(buf))
        self._own_groups = self._own_groups or group != key
        self._codes.append(self._labels.setdefault(label, len(self._labels)))
        self._folds.append(fold)

    def build(self) -> SourceTable:
        paths, keys, groups = (
            Strings._of(bytes(b), np.array(e, dtype=np.int64))
            for b, e in zip(self._bufs, self._ends)
        )  # fmt: skip
        return SourceTable(
            paths, keys, groups if self._own_groups else None,
            np.array(self._codes, dtype=np.int32), tuple(self._labels),
            np.array(self._folds, dtype=np.int32),
        )  # fmt: skip
