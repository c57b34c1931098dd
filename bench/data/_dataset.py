"""``ManifestDataset``: a ``torch.utils.data.Dataset`` over the variants ``generate`` wrote, chosen
by fold, axis and level, with a target column, for training and K-fold cross-validation
without moving a file (``folds=[1, 2, 3, 4]`` to train, ``folds=[0]`` to validate: the folds
keep each source, and each group of the dataset's list, in one fold).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from degradebench.evaluators._loader import decode_rgb
from degradebench.evaluators._target import resolve_target, target_columns
from degradebench.generators.core.errors import ConfigError
from degradebench.generators.core.messages import short_repr, suggest
from degradebench.generators.core.records import parse_folds
from degradebench.generators.manifest import ManifestError, read_manifest, read_mask_png

__all__ = ["ManifestDataset", "collate"]


def _names(value: str | Sequence[str] | None, what: str) -> list[str] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    if not items or not all(isinstance(v, str) and v for v in items):
        raise ConfigError(
            f"ManifestDataset({what}={short_repr(value)}): give a name or a list of names, "
            f"e.g. {what}=['jpeg']"
        )
    return items


def _check_known(wanted: list, known: list, what: str, out: Path) -> None:
    for v in wanted:
        if v not in known:
            shown = ", ".join(str(k) for k in known)
            raise ConfigError(
                f"ManifestDataset({what}): {v!r} is not in the manifest of {out}; "
                f"{suggest(str(v), [str(k) for k in known])}{what} there: {shown}"
            )


def _plain(value: Any) -> Any:
    """A manifest value as plain Python (numpy scalars and arrays unwrapped, NaN/NA -> None)."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _select(full: pd.DataFrame, folds: Any, axes: Any, levels: Any, out: Path) -> pd.DataFrame:
    rows = full
    wanted_folds = parse_folds(folds, "ManifestDataset(folds)")
    if wanted_folds is not None:
        _check_known(wanted_folds, sorted(int(f) for f in full["fold"].unique()), "folds", out)
        rows = rows[rows["fold"].isin(wanted_folds)]
    wanted_axes = _names(axes, "axes")
    if wanted_axes is not None:
        _check_known(wanted_axes, sorted(full["axis"].unique()), "axes", out)
        rows = rows[rows["axis"].isin(wanted_axes)]
    wanted_levels = _names(levels, "levels")
    if wanted_levels is not None:
        pool = full if wanted_axes is None else full[full["axis"].isin(wanted_axes)]
        _check_known(wanted_levels, sorted(pool["level"].unique()), "levels", out)
        rows = rows[rows["level"].isin(wanted_levels)]
    if rows.empty:
        raise ConfigError(
            f"ManifestDataset: folds={folds!r}, axes={axes!r}, levels={levels!r} select no variant "
            f"of {out}; widen the selection"
        )
    return rows


