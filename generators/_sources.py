"""Where source images come from: folder-per-class trees, path/label lists, the bundled samples
and the synthetic virtual-camera dataset. Every source gets a label, a group and a fold.

Folds are assigned without reading pixels: groups (the ``group`` column, else each source on
its own, keyed by its path relative to the dataset root) are ordered by a seeded hash and dealt
greedily to the fold that holds the fewest items of the group's labels, so folds are stratified
by label and no group is split across folds (K-fold CV without moving files).
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .core.errors import ConfigError

__all__ = [
    "SourceRef",
    "assign_folds",
    "list_folder",
    "list_table",
    "list_samples",
    "limit_per_label",
    "IMAGE_SUFFIXES",
]

IMAGE_SUFFIXES = (
    ".jpg",
    ".jpeg",
    ".jpe",
    ".jfif",
    ".png",
    ".tif",
    ".tiff",
    ".bmp",
    ".webp",
    ".gif",
    ".ppm",
    ".pgm",
    ".pnm",
)


@dataclass(frozen=True)
class SourceRef:
    """One source image before it is read: where it is, its label, its group and its fold."""

    path: str  # absolute
    label: str
    group: str
    key: str  # path relative to the dataset root: stable across machines, orders --limit
    fold: int = -1


def _hash_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def assign_folds(
    groups: Sequence[str], labels: Sequence[str], k: int = 5, seed: int = 0
) -> list[int]:
    """Deterministic fold per item in 0..k-1, stratified by label and grouped by group.

    Groups are taken in seeded-hash order (largest first, so big groups do not unbalance the end)
    and each goes to the fold with the fewest items of its labels so far (ties: lowest fold).
    """
    if len(groups) != len(labels):
        raise ValueError(f"groups and labels differ in length: {len(groups)} vs {len(labels)}")
    if k < 1:
        raise ConfigError(f"folds: must be an integer >= 1, got {k}")
    members: dict[str, Counter] = defaultdict(Counter)
    for g, lab in zip(groups, labels):
        members[g][lab] += 1
    order = sorted(members, key=lambda g: (-sum(members[g].values()), _hash_int(f"{seed}/{g}"), g))
    counts = [Counter() for _ in range(k)]
    totals = [0] * k
    fold_of: dict[str, int] = {}
    for g in order:
        labs = members[g]
        best = min(range(k), key=lambda f: (sum(counts[f][lab] for lab in labs), totals[f], f))
        fold_of[g] = best
        counts[best].update(labs)
        totals[best] += sum(labs.values())
    return [fold_of[g] for g in groups]


def _with_folds(refs: list[SourceRef], k: int, seed: int) -> list[SourceRef]:
    folds = assign_folds([r.group for r in refs], [r.label for r in refs], k, seed)
    return [SourceRef(r.path, r.label, r.group, r.key, f) for r, f in zip(refs, folds)]


def list_folder(
    root: str | Path, k: int = 5, seed: int = 0, yaml_path: str = "dataset"
) -> list[SourceRef]:
    """``root/<label>/**/<image>``: labels from the first-level folder names."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise ConfigError(f"{yaml_path}.root: folder not found: {str(root)!r}")
    refs = []
    for label_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for dirpath, dirnames, filenames in os.walk(label_dir):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.startswith(".") or not name.lower().endswith(IMAGE_SUFFIXES):
                    continue
                p = Path(dirpath, name)
                key = p.relative_to(root).as_posix()
                refs.append(SourceRef(str(p.resolve()), label_dir.name, key, key))
    if not refs:
        raise ConfigError(
            f"{yaml_path}: no images under {str(root)!r}; expected root/<label>/<image> "
            f"with suffixes {', '.join(IMAGE_SUFFIXES)}"
        )
    return _with_folds(refs, k, seed)


def list_table(
    table: str | Path,
    k: int = 5,
    seed: int = 0,
    root: str | Path | None = None,
    yaml_path: str = "dataset",
) -> list[SourceRef]:
    """A CSV or Parquet list with columns ``path,label`` (optional ``group``); relative paths are
    taken relative to ``root`` (default: the list's folder)."""
    table = Path(table).expanduser()
    if not table.is_file():
        raise ConfigError(f"{yaml_path}.path: list file not found: {str(table)!r}")
    if table.suffix.lower() == ".parquet":
        import pandas as pd

        rows = pd.read_parquet(table).astype(str).to_dict("records")
    else:
        with open(table, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    base = Path(root).expanduser() if root else table.parent
    refs = []
    for i, row in enumerate(rows):
        missing = [c for c in ("path", "label") if not row.get(c)]
        if missing:
            raise ConfigError(
                f"{table}: row {i + 2}: missing {', '.join(missing)}; columns must be path,label[,group]"
            )
        p = Path(row["path"]).expanduser()
        p = p if p.is_absolute() else base / p
        key = row["path"]
        refs.append(
            SourceRef(str(p.resolve()), str(row["label"]), str(row.get("group") or key), key)
        )
    if not refs:
        raise ConfigError(f"{yaml_path}: list {str(table)!r} has no rows")
    return _with_folds(refs, k, seed)


# scikit-image ships these photographs (BSD licensed); the .jpg ones were JPEG files.
_SAMPLES = {
    "astronaut.png": "photo-rgb",
    "chelsea.png": "photo-rgb",
    "coffee.png": "photo-rgb",
    "motorcycle_left.png": "photo-rgb",
    "rocket.jpg": "photo-jpeg",
    "retina.jpg": "photo-jpeg",
    "hubble_deep_field.jpg": "photo-jpeg",
    "camera.png": "photo-gray",
    "brick.png": "texture-gray",
    "grass.png": "texture-gray",
    "gravel.png": "texture-gray",
}


def list_samples(k: int = 5, seed: int = 0) -> list[SourceRef]:
    """The photographs bundled with scikit-image: works offline on a fresh install.

    Labels say what the sample is (``photo-rgb``, ``photo-jpeg`` for files that were JPEGs,
    ``photo-gray``, ``texture-gray``).
    """
    import skimage

    root = Path(skimage.__file__).parent / "data"
    refs = [
        SourceRef(str(root / name), label, name, name)
        for name, label in sorted(_SAMPLES.items())
        if (root / name).is_file()
    ]
    return _with_folds(refs, k, seed)


def limit_per_label(refs: Sequence[SourceRef], n: int) -> list[SourceRef]:
    """The first ``n`` sources of each label in key order (deterministic)."""
    taken: Counter = Counter()
    out = []
    for r in sorted(refs, key=lambda r: (r.label, r.key)):
        if taken[r.label] < n:
            out.append(r)
            taken[r.label] += 1
    return out
