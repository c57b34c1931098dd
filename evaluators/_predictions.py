"""``predictions.parquet``: one row per evaluated variant, paired with its source's clean variant.

The clean partner of a variant is the clean variant of the same source *in the same suite*: two
suites in one OUT each have their own clean variant (another crop, another format), and pooling
them would compare a variant with another suite's reference.

A localization run's table (:func:`localization_predictions`) keeps the same leading columns,
the classification ones null, and appends the per-image localization columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._localize import LOCALIZATION_COLUMNS
from ._runner import RunOutput
from .metrics.pairing import is_clean, suite_of
from .results import LOCALIZATION_PREDICTION_COLUMNS, PREDICTION_COLUMNS

__all__ = ["predictions_frame", "localization_predictions"]


def _label_index(label: pd.Series, classes: list[str]) -> pd.arrays.IntegerArray:
    """Each label's position in ``classes`` (null when missing or not a class), vectorised."""
    cls_index = {c: i for i, c in enumerate(classes)}  # a class named twice: its last position
    found = pd.Index(list(cls_index), dtype=object).get_indexer(label.astype(object))
    position = np.asarray(list(cls_index.values()), dtype=np.int64)
    missing = (found < 0) | label.isna().to_numpy()
    out = pd.array(np.where(missing, 0, position[np.maximum(found, 0)] if len(position) else 0),
                   dtype="Int64")  # fmt: skip
    out[missing] = pd.NA
    return out


def _optional(m: pd.DataFrame, col: str, numeric: bool = False):
    if col not in m:
        return np.nan if numeric else None
    return pd.to_numeric(m[col], errors="coerce").astype("float64") if numeric else m[col]


def _base_columns(m, probs, model_name, classes, topk) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    n = len(m)
    label = m["label"].astype("string")
    label_index = _label_index(label, classes)
    pred = probs.argmax(axis=1) if n else np.zeros(0, dtype=np.int64)
    conf = probs.max(axis=1) if n else np.zeros(0, dtype=np.float32)
    kmax = min(max((1, *topk)), len(classes))
    top = np.argsort(-probs, axis=1, kind="stable")[:, :kmax] if n else np.zeros((0, kmax), int)
    known = ~label_index.isna()
    li = label_index.to_numpy(dtype=np.int64, na_value=-1)
    out = pd.DataFrame({
        **_identity(m, model_name),
        "psnr": _optional(m, "psnr", True), "path": m["path"].astype(str), "label": label,
        "label_index": label_index, "pred": pred.astype(np.int64),
        "pred_label": _take_labels(classes, pred), "confidence": conf.astype(np.float64),
        "correct": pd.array(np.where(known, pred == li, False), dtype="boolean"),
    })  # fmt: skip
    out.loc[~known, "correct"] = pd.NA
    for k in topk:
        if k < len(classes):
            col = pd.array((top[:, :k] == li[:, None]).any(axis=1), dtype="boolean")
            col[~known] = pd.NA
            out[f"top{k}_correct"] = col
    out["topk"] = list(np.ascontiguousarray(top, dtype=np.int64))  # row views, as read back
    return out, pred, top


def _take_labels(classes: list[str], pred: np.ndarray) -> np.ndarray:
    """``[classes[i] for i in pred]`` as an object array, without the Python loop."""
    names = np.empty(len(classes), dtype=object)
    names[:] = list(classes)
    return names[pred] if len(pred) else np.empty(0, dtype=object)


def _pair_with_clean(out: pd.DataFrame, probs: np.ndarray, pred: np.ndarray) -> None:
    """``clean_pred``, ``flipped``, ``tv_clean``, ``kl_clean`` vs the clean variant of the same
    (suite, source); null where that source has no clean variant in the suite."""
    n = len(out)
    ci, has = _clean_positions(out)
    p64 = probs.astype(np.float64)
    pc = p64[ci] if n else p64
    eps = 1e-12
    tv = 0.5 * np.abs(p64 - pc).sum(axis=1)
    kl = (pc * (np.log(pc + eps) - np.log(p64 + eps))).sum(axis=1)
    out["clean_pred"] = pd.array(np.where(has, pred[ci], 0) if n else [], dtype="Int64")
    out.loc[~has, "clean_pred"] = pd.NA
    flipped = pd.array(pred != pred[ci] if n else np.zeros(0, bool), dtype="boolean")
    flipped[~has] = pd.NA
    out["flipped"] = flipped
    out["tv_clean"] = np.where(has, tv, np.nan)
    out["kl_clean"] = np.where(has, np.maximum(kl, 0.0), np.nan)


