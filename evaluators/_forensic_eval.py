"""``evaluate``'s forensic side (issue 14): axis selection, localization runs, forensic metrics.

- :func:`select_axes`: ``axes=[...]`` / ``--axes a,b`` keeps these axes and the clean one.
- :func:`check_localization_input`: a localization model needs manipulated variants with masks.
- :func:`localization_metrics`: summary and curves of a localization run (pixel metrics per
  manipulated image, detection from ``score`` and from the map's maximum) through
  :func:`.metrics.forensic_levels.forensic_level_metrics`.
- :func:`add_target_detection`: a classification model with a boolean ``--target`` also gets
  ``auc``, ``balanced_accuracy``, ``tpr_at_fpr`` and ``eer`` from the probability of ``"true"``.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pandas as pd
from degradebench.generators.core.errors import ConfigError
from degradebench.generators.manifest import ManifestError, unsafe_paths

from . import metrics as M
from ._manifest_in import ManifestInput
from .metrics.forensic_levels import detection_metrics_for_target, forensic_level_metrics
from .results import CLEAN, CURVE_COLUMNS, SUMMARY_COLUMNS

__all__ = ["select_axes", "check_localization_input", "check_forensic_args",
           "localization_metrics", "add_target_detection", "settings_bootstrap"]  # fmt: skip

_FIX = ("generate a suite with manipulations and masks (e.g. 'degradebench generate --suite "
        "forgery' or '--suite manipulations') and evaluate that OUT")  # fmt: skip


def _say(text: str) -> None:
    print(f"degradebench evaluate: {text}", file=sys.stderr)


def check_forensic_args(no_score_px: int, fpr: float) -> None:
    """``--no-score-px`` a whole number >= 0, ``--fpr`` a rate in [0, 1]."""
    if (
        isinstance(no_score_px, bool)
        or not isinstance(no_score_px, (int, np.integer))
        or no_score_px < 0
    ):
        raise ConfigError(
            f"--no-score-px: must be a whole number of pixels >= 0, got {no_score_px!r}"
        )
    if isinstance(fpr, bool) or not isinstance(fpr, (int, float)) or not 0.0 <= fpr <= 1.0 or (
        isinstance(fpr, float) and math.isnan(fpr)
    ):  # fmt: skip
        raise ConfigError(f"--fpr: must be a false-positive rate in [0, 1], e.g. 0.05, got {fpr!r}")


def _axis_list(axes: list[str] | tuple[str, ...] | str) -> list[str]:
    items = axes.split(",") if isinstance(axes, str) else list(axes)
    names = [str(a).strip() for a in items if str(a).strip()]
    if not names:
        raise ConfigError(f"--axes: expected axis names like jpeg,crop, got {axes!r}")
    return names


def select_axes(
    mi: ManifestInput, axes: list[str] | tuple[str, ...] | str | None
) -> list[str] | None:
    """Keep only ``axes`` (and clean) in ``mi``; the sorted names for the settings (None: all).

    Raises:
        ConfigError: an axis the selected rows do not have (the message lists the ones they do).
    """
    if axes is None:
        return None
    names = _axis_list(axes)
    known = sorted(set(mi.frame["axis"].astype(str)))
    unknown = [a for a in names if a not in known]
    if unknown:
        raise ConfigError(f"--axes: {', '.join(map(repr, unknown))} not among the axes of the "
                          f"selected variants; axes: {', '.join(known)}")  # fmt: skip
    keep = set(names) | {CLEAN}
    mi.frame = mi.frame[mi.frame["axis"].astype(str).isin(keep)].reset_index(drop=True)
    mi.planned = {s: {(a, lv) for a, lv in v if a in keep} for s, v in mi.planned.items()}
    return sorted(set(names))


def check_localization_input(mi: ManifestInput, model_name: str) -> None:
    """A localization model needs ``manipulated`` and ``mask_path`` and at least one manipulated
    variant among the selected rows; mask paths must stay inside the OUT folder.

    Raises:
        ConfigError: no masks to score against (the message says how to make some).
        ManifestError: a mask path that leaves the OUT folder.
    """
    where = f"model {model_name!r} is a localization model (input config task: localization)"
    missing = [c for c in ("manipulated", "mask_path") if c not in mi.frame]
    if missing:
        raise ConfigError(f"{where} but the manifest at {mi.root} has no {' / '.join(missing)} "
                          f"column (no manipulations, no masks); {_FIX}")  # fmt: skip
    manipulated = mi.frame["manipulated"].astype("boolean").to_numpy(dtype=bool, na_value=False)
    if not manipulated.any():
        raise ConfigError(f"{where} but none of the {len(mi.frame)} selected variants of "
                          f"{mi.root} is manipulated, so there is no mask to score; {_FIX}")  # fmt: skip
    paths = [p for p in mi.frame["mask_path"].tolist() if isinstance(p, str) and p]
    bad = unsafe_paths(mi.root, paths)
    if bad:
        path, why = bad[0]
        raise ManifestError(f"--manifest {mi.root}: {len(bad)} mask paths would read outside "
                            f"{mi.root}, e.g. {path!r} ({why}); a manifest names files inside "
                            "its output folder only")  # fmt: skip


def settings_bootstrap(preds: pd.DataFrame, settings: dict) -> M.Bootstrap:
    """The bootstrap over ``preds``' sources with the run's ``bootstrap`` and ``seed``."""
    return M.Bootstrap(preds["source_id"], n_boot=settings["bootstrap"], seed=settings["seed"])


def _warn(lines: list[str]) -> list[str]:
    for w in lines:
        _say(w)
    return list(lines)


def localization_metrics(preds: pd.DataFrame, settings: dict) -> dict:
    """The metrics dict ``evaluate`` writes for a localization run (no axis figures: they are
    built on accuracy and flip rate)."""
    boot = settings_bootstrap(preds, settings)
    no_score = not np.isfinite(pd.to_numeric(preds["score"], errors="coerce")
                               .to_numpy(dtype=float, na_value=np.nan)).any()  # fmt: skip
    res = forensic_level_metrics(preds, boot, fpr=settings["fpr"], no_score=no_score)
    axis = M.compute_figures(preds.iloc[:0], {}, M.CurveCells(), res.curves, boot).frame
    pairing, line = M.pairing_report(preds)
    warnings = _warn(res.warnings + ([line] if line else []))
    return {"summary": res.summary, "curves": res.curves, "axis_summary": axis, "figures": {},
            "pairing": pairing, "warnings": warnings}  # fmt: skip


def _sorted(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    df = df[columns]
    return df.sort_values(["suite", "axis", "metric"], kind="stable",
                          na_position="first").reset_index(drop=True)  # fmt: skip


def add_target_detection(
    preds: pd.DataFrame, res: dict, settings: dict, classes: list[str]
) -> None:
    """With a boolean target (classes ``false``/``true``), append the detection rows of the
    probability of ``true`` to ``res``'s summary and curves (in place)."""
    if not set(classes) <= {"false", "true"} or "true" not in classes:
        return
    det = detection_metrics_for_target(preds, settings_bootstrap(preds, settings), fpr=settings["fpr"],
                                       positive="true")  # fmt: skip
    if not len(det.summary) and not len(det.curves):
        res["warnings"] += _warn(det.warnings)
        return
    parts = [f for f in (res["summary"], det.summary) if len(f)]
    res["summary"] = _sorted(pd.concat(parts, ignore_index=True), SUMMARY_COLUMNS)
    curves = [f for f in (res["curves"], det.curves) if len(f)]
    if curves:
        res["curves"] = pd.concat(curves, ignore_index=True)[CURVE_COLUMNS]
    res["warnings"] += _warn(det.warnings)
