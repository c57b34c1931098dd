"""Detection metrics, image level: a score per image (higher = more likely doctored) against a
boolean truth (``manipulated``). Pure numpy; each returns a float, NaN when the inputs lack the
positives or negatives the metric needs.
"""

from __future__ import annotations

import numpy as np
from degradebench.generators.core.errors import ConfigError

__all__ = ["auc", "balanced_accuracy", "threshold_at_fpr", "tpr_at_fpr", "eer"]


def _scores(scores: np.ndarray, what: str = "scores") -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64).ravel()
    if not np.all(np.isfinite(s)):
        bad = int(np.count_nonzero(~np.isfinite(s)))
        raise ValueError(f"{what}: {bad} of {s.size} values are NaN or infinite; drop or fix them")
    return s


def _pair(scores: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = _scores(scores)
    y = np.asarray(truth).ravel()
    if y.shape != s.shape:
        raise ValueError(f"truth: expected {s.size} values (one per score), got {y.size}")
    return s, y.astype(bool)


def _ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, tied values sharing their average rank (``scipy.stats.rankdata``)."""
    order = np.argsort(values, kind="stable")
    s = values[order]
    starts = np.r_[0, np.flatnonzero(np.diff(s) != 0) + 1]
    ends = np.r_[starts[1:], s.size]
    avg = (starts + ends + 1) / 2.0  # mean of the 1-based ranks starts+1 .. ends
    out = np.empty(values.size, dtype=np.float64)
    out[order] = np.repeat(avg, ends - starts)
    return out


def auc(scores: np.ndarray, truth: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic: P(score of a positive > score of a negative), ties
    counted one half. 1 for a perfect detector, 0 for a reversed one, NaN without both classes."""
    s, y = _pair(scores, truth)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    u = _ranks(s)[y].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def balanced_accuracy(scores: np.ndarray, truth: np.ndarray, *, threshold: float = 0.5) -> float:
    """(TPR + TNR) / 2 with ``score >= threshold`` called manipulated (scores in [0, 1] for the
    default 0.5); NaN without both classes."""
    s, y = _pair(scores, truth)
    if y.all() or not y.any():
        return float("nan")
    pred = s >= threshold
    return float((pred[y].mean() + (~pred[~y]).mean()) / 2.0)


def threshold_at_fpr(negatives: np.ndarray, fpr: float = 0.05) -> float:
    """The lowest threshold ``t`` (a negative's score, or -inf) with ``mean(negatives > t) <= fpr``.

    Images scoring strictly above ``t`` are called manipulated, so the false-positive rate on
    ``negatives`` is at most ``fpr`` however the scores tie. NaN without negatives.
    """
    if not 0.0 <= fpr <= 1.0:
        raise ConfigError(f"fpr: must be a rate in [0, 1], got {fpr!r}")
    neg = np.sort(_scores(negatives, "negatives"))
    if neg.size == 0:
        return float("nan")
    cand = np.r_[-np.inf, np.unique(neg)]
    above = neg.size - np.searchsorted(neg, cand, side="right")  # negatives strictly above
    ok = above <= fpr * neg.size + 1e-9 * neg.size
    return float(cand[np.argmax(ok)])  # ok is monotone and true at the largest negative


def tpr_at_fpr(
    scores: np.ndarray,
    truth: np.ndarray,
    *,
    fpr: float = 0.05,
    negatives: np.ndarray | None = None,
) -> float:
    """True-positive rate at the threshold that keeps FPR on ``negatives`` at most ``fpr``.

    ``negatives`` are the scores of the clean authentic images that fix the threshold
    (:func:`threshold_at_fpr`); by default, the negatives among ``scores``. The rate is taken over
    the positives of ``scores`` (``score > threshold``); NaN without positives or negatives.
    """
    s, y = _pair(scores, truth)
    neg = s[~y] if negatives is None else negatives
    t = threshold_at_fpr(neg, fpr)
    if not y.any() or np.isnan(t):
        return float("nan")
    return float(np.mean(s[y] > t))


def eer(scores: np.ndarray, truth: np.ndarray) -> float:
    """Equal error rate: where the false-positive and false-negative rates meet on the ROC.

    The ROC points are taken at every distinct score (``score >= t`` called manipulated, from
    t = +inf down); the EER is where the segment between the last point with FNR > FPR and the
    next crosses FNR = FPR (linear interpolation). 0 for a perfect detector; NaN without both
    classes.
    """
    s, y = _pair(scores, truth)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(-s, kind="stable")
    ss, yy = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(ss) != 0), ss.size - 1]
    fpr = np.r_[0.0, np.cumsum(~yy)[last] / n_neg]
    fnr = np.r_[1.0, 1.0 - np.cumsum(yy)[last] / n_pos]
    d = fnr - fpr  # decreasing from 1 (t = +inf) to -1 (every image called manipulated)
    i = int(np.argmax(d <= 0))
    a = d[i - 1] / (d[i - 1] - d[i])
    return float(fpr[i - 1] + a * (fpr[i] - fpr[i - 1]))
