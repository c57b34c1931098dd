"""Per-variant metrics: each declares its direction and how it aggregates, registered by name.

Aggregation works on per-row statistics (``stats``) that are summed and turned into a value
(``combine``); the bootstrap (:mod:`.bootstrap`) sums them per source first, so the unit of
resampling and averaging is the source image.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from degradebench.generators.core.registry import Registry

__all__ = [
    "Metric",
    "METRICS",
    "topk_metric",
    "class_accuracy_metric",
    "metrics_for",
    "labelled",
]


@dataclass(frozen=True)
class Metric:
    """A per-level metric.

    ``aggregation``: ``mean`` (mean of ``column`` over the rows where it is not null) or ``ece``
    (expected calibration error of ``confidence`` vs ``correct`` in ``bins`` equal-width bins).
    ``where`` optionally restricts the rows (per-class accuracy).
    """

    name: str
    higher_is_better: bool
    aggregation: str
    column: str
    doc: str
    bins: int = 15
    where: Callable[[pd.DataFrame], np.ndarray] | None = None

    def stats(self, df: pd.DataFrame) -> np.ndarray:
        """Per-row statistics ``[n_rows, k]``; the last column counts the rows that take part."""
        if self.aggregation == "mean":
            v = pd.to_numeric(df[self.column], errors="coerce").to_numpy(
                dtype=float, na_value=np.nan
            )
            ok = ~np.isnan(v)
            if self.where is not None:
                ok &= self.where(df)
            return np.stack([np.where(ok, v, 0.0), ok.astype(float)], axis=1)
        if self.aggregation == "ece":
            corr = df["correct"].to_numpy(dtype=float, na_value=np.nan)
            conf = df["confidence"].to_numpy(dtype=float)
            ok = ~np.isnan(corr)
            b = np.clip((conf * self.bins).astype(int), 0, self.bins - 1)
            out = np.zeros((len(df), self.bins + 1))
            out[np.arange(len(df)), b] = np.where(ok, conf - np.nan_to_num(corr), 0.0)
            out[:, -1] = ok
            return out
        raise ValueError(f"metric {self.name!r}: unknown aggregation {self.aggregation!r}")

    def combine(self, totals: np.ndarray) -> np.ndarray:
        """``totals[..., k]`` (sums of :meth:`stats`) -> metric values ``[...]``; NaN when n = 0."""
        with np.errstate(invalid="ignore", divide="ignore"):
            n = totals[..., -1]
            if self.aggregation == "mean":
                return np.where(n > 0, totals[..., 0] / n, np.nan)
            return np.where(n > 0, np.abs(totals[..., :-1]).sum(axis=-1) / n, np.nan)


METRICS: Registry[Metric] = Registry("metric")


def _register(m: Metric) -> Metric:
    METRICS.register(m.name, m)
    return m


_register(Metric("accuracy", True, "mean", "correct", "top-1 accuracy (labelled variants)"))
_register(Metric("flip_rate", False, "mean", "flipped", "prediction differs from the clean one"))
_register(Metric("tv_clean", False, "mean", "tv_clean", "total variation to clean probabilities"))
_register(Metric("kl_clean", False, "mean", "kl_clean", "KL(clean || variant) in nats"))
_register(Metric("ece", False, "ece", "confidence", "expected calibration error, 15 bins"))
_register(Metric("confidence", True, "mean", "confidence", "mean top-1 probability"))


def topk_metric(k: int) -> Metric:
    """Top-k accuracy over the ``top{k}_correct`` column."""
    return Metric(f"top{k}_accuracy", True, "mean", f"top{k}_correct", f"top-{k} accuracy")


def class_accuracy_metric(label: str) -> Metric:
    """Accuracy on the variants whose label is ``label``."""

    def where(df: pd.DataFrame, _label: str = label) -> np.ndarray:
        return (df["label"] == _label).to_numpy(dtype=bool, na_value=False)

    return Metric(
        f"class_accuracy[{label}]", True, "mean", "correct", f"accuracy on class {label}",
        where=where,
    )  # fmt: skip


def labelled(pred: pd.DataFrame) -> bool:
    """Whether any prediction has a known label (so accuracy exists)."""
    return "correct" in pred and bool(pred["correct"].notna().any())


def metrics_for(pred: pd.DataFrame, topk: tuple[int, ...] = ()) -> list[Metric]:
    """The metrics that apply to these predictions (no accuracy without labels, ...)."""
    has_labels = labelled(pred)
    out: list[Metric] = []
    if has_labels:
        out.append(METRICS.get("accuracy"))
        out += [topk_metric(k) for k in topk if f"top{k}_correct" in pred]
    if "flipped" in pred and pred["flipped"].notna().any():
        out += [METRICS.get("flip_rate"), METRICS.get("tv_clean"), METRICS.get("kl_clean")]
    if has_labels:
        out.append(METRICS.get("ece"))
    out.append(METRICS.get("confidence"))
    if has_labels:
        labels = sorted(pred.loc[pred["correct"].notna(), "label"].dropna().unique())
        out += [class_accuracy_metric(str(lbl)) for lbl in labels]
    return out
