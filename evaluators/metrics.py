"""Metrics per (model, axis, level), per-axis figures, and the paired test between two models.

Every metric declares ``higher_is_better`` and how it aggregates. Aggregation works on per-source
sums (``stats`` -> columns summed over a source's variants -> ``combine``), which makes the
bootstrap exact and cheap: resampling source images with replacement is a weighted sum of the
per-source rows. One weight matrix is drawn per evaluation (seeded), so the intervals of all
levels, and of figures derived from several levels (AUC, SP Cup score), come from the same
resampled source sets.

Per-variant inputs are the columns of ``predictions.parquet``: ``correct``, ``top{k}_correct``,
``flipped``, ``tv_clean``, ``kl_clean``, ``confidence``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from degradebench.generators.core.registry import Registry

__all__ = [
    "Metric",
    "METRICS",
    "Bootstrap",
    "level_metrics",
    "summarize",
    "axis_summary",
    "mcnemar",
    "compare",
    "severity_order",
    "numeric_x",
    "axis_points",
    "AxisPoints",
    "curve_metrics",
    "CURVE_COLUMNS",
    "SUMMARY_COLUMNS",
    "AXIS_SUMMARY_COLUMNS",
    "CLEAN",
]

CLEAN = "clean"
SUMMARY_COLUMNS = [
    "model", "axis", "level", "level_value", "metric", "value", "ci_low", "ci_high", "n",
    "delta_clean", "higher_is_better",
]  # fmt: skip
AXIS_SUMMARY_COLUMNS = [
    "model", "axis", "metric", "value", "ci_low", "ci_high", "level", "level_value", "n",
    "baseline", "higher_is_better", "detail",
]  # fmt: skip


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
        """Per-row statistics ``[n_rows, k]`` whose column sums ``combine`` turns into the value."""
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
    return Metric(f"top{k}_accuracy", True, "mean", f"top{k}_correct", f"top-{k} accuracy")


def class_accuracy_metric(label: str) -> Metric:
    def where(df: pd.DataFrame, _label: str = label) -> np.ndarray:
        return (df["label"] == _label).to_numpy(dtype=bool, na_value=False)

    return Metric(
        f"class_accuracy[{label}]",
        True,
        "mean",
        "correct",
        f"accuracy on class {label}",
        where=where,
    )


class Bootstrap:
    """Seeded bootstrap over source images: one weight matrix ``[B, S]`` for a whole evaluation.

    Row b holds how many times each source is drawn in replicate b (S draws with replacement).
    """

    def __init__(self, source_ids, n_boot: int = 1000, seed: int = 0, ci: float = 0.95):
        self.sources = pd.Index(pd.unique(pd.Series(list(source_ids), dtype=object)))
        self.n_boot = int(n_boot)
        self.ci = ci
        s = len(self.sources)
        rng = np.random.default_rng(seed)
        if self.n_boot > 0 and s > 0:
            self.weights = rng.multinomial(s, np.full(s, 1.0 / s), size=self.n_boot).astype(
                np.float64
            )
        else:
            self.weights = np.zeros((0, s))

    def per_source(self, source_ids: pd.Series, stats: np.ndarray) -> np.ndarray:
        codes = self.sources.get_indexer(source_ids)
        if (codes < 0).any():
            raise ValueError("a row's source_id is not among the bootstrap's sources")
        out = np.zeros((len(self.sources), stats.shape[1]))
        np.add.at(out, codes, stats)
        return out

    def replicates(self, per_source: np.ndarray) -> np.ndarray:
        """``[S, k]`` per-source sums -> ``[B, k]`` replicate sums."""
        return self.weights @ per_source

    def interval(self, reps: np.ndarray) -> tuple[float, float]:
        reps = reps[~np.isnan(reps)]
        if len(reps) == 0:
            return (math.nan, math.nan)
        a = (1 - self.ci) / 2 * 100
        lo, hi = np.percentile(reps, [a, 100 - a])
        return float(lo), float(hi)


@dataclass
class _Cell:
    value: float
    reps: np.ndarray  # [B]
    n: int


def _cell(metric: Metric, df: pd.DataFrame, boot: Bootstrap) -> _Cell:
    stats = metric.stats(df)
    ps = boot.per_source(df["source_id"], stats)
    value = float(metric.combine(ps.sum(axis=0)))
    reps = metric.combine(boot.replicates(ps)) if boot.n_boot else np.zeros(0)
    return _Cell(value, reps, int(stats[:, -1].sum()))


def metrics_for(pred: pd.DataFrame, topk: tuple[int, ...] = ()) -> list[Metric]:
    """The metrics that apply to these predictions (no accuracy without labels, ...)."""
    labelled = "correct" in pred and pred["correct"].notna().any()
    out: list[Metric] = []
    if labelled:
        out.append(METRICS.get("accuracy"))
        out += [topk_metric(k) for k in topk if f"top{k}_correct" in pred]
    if "flipped" in pred and pred["flipped"].notna().any():
        out += [METRICS.get("flip_rate"), METRICS.get("tv_clean"), METRICS.get("kl_clean")]
    if labelled:
        out.append(METRICS.get("ece"))
    out.append(METRICS.get("confidence"))
    if labelled:
        labels = sorted(pred.loc[pred["correct"].notna(), "label"].dropna().unique())
        out += [class_accuracy_metric(str(lbl)) for lbl in labels]
    return out


def _natural_key(text: str) -> list:
    return [
        (0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", str(text)) if t
    ]


def severity_order(pred_axis: pd.DataFrame, key: str = "level") -> list[str]:
    """Values of ``key`` (levels or curve points) of one axis, from mildest to most severe.

    By mean PSNR (vs the source) descending when every group has a finite-or-infinite PSNR and
    they differ; otherwise by ``level_value`` ascending when present, else in natural text order
    (``0x2`` before ``0x10``). The order used is what breaking levels and curves follow.
    """
    groups = pd.unique(pred_axis[key])
    natural = sorted(groups, key=_natural_key)
    pos = {g: i for i, g in enumerate(natural)}
    if "psnr" in pred_axis:
        psnr = pd.to_numeric(pred_axis["psnr"], errors="coerce")
        means = psnr.groupby(pred_axis[key], sort=False).mean()
        if means.notna().all() and means.nunique() > 1:
            return sorted(natural, key=lambda g: (-means[g], pos[g]))
    if "level_value" in pred_axis:
        lv = pd.to_numeric(pred_axis["level_value"], errors="coerce")
        firsts = lv.groupby(pred_axis[key], sort=False).first()
        if firsts.notna().all():
            return sorted(natural, key=lambda g: (firsts[g], pos[g]))
    if "axis_params" in pred_axis:
        # Categorical levels: those that keep more properties (boolean parameters that are
        # true, e.g. a crop's grid_kept / cfa_phase_kept) count as milder.
        kept = _bool_params(pred_axis["axis_params"]).sum(axis=1)
        n_true = kept.groupby(pred_axis[key].to_numpy(), sort=False).first()
        return sorted(natural, key=lambda g: (-n_true.get(g, 0), pos[g]))
    return natural


def _level_values(pred: pd.DataFrame) -> dict[tuple[str, str], float]:
    lv = pred.groupby(["axis", "level"], sort=False)["level_value"].first()
    return {k: (float(v) if pd.notna(v) else math.nan) for k, v in lv.items()}


def level_metrics(
    pred: pd.DataFrame, boot: Bootstrap, topk: tuple[int, ...] = ()
) -> tuple[pd.DataFrame, dict]:
    """summary.parquet rows for one model, and the per-cell replicates for derived figures."""
    model = str(pred["model"].iloc[0]) if len(pred) else ""
    metrics = metrics_for(pred, topk)
    lvals = _level_values(pred)
    cells: dict[tuple[str, str, str], _Cell] = {}
    rows = []
    for (axis, level), df in pred.groupby(["axis", "level"], sort=False):
        for m in metrics:
            c = _cell(m, df, boot)
            if c.n == 0:
                continue
            cells[(axis, level, m.name)] = c
            lo, hi = boot.interval(c.reps)
            rows.append(
                {"model": model, "axis": axis, "level": level,
                 "level_value": lvals[(axis, level)], "metric": m.name, "value": c.value,
                 "ci_low": lo, "ci_high": hi, "n": c.n, "higher_is_better": m.higher_is_better}
            )  # fmt: skip
    out = pd.DataFrame(rows, columns=[c for c in SUMMARY_COLUMNS if c != "delta_clean"])
    clean = {r.metric: r.value for r in out.itertuples() if r.axis == CLEAN and r.level == CLEAN}
    out["delta_clean"] = [v - clean.get(m, math.nan) for m, v in zip(out["metric"], out["value"])]
    out = out[SUMMARY_COLUMNS].astype({"value": "float64", "ci_low": "float64",
                                       "ci_high": "float64", "level_value": "float64",
                                       "n": "int64"})  # fmt: skip
    return out.sort_values(["axis", "metric"], kind="stable").reset_index(drop=True), cells


def summarize(
    pred: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0, topk: tuple[int, ...] = ()
) -> pd.DataFrame:
    """summary.parquet for predictions of one or more models (bootstrap over ``source_id``)."""
    parts = []
    for _, p in pred.groupby("model", sort=False):
        boot = Bootstrap(p["source_id"], n_boot=n_boot, seed=seed)
        parts.append(level_metrics(p, boot, topk)[0])
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=SUMMARY_COLUMNS)


def numeric_x(x: np.ndarray) -> bool:
    """Whether level values can be an x-axis: all present and distinct (else levels are ranks)."""
    return len(x) >= 2 and not np.isnan(x).any() and len(np.unique(x)) == len(x)


def _auc(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mean of y over the axis: trapezoid over x / range when x is numeric, else plain mean.

    ``y`` may be ``[L]`` or ``[L, B]`` (replicates); ``x`` is ``[L]`` sorted, or NaN.
    """
    if numeric_x(x):
        order = np.argsort(x)
        xs, ys = x[order], y[order]
        area = ((ys[1:] + ys[:-1]) / 2 * np.diff(xs).reshape(-1, *([1] * (ys.ndim - 1)))).sum(0)
        return area / (xs[-1] - xs[0])
    return y.mean(axis=0)


