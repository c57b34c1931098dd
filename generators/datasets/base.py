"""The dataset-kind contract: a source reference, a parsed dataset entry and the kind registry.

A dataset kind (``folder``, ``list``, ``samples``, ``virtual-cameras``, or a user's own) is one
registered :class:`DatasetKind`: the frozen params record its YAML body is validated into, and
the function that lists its sources (path, label, group, fold) without reading pixels.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.registry import Registry

__all__ = [
    "SourceRef",
    "DatasetSpec",
    "DatasetKind",
    "DATASET_KINDS",
    "register_dataset_kind",
    "ListContext",
    "COMMON_KEYS",
    "resolve_path",
]

# Keys every kind accepts beside its own params (what the folds and the description need).
COMMON_KEYS = ("description", "folds", "fold_seed")


@dataclass(frozen=True)
class SourceRef:
    """One source image before it is read: where it is, its label, its group and its fold."""

    path: str  # absolute
    label: str
    group: str
    key: str  # path relative to the dataset root: stable across machines, orders --limit
    fold: int = -1


@dataclass(frozen=True)
class DatasetSpec:
    """One ``datasets.NAME`` entry of the config, validated: its kind's params and the folds."""

    name: str
    kind: str
    params: Any  # the kind's params record (FolderDataset, ListDataset, ...)
    yaml_path: str
    description: str = ""
    folds: int = 5
    fold_seed: int = 0
    root: str | None = None  # virtual-cameras: where to build (default: the user cache)


@dataclass(frozen=True)
class ListContext:
    """What listing may need beside the spec: worker count and progress (dataset builders)."""

    jobs: int = 1
    progress: bool = True


@dataclass(frozen=True)
class DatasetKind:
    """A registered dataset kind.

    Attributes:
        name: the ``kind:`` value in datasets.yaml.
        parse: ``(name, body, yaml_path) -> DatasetSpec`` (body without ``kind``).
        list_sources: ``(spec, ListContext) -> Sequence[SourceRef]`` with folds assigned: a
            list, or a columnar ``SourceTable`` (what the built-in kinds return: a large dataset
            then holds a few arrays, not one object per source).
        doc: one line for ``degradebench list datasets``.
    """

    name: str
    parse: Callable[[str, dict, str], DatasetSpec]
    list_sources: Callable[[DatasetSpec, ListContext], Sequence[SourceRef]]
    doc: str = ""


DATASET_KINDS: Registry[DatasetKind] = Registry("dataset kind")


def register_dataset_kind(kind: DatasetKind) -> DatasetKind:
    """Register ``kind`` under its name (duplicates are rejected)."""
    DATASET_KINDS.register(kind.name, kind)
    return kind


def resolve_path(path: str) -> str:
    """``str(Path(path).resolve())`` without ``pathlib``, which interns every path component
    (a table as large as the dataset, never shrunk); its symlink-loop error included."""
    real = os.path.realpath(path)
    try:
        os.stat(real)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise RuntimeError(f"Symlink loop from {exc.filename!r}") from None
    return real
