"""Where source images come from: dataset kinds, one module per kind, registered by name.

``DATASET_KINDS`` maps a ``kind:`` of datasets.yaml to its :class:`DatasetKind` (params record
and source listing): ``folder`` (root/<label>/*), ``list`` (path,label[,group] table),
``samples`` (scikit-image's photographs), ``virtual-cameras`` (synthetic camera models) and
``virtual-scanners`` (synthetic document scans).
A user's kind registers the same way: ``register_dataset_kind(DatasetKind(...))``.
Every source gets a label, a group and a fold; folds never split a group (see ``folds``).
The built-in kinds return a columnar ``SourceTable`` (``table``): a few arrays, not one object
per source.
"""

from __future__ import annotations

from . import folder, samples, virtual_cameras, virtual_scanners  # noqa: F401  (registration)
from . import list as _list_kind  # noqa: F401  ('list' would shadow the builtin here)
from .base import (
    DATASET_KINDS,
    DatasetKind,
    DatasetSpec,
    ListContext,
    SourceRef,
    register_dataset_kind,
)
from .by_path import looks_like_path, sources_from_path
from .folder import EXCLUDED_SUFFIXES, IMAGE_SUFFIXES, FolderDataset, list_folder
from .folds import assign_folds, limit_per_label, with_folds
from .list import ListDataset, list_table
from .samples import SamplesDataset, list_samples
from .table import SourceTable, SourceTableBuilder, Strings
from .virtual_cameras import VirtualCamerasDataset
from .virtual_scanners import VirtualScannersDataset

__all__ = [
    "DATASET_KINDS",
    "DatasetKind",
    "DatasetSpec",
    "ListContext",
    "SourceRef",
    "SourceTable",
    "SourceTableBuilder",
    "Strings",
    "register_dataset_kind",
    "assign_folds",
    "with_folds",
    "limit_per_label",
    "list_folder",
    "list_table",
    "list_samples",
    "looks_like_path",
    "sources_from_path",
    "FolderDataset",
    "ListDataset",
    "SamplesDataset",
    "VirtualCamerasDataset",
    "VirtualScannersDataset",
    "IMAGE_SUFFIXES",
    "EXCLUDED_SUFFIXES",
]