@dataclass
class AxisPoints:
    """How one axis's rows map to points on its degradation curve.

    A point is a level, except when levels share their ``level_value`` (double JPEG: one QF1 with
    an aligned and per-image random grid shifts): then the point is the value (``q1=60``) and the
    boolean level parameters (``aligned``) split it into series.
    """

    point: pd.Series  # point label per row
    order: list[str]  # points, mild -> severe
    x: dict[str, float]  # point -> x position (NaN when categorical)
    series: pd.Series  # series label per row ("all" when there is one)
    groups: pd.Series  # combination of the varying boolean parameters per row, or "all"
    x_name: str | None = None


def _bool_params(axis_params: pd.Series) -> pd.DataFrame:
    rows = []
    for s in axis_params:
        try:
            d = json.loads(s) if isinstance(s, str) else (s or {})
        except ValueError:
            d = {}
        rows.append(
            {k: v for k, v in d.items() if isinstance(v, bool)} if isinstance(d, dict) else {}
        )
    return pd.DataFrame(rows, index=axis_params.index)


def _bool_groups(pred_axis: pd.DataFrame) -> pd.Series:
    if "axis_params" not in pred_axis:
        return pd.Series("all", index=pred_axis.index)
    bp = _bool_params(pred_axis["axis_params"])
    varying = [c for c in bp.columns if bp[c].nunique(dropna=True) > 1]
    if not varying:
        return pd.Series("all", index=pred_axis.index)
    labels = [",".join(f"{k}={r[k]}" for k in varying) for _, r in bp[varying].iterrows()]
    return pd.Series(labels, index=pred_axis.index, dtype=object)


