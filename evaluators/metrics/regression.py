"""Regression targets (``--target primary_quality``): ``mae``, ``rmse``, ``within_5`` per level.

Each is a :class:`~.base.Metric` over a per-variant column of the regression predictions
(``abs_error``, ``sq_error``, ``within_5``, computed with the kernels of
:data:`.forensic.FORENSIC_METRICS`), so the summary rows come from the same machinery as the
classification rows: per planned (suite, axis, level), a source's variants averaged first, the
seeded source-grouped bootstrap CI, ``n`` distinct sources, ``n_variants``, ``delta_clean`` on
the paired sources. ``rmse`` is the square root of the source-averaged squared error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Metric
from .forensic import FORENSIC_METRICS

__all__ = ["RegressionMetric", "REGRESSION_METRICS", "regression_metrics"]

_COLUMNS = {"mae": "abs_error", "rmse": "sq_error", "within_5": "within_5"}


@dataclass(frozen=True)
class RegressionMetric(Metric):
    """A mean over a per-variant column; ``root`` takes the square root of the mean (RMSE)."""

    root: bool = False

    def combine(self, totals: np.ndarray) -> np.ndarray:
        """Source-averaged mean (its square root for ``rmse``); NaN without rows."""
        v = super().combine(totals)
        return np.sqrt(v) if self.root else v


def _metric(name: str) -> RegressionMetric:
    fm = FORENSIC_METRICS.get(name)
    return RegressionMetric(name, fm.higher_is_better, "mean", _COLUMNS[name], fm.doc,
                            root=name == "rmse")  # fmt: skip


REGRESSION_METRICS: tuple[RegressionMetric, ...] = tuple(_metric(n) for n in _COLUMNS)


def regression_metrics() -> list[Metric]:
    """The summary metrics of a regression target, in the order they are written."""
    return list(REGRESSION_METRICS)
