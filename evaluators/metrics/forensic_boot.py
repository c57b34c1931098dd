"""Weighted detection kernels for the source bootstrap: many weight vectors at once.

Detection figures (AUC, EER, ...) are not sums of per-row statistics, so the bootstrap cannot
resample them through :func:`.bootstrap.cell`; instead each replicate gives every row a weight
(its source's draw count divided by the source's rows in the cell) and the figure is computed
with those weights. Every function here takes the scores ``s [N]`` (finite), the truth
``y [N]`` (bool, True = manipulated) and row weights ``w [R, N]`` (R weight vectors: the point
estimate's and the replicates'), and returns ``[R]``, NaN where a vector gives no weight to a
class the figure needs. With equal weights each equals its unweighted kernel in
:mod:`.forensic_detect` (same tie and threshold rules); integer weights equal repeating rows.
"""

from __future__ import annotations

import numpy as np
from degradebench.generators.core.errors import ConfigError

__all__ = [
    "weighted_auc",
    "weighted_auc_eer",
    "weighted_balanced_accuracy",
    "weighted_threshold_at_fpr",
    "weighted_tpr_above",
    "weighted_eer",
]


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _grouped(s: np.ndarray, descending: bool = False):
    """Rows sorted by score, runs of equal scores merged: (distinct scores, order, run starts)."""
    order = np.argsort(-s if descending else s, kind="stable")
    ss = s[order]
    starts = np.r_[0, np.flatnonzero(np.diff(ss) != 0) + 1]
    return ss[starts], order, starts


def _class_sums(s: np.ndarray, y: np.ndarray, w: np.ndarray, descending: bool = False):
    """Per distinct score (sorted): the weight of positives ``P [R, K]`` and negatives ``Q``."""
    _, order, starts = _grouped(s, descending)
    wo = w[:, order]
    pos = wo * y[order]
    neg = wo - pos  # exact: each entry of pos is the weight or 0
    if starts.size == s.size:  # no ties
        return pos, neg
    return np.add.reduceat(pos, starts, axis=1), np.add.reduceat(neg, starts, axis=1)


def weighted_auc(s: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted Mann-Whitney AUC: sum over (positive i, negative j) of ``w_i w_j`` times
    ``[s_i > s_j] + [s_i = s_j] / 2``, over the product of the class weights."""
    if s.size == 0:
        return np.full(w.shape[0], np.nan)
    return _auc_of(*_class_sums(s, y, w))


def _auc_of(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    below = np.cumsum(neg, axis=1) - neg  # negative weight strictly below each score
    num = (pos * (below + 0.5 * neg)).sum(axis=1)
    return _ratio(num, pos.sum(axis=1) * neg.sum(axis=1))


def weighted_auc_eer(s: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`weighted_auc` and :func:`weighted_eer` from one sort: the descending class sums
    are the ascending ones reversed (ties merged in the same row order), so both are equal to
    the separate calls."""
    if s.size == 0:
        return np.full(w.shape[0], np.nan), np.full(w.shape[0], np.nan)
    pos, neg = _class_sums(s, y, w)
    return _auc_of(pos, neg), _eer_of(pos[:, ::-1], neg[:, ::-1])


def weighted_balanced_accuracy(
    s: np.ndarray, y: np.ndarray, w: np.ndarray, threshold: float = 0.5
) -> np.ndarray:
    """(TPR + TNR) / 2 with ``score >= threshold`` called manipulated, rates weighted."""
    called = s >= threshold
    tpr = _ratio(w @ (y & called).astype(float), w @ y.astype(float))
    tnr = _ratio(w @ (~y & ~called).astype(float), w @ (~y).astype(float))
    return (tpr + tnr) / 2.0


def weighted_threshold_at_fpr(neg: np.ndarray, w: np.ndarray, fpr: float) -> np.ndarray:
    """Per weight vector: the lowest ``t`` among -inf and the negatives' scores whose weight
    strictly above ``t`` is at most ``fpr`` times the negatives' total weight (the rule of
    :func:`.forensic_detect.threshold_at_fpr`, weighted); NaN where the total weight is 0."""
    if not 0.0 <= fpr <= 1.0:
        raise ConfigError(f"fpr: must be a rate in [0, 1], got {fpr!r}")
    if neg.size == 0:
        return np.full(w.shape[0], np.nan)
    values, order, starts = _grouped(neg)
    g = np.add.reduceat(w[:, order], starts, axis=1)
    total = g.sum(axis=1)
    cum = np.concatenate([np.zeros((w.shape[0], 1)), np.cumsum(g, axis=1)], axis=1)
    above = total[:, None] - cum  # candidates -inf, values[0], values[1], ...
    ok = above <= (fpr + 1e-9) * total[:, None]  # monotone, true at the largest value
    cand = np.r_[-np.inf, values]
    t = cand[np.argmax(ok, axis=1)]
    return np.where(total > 0, t, np.nan)


def weighted_tpr_above(s: np.ndarray, y: np.ndarray, w: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Weighted share of positives scoring strictly above ``t[r]`` (one threshold per weight
    vector); NaN where the threshold is NaN or the positives weigh nothing."""
    r = w.shape[0]
    t = np.broadcast_to(np.asarray(t, dtype=np.float64), (r,))
    ps = s[y]
    order = np.argsort(ps, kind="stable")
    cum = np.concatenate([np.zeros((r, 1)), np.cumsum(w[:, y][:, order], axis=1)], axis=1)
    total = cum[:, -1]
    k = np.searchsorted(ps[order], np.nan_to_num(t, nan=np.inf), side="right")  # rows <= t
    at_or_below = np.take_along_axis(cum, k[:, None], axis=1)[:, 0]
    out = _ratio(total - at_or_below, total)
    return np.where(np.isnan(t), np.nan, out)


def weighted_eer(s: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted equal error rate: ROC points at every distinct score (``score >= t`` called
    manipulated, t from +inf down), linear interpolation where FNR - FPR changes sign, as
    :func:`.forensic_detect.eer`."""
    r = w.shape[0]
    if s.size == 0:
        return np.full(r, np.nan)
    return _eer_of(*_class_sums(s, y, w, descending=True))


def _eer_of(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    r = pos.shape[0]
    tp, tn = pos.sum(axis=1), neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        fpr = np.concatenate([np.zeros((r, 1)), np.cumsum(neg, axis=1) / tn[:, None]], axis=1)
        fnr = np.concatenate([np.ones((r, 1)), 1.0 - np.cumsum(pos, axis=1) / tp[:, None]], axis=1)
    d = fnr - fpr  # non-increasing from 1 to -1
    i = np.maximum(np.argmax(d <= 0, axis=1), 1)[:, None]
    d0, d1 = (np.take_along_axis(d, j, axis=1)[:, 0] for j in (i - 1, i))
    f0, f1 = (np.take_along_axis(fpr, j, axis=1)[:, 0] for j in (i - 1, i))
    with np.errstate(invalid="ignore", divide="ignore"):
        e = f0 + d0 / (d0 - d1) * (f1 - f0)
    return np.where((tp > 0) & (tn > 0), e, np.nan)
