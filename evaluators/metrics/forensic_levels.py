"""Forensic figures per (model, suite, axis, level) and per curve point, with source-grouped CIs.

The rows go to summary.parquet and curves.parquet through the same machinery as accuracy
(:func:`.levels.level_metrics`, :func:`.curves.curve_metrics`): planned levels, ``n`` distinct
sources, ``n_variants``, ``delta_clean`` on the ``n_paired`` sources shared with the suite's clean
level, curve points, ranks and series. Two kinds of metric:

- **pixel** (``pixel_f1``, ``pixel_mcc``, ``pixel_f1_best``, ``pixel_mcc_best``, ``pixel_iou``,
  ``pixel_auc``, and per manipulation ``pixel_f1[<op>]``, ``pixel_auc[<op>]``): the mean of the
  per-image column over the manipulated rows where it is not NaN, a source's variants averaged
  first (a :class:`~.base.Metric` ``mean``). A level without manipulated images has no pixel rows;
  the clean level has none, so their ``delta_clean`` is NaN.
- **detection** (``auc``, ``balanced_accuracy``, ``tpr_at_fpr``, ``eer`` from the model's
  ``score``; ``image_*`` from ``map_score``, the map's maximum): a :class:`DetectionMetric`,
  written only where the level has both classes. The clean level has one class (authentic), so
  detection rows have ``delta_clean`` NaN and ``n_paired`` 0. Replicate b of the bootstrap gives
  each row its source's weight ``w[b, s]`` divided by the source's rows in the cell
  (:mod:`.forensic_boot`); the point value uses weight 1 per source, which is the plain figure
  when every source has the same number of rows in the cell.

``tpr_at_fpr``: the threshold is fixed per suite on the CLEAN AUTHENTIC rows (clean level,
``manipulated`` False): the lowest ``t`` among -inf and their scores such that the share of them
scoring strictly above ``t`` is at most ``fpr`` (:func:`.forensic_detect.threshold_at_fpr`; with
fewer than ``1 / fpr`` clean images that is their largest score, FPR 0). The TPR is the share of
the level's manipulated rows scoring strictly above ``t``. Each bootstrap replicate fixes its own
threshold on the same clean rows with the replicate's weights, so the interval carries the
threshold's uncertainty too. A suite without clean authentic scores has no ``tpr_at_fpr`` rows
and a warning says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
from degradebench.generators.core.errors import ConfigError

from ..results import CURVE_COLUMNS, SUMMARY_COLUMNS
from .base import Metric
from .bootstrap import Bootstrap, Cell
from .curves import curve_metrics
from .forensic import FORENSIC_METRICS
from .forensic_boot import (
    weighted_auc,
    weighted_auc_eer,
    weighted_balanced_accuracy,
    weighted_eer,
    weighted_threshold_at_fpr,
    weighted_tpr_above,
)
from .levels import level_metrics
from .pairing import is_clean, suite_of

__all__ = [
    "ForensicLevels",
    "DetectionMetric",
    "DetectionScores",
    "Negatives",
    "PIXEL_METRICS",
    "DETECTION_METRICS",
    "pixel_metrics",
    "detection_metrics",
    "forensic_level_metrics",
    "detection_metrics_for_target",
]

PIXEL_METRICS = ("pixel_f1", "pixel_mcc", "pixel_f1_best", "pixel_mcc_best", "pixel_iou",
                 "pixel_auc")  # fmt: skip
PER_MANIPULATION = ("pixel_f1", "pixel_auc")
DETECTION_METRICS = ("auc", "balanced_accuracy", "tpr_at_fpr", "eer")
_TRUTH = "_truth"  # the boolean truth column added to the working frame
_SCORE = "_score"  # a classification target's positive-class probability
_MAX_CELLS = 2_000_000  # weight-matrix entries per chunk of replicates


class ForensicLevels(NamedTuple):
    """summary.parquet rows, curves.parquet rows and warning lines (for run.json)."""

    summary: pd.DataFrame
    curves: pd.DataFrame
    warnings: list[str]


@dataclass(frozen=True)
class Negatives:
    """One suite's clean authentic rows that fix the ``tpr_at_fpr`` threshold."""

    scores: np.ndarray
    source_ids: np.ndarray


