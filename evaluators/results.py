"""The results folder of ``evaluate`` (the contract readers rely on, like the manifest module).

A RESULTS folder holds six files (:data:`RESULT_FILES`). Every table has the columns listed
here, in this order (later versions only append columns):

- ``predictions.parquet``: one row per evaluated variant (:data:`PREDICTION_COLUMNS`, plus
  ``top{k}_correct`` per requested k). A localization run (input config ``task:
  localization``) leaves the classification columns null and appends
  :data:`LOCALIZATION_PREDICTION_COLUMNS`: ``score`` (the model's image score, NaN when it
  returns only a map), ``map_score`` (the maximum of the image-size map), ``manipulated``,
  ``manipulation``, ``mask_fraction`` (from the manifest), the per-image pixel metrics
  ``pixel_f1``, ``pixel_mcc`` (threshold 0.5), ``pixel_f1_best``, ``pixel_mcc_best`` (best
  threshold per image: optimistic), ``pixel_iou``, ``pixel_auc`` (NaN on authentic images), and
  ``map_path`` (the saved map relative to RESULTS; null without ``--save-maps``).
- ``summary.parquet``: one row per (model, suite, axis, planned level, metric)
  (:data:`SUMMARY_COLUMNS`). ``n`` counts distinct sources, ``n_variants`` the variants behind the
  value (a source's variants are averaged first), ``n_paired`` the sources that also have a clean
  variant in the same suite: ``delta_clean`` is computed on those sources only.
- ``curves.parquet``: one row per curve point and series (:data:`CURVE_COLUMNS`).
- ``axis_summary.parquet``: axis-level figures (:data:`AXIS_SUMMARY_COLUMNS`).
- ``errors.parquet``: variants skipped (missing, failing their sha256, undecodable).
- ``run.json``: model, manifest, settings, library versions, ``warnings``, ``figures`` (computed
  or why not), ``overlays`` and ``key`` (what the results depend on; see :mod:`._reuse`).
  ``timings``: seconds per phase (:data:`._runinfo.PHASES`: ``cli_start_to_evaluate`` and
  ``model_load`` when the CLI ran it, then ``read_manifest``, ``results_key``, ``setup``,
  ``loop``, ``predictions``, ``metrics``, ``write``); they add up to the run's wall time.
  ``overlays`` (localization runs; else empty): a list of ``{"variant_id", "suite", "axis",
  "level", "manipulation", "image", "mask", "map"}``: ``image`` and ``mask`` are the manifest's
  ``path`` and ``mask_path`` (relative to the manifest root, ``manifest.path``), ``map`` is
  ``overlays/<variant_id>.png`` (relative to RESULTS). Which variants: :mod:`._overlays`.

Two folders beside the tables (:data:`RESULT_FOLDERS`), written by localization runs only:
``overlays/`` (the example maps run.json lists) and ``maps/`` (every map, with ``--save-maps``),
8-bit greyscale PNGs the size of the image (value = round(255 x map)).

Files are written atomically, ``run.json`` last: its presence marks a complete set.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from degradebench.generators.core.errors import ConfigError, DegradebenchError
from degradebench.generators.core.files import (
    DirLock,
    atomic_write_bytes,
    is_temp_name,
    remove_temp_files,
    write_table_atomic,
)

__all__ = [
    "RESULT_FILES",
    "TABLES",
    "PREDICTION_COLUMNS",
    "LOCALIZATION_PREDICTION_COLUMNS",
    "RESULT_FOLDERS",
    "OVERLAYS_DIR",
    "MAPS_DIR",
    "SUMMARY_COLUMNS",
    "CURVE_COLUMNS",
    "AXIS_SUMMARY_COLUMNS",
    "ERROR_COLUMNS",
    "CLEAN",
    "read_results",
    "read_run",
    "write_results",
    "write_parquet",
    "ResultsLock",
]

CLEAN = "clean"
RESULT_FILES = {
    "predictions": "predictions.parquet",
    "summary": "summary.parquet",
    "axis_summary": "axis_summary.parquet",
    "curves": "curves.parquet",
    "errors": "errors.parquet",
    "run": "run.json",
}
TABLES = ("predictions", "summary", "axis_summary", "curves", "errors")
OVERLAYS_DIR = "overlays"
MAPS_DIR = "maps"
RESULT_FOLDERS = (OVERLAYS_DIR, MAPS_DIR)

PREDICTION_COLUMNS = [
    "variant_id", "source_id", "model", "dataset", "suite", "fold", "axis", "level",
    "level_value", "axis_params", "psnr", "path", "label", "label_index", "pred", "pred_label",
    "confidence", "correct", "topk", "n_tiles", "clean_pred", "flipped", "tv_clean", "kl_clean",
    "probs",
]  # fmt: skip
# Appended after PREDICTION_COLUMNS by a localization run (the classification ones are null).
LOCALIZATION_PREDICTION_COLUMNS = [
    "score", "map_score", "manipulated", "manipulation", "mask_fraction", "pixel_f1",
    "pixel_mcc", "pixel_f1_best", "pixel_mcc_best", "pixel_iou", "pixel_auc", "map_path",
]  # fmt: skip
SUMMARY_COLUMNS = [
    "model", "axis", "level", "level_value", "metric", "value", "ci_low", "ci_high", "n",
    "delta_clean", "higher_is_better", "suite", "n_variants", "n_paired",
]  # fmt: skip
CURVE_COLUMNS = [
    "model", "axis", "point", "x", "rank", "series", "metric", "value", "ci_low", "ci_high", "n",
    "suite", "n_variants", "n_paired", "delta_clean",
]  # fmt: skip
AXIS_SUMMARY_COLUMNS = [
    "model", "axis", "metric", "value", "ci_low", "ci_high", "level", "level_value", "n",
    "baseline", "higher_is_better", "detail", "suite", "n_variants",
]  # fmt: skip
ERROR_COLUMNS = ["variant_id", "path", "stage", "message", "suite"]


def read_run(results: str | Path) -> dict[str, Any] | None:
    """``run.json`` of a results folder, or None when there is none (or it is unreadable)."""
    p = Path(results) / RESULT_FILES["run"]
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_results(results: str | Path, tables: tuple[str, ...] = TABLES) -> dict[str, Any]:
    """Load a RESULTS folder written by ``evaluate``: ``{"dir", table names..., "run"}``
    (``tables``: which tables to read; the rest are not loaded).

    Raises:
        ConfigError: not a results folder, or an incomplete one (no run.json).
    """
    root = Path(results)
    if not (root / RESULT_FILES["summary"]).exists():
        msg = f"{root}: not an evaluate results folder (no {RESULT_FILES['summary']})"
        raise ConfigError(msg)
    if not (root / RESULT_FILES["run"]).exists():
        msg = (
            f"{root}: incomplete results (no {RESULT_FILES['run']}: an evaluate run stopped while "
            "writing them); run the same 'degradebench evaluate' again"
        )
        raise ConfigError(msg)
    out: dict[str, Any] = {"dir": root}
    for key in tables:
        p = root / RESULT_FILES[key]
        out[key] = pd.read_parquet(p) if p.exists() else pd.DataFrame()
    out["run"] = json.loads((root / RESULT_FILES["run"]).read_text(encoding="utf-8"))
    return out


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    """One results table, written atomically (temp file + rename)."""
    write_table_atomic(pa.Table.from_pandas(df, preserve_index=False), path)


def _swap_folders(outp: Path, folders: dict[str, Path | None] | None) -> None:
    """Replace ``overlays/`` and ``maps/`` by this run's staging folders (or remove them)."""
    folders = folders or {}
    for name in RESULT_FOLDERS:
        target = outp / name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        staged = folders.get(name)
        if staged is not None:
            os.replace(staged, target)


