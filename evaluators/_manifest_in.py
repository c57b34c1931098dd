"""What evaluation reads from a generated OUT folder: the manifest, its metadata (suites and the
figures they declare), the levels each suite planned, fold selection and the class list."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from degradebench.generators.core.errors import ConfigError, DegradebenchError
from degradebench.generators.core.records import parse_folds
from degradebench.generators.manifest import (
    LIST_COLUMNS,
    MANIFEST_SCHEMA,
    ManifestError,
    read_errors,
    read_manifest,
    read_metadata,
    unsafe_paths,
)

__all__ = [
    "ManifestInput",
    "load_manifest",
    "read_input",
    "select_folds",
    "class_list",
    "crop_axes",
    "relabel_old_crop_levels",
]

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
    df, root, metas = _load(manifest)
    return df, root, ({"degradebench": metas[0]} if metas else {})


def _load(manifest: str | Path) -> tuple[pd.DataFrame, Path, list[dict]]:
    """The checked, relabelled manifest frame, OUT, and every part's metadata (read once)."""
    root = _root(manifest)
    try:
        # the nested list columns (JPEG tables, grids) are not evaluated: not decoded
        df = read_manifest(
            root, columns=[c for c in MANIFEST_SCHEMA.names if c not in LIST_COLUMNS]
        )
    except DegradebenchError:
        raise
    except Exception as exc:
        raise ConfigError(f"--manifest {manifest}: cannot read {root / 'manifest'}: {exc}") from exc
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        msg = f"--manifest {manifest}: columns {missing} are missing; has {list(df.columns)}"
        raise ConfigError(msg)
    bad = unsafe_paths(root, df["path"])
    if bad:
        path, why = bad[0]
        msg = (
            f"--manifest {manifest}: {len(bad)} manifest paths would read outside {root}, e.g. "
            f"{path!r} ({why}); a manifest names files inside its output folder only"
        )
        raise ManifestError(msg)
    _one_dataset_per_suite(df, manifest)
    metas = _metadata(root)
    return relabel_old_crop_levels(df, metas), root, metas


def _one_dataset_per_suite(df: pd.DataFrame, manifest: str | Path) -> None:
    """Results are keyed by suite: one suite name over two datasets (an OUT written before
    ``generate`` refused that) would pool unrelated sources into one row."""
    if "dataset" not in df.columns or not len(df):
        return
    per_suite = df.groupby("suite")["dataset"].unique()
    mixed = {s: sorted(map(str, d)) for s, d in per_suite.items() if len(d) > 1}
    if mixed:
        suite, datasets = next(iter(mixed.items()))
        msg = (
            f"--manifest {manifest}: suite {suite!r} holds variants of {len(datasets)} datasets "
            f"({', '.join(map(repr, datasets))}); results would pool them. Generate each dataset "
            "into its own --out and evaluate them separately"
        )
        raise ConfigError(msg)


_OLD_CROP = re.compile(r"^(\d+)x(\d+)$")


def crop_axes(metas: list[dict]) -> dict[str, set[str]]:
    """Per suite whose definition the manifest metadata holds, the names of its crop axes
    (``type: crop``, or an axis named ``crop`` without a type)."""
    out: dict[str, set[str]] = {}
    for m in metas:
        definition = m.get("suite_definition")
        axes = definition.get("axes") if isinstance(definition, dict) else None
        if isinstance(axes, dict):
            out[str(m.get("suite") or "")] = {
                str(a) for a, body in axes.items()
                if isinstance(body, dict) and str(body.get("type", a)) == "crop"
            }  # fmt: skip
    return out


def _offsets(axis_params: object) -> tuple | None:
    try:
        d = json.loads(axis_params) if isinstance(axis_params, str) else axis_params
    except ValueError:
        return None
    return (d.get("dy"), d.get("dx")) if isinstance(d, dict) else None


def _old_crop_rows(df: pd.DataFrame, metas: list[dict]) -> pd.Series:
    """Rows whose level is an old crop label ``RxC`` on a crop axis: by the suite definition
    when the metadata holds it, else by the row's own ``dy``/``dx`` parameters (a resize level
    ``224x224`` has none, so it is never taken for a crop)."""
    levels = df["level"].astype(str)
    candidate = levels.isin([v for v in levels.unique() if _OLD_CROP.match(v)])
    if not candidate.any():
        return candidate
    m = levels.str.extract(_OLD_CROP)
    crops = crop_axes(metas)
    suites = df["suite"].fillna("").astype(str) if "suite" in df else pd.Series("", index=df.index)
    params = df["axis_params"] if "axis_params" in df else pd.Series(None, index=df.index)
    out = pd.Series(False, index=df.index)
    for i in df.index[candidate]:
        declared = crops.get(suites[i], crops.get("") if len(crops) == 1 else None)
        if declared is not None:
            out[i] = str(df.at[i, "axis"]) in declared
        else:
            out[i] = _offsets(params[i]) == (int(m.at[i, 0]), int(m.at[i, 1]))
    return out