def _figures(kinds, s, y, w, t: np.ndarray | None) -> dict[str, np.ndarray]:
    """The detection figures ``kinds`` for the weight vectors ``w`` (and the thresholds ``t``
    fixed on the suite's clean negatives, one per vector, for ``tpr_at_fpr``)."""
    out = {}
    if "auc" in kinds and "eer" in kinds:
        out["auc"], out["eer"] = weighted_auc_eer(s, y, w)  # one sort for both
    for kind in kinds:
        if kind in out:
            continue
        if kind == "auc":
            out[kind] = weighted_auc(s, y, w)
        elif kind == "balanced_accuracy":
            out[kind] = weighted_balanced_accuracy(s, y, w)
        elif kind == "eer":
            out[kind] = weighted_eer(s, y, w)
        else:
            out[kind] = weighted_tpr_above(s, y, w, t)
    return out


@dataclass(eq=False)
class DetectionScores:
    """The scores in ``column`` against the boolean ``truth`` column: every detection figure of
    a cell in one pass (one weight matrix per chunk of replicates), remembered per (bootstrap,
    rows) so curves reuse the summary's cells; rows are told apart by their index labels, which
    must be unique (the drivers below reset the index).

    ``negatives``: per suite (``""`` without one), the clean authentic rows that fix the
    ``tpr_at_fpr`` threshold at ``fpr``.
    """

    column: str
    truth: str = _TRUTH
    fpr: float = 0.05
    negatives: dict[str, Negatives] = field(default_factory=dict)
    _memo: dict = field(default_factory=dict, repr=False)

    def cells(self, df: pd.DataFrame, boot: Bootstrap) -> dict[str, Cell]:
        """``{kind: Cell}`` over the rows of ``df`` with a finite score and a known truth."""
        key = (id(boot), boot.n_boot, tuple(df.index))
        if key not in self._memo:
            self._memo[key] = self._cells(df, boot)
        return self._memo[key]

    def _cells(self, df: pd.DataFrame, boot: Bootstrap) -> dict[str, Cell]:
        s = pd.to_numeric(df[self.column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        ok = np.isfinite(s) & df[self.truth].notna().to_numpy(dtype=bool)
        y = df[self.truth].to_numpy(dtype=bool, na_value=False)[ok]
        s = s[ok]
        codes = _codes(boot, df["source_id"].to_numpy()[ok], self.column)
        counts = np.bincount(codes, minlength=len(boot.sources)).astype(np.float64)
        present = counts > 0
        used, n = frozenset(boot.sources[present]), int(present.sum())
        neg = self.negatives.get(str(suite_of(df).iloc[0])) if len(df) else None
        kinds = [k for k in DETECTION_METRICS if k != "tpr_at_fpr" or neg is not None]
        empty = Cell(math.nan, np.full(boot.n_boot, np.nan), n, 0, used)
        if not (y.any() and (~y).any()):
            kinds = []
        out = dict.fromkeys(DETECTION_METRICS, empty)
        if not kinds:
            return out
        roww = 1.0 / counts[codes]
        t_point, t_reps = self._thresholds(neg, boot) if neg is not None else (None, None)
        point = _figures(kinds, s, y, roww[None, :], t_point)
        parts = []
        step = max(1, _MAX_CELLS // max(s.size, 1))
        for b0 in range(0, boot.n_boot, step):
            wb = boot.weights[b0 : b0 + step]
            t = None if t_reps is None else t_reps[b0 : b0 + step]
            parts.append(_figures(kinds, s, y, wb[:, codes] * roww, t))
        for k in kinds:
            reps = np.concatenate([p[k] for p in parts]) if parts else np.zeros(0)
            out[k] = Cell(float(point[k][0]), reps, n, int(s.size), used)
        return out

    def _thresholds(self, neg: Negatives, boot: Bootstrap) -> tuple[np.ndarray, np.ndarray]:
        """The ``tpr_at_fpr`` thresholds of one suite: the point estimate's ``[1]`` and one per
        replicate ``[B]``, fixed once on its clean negatives and shared by every cell."""
        key = ("thresholds", id(neg), id(boot), boot.n_boot)
        if key not in self._memo:
            ncodes = _codes(boot, neg.source_ids, self.column)
            nroww = 1.0 / np.bincount(ncodes, minlength=len(boot.sources))[ncodes]
            point = weighted_threshold_at_fpr(neg.scores, nroww[None], self.fpr)
            step = max(1, _MAX_CELLS // max(neg.scores.size, 1))
            reps = [weighted_threshold_at_fpr(neg.scores, boot.weights[b0 : b0 + step][:, ncodes]
                                              * nroww, self.fpr)
                    for b0 in range(0, boot.n_boot, step)]  # fmt: skip
            self._memo[key] = (point, np.concatenate(reps) if reps else np.zeros(0))
        return self._memo[key]


@dataclass(frozen=True)
class DetectionMetric:
    """A detection figure (``kind``: auc | balanced_accuracy | tpr_at_fpr | eer) of ``scores``,
    with weighted bootstrap replicates; :func:`.bootstrap.cell` calls :meth:`cell_of`."""

    name: str
    higher_is_better: bool
    kind: str
    scores: DetectionScores
    doc: str = ""

    def cell_of(self, df: pd.DataFrame, boot: Bootstrap) -> Cell:
        """The figure over the rows of ``df`` with a finite score and a known truth; a cell
        without both classes (or, for ``tpr_at_fpr``, without the suite's clean negatives)
        has ``n_variants`` 0, so no row is written for it."""
        return self.scores.cells(df, boot)[self.kind]


def _codes(boot: Bootstrap, source_ids: np.ndarray, what: str) -> np.ndarray:
    codes = boot.sources.get_indexer(pd.Index(source_ids, dtype=object))
    if (codes < 0).any():
        bad = source_ids[codes < 0][0]
        msg = (f"{what}: source_id {bad!r} is not among the bootstrap's sources; build the "
               "Bootstrap from every scored row's source_id")  # fmt: skip
        raise ValueError(msg)
    return codes


def _as_truth(values: pd.Series) -> pd.Series:
    """A boolean truth column (null where unknown) from bools, 0/1 or "true"/"false"."""
    mapped = values.map(lambda v: {"true": True, "false": False}.get(v.lower(), v)
                        if isinstance(v, str) else v)  # fmt: skip
    return mapped.astype("boolean")


def _clean_mask(preds: pd.DataFrame, clean) -> np.ndarray:
    mask = is_clean(preds) if clean is None else np.asarray(clean, dtype=bool).ravel()
    if mask.shape != (len(preds),):
        raise ValueError(f"clean: expected {len(preds)} flags (one per prediction row), got "
                         f"{mask.size}; pass metrics.pairing.is_clean(preds)")  # fmt: skip
    return mask


def _direction(name: str) -> bool:
    return FORENSIC_METRICS.get(name).higher_is_better


def _manipulated(df: pd.DataFrame) -> np.ndarray:
    return df[_TRUTH].to_numpy(dtype=bool, na_value=False)


def pixel_metrics(work: pd.DataFrame) -> list[Metric]:
    """The pixel metrics of these predictions (``work`` carries the truth column), the
    per-manipulation ones for every op among the manipulated rows."""
    out = [Metric(n, _direction(n), "mean", n, FORENSIC_METRICS.get(n).doc, where=_manipulated)
           for n in PIXEL_METRICS if n in work]  # fmt: skip
    if "manipulation" not in work:
        return out
    ops = work.loc[_manipulated(work), "manipulation"].dropna().astype(str)
    for op in sorted(set(ops)):

        def where(df: pd.DataFrame, _op: str = op) -> np.ndarray:
            return _manipulated(df) & (df["manipulation"] == _op).to_numpy(bool, na_value=False)

        out += [Metric(f"{n}[{op}]", _direction(n), "mean", n, f"{n} on {op} images", where=where)
                for n in PER_MANIPULATION if n in work]  # fmt: skip
    return out


def _negatives(work: pd.DataFrame, clean: np.ndarray, column: str) -> dict[str, Negatives]:
    s = pd.to_numeric(work[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    authentic = ~work[_TRUTH].to_numpy(dtype=bool, na_value=True)
    keep = clean & authentic & np.isfinite(s)
    suites = suite_of(work).to_numpy()
    src = work["source_id"].to_numpy()
    return {str(su): Negatives(s[keep & (suites == su)], src[keep & (suites == su)])
            for su in pd.unique(suites[keep])}  # fmt: skip


def _missing_warnings(work, column: str, name: str, negatives, fpr: float) -> list[str]:
    s = pd.to_numeric(work[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    scored_pos = np.isfinite(s) & _manipulated(work)
    suites = sorted(set(suite_of(work).to_numpy()[scored_pos]) - set(negatives))
    return [f"{name}: suite {su!r} has no clean authentic image with a finite {column!r}, so no "
            f"threshold at FPR {fpr:g} can be fixed and its {name} rows are left out; evaluate "
            "the clean axis too (clean, unmanipulated variants)" for su in suites]  # fmt: skip


def detection_metrics(
    column: str, *, prefix: str = "", negatives: dict[str, Negatives] | None = None,
    fpr: float = 0.05,
) -> list[DetectionMetric]:  # fmt: skip
    """``auc``, ``balanced_accuracy``, ``tpr_at_fpr``, ``eer`` (names with ``prefix``, e.g.
    ``image_``) of the scores in ``column`` against the working frame's truth column."""
    if not 0.0 <= fpr <= 1.0:
        raise ConfigError(f"fpr: must be a rate in [0, 1], got {fpr!r}")
    scores = DetectionScores(column, fpr=fpr, negatives=dict(negatives or {}))
    out = []
    for kind in DETECTION_METRICS:
        fm = FORENSIC_METRICS.get(prefix + kind)
        out.append(DetectionMetric(fm.name, fm.higher_is_better, kind, scores, fm.doc))
    return out


def _tables(work: pd.DataFrame, boot: Bootstrap, metrics: list, warnings) -> ForensicLevels:
    if not metrics or not len(work):
        empty_s = level_metrics(work.iloc[:0], boot, metrics=[])[0]
        return ForensicLevels(empty_s, curve_metrics(work.iloc[:0], boot, [])[0], list(warnings))
    summary, _ = level_metrics(work, boot, metrics=metrics)
    curves, _ = curve_metrics(work, boot, metrics)
    return ForensicLevels(summary[SUMMARY_COLUMNS], curves[CURVE_COLUMNS], list(warnings))


def _finite(work: pd.DataFrame, column: str) -> bool:
    if column not in work:
        return False
    return bool(np.isfinite(pd.to_numeric(work[column], errors="coerce")
                            .to_numpy(dtype=float, na_value=np.nan)).any())  # fmt: skip


def forensic_level_metrics(
    preds: pd.DataFrame, boot: Bootstrap, *, clean=None, fpr: float = 0.05,
    no_score: bool = False,
) -> ForensicLevels:  # fmt: skip
    """summary and curves rows of a localization run, and warnings.

    Args:
        preds: localization predictions (``score``, ``map_score``, ``manipulated``,
            ``manipulation``, ``pixel_*``, model/suite/axis/level/level_value/source_id).
        boot: the evaluation's :class:`~.bootstrap.Bootstrap` (its weights give every CI).
        clean: boolean mask of the clean rows (default :func:`.pairing.is_clean`); with
            ``manipulated`` False they fix the ``tpr_at_fpr`` threshold per suite.
        fpr: the false-positive rate on clean authentic images for ``tpr_at_fpr``.
        no_score: leave out the detection rows from ``score`` (the model returns no image
            score); they are also left out when every ``score`` is NaN.

    Returns:
        :class:`ForensicLevels` (summary in SUMMARY_COLUMNS, curves in CURVE_COLUMNS, warnings).
    """
    if "manipulated" not in preds:
        raise ConfigError("predictions: a localization run needs the 'manipulated' column "
                          "(the manifest's truth); regenerate the manifest")  # fmt: skip
    cmask = _clean_mask(preds, clean)
    truth = _as_truth(preds["manipulated"]).to_numpy()
    work = preds.reset_index(drop=True).assign(**{_TRUTH: truth})  # unique labels (memo)
    metrics: list = pixel_metrics(work)
    warnings: list[str] = []
    for column, prefix in (("score", ""), ("map_score", "image_")):
        if (column == "score" and no_score) or not _finite(work, column):
            continue
        neg = _negatives(work, cmask, column)
        warnings += _missing_warnings(work, column, f"{prefix}tpr_at_fpr", neg, fpr)
        metrics += detection_metrics(column, prefix=prefix, negatives=neg, fpr=fpr)
    return _tables(work, boot, metrics, warnings)


def _positive_index(preds: pd.DataFrame, positive: str) -> int | None:
    rows = preds["label"].astype("string") == positive
    rows = rows.to_numpy(dtype=bool, na_value=False)
    if not rows.any():
        return None
    idx = pd.unique(preds.loc[rows, "label_index"]) if "label_index" in preds else [pd.NA]
    if len(idx) != 1 or pd.isna(idx[0]):
        msg = (f"--target: class {positive!r} has label_index {list(idx)!r}, not one class of "
               "the model; declare the class in the model's input config (classes) or pass "
               "positive_index")  # fmt: skip
        raise ConfigError(msg)
    return int(idx[0])


def detection_metrics_for_target(
    preds: pd.DataFrame, boot: Bootstrap, *, clean=None, fpr: float = 0.05,
    positive: str = "true", positive_index: int | None = None,
) -> ForensicLevels:  # fmt: skip
    """``auc``, ``balanced_accuracy``, ``tpr_at_fpr``, ``eer`` per level (and curve point) of a
    classification model with a boolean ``--target`` (classes ``"false"``, ``"true"``).

    The score is ``probs[:, positive_index]``, the probability of the ``positive`` class; its
    index is read from ``label_index`` of the rows labelled ``positive`` unless given. Truth is
    ``label == positive``; the clean rows with the other label fix the ``tpr_at_fpr`` threshold.
    Without any positive row there is nothing to detect and the tables are empty.
    """
    cmask = _clean_mask(preds, clean)
    if positive_index is None:
        positive_index = _positive_index(preds, positive) if len(preds) else None
    label = preds["label"].astype("string")
    truth = pd.array(label == positive, dtype="boolean")
    work = preds.reset_index(drop=True).assign(**{_TRUTH: truth})
    if positive_index is None:
        return _tables(work, boot, [], [])
    probs = np.stack([np.asarray(p, dtype=np.float64).ravel() for p in preds["probs"]])
    if not 0 <= positive_index < probs.shape[1]:
        msg = (f"positive_index: must be a class index 0..{probs.shape[1] - 1} of the probs "
               f"column, got {positive_index!r}")  # fmt: skip
        raise ConfigError(msg)
    work[_SCORE] = probs[:, positive_index]
    neg = _negatives(work, cmask, _SCORE)
    warnings = _missing_warnings(work, _SCORE, "tpr_at_fpr", neg, fpr)
    warnings = [w.replace(repr(_SCORE), f"probability of {positive!r}") for w in warnings]
    return _tables(work, boot, detection_metrics(_SCORE, negatives=neg, fpr=fpr), warnings)