def axis_points(pred_axis: pd.DataFrame) -> AxisPoints:
    lv = (
        pd.to_numeric(pred_axis["level_value"], errors="coerce")
        if "level_value" in pred_axis
        else pd.Series(np.nan, index=pred_axis.index)
    )
    levels = pred_axis["level"].astype(str)
    groups = _bool_groups(pred_axis)
    shared = lv.notna().all() and levels.nunique() > lv.nunique()
    if not shared:
        x = {lvl: float(v) for lvl, v in lv.groupby(levels, sort=False).first().items()}
        series = pd.Series("all", index=pred_axis.index)
        return AxisPoints(levels, severity_order(pred_axis, "level"), x, series, groups)
    # Name the point after the parameter that carries level_value (q1 for double JPEG).
    x_name = None
    params = (
        [json.loads(t) if isinstance(t, str) else {} for t in pred_axis["axis_params"]]
        if "axis_params" in pred_axis
        else []
    )
    if params:
        keys = set(params[0])
        for d, v in zip(params, lv):
            keys &= {k for k, pv in d.items() if isinstance(pv, (int, float)) and pv == v}
        x_name = sorted(keys)[0] if keys else None
    point = lv.map(lambda v: f"{x_name}={v:g}" if x_name else f"{v:g}")
    x = {pt: float(v) for pt, v in lv.groupby(point, sort=False).first().items()}
    tmp = pred_axis.assign(_point=point.to_numpy())
    order = severity_order(tmp, "_point")
    return AxisPoints(point, order, x, groups, groups, x_name)


