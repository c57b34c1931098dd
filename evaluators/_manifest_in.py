"""What evaluation reads from a generated OUT folder: the manifest, its metadata (suites and the
figures they declare), the levels each suite planned, fold selection and the class list."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from degradebench.generators.core.errors import ConfigError, DegradebenchError
from degradebench.generators.core.records import parse_folds
from degradebench.generators.manifest import (
    ManifestError,
    read_errors,
    read_manifest,
    read_metadata,
    unsafe_paths,
)

__all__ = ["ManifestInput", "load_manifest", "read_input", "select_folds", "class_list"]

REQUIRED = ["variant_id", "source_id", "label", "axis", "level", "path"]


@dataclass
class ManifestInput:
    """A manifest ready for evaluation."""

    frame: pd.DataFrame  # the selected rows, index 0..n-1
    root: Path
    metadata: dict[str, Any]  # the first part's metadata (provenance for run.json)
    figures: dict[str, tuple[str, ...]] = field(default_factory=dict)  # suite -> declared
    planned: dict[str, set] = field(default_factory=dict)  # suite -> {(axis, level)}
    total_rows: int = 0
    folds: list[int] | None = None


def _root(manifest: str | Path) -> Path:
    root = Path(manifest)
    if root.name == "manifest" and (root / "..").exists() and not (root / "manifest").exists():
        root = root.parent
    if not (root / "manifest").exists():
        msg = (
            f"--manifest {manifest}: no manifest at {root / 'manifest'}; give the OUT folder of "
            "'degradebench generate'"
        )
        raise ConfigError(msg)
    return root


def _metadata(root: Path) -> list[dict]:
    try:
        return read_metadata(root)
    except Exception:  # metadata is provenance only; a damaged key must not stop the run
        return []


def load_manifest(manifest: str | Path) -> tuple[pd.DataFrame, Path, dict]:
    """Read ``OUT/manifest`` -> (frame, OUT, metadata of the first part), checked for safety."""
    root = _root(manifest)
    try:
        df = read_manifest(root)
    except DegradebenchError:
        raise
    except Exception as exc:
        raise ConfigError(f"--manifest {manifest}: cannot read {root / 'manifest'}: {exc}") from exc
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        msg = f"--manifest {manifest}: columns {missing} are missing; has {list(df.columns)}"
        raise ConfigError(msg)
    bad = unsafe_paths(root, df["path"].tolist())
    if bad:
        path, why = bad[0]
        msg = (
            f"--manifest {manifest}: {len(bad)} manifest paths would read outside {root}, e.g. "
            f"{path!r} ({why}); a manifest names files inside its output folder only"
        )
        raise ManifestError(msg)
    metas = _metadata(root)
    return df, root, ({"degradebench": metas[0]} if metas else {})


def _declared_figures(metas: list[dict]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for m in metas:
        suite = str(m.get("suite") or "")
        definition = m.get("suite_definition") if isinstance(m.get("suite_definition"), dict) else {}
        names = m.get("figures") or definition.get("figures") or ()
        if isinstance(names, (list, tuple)):
            out[suite] = tuple(dict.fromkeys([*out.get(suite, ()), *map(str, names)]))
    return out


def _planned(df: pd.DataFrame, root: Path) -> dict[str, set]:
    """Per suite, the (axis, level) pairs planned: those in the manifest and the variants that
    failed to be made (``errors.parquet``'s ``variant`` column, ``axis/level``)."""
    suites = df["suite"].fillna("").astype(str) if "suite" in df else pd.Series("", index=df.index)
    out: dict[str, set] = {}
    for s, axis, level in zip(suites, df["axis"].astype(str), df["level"].astype(str)):
        out.setdefault(s, set()).add((axis, level))
    try:
        errors = read_errors(root)
    except Exception:  # a damaged errors file: the manifest's levels are what we know
        return out
    if "variant" in errors and len(errors):
        for s, v in zip(errors.get("suite", pd.Series("", index=errors.index)), errors["variant"]):
            if isinstance(v, str) and "/" in v:
                axis, level = v.split("/", 1)
                out.setdefault(str(s or ""), set()).add((axis, level))
    return out


def select_folds(df: pd.DataFrame, folds: list[int] | str | None) -> tuple[pd.DataFrame, list | None]:
    """The rows of the given folds (all rows for None); an error names the folds that exist."""
    fold_list = parse_folds(folds)
    if fold_list is None:
        return df.reset_index(drop=True), None
    if "fold" not in df:
        raise ConfigError("--folds: the manifest has no 'fold' column")
    sel = df[df["fold"].isin(fold_list)]
    if sel.empty:
        have = sorted(int(f) for f in pd.unique(df["fold"].dropna()))
        raise ConfigError(f"--folds {fold_list}: no variants in those folds; manifest has {have}")
    return sel.reset_index(drop=True), fold_list


def class_list(manifest: pd.DataFrame, declared: tuple[str, ...] | None) -> list[str]:
    """The model's declared classes, else every label in the manifest (all folds) sorted, so a
    fold missing a class does not shift the others."""
    if declared is not None:
        return list(declared)
    return sorted({str(v) for v in manifest["label"].dropna() if str(v) != ""})


def read_input(manifest: str | Path, folds: list[int] | str | None) -> tuple[ManifestInput, pd.DataFrame]:
    """The manifest for evaluation and the full frame (all folds, for the class list)."""
    full, root, meta = load_manifest(manifest)
    metas = _metadata(root)
    frame, fold_list = select_folds(full, folds)
    planned = _planned(frame, root)
    if fold_list is not None:  # only the levels of the selected sources' suites matter
        planned = {s: v for s, v in planned.items() if s in set(_suites(frame))}
    mi = ManifestInput(frame, root, meta, _declared_figures(metas), planned, len(full), fold_list)
    return mi, full


def _suites(df: pd.DataFrame) -> list[str]:
    return df["suite"].fillna("").astype(str).unique().tolist() if "suite" in df else [""]
