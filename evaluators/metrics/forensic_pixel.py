"""Localization metrics, per image: a predicted map in [0, 1] against a boolean mask.

Each function takes ``(pred_map, mask, *, no_score_px=0)`` and returns a float, or NaN when the
image has no scored manipulated pixel (an authentic image, or a mask the no-score band swallows):
pixel metrics exist only on manipulated images, and NaN is what the per-level ``mean`` aggregation
already skips. A map of another resolution is resized to the mask (:func:`fit_map`). Scoring:

- a pixel is predicted manipulated when its map value is ``>= threshold`` (0.5);
- ``no_score_px = r > 0`` leaves out every pixel within Chebyshev distance ``r`` of a pixel of the
  other class (the mask dilated minus the mask eroded by a (2r+1)x(2r+1) square), as NIST
  MediScore's no-score zone does; the image border is not a mask boundary.

The ``*_best`` metrics take the best threshold for each image separately: an optimistic upper
bound (the threshold is chosen with the truth), to be labelled so in reports.
"""

from __future__ import annotations

import numpy as np
from degradebench.generators.core.errors import ConfigError
from degradebench.generators.ops.resize import resize_image

from .forensic_detect import auc

__all__ = [
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
]

THRESHOLD = 0.5
MAP_BACKEND = ("pillow", "bilinear")  # the one resize (generators.ops.resize.resize_image)


def _as_map(pred_map: np.ndarray) -> np.ndarray:
    m = np.asarray(pred_map)
    if m.ndim == 3 and m.shape[0] == 1:  # [1, h, w] as a model returns it per image
        m = m[0]
    if m.ndim != 2 or m.size == 0:
        raise ValueError(
            f"predicted map: expected an [h, w] or [1, h, w] array, got shape {m.shape}"
        )
    if m.dtype == np.uint8:
        return m.astype(np.float64) / 255.0
    m = m.astype(np.float64)
    if not np.all(np.isfinite(m)) or m.min() < 0.0 or m.max() > 1.0:
        msg = "predicted map: values must be finite and in [0, 1] (apply a sigmoid first), "
        raise ValueError(msg + f"got min {np.nanmin(m):.4g}, max {np.nanmax(m):.4g}")
    return m


def _as_mask(mask: np.ndarray) -> np.ndarray:
    k = np.asarray(mask)
    if k.ndim == 3 and k.shape[-1] == 1:
        k = k[..., 0]
    if k.ndim != 2:
        raise ValueError(f"mask: expected an [h, w] array, got shape {k.shape}")
    return k.astype(bool)


def fit_map(pred_map: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """The map as float64 in [0, 1] at ``size_hw``, resized bilinearly when its size differs.

    Resizing goes through the project's one resize (Pillow bilinear, the kernel the ``resize``
    op records) on the map quantised to uint8 (``rint(255 m)``), so a map is scored at the same
    8-bit precision ``--save-maps`` writes it; a map already at the mask's size is used as is.
    A uint8 map is read as ``value / 255``.
    """
    m = _as_map(pred_map)
    h, w = (int(v) for v in size_hw)
    if m.shape == (h, w):
        return m
    q = np.rint(m * 255.0).astype(np.uint8)
    out = resize_image(q, (h, w), backend=MAP_BACKEND[0], method=MAP_BACKEND[1])
    return out.astype(np.float64) / 255.0


def no_score_band(mask: np.ndarray, no_score_px: int) -> np.ndarray:
    """Boolean [h, w]: pixels within ``no_score_px`` (Chebyshev) of the mask's boundary.

    ``dilate(mask) & ~erode(mask)`` with a (2r+1)x(2r+1) square; pixels outside the image count
    as copies of the nearest edge pixel, so the image border is not a boundary. ``r = 0``: empty.
    """
    r = int(no_score_px)
    if r < 0:
        raise ConfigError(f"no_score_px: must be a whole number >= 0, got {no_score_px!r}")
    k = _as_mask(mask)
    if r == 0:
        return np.zeros(k.shape, dtype=bool)
    from scipy import ndimage  # here: importing it costs a report (which never calls this) 0.2 s

    size = 2 * r + 1
    grown = ndimage.maximum_filter(k, size=size, mode="nearest")
    shrunk = ndimage.minimum_filter(k, size=size, mode="nearest")
    return grown & ~shrunk


def scored_pixels(
    pred_map: np.ndarray, mask: np.ndarray, *, no_score_px: int = 0
) -> tuple[np.ndarray, np.ndarray] | None:
    """(map values, truth) of the scored pixels, flattened; None without a scored true pixel."""
    k = _as_mask(mask)
    m = fit_map(pred_map, k.shape)
    keep = ~no_score_band(k, no_score_px)
    truth = k[keep]
    if not truth.any():
        return None
    return m[keep], truth


def _counts(scores: np.ndarray, truth: np.ndarray, threshold: float) -> tuple[int, int, int, int]:
    pred = scores >= threshold
    tp = int(np.count_nonzero(pred & truth))
    fp = int(np.count_nonzero(pred & ~truth))
    fn = int(np.count_nonzero(~pred & truth))
    return tp, fp, fn, truth.size - tp - fp - fn


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    return 2.0 * tp / (2.0 * tp + fp + fn)  # > 0 denominator: the image has true pixels


def _mcc(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray) -> np.ndarray:
    tp, fp, fn, tn = (np.asarray(x, dtype=np.float64) for x in (tp, fp, fn, tn))
    den = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (tp * tn - fp * fn) / np.where(den > 0, den, 1.0), 0.0)