CURVE_COLUMNS = [
    "model", "axis", "point", "x", "rank", "series", "metric", "value", "ci_low", "ci_high", "n",
]  # fmt: skip


def curve_metrics(pred: pd.DataFrame, boot: Bootstrap) -> tuple[pd.DataFrame, dict]:
    """curves.parquet rows: accuracy and flip rate per curve point (and series), with CIs.

    Points have ``rank`` 0.. in severity order; rows with ``point == "all"`` and ``rank == -1``
    pool the whole axis per combination of its boolean level parameters (``series``).

    Returns the frame and ``{(axis, point, series, metric): cell}`` for derived figures.
    """
    model = str(pred["model"].iloc[0]) if len(pred) else ""
    labelled = "correct" in pred and pred["correct"].notna().any()
    names = (["accuracy"] if labelled else []) + ["flip_rate"]
    rows, cells = [], {}
    for axis, pa_ in pred.groupby("axis", sort=False):
        if axis == CLEAN:
            continue
        ap = axis_points(pa_)
        series_values = ["all"] + sorted(s for s in pd.unique(ap.series) if s != "all")
        for rank, pt in enumerate(ap.order):
            at = ap.point == pt
            for ser in series_values:
                sel = at if ser == "all" else at & (ap.series == ser)
                if not sel.any():
                    continue
                for mname in names:
                    c = _cell(METRICS.get(mname), pa_[sel.to_numpy()], boot)
                    if c.n == 0:
                        continue
                    cells[(axis, pt, ser, mname)] = c
                    lo, hi = boot.interval(c.reps)
                    rows.append({"model": model, "axis": axis, "point": pt, "x": ap.x[pt],
                                 "rank": rank, "series": ser, "metric": mname, "value": c.value,
                                 "ci_low": lo, "ci_high": hi, "n": c.n})  # fmt: skip
        groups = sorted(g for g in pd.unique(ap.groups) if g != "all")
        if groups:
            # Pooled over the whole axis, per combination of boolean level parameters (point
            # "all", rank -1): e.g. crops that keep the CFA phase vs those that move it.
            for grp in ["all", *groups]:
                sel = (ap.groups == grp) if grp != "all" else pd.Series(True, index=pa_.index)
                for mname in names:
                    c = _cell(METRICS.get(mname), pa_[sel.to_numpy()], boot)
                    if c.n == 0:
                        continue
                    cells[(axis, "all", grp, mname)] = c
                    lo, hi = boot.interval(c.reps)
                    rows.append({"model": model, "axis": axis, "point": "all", "x": math.nan,
                                 "rank": -1, "series": grp, "metric": mname, "value": c.value,
                                 "ci_low": lo, "ci_high": hi, "n": c.n})  # fmt: skip
    out = pd.DataFrame(rows, columns=CURVE_COLUMNS)
    return out.astype({"x": "float64", "value": "float64", "ci_low": "float64",
                       "ci_high": "float64", "rank": "int64", "n": "int64"}), cells  # fmt: skip