def predictions_frame(
    manifest: pd.DataFrame, run: RunOutput, model_name: str, classes: list[str],
    topk: tuple[int, ...],
) -> pd.DataFrame:  # fmt: skip
    """The predictions table for the rows ``run`` scored (see results.PREDICTION_COLUMNS)."""
    m = _scored_rows(manifest, run.rows, _USED)
    out, pred, _ = _base_columns(m, run.probs, model_name, classes, topk)
    out["n_tiles"] = run.n_tiles.astype(np.int64)
    _pair_with_clean(out, run.probs, pred)
    out["probs"] = _rows(run.probs)
    return out


def _clean_positions(out: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(position of each row's clean partner, whether it has one): the first clean row of the
    same (suite, source), found with integer codes instead of a map over Python tuples."""
    suite, _ = pd.factorize(suite_of(out).to_numpy(dtype=object))
    source, uniq = pd.factorize(out["source_id"].to_numpy(dtype=object))
    key = suite.astype(np.int64) * max(len(uniq), 1) + source
    clean = np.flatnonzero(is_clean(out))
    first = np.full(int(key.max()) + 1 if len(key) else 0, -1, dtype=np.int64)
    first[key[clean[::-1]]] = clean[::-1]  # reversed: the first clean row of a key wins
    cpos = first[key] if len(key) else np.zeros(0, dtype=np.int64)
    has = cpos >= 0
    return np.where(has, cpos, 0), has


def _rows(probs: np.ndarray) -> list[np.ndarray]:
    """One float32 array per row: views into one float32 copy, not one copy per row."""
    return list(np.ascontiguousarray(probs, dtype=np.float32))


# The manifest columns a classification predictions table is built from.
_USED = ("variant_id", "source_id", "dataset", "suite", "fold", "axis", "level", "level_value",
         "axis_params", "psnr", "path", "label")  # fmt: skip


def _scored_rows(manifest: pd.DataFrame, rows: np.ndarray, used: tuple[str, ...]) -> pd.DataFrame:
    """``manifest.iloc[rows]`` of the columns in ``used`` only (taking every manifest column of
    200k rows costs more than building the table), index 0..n-1."""
    return manifest[[c for c in manifest.columns if c in used]].iloc[rows].reset_index(drop=True)


def _identity(m: pd.DataFrame, model_name: str) -> dict:
    """The columns that say which variant a prediction is for (every run kind has them)."""
    return {
        "variant_id": m["variant_id"].astype(str), "source_id": m["source_id"].astype(str),
        "model": model_name, "dataset": _optional(m, "dataset"), "suite": _optional(m, "suite"),
        "fold": _optional(m, "fold"), "axis": m["axis"].astype(str),
        "level": m["level"].astype(str), "level_value": _optional(m, "level_value", True),
        "axis_params": m["axis_params"] if "axis_params" in m else "{}",
    }  # fmt: skip


def _null(n: int, dtype: str):
    return pd.array([pd.NA] * n, dtype=dtype)


def localization_predictions(manifest: pd.DataFrame, run: RunOutput,
                             model_name: str) -> pd.DataFrame:  # fmt: skip
    """predictions.parquet of a localization run: :data:`.results.PREDICTION_COLUMNS` (the
    classification ones null) then :data:`.results.LOCALIZATION_PREDICTION_COLUMNS`."""
    m = manifest.iloc[run.rows].reset_index(drop=True)
    n = len(m)
    none = pd.Series([None] * n, dtype=object)
    out = pd.DataFrame({
        **_identity(m, model_name),
        "psnr": _optional(m, "psnr", True), "path": m["path"].astype(str),
        "label": m["label"].astype("string"), "label_index": _null(n, "Int64"),
        "pred": _null(n, "Int64"), "pred_label": _null(n, "string"),
        "confidence": np.full(n, np.nan), "correct": _null(n, "boolean"), "topk": none,
        "n_tiles": run.n_tiles.astype(np.int64), "clean_pred": _null(n, "Int64"),
        "flipped": _null(n, "boolean"), "tv_clean": np.full(n, np.nan),
        "kl_clean": np.full(n, np.nan), "probs": none,
    })  # fmt: skip
    out = out[PREDICTION_COLUMNS]
    for col in LOCALIZATION_PREDICTION_COLUMNS:
        if col in LOCALIZATION_COLUMNS:
            values = run.extra.get(col)
            if values is None:
                values = [None] * n if col == "map_path" else np.full(n, np.nan)
            out[col] = pd.array(list(values), dtype="string") if col == "map_path" else values
        elif col == "manipulated":
            out[col] = m[col].astype("boolean").to_numpy() if col in m else _null(n, "boolean")
        elif col == "manipulation":
            out[col] = m[col].astype("string").to_numpy() if col in m else _null(n, "string")
        else:  # mask_fraction
            out[col] = _optional(m, col, True)
    return out
