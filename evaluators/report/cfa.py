"""Whether the sources of an axis carry a colour-filter-array (CFA) phase that a crop can move.

Two signals, either enough: the dataset's name is listed in report.json's ``cfa_datasets``, or
the sources' folder holds a dataset ``metadata.json`` whose ``kind`` is listed in report.json's
``cfa_metadata_kinds`` (what ``build-dataset virtual-cameras`` writes, so virtual cameras given
by path and named after their folder are found too). The sources are reached through the
manifest that run.json names (its ``source_path`` column).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pandas as pd
from degradebench.generators.manifest import read_manifest

from .params import report_defaults
from .view import AxisView

__all__ = ["has_cfa", "cfa_source"]

_UP = 3  # folders above a source searched for the dataset's metadata.json
_SAMPLE = 5  # distinct sources looked at per manifest


@lru_cache(maxsize=256)
def _folder_kind(folder: str) -> str | None:
    path = Path(folder) / "metadata.json"
    try:
        if not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    kind = data.get("kind") if isinstance(data, dict) else None
    return str(kind) if kind else None


def cfa_source(source_path: str | Path) -> bool:
    """Whether a source file lies in a dataset whose ``metadata.json`` names a CFA kind."""
    kinds = set(report_defaults().get("cfa_metadata_kinds", []))
    folder = Path(source_path).parent
    for _ in range(_UP):
        if _folder_kind(str(folder)) in kinds:
            return True
        if folder.parent == folder:
            break
        folder = folder.parent
    return False


def _manifest_sources(root: Path, suite: str, axis: str) -> list[str]:
    try:
        df = read_manifest(root, columns=["suite", "axis", "source_path"])
    except Exception:  # noqa: BLE001 - an unreadable manifest only loses the CFA signal
        return []
    if suite and "suite" in df:
        df = df[df["suite"].astype(str) == suite]
    df = df[df["axis"].astype(str) == axis]
    return [str(p) for p in pd.unique(df["source_path"].dropna())[:_SAMPLE]]


def has_cfa(view: AxisView) -> bool:
    """Whether the sources of this axis carry a CFA phase (by dataset name or metadata.json)."""
    named = set(report_defaults().get("cfa_datasets", []))
    for m in view.models:
        pred = view.preds(m)
        if len(pred) and "dataset" in pred and set(pred["dataset"].dropna().astype(str)) & named:
            return True
    seen: set[Path] = set()
    for m in view.models:
        for run in m.runs:
            path = run.get("manifest", {}).get("path")
            root = Path(path) if path else None
            if root is None or root in seen or not (root / "manifest").is_dir():
                continue
            seen.add(root)
            if any(cfa_source(p) for p in _manifest_sources(root, view.suite, view.axis)):
                return True
    return False