def _sweep(scores: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, ...]:
    """(tp, fp, fn, tn) at every threshold ``>= t`` for t in the distinct values, and t = +inf."""
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], truth[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), s.size - 1]  # end of each run of equal values
    tp = np.r_[0, np.cumsum(y)[last]]
    fp = np.r_[0, np.cumsum(~y)[last]]
    pos = int(y.sum())
    fn = pos - tp
    tn = (y.size - pos) - fp
    return tp, fp, fn, tn


def pixel_f1(pred_map: np.ndarray, mask: np.ndarray, *, no_score_px: int = 0) -> float:
    """F1 = 2TP / (2TP + FP + FN) of the map thresholded at 0.5; NaN on an authentic image."""
    px = scored_pixels(pred_map, mask, no_score_px=no_score_px)
    if px is None:
        return float("nan")
    tp, fp, fn, _ = _counts(*px, THRESHOLD)
    return float(_f1(tp, fp, fn))


def pixel_mcc(pred_map: np.ndarray, mask: np.ndarray, *, no_score_px: int = 0) -> float:
    """Matthews correlation of the map thresholded at 0.5 (0 when a margin of the confusion
    matrix is empty, as scikit-learn does); NaN on an authentic image."""
    px = scored_pixels(pred_map, mask, no_score_px=no_score_px)
    if px is None:
        return float("nan")
    return float(_mcc(*_counts(*px, THRESHOLD)))


def pixel_f1_best(pred_map: np.ndarray, mask: np.ndarray, *, no_score_px: int = 0) -> float:
    """Optimistic: F1 at this image's best threshold (chosen with the truth); NaN if authentic."""
    px = scored_pixels(pred_map, mask, no_score_px=no_score_px)
    if px is None:
        return float("nan")
    tp, fp, fn, _ = _sweep(*px)
    return float(np.max(_f1(tp, fp, fn)))


def pixel_mcc_best(pred_map: np.ndarray, mask: np.ndarray, *, no_score_px: int = 0) -> float:
    """Optimistic: MCC at this image's best threshold (chosen with the truth); NaN if authentic."""
    px = scored_pixels(pred_map, mask, no_score_px=no_score_px)
    if px is None:
        return float("nan")
    return float(np.max(_mcc(*_sweep(*px))))


def pixel_iou(pred_map: np.ndarray, mask: np.ndarray, *, no_score_px: int = 0) -> float:
    """Intersection over union TP / (TP + FP + FN) at threshold 0.5; NaN on an authentic image."""
    px = scored_pixels(pred_map, mask, no_score_px=no_score_px)
    if px is None:
        return float("nan")
    tp, fp, fn, _ = _counts(*px, THRESHOLD)
    return tp / (tp + fp + fn)


def pixel_auc(pred_map: np.ndarray, mask: np.ndarray, *, no_score_px: int = 0) -> float:
    """ROC AUC of the map's values over the scored pixels (threshold-free, ties count half);
    NaN on an authentic image or when every scored pixel is manipulated."""
    px = scored_pixels(pred_map, mask, no_score_px=no_score_px)
    if px is None:
        return float("nan")
    return auc(*px)


def localization_scores(
    pred_map: np.ndarray, mask: np.ndarray, *, no_score_px: int = 0
) -> dict[str, float]:
    """All six pixel metrics of one image at once (one resize, one band), by metric name."""
    names = ("pixel_f1", "pixel_mcc", "pixel_f1_best", "pixel_mcc_best", "pixel_iou", "pixel_auc")
    px = scored_pixels(pred_map, mask, no_score_px=no_score_px)
    if px is None:
        return dict.fromkeys(names, float("nan"))
    tp, fp, fn, tn = _counts(*px, THRESHOLD)
    sweep = _sweep(*px)
    values = (
        _f1(tp, fp, fn),
        _mcc(tp, fp, fn, tn),
        np.max(_f1(*sweep[:3])),
        np.max(_mcc(*sweep)),
        tp / (tp + fp + fn),
        auc(*px),
    )
    return {n: float(v) for n, v in zip(names, values)}