def _axis_row(model, axis, metric, value, lo=math.nan, hi=math.nan, level=None,
              level_value=math.nan, n=0, baseline=None, hib=True, detail=None) -> dict:  # fmt: skip
    return {
        "model": model, "axis": axis, "metric": metric, "value": float(value),
        "ci_low": float(lo), "ci_high": float(hi), "level": level,
        "level_value": float(level_value), "n": int(n), "baseline": baseline,
        "higher_is_better": hib, "detail": json.dumps(detail or {}, sort_keys=True),
    }  # fmt: skip


def axis_summary(
    pred: pd.DataFrame,
    level_cells: dict,
    curve_cells: dict,
    curves: pd.DataFrame,
    boot: Bootstrap,
    *,
    break_points: float = 5.0,
    baseline: tuple[str, pd.DataFrame, pd.DataFrame] | None = None,
    suite: str | None = None,
) -> pd.DataFrame:
    """Per-axis figures for one model, computed over each axis's curve points (series "all").

    - ``auc_accuracy`` / ``auc_flip_rate``: mean over the axis's range (trapezoid over x divided
      by its span when x is numeric, else the mean over points), with a bootstrap CI.
    - ``breaking_level``: the first point, mild to severe, whose accuracy is more than
      ``break_points`` percentage points below clean (``level`` null when none is).
    - ``max_accuracy_drop``: clean accuracy minus the worst point's.
    - ``ce`` / ``relative_ce`` (ImageNet-C style, vs the named baseline) per axis and ``mce`` /
      ``relative_mce`` over axes (axis ``*``), when ``baseline = (name, summary, curves)``.
    - ``spcup2018_score`` (axis ``*``) when the suite is ``spcup2018`` (or a variant of it such
      as ``spcup2018-pillow``): 0.7 x accuracy on the clean (unaltered) variants + 0.3 x
      accuracy on all the others (manipulated).
    """
    model = str(pred["model"].iloc[0])
    rows: list[dict] = []
    clean_acc = level_cells.get((CLEAN, CLEAN, "accuracy"))
    ces, rces = [], []
    empty = np.zeros(0)
    on_curve = (curves["series"] == "all") & (curves["rank"] >= 0)
    for axis, ca in curves[on_curve].groupby("axis", sort=False):
        order = list(ca.sort_values("rank")["point"].drop_duplicates())
        xs = ca.drop_duplicates("point").set_index("point")["x"]
        x = np.array([xs[p] for p in order], dtype=float)
        n_axis = int((pred["axis"] == axis).sum())
        for mname in ("accuracy", "flip_rate"):
            cs = [curve_cells.get((axis, p, "all", mname)) for p in order]
            if not cs or any(c is None for c in cs):
                continue
            y = np.array([c.value for c in cs])
            reps = np.stack([c.reps for c in cs]) if boot.n_boot else empty
            lo, hi = boot.interval(_auc(x, reps)) if boot.n_boot else (math.nan, math.nan)
            detail = {"points": order, "x": "level_value" if numeric_x(x) else "rank"}
            rows.append(_axis_row(model, axis, f"auc_{mname}", float(_auc(x, y)), lo, hi,
                                  n=n_axis, hib=mname == "accuracy", detail=detail))  # fmt: skip
        accs = [curve_cells.get((axis, p, "all", "accuracy")) for p in order]
        if not accs or any(c is None for c in accs):
            continue
        if clean_acc is not None:
            limit = clean_acc.value - break_points / 100.0
            broken = [(p, xv) for p, xv, c in zip(order, x, accs) if c.value < limit]
            first, fx = broken[0] if broken else (None, math.nan)
            detail = {"break_points": break_points, "clean_accuracy": clean_acc.value,
                      "order": order}  # fmt: skip
            rows.append(_axis_row(model, axis, "breaking_level", fx, level=first, level_value=fx,
                                  n=n_axis, hib=True, detail=detail))  # fmt: skip
            worst = min(c.value for c in accs)
            rows.append(_axis_row(model, axis, "max_accuracy_drop", clean_acc.value - worst,
                                  n=n_axis, hib=False, detail={"worst": order[int(np.argmin(
                                      [c.value for c in accs]))]}))  # fmt: skip
        if baseline is None:
            continue
        bname, bsum, bcurves = baseline
        bc = bcurves[(bcurves["axis"] == axis) & (bcurves["series"] == "all")
                     & (bcurves["metric"] == "accuracy")].set_index("point")["value"]  # fmt: skip
        common = [p for p in order if p in bc.index]
        if not common:
            continue
        m_err = np.array([1 - curve_cells[(axis, p, "all", "accuracy")].value for p in common])
        m_reps = (np.stack([1 - curve_cells[(axis, p, "all", "accuracy")].reps for p in common])
                  if boot.n_boot else np.zeros((len(common), 0)))  # fmt: skip
        b_err = np.array([1 - bc[p] for p in common])
        ce = m_err.sum() / b_err.sum() if b_err.sum() > 0 else math.nan
        lo, hi = boot.interval(m_reps.sum(0) / b_err.sum()) if boot.n_boot and b_err.sum() > 0 \
            else (math.nan, math.nan)  # fmt: skip
        detail = {"points": common, "definition": "sum(err) / sum(err_baseline)"}
        rows.append(_axis_row(model, axis, "ce", ce, lo, hi, n=n_axis, baseline=bname,
                              hib=False, detail=detail))  # fmt: skip
        ces.append(ce)
        b_clean = bsum[(bsum["axis"] == CLEAN) & (bsum["level"] == CLEAN)
                       & (bsum["metric"] == "accuracy")]["value"]  # fmt: skip
        if clean_acc is not None and len(b_clean):
            denom = (b_err - (1 - float(b_clean.iloc[0]))).sum()
            rce = (m_err - (1 - clean_acc.value)).sum() / denom if denom > 0 else math.nan
            if boot.n_boot and denom > 0:
                lo, hi = boot.interval((m_reps - (1 - clean_acc.reps)).sum(0) / denom)
            else:
                lo = hi = math.nan
            detail = {
                "points": common,
                "definition": "sum(err - err_clean) / sum(err_b - err_b_clean)",
            }
            rows.append(_axis_row(model, axis, "relative_ce", rce, lo, hi, n=n_axis,
                                  baseline=bname, hib=False, detail=detail))  # fmt: skip
            rces.append(rce)
    if baseline is not None and ces:
        rows.append(
            _axis_row(
                model,
                "*",
                "mce",
                float(np.mean(ces)),
                n=len(pred),
                baseline=baseline[0],
                hib=False,
                detail={"axes": len(ces)},
            )
        )
        if rces:
            rows.append(
                _axis_row(
                    model,
                    "*",
                    "relative_mce",
                    float(np.mean(rces)),
                    n=len(pred),
                    baseline=baseline[0],
                    hib=False,
                    detail={"axes": len(rces)},
                )
            )
    labelled = "correct" in pred and pred["correct"].notna().any()
    if suite and suite.startswith("spcup2018") and labelled:
        acc = METRICS.get("accuracy")
        is_clean = ((pred["axis"] == CLEAN) & (pred["level"] == CLEAN)).to_numpy()
        cu = _cell(acc, pred[is_clean], boot)
        cm = _cell(acc, pred[~is_clean], boot)
        score = 0.7 * cu.value + 0.3 * cm.value
        lo, hi = boot.interval(0.7 * cu.reps + 0.3 * cm.reps) if boot.n_boot else (math.nan,) * 2
        detail = {
            "unaltered_accuracy": cu.value,
            "manipulated_accuracy": cm.value,
            "definition": "0.7 * accuracy(unaltered) + 0.3 * accuracy(manipulated)",
        }
        rows.append(_axis_row(model, "*", "spcup2018_score", score, lo, hi, n=cu.n + cm.n,
                              hib=True, detail=detail))  # fmt: skip
    out = pd.DataFrame(rows, columns=AXIS_SUMMARY_COLUMNS)
    return out.astype({"value": "float64", "ci_low": "float64", "ci_high": "float64",
                       "level_value": "float64", "n": "int64"})  # fmt: skip