def write_results(outp: Path, frames: dict[str, pd.DataFrame], run_info: dict,
                  folders: dict[str, Path | None] | None = None, *,
                  before_run_json: Callable[[], None] | None = None) -> None:  # fmt: skip
    """Write every results file atomically, run.json last: run.json is removed first and marks
    a complete set, so a run killed half-way never leaves new predictions beside an old summary
    that :func:`read_results` would accept. ``folders``: this run's staging folders for
    :data:`RESULT_FOLDERS` (a folder not given is removed: old maps belong to an old run).
    ``before_run_json``: called once the tables are written, before ``run_info`` is serialised
    (evaluate records the writing time in it)."""
    (outp / RESULT_FILES["run"]).unlink(missing_ok=True)
    _swap_folders(outp, folders)
    for key, df in frames.items():
        write_parquet(df, outp / RESULT_FILES[key])
    if before_run_json is not None:
        before_run_json()
    text = json.dumps(run_info, indent=2, default=str) + "\n"
    atomic_write_bytes(outp / RESULT_FILES["run"], text.encode())


class ResultsLock(DirLock):
    """The lock on RESULTS; stale temp files of a killed run are removed once it is held."""

    def __init__(self, outp: Path):
        busy = DegradebenchError(
            f"--out {outp}: another degradebench evaluate is writing there; wait for it or "
            "choose another --out"
        )
        super().__init__(outp, busy, create=True)

    def __enter__(self) -> ResultsLock:
        super().__enter__()
        remove_temp_files(self.folder, recursive=False)
        for entry in Path(self.folder).iterdir():  # map staging folders of a killed run
            if entry.is_dir() and not entry.is_symlink() and is_temp_name(entry.name):
                shutil.rmtree(entry, ignore_errors=True)
        return self
