"""Dataset kind ``virtual-cameras``: the synthetic camera-model dataset, built on first use."""

from __future__ import annotations

import json
import os
from dataclasses import field
from pathlib import Path

from ..core.provenance import short_hash
from ..core.records import from_mapping, record, spec, to_plain
from .base import DatasetKind, DatasetSpec, ListContext, register_dataset_kind
from .list import list_table
from .table import SourceTable

__all__ = ["VirtualCamerasDataset", "cache_dir", "build_root"]

_COMMON = ("description", "folds", "fold_seed", "root")


@record
class VirtualCamerasDataset:
    """``kind: virtual-cameras`` keys besides the camera parameters (``VirtualCamerasParams``):
    the description, the folds and where the dataset is built (None: a params-keyed cache)."""

    description: str = ""
    folds: int = field(default=5, metadata=spec(lo=1, hi=100))
    fold_seed: int = 0
    root: str | None = None


def cache_dir() -> Path:
    """``$DEGRADEBENCH_CACHE``, else ``$XDG_CACHE_HOME/degradebench`` (``~/.cache/...``)."""
    base = os.environ.get("DEGRADEBENCH_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "degradebench"
    )
    return Path(base)


def build_root(spec_: DatasetSpec) -> Path:
    """Where the dataset of ``spec_`` is built: its ``root``, else a params-keyed cache folder."""
    if spec_.root:
        return Path(spec_.root).expanduser()
    key = short_hash(json.dumps(to_plain(spec_.params), sort_keys=True), 12)
    return cache_dir() / f"virtual-cameras-{key}"


def _parse(name: str, body: dict, path: str) -> DatasetSpec:
    from ..virtual_cameras import VirtualCamerasParams  # lazy: keeps `--help` fast

    body = dict(body)
    common_keys = {k: body.pop(k) for k in _COMMON if k in body}
    params = from_mapping(VirtualCamerasParams, body, path)
    common = from_mapping(VirtualCamerasDataset, common_keys, path)
    folds, fold_seed, root, desc = common.folds, common.fold_seed, common.root, common.description
    return DatasetSpec(name, "virtual-cameras", params, path, desc, folds, fold_seed, root)


def _list(spec_: DatasetSpec, ctx: ListContext) -> SourceTable:
    from ..virtual_cameras import build_virtual_cameras  # lazy: keeps `--help` fast

    table = build_virtual_cameras(
        spec_.params, build_root(spec_), jobs=ctx.jobs, progress=ctx.progress
    )
    return list_table(table, spec_.folds, spec_.fold_seed, yaml_path=spec_.yaml_path)


register_dataset_kind(
    DatasetKind("virtual-cameras", _parse, _list, "synthetic camera models, built on first use")
)