class ManifestDataset(torch.utils.data.Dataset):
    """Variants of a generated OUT folder as ``(image, target, provenance[, mask])`` items.

    Args:
        out: the folder ``generate`` wrote (its ``manifest/``).
        folds: fold numbers to keep (a list or ``"1,2,3,4"``; None: all).
        axes: axis names to keep (None: all); levels: planned level names to keep (None: all).
        target: ``label`` or a task target column of the manifest (``manipulated``,
            ``double_compressed``, ``primary_quality``, ...). Boolean and categorical targets give
            the class index into ``classes`` (sorted distinct values of the whole manifest,
            booleans ``"false"``/``"true"``, as ``evaluate --target`` names them), so every fold
            selection indexes the same classes; numeric targets give the number (float).
            Rows whose target is null are left out (``n_null`` counts them).
        transform: called on the image (uint8 HxWx3 numpy) before it is returned.
        masks: also return the variant's region mask (bool HxW, all False without one).

    Items: ``image`` (uint8 HxWx3, decoded as the evaluators decode), ``target``,
    ``provenance`` (the manifest row as a dict of plain values: ``source_id``, ``fold``,
    ``axis``, ``level``, ``chain`` (JSON text), ``path``, ...). Holds no open file: safe in
    DataLoader workers; use :func:`collate` (or ``batch_size=None``) to batch provenance dicts.
    """

    def __init__(
        self,
        out: str | Path,
        folds: Sequence[int] | str | None = None,
        axes: str | Sequence[str] | None = None,
        levels: str | Sequence[str] | None = None,
        target: str = "label",
        transform: Callable[[np.ndarray], Any] | None = None,
        masks: bool = False,
    ) -> None:
        self.root = Path(out)
        full = read_manifest(self.root)
        known = target_columns(full)
        if target not in known:
            raise ConfigError(
                f"ManifestDataset(target={target!r}): not a target column of {self.root}; "
                f"{suggest(target, known)}target columns: {', '.join(known)}"
            )
        if not full[target].notna().any():
            raise ConfigError(
                f"ManifestDataset(target={target!r}): no variant of {self.root} has a value in "
                f"this column; target columns: {', '.join(known)}"
            )
        full = full.assign(_row=np.arange(len(full)))
        resolved, kept = resolve_target(full, full, target)
        self.target_column = target
        self.kind = resolved.kind  # "classification" or "regression"
        self.classes: list[str] = list(resolved.classes)
        selected = _select(full, folds, axes, levels, self.root)
        kept = kept[kept["_row"].isin(selected["_row"])]
        self.n_null = int(len(selected) - len(kept))
        if kept.empty:
            raise ConfigError(
                f"ManifestDataset(target={target!r}): every selected variant of {self.root} has a "
                "null target; choose other folds/axes/levels or another target"
            )
        if self.kind == "classification":
            index = {c: i for i, c in enumerate(self.classes)}
            self.targets: list = [index[str(v)] for v in kept["label"]]
        else:
            self.targets = [float(v) for v in kept[target]]
        records = full.drop(columns="_row").iloc[kept["_row"].to_numpy()].to_dict("records")
        self.provenance = [{k: _plain(v) for k, v in r.items()} for r in records]
        self.transform = transform
        self.masks = bool(masks)

    def __len__(self) -> int:
        return len(self.provenance)

    def _read(self, rel: str, row: dict) -> bytes:
        path = self.root / rel
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ManifestError(
                f"{path}: cannot read the file of variant {row['variant_id']} ({exc}); run "
                f"'degradebench verify {self.root}' and regenerate what it reports"
            ) from None

    def image(self, i: int) -> np.ndarray:
        """Item ``i``'s pixels (uint8 HxWx3), before ``transform``."""
        row = self.provenance[i]
        return decode_rgb(self._read(row["path"], row))

    def mask(self, i: int, shape: tuple[int, int] | None = None) -> np.ndarray:
        """Item ``i``'s region mask (bool HxW); all False when the variant has none."""
        row = self.provenance[i]
        if row.get("mask_path"):
            return read_mask_png(self._read(row["mask_path"], row))
        h, w = shape if shape is not None else (row["height"], row["width"])
        return np.zeros((int(h), int(w)), dtype=bool)

    def __getitem__(self, i: int) -> tuple:
        if not -len(self) <= i < len(self):
            raise IndexError(f"ManifestDataset index {i} out of range for {len(self)} items")
        i = i % len(self)
        img = self.image(i)
        out = img if self.transform is None else self.transform(img)
        item = (out, self.targets[i], dict(self.provenance[i]))
        return (*item, self.mask(i, img.shape[:2])) if self.masks else item


def _stack(values: list) -> Any:
    """Equal-shaped arrays/tensors -> one tensor; anything else stays a list."""
    if values and all(isinstance(v, (np.ndarray, torch.Tensor)) for v in values):
        tensors = [torch.as_tensor(v) for v in values]
        if len({t.shape for t in tensors}) == 1:
            return torch.stack(tensors)
    return values


def collate(items: list[tuple]) -> tuple:
    """A DataLoader ``collate_fn`` for ManifestDataset items: images (and masks) stacked into
    one tensor when they share a shape (else a list), targets a tensor (int64 class indices or
    float64 numbers), provenance a list of dicts."""
    parts = list(zip(*items))
    targets = parts[1]
    dtype = torch.int64 if all(isinstance(t, int) for t in targets) else torch.float64
    out = [_stack(list(parts[0])), torch.tensor(targets, dtype=dtype), list(parts[2])]
    if len(parts) > 3:
        out.append(_stack(list(parts[3])))
    return tuple(out)
