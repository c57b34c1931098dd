"""Dataset kind ``list``: a CSV or Parquet table with columns ``path,label[,group]``."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import field
from pathlib import Path

from ..core.errors import ConfigError
from ..core.records import from_mapping, record, spec
from .base import DatasetKind, DatasetSpec, ListContext, register_dataset_kind, resolve_path
from .folds import with_folds
from .table import SourceTable, SourceTableBuilder

__all__ = ["ListDataset", "list_table", "LIST_FILES"]

# A folder holding one of these is read as that list (labels and groups from it), e.g. the
# virtual cameras' build folder given by path.
LIST_FILES = ("list.csv", "list.parquet")


@record
class ListDataset:
    """``kind: list`` parameters: the table, the root its relative paths start from, the folds."""

    path: str
    root: str | None = None
    description: str = ""
    folds: int = field(default=5, metadata=spec(lo=1, hi=100))
    fold_seed: int = 0


def _read_rows(table: Path) -> Iterator[dict]:
    """The list's rows, one at a time (a CSV is streamed, not held)."""
    if table.suffix.lower() == ".parquet":
        import pandas as pd

        yield from pd.read_parquet(table).astype(str).to_dict("records")
        return
    with open(table, newline="", encoding="utf-8") as fh:
        yield from csv.DictReader(fh)


def list_table(
    table: str | Path,
    k: int = 5,
    seed: int = 0,
    root: str | Path | None = None,
    yaml_path: str = "dataset",
) -> SourceTable:
    """A CSV or Parquet list with columns ``path,label`` (optional ``group``); relative paths are
    taken relative to ``root`` (default: the list's folder). Folds keep each group together.
    Returns a columnar :class:`SourceTable` (a sequence of ``SourceRef``)."""
    table = Path(table).expanduser()
    if not table.is_file():
        raise ConfigError(f"{yaml_path}.path: list file not found: {str(table)!r}")
    base = os.path.expanduser(str(root)) if root else str(table.parent)
    refs = SourceTableBuilder()
    for i, row in enumerate(_read_rows(table)):
        missing = [c for c in ("path", "label") if not row.get(c)]
        if missing:
            raise ConfigError(
                f"{table}: row {i + 2}: missing {', '.join(missing)}; columns must be path,label[,group]"
            )
        key = row["path"]
        path = resolve_path(os.path.join(base, os.path.expanduser(key)))
        refs.add(path, str(row["label"]), str(row.get("group") or key), key)
    if not len(refs):
        raise ConfigError(f"{yaml_path}: list {str(table)!r} has no rows")
    return with_folds(refs.build(), k, seed)


def _parse(name: str, body: dict, path: str) -> DatasetSpec:
    p = from_mapping(ListDataset, body, path)
    return DatasetSpec(name, "list", p, path, p.description, p.folds, p.fold_seed, p.root)


def _list(spec_: DatasetSpec, ctx: ListContext) -> SourceTable:
    p = spec_.params
    return list_table(p.path, spec_.folds, spec_.fold_seed, p.root, spec_.yaml_path)


register_dataset_kind(DatasetKind("list", _parse, _list, "a CSV/Parquet table path,label[,group]"))
