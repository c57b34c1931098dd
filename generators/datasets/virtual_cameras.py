"""Dataset kind ``virtual-cameras``: the synthetic camera-model dataset, built on first use."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..core.errors import ConfigError
from ..core.messages import short_repr
from ..core.provenance import short_hash
from ..core.records import check_int, from_mapping, to_plain
from .base import DatasetKind, DatasetSpec, ListContext, SourceRef, register_dataset_kind
from .list import list_table

__all__ = ["cache_dir", "build_root"]


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
    common = {k: body.pop(k) for k in ("description", "folds", "fold_seed", "root") if k in body}
    params = from_mapping(VirtualCamerasParams, body, path)
    folds = check_int(common.get("folds", 5), f"{path}.folds", 1, 100)
    fold_seed = check_int(common.get("fold_seed", 0), f"{path}.fold_seed")
    root = common.get("root")
    if root is not None and not isinstance(root, str):
        raise ConfigError(
            f"{path}.root: must be a folder path, got {short_repr(root)} ({type(root).__name__})"
        )
    desc = str(common.get("description", ""))
    return DatasetSpec(name, "virtual-cameras", params, path, desc, folds, fold_seed, root)


def _list(spec_: DatasetSpec, ctx: ListContext) -> list[SourceRef]:
    from ..virtual_cameras import build_virtual_cameras  # lazy: keeps `--help` fast

    table = build_virtual_cameras(
        spec_.params, build_root(spec_), jobs=ctx.jobs, progress=ctx.progress
    )
    return list_table(table, spec_.folds, spec_.fold_seed, yaml_path=spec_.yaml_path)


register_dataset_kind(
    DatasetKind("virtual-cameras", _parse, _list, "synthetic camera models, built on first use")
)
