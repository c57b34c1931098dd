"""Metrics per (model, suite, axis, level), curves, axis-level figures and paired tests.

- :mod:`.base`: per-variant metrics (``METRICS`` registry; direction and aggregation).
- :mod:`.bootstrap`: the seeded bootstrap over source images; a :class:`Cell` is one figure.
- :mod:`.grouped`: the cells of every level / curve point of a metric at once (one weight
  matrix product per metric; the numbers of :func:`.bootstrap.cell`).
- :mod:`.pairing`: clean pairing within a suite (``n_paired``, warnings).
- :mod:`.levels`: summary.parquet; :mod:`.curves`: curves.parquet; :mod:`.order`: severity order
  and curve points.
- :mod:`.figures`: axis-level figures (``FIGURES`` registry: AUC, breaking level, max drop, CE,
  and figures suites declare, such as :mod:`.spcup`'s ``spcup2018_score``).
- :mod:`.paired`: McNemar between two models, by source.
- :mod:`.forensic`: forensic-task kernels (``FORENSIC_METRICS``: detection, localization in
  :mod:`.forensic_pixel`, regression); :mod:`.regression`: the summary metrics of a numeric
  ``--target`` (``mae``, ``rmse``, ``within_5``).
- :mod:`.forensic_levels`: forensic summary and curve rows per level (pixel means, detection
  figures with weighted source-bootstrap CIs from :mod:`.forensic_boot`).

Per-variant inputs are the columns of ``predictions.parquet``: ``correct``, ``top{k}_correct``,
``flipped``, ``tv_clean``, ``kl_clean``, ``confidence``.
"""

from __future__ import annotations

from ..results import AXIS_SUMMARY_COLUMNS, CLEAN, CURVE_COLUMNS, SUMMARY_COLUMNS
from .base import METRICS, Metric, class_accuracy_metric, metrics_for, topk_metric
from .bootstrap import Bootstrap, Cell, cell
from .curves import CurveCells, curve_metrics
from .figures import FIGURES, Figure, FigureAbsent, axis_summary, compute_figures
from .forensic import (
    FORENSIC_METRICS,
    ForensicMetric,
    auc,
    balanced_accuracy,
    eer,
    fit_map,
    forensic_metrics,
    localization_scores,
    mae,
    no_score_band,
    pixel_auc,
    pixel_f1,
    pixel_f1_best,
    pixel_iou,
    pixel_mcc,
    pixel_mcc_best,
    rmse,
    threshold_at_fpr,
    tpr_at_fpr,
    within_5,
)
from .forensic_levels import (
    DetectionMetric,
    ForensicLevels,
    detection_metrics_for_target,
    forensic_level_metrics,
)
from .levels import level_metrics
from .order import AxisPoints, axis_points, numeric_x, severity_order
from .paired import compare, mcnemar
from .pairing import pairing_report
from .regression import REGRESSION_METRICS, RegressionMetric, regression_metrics

_cell = cell  # the name tests and older callers use

__all__ = [
    "Metric",
    "METRICS",
    "topk_metric",
    "class_accuracy_metric",
    "metrics_for",
    "Bootstrap",
    "Cell",
    "cell",
    "level_metrics",
    "curve_metrics",
    "CurveCells",
    "Figure",
    "FIGURES",
    "FigureAbsent",
    "compute_figures",
    "axis_summary",
    "mcnemar",
    "compare",
    "pairing_report",
    "severity_order",
    "numeric_x",
    "axis_points",
    "AxisPoints",
    "CURVE_COLUMNS",
    "SUMMARY_COLUMNS",
    "AXIS_SUMMARY_COLUMNS",
    "CLEAN",
    "ForensicMetric",
    "FORENSIC_METRICS",
    "forensic_metrics",
    "auc",
    "balanced_accuracy",
    "threshold_at_fpr",
    "tpr_at_fpr",
    "eer",
    "fit_map",
    "no_score_band",
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
    "RegressionMetric",
    "REGRESSION_METRICS",
    "regression_metrics",
    "ForensicLevels",
    "DetectionMetric",
    "forensic_level_metrics",
    "detection_metrics_for_target",
]