def mcnemar(a_correct: np.ndarray, b_correct: np.ndarray) -> dict:
    """McNemar's paired test on two models' correctness over the same variants.

    Returns the discordant counts, the exact two-sided binomial p-value and the
    continuity-corrected chi-square statistic. Variants of one source are not independent, so
    read the p-value as indicative when an axis has many variants per source.
    """
    from scipy.stats import binomtest

    a = np.asarray(a_correct, dtype=bool)
    b = np.asarray(b_correct, dtype=bool)
    a_only = int((a & ~b).sum())
    b_only = int((~a & b).sum())
    n_disc = a_only + b_only
    p = binomtest(min(a_only, b_only), n_disc, 0.5).pvalue if n_disc else 1.0
    stat = (abs(a_only - b_only) - 1) ** 2 / n_disc if n_disc else 0.0
    return {
        "n": int(len(a)),
        "both_correct": int((a & b).sum()),
        "a_only": a_only,
        "b_only": b_only,
        "both_wrong": int((~a & ~b).sum()),
        "statistic": float(stat),
        "p_value": float(min(1.0, p)),
    }


def compare(pred_a: pd.DataFrame, pred_b: pd.DataFrame) -> pd.DataFrame:
    """Paired comparison of two models per axis (McNemar on ``correct``, matched by variant_id)."""
    cols = ["variant_id", "axis", "correct"]
    a = pred_a[cols].dropna(subset=["correct"])
    b = pred_b[cols].dropna(subset=["correct"])
    j = a.merge(b[["variant_id", "correct"]], on="variant_id", suffixes=("_a", "_b"))
    name_a = str(pred_a["model"].iloc[0]) if len(pred_a) else "a"
    name_b = str(pred_b["model"].iloc[0]) if len(pred_b) else "b"
    rows = []
    for axis, g in j.groupby("axis", sort=True):
        ca = g["correct_a"].to_numpy(dtype=bool)
        cb = g["correct_b"].to_numpy(dtype=bool)
        r = {"model_a": name_a, "model_b": name_b, "axis": axis}
        r.update(mcnemar(ca, cb))
        r["accuracy_a"] = float(ca.mean())
        r["accuracy_b"] = float(cb.mean())
        rows.append(r)
    columns = ["model_a", "model_b", "axis", "n", "accuracy_a", "accuracy_b", "both_correct",
               "a_only", "b_only", "both_wrong", "statistic", "p_value"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)
