"""``--target COLUMN``: what the model predicts (issue 14), chosen among the manifest's columns.

``label`` (the default) is today's behaviour, unchanged. A task target of the manifest
(``TARGET_COLUMNS``: ``manipulated``, ``double_compressed``, ``primary_quality``, ...) is:

- *classification* when boolean or categorical (strings): the classes are the sorted distinct
  non-null values, booleans written ``"false"`` / ``"true"``; the target replaces ``label`` in
  the evaluated rows, so every classification figure (accuracy, flip rate, ...) applies;
- *regression* when numeric (int or float): the model returns one number per image
  (``[N]`` or ``[N, 1]``), scored with ``mae``, ``rmse`` and ``within_5``.

Rows whose target is null are left out (not run, not scored) and counted as ``n_null``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from degradebench.generators.core.errors import ConfigError
from degradebench.generators.manifest import TARGET_COLUMNS

from ._runner import RunOutput
from .metrics.forensic import FORENSIC_METRICS

__all__ = ["Target", "resolve_target", "target_columns", "regression_predictions", "DEFAULT"]

DEFAULT = "label"


@dataclass
class Target:
    """The resolved target: column, ``classification`` or ``regression``, classes, nulls left out."""

    column: str
    kind: str
    classes: list[str] = field(default_factory=list)
    n_null: int = 0

    def to_dict(self) -> dict:
        """The ``target`` entry of run.json."""
        return {"column": self.column, "kind": self.kind, "classes": list(self.classes),
                "n_null": int(self.n_null)}  # fmt: skip


def target_columns(frame: pd.DataFrame) -> list[str]:
    """The target columns this manifest has (``label`` first)."""
    return [DEFAULT] + [c for c in TARGET_COLUMNS if c in frame]


def _is_bool(values: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(values.dtype):
        return True
    return bool(len(values)) and all(isinstance(v, (bool, np.bool_)) for v in values)


def _as_class(v: object) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    return str(v)


def resolve_target(frame: pd.DataFrame, full: pd.DataFrame, column: str) -> tuple[Target, pd.DataFrame]:
    """Check ``column`` and return the target and the rows to evaluate (nulls removed; for a
    classification target ``label`` replaced by the target as strings).

    Raises:
        ConfigError: unknown column, or no non-null value in the selected rows.
    """
    known = target_columns(full)
    if column not in known:
        raise ConfigError(f"--target {column!r}: not a target column of this manifest; target "
                          f"columns: {', '.join(known)}")  # fmt: skip
    values = frame[column]
    present = values.notna().to_numpy(dtype=bool)
    if not present.any():
        raise ConfigError(f"--target {column!r}: no selected variant has a value in this column; "
                          f"target columns: {', '.join(known)}")  # fmt: skip
    kept = frame[present].reset_index(drop=True)
    vals = kept[column]
    n_null = int((~present).sum())
    if not _is_bool(vals) and pd.api.types.is_numeric_dtype(vals.dtype):
        kept[column] = pd.to_numeric(vals).astype("float64")
        return Target(column, "regression", [], n_null), kept
    kept["label"] = pd.array([_as_class(v) for v in vals], dtype="string")
    return Target(column, "classification", sorted(set(kept["label"])), n_null), kept


_COPIED = ("dataset", "suite", "fold", "axis_params", "psnr")


def regression_predictions(manifest: pd.DataFrame, run: RunOutput, model_name: str,
                           column: str) -> pd.DataFrame:  # fmt: skip
    """predictions.parquet for a regression target: one row per scored variant with ``target``
    (truth), ``prediction`` and the per-variant ``abs_error``, ``sq_error`` and ``within_5``
    (from the kernels of :data:`FORENSIC_METRICS`)."""
    m = manifest.iloc[run.rows].reset_index(drop=True)
    pred = run.probs[:, 0].astype(np.float64) if len(m) else np.zeros(0)
    truth = m[column].to_numpy(dtype=np.float64)
    out = pd.DataFrame({
        "variant_id": m["variant_id"].astype(str), "source_id": m["source_id"].astype(str),
        "model": model_name, "axis": m["axis"].astype(str), "level": m["level"].astype(str),
        "level_value": pd.to_numeric(m["level_value"], errors="coerce").astype("float64")
        if "level_value" in m else np.nan,
        "path": m["path"].astype(str), "label": m["label"].astype("string"),
    })  # fmt: skip
    for col in _COPIED:
        out[col] = m[col] if col in m else None
    out["target"] = truth
    out["prediction"] = pred
    kernels = {name: FORENSIC_METRICS.get(name).fn for name in ("mae", "rmse", "within_5")}
    pairs = list(zip(pred, truth))
    out["abs_error"] = [kernels["mae"]([p], [t]) for p, t in pairs]
    out["sq_error"] = [kernels["rmse"]([p], [t]) ** 2 for p, t in pairs]
    out["within_5"] = [kernels["within_5"]([p], [t]) for p, t in pairs]
    out["n_tiles"] = run.n_tiles.astype(np.int64)
    return out