def relabel_old_crop_levels(df: pd.DataFrame, metas: list[dict]) -> pd.DataFrame:
    """A manifest written before crop levels were renamed: its crop levels ``3x5`` become
    ``dy=3,dx=5`` (what a new manifest holds), so results carry the new labels; levels of other
    axes (a resize's ``224x224``) stay as they are."""
    if "level" not in df or "axis" not in df or not len(df):
        return df
    rows = _old_crop_rows(df, metas)
    if not rows.any():
        return df
    df = df.copy()
    df["level"] = df["level"].astype(object)
    df.loc[rows, "level"] = df.loc[rows, "level"].astype(str).str.replace(
        _OLD_CROP, r"dy=\1,dx=\2", regex=True
    )
    return df


def _declared_figures(metas: list[dict]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for m in metas:
        suite = str(m.get("suite") or "")
        definition = m.get("suite_definition") if isinstance(m.get("suite_definition"), dict) else {}
        names = m.get("figures") or definition.get("figures") or ()
        if isinstance(names, (list, tuple)):
            out[suite] = tuple(dict.fromkeys([*out.get(suite, ()), *map(str, names)]))
    return out


def _planned(df: pd.DataFrame, root: Path, metas: list[dict] | None = None) -> dict[str, set]:
    """Per suite, the (axis, level) pairs planned: those in the manifest and the variants that
    failed to be made (``errors.parquet``'s ``variant`` column, ``axis/level``; an old crop
    label there is renamed like the manifest's)."""
    suites = df["suite"].fillna("").astype(str) if "suite" in df else pd.Series("", index=df.index)
    out: dict[str, set] = {}
    levels = pd.DataFrame({"s": suites, "a": df["axis"].astype(str), "l": df["level"].astype(str)})
    for s, axis, level in levels.drop_duplicates().itertuples(index=False):
        out.setdefault(s, set()).add((axis, level))
    try:
        errors = read_errors(root)
    except Exception:  # a damaged errors file: the manifest's levels are what we know
        return out
    if "variant" in errors and len(errors):
        for s, v in zip(errors.get("suite", pd.Series("", index=errors.index)), errors["variant"]):
            if isinstance(v, str) and "/" in v:
                axis, level = v.split("/", 1)
                suite = str(s or "")
                if _is_crop(suite, axis, df, metas or []):
                    level = _OLD_CROP.sub(r"dy=\1,dx=\2", level)
                out.setdefault(suite, set()).add((axis, level))
    return out


def _is_crop(suite: str, axis: str, df: pd.DataFrame, metas: list[dict]) -> bool:
    """Whether (suite, axis) is a crop axis: by its definition, else by its manifest levels."""
    declared = crop_axes(metas).get(suite)
    if declared is not None:
        return axis in declared
    levels = df.loc[df["axis"].astype(str) == axis, "level"].astype(str)
    return bool(len(levels)) and levels.str.startswith("dy=").all()


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
    return sorted({str(v) for v in pd.unique(manifest["label"].dropna()) if str(v) != ""})


def read_input(manifest: str | Path, folds: list[int] | str | None) -> tuple[ManifestInput, pd.DataFrame]:
    """The manifest for evaluation and the full frame (all folds, for the class list)."""
    full, root, metas = _load(manifest)
    meta = {"degradebench": metas[0]} if metas else {}
    frame, fold_list = select_folds(full, folds)
    planned = _planned(frame, root, metas)
    if fold_list is not None:  # only the levels of the selected sources' suites matter
        keep = set(_suites(frame))
        planned = {s: v for s, v in planned.items() if s in keep}
    mi = ManifestInput(frame, root, meta, _declared_figures(metas), planned, len(full), fold_list)
    return mi, full


def _suites(df: pd.DataFrame) -> list[str]:
    return df["suite"].fillna("").astype(str).unique().tolist() if "suite" in df else [""]
