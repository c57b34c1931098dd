"""Forensic-task metric kernels (issue 14): detection, localization and regression, by name.

The kernels are pure numpy functions; :data:`FORENSIC_METRICS` registers each as a
:class:`ForensicMetric` under the name the ``metric`` column will carry. Call shapes by task:

- ``detection``: ``fn(scores, truth)``, one score per image (:mod:`.forensic_detect`);
- ``localization``: ``fn(pred_map, mask, *, no_score_px=0)``, one image (:mod:`.forensic_pixel`),
  NaN on an image without manipulated pixels;
- ``regression``: ``fn(pred, truth)``, one number per image (below).

``evaluate`` uses them through :mod:`.forensic_levels` (localization runs, and detection rows
for a boolean ``--target``) and :mod:`.regression` (a numeric ``--target``: ``mae``, ``rmse``,
``within_5`` per variant, then per level).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from degradebench.generators.core.errors import ConfigError
from degradebench.generators.core.registry import Registry

from .forensic_detect import auc, balanced_accuracy, eer, threshold_at_fpr, tpr_at_fpr
from .forensic_pixel import (
    fit_map,
    localization_scores,
    no_score_band,
    pixel_auc,
    pixel_f1,
    pixel_f1_best,
    pixel_iou,
    pixel_mcc,
    pixel_mcc_best,
    scored_pixels,
)

__all__ = [
    "ForensicMetric",
    "FORENSIC_METRICS",
    "register_forensic_metric",
    "TASKS",
    "forensic_metrics",
    "auc",
    "balanced_accuracy",
    "threshold_at_fpr",
    "tpr_at_fpr",
    "eer",
    "fit_map",
    "no_score_band",
    "scored_pixels",
    "pixel_f1",
    "pixel_mcc",
    "pixel_f1_best",
    "pixel_mcc_best",
    "pixel_iou",
    "pixel_auc",
    "localization_scores",
    "mae",
    "rmse",
    "within_5",
]

TASKS = ("detection", "localization", "regression")


def _regression_pair(pred: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Predictions and truths as float vectors, without the rows whose truth is unknown (NaN)."""
    p = np.asarray(pred, dtype=np.float64).ravel()
    t = np.asarray(truth, dtype=np.float64).ravel()
    if p.shape != t.shape:
        raise ValueError(f"truth: expected {p.size} values (one per prediction), got {t.size}")
    known = ~np.isnan(t)
    return p[known], t[known]


def mae(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean absolute error over the rows with a known truth; NaN when there are none."""
    p, t = _regression_pair(pred, truth)
    return float(np.mean(np.abs(p - t))) if t.size else float("nan")


def rmse(pred: np.ndarray, truth: np.ndarray) -> float:
    """Root mean squared error over the rows with a known truth; NaN when there are none."""
    p, t = _regression_pair(pred, truth)
    return float(np.sqrt(np.mean((p - t) ** 2))) if t.size else float("nan")


def within_5(pred: np.ndarray, truth: np.ndarray) -> float:
    """Share of rows with ``|pred - truth| <= 5`` (e.g. quality factors); NaN without rows."""
    p, t = _regression_pair(pred, truth)
    return float(np.mean(np.abs(p - t) <= 5.0)) if t.size else float("nan")


@dataclass(frozen=True)
class ForensicMetric:
    """A forensic metric: its ``metric``-column name, task, direction and kernel.

    ``optimistic`` marks figures whose threshold is chosen with the truth (``*_best``); reports
    must label them so.
    """

    name: str
    task: str
    higher_is_better: bool
    fn: Callable[..., float]
    doc: str
    optimistic: bool = False


FORENSIC_METRICS: Registry[ForensicMetric] = Registry("forensic metric")


def register_forensic_metric(m: ForensicMetric) -> ForensicMetric:
    """Add ``m`` to FORENSIC_METRICS (a task outside TASKS and duplicates are refused)."""
    if m.task not in TASKS:
        msg = f"metric {m.name!r}: task must be one of {', '.join(TASKS)}, got {m.task!r}"
        raise ConfigError(msg)
    FORENSIC_METRICS.register(m.name, m)
    return m

for _m in (
    ForensicMetric("auc", "detection", True, auc, "ROC AUC (Mann-Whitney, ties half)"),
    ForensicMetric(
        "balanced_accuracy", "detection", True, balanced_accuracy,
        "mean of TPR and TNR at score >= 0.5",
    ),
    ForensicMetric(
        "tpr_at_fpr", "detection", True, tpr_at_fpr,
        "TPR at the threshold giving FPR <= 5% on clean authentic images",
    ),
    ForensicMetric("eer", "detection", False, eer, "equal error rate (FPR = FNR)"),
    ForensicMetric("pixel_f1", "localization", True, pixel_f1, "pixel F1 at map >= 0.5"),
    ForensicMetric("pixel_mcc", "localization", True, pixel_mcc, "pixel MCC at map >= 0.5"),
    ForensicMetric(
        "pixel_f1_best", "localization", True, pixel_f1_best,
        "pixel F1 at each image's best threshold (optimistic)", optimistic=True,
    ),
    ForensicMetric(
        "pixel_mcc_best", "localization", True, pixel_mcc_best,
        "pixel MCC at each image's best threshold (optimistic)", optimistic=True,
    ),
    ForensicMetric("pixel_iou", "localization", True, pixel_iou, "pixel IoU at map >= 0.5"),
    ForensicMetric("pixel_auc", "localization", True, pixel_auc, "pixel ROC AUC of the map"),
    ForensicMetric("mae", "regression", False, mae, "mean absolute error"),
    ForensicMetric("rmse", "regression", False, rmse, "root mean squared error"),
    ForensicMetric("within_5", "regression", True, within_5, "share with |error| <= 5"),
):  # fmt: skip
    register_forensic_metric(_m)
for _n in ("auc", "balanced_accuracy", "tpr_at_fpr", "eer"):  # from a map's maximum: image_*
    _m = FORENSIC_METRICS.get(_n)
    register_forensic_metric(ForensicMetric(
        f"image_{_n}", _m.task, _m.higher_is_better, _m.fn, f"{_m.doc}, of the map's maximum",
    ))  # fmt: skip
del _m, _n


def forensic_metrics(task: str) -> list[ForensicMetric]:
    """The registered metrics of one task (``detection``, ``localization``, ``regression``)."""
    if task not in TASKS:
        raise ConfigError(f"task: must be one of {', '.join(TASKS)}, got {task!r}")
    return [m for m in (FORENSIC_METRICS.get(n) for n in FORENSIC_METRICS) if m.task == task]
