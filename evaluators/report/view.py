"""What tables and figures read about one axis: its points, series, curve rows and clean values."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .params import report_defaults
from .runs import CLEAN, AxisKey, ModelResults

__all__ = [
    "AxisView",
    "ReportOptions",
    "safe_name",
    "fmt",
    "fmt_ci",
    "MISSING",
    "clean_value",
    "display_level",
    "natural_key",
    "axis_type",
    "no_negative_zero",
    "series_label",
    "classifies",
    "localizes",
    "regresses",
    "classifies_alone",
]

MISSING = "–"  # one spelling for "no value" everywhere; never "nan"


@dataclass(frozen=True)
class ReportOptions:
    """Report settings: the heat-map minimum count, the figure kinds, the heat-map pairs."""

    min_count: int = 10
    figures: tuple[str, ...] = ("curve", "heatmap")
    heatmap_pairs: tuple[tuple[str, str], ...] = ()
    sheets: bool = True


_CROP = re.compile(r"^(\d+)x(\d+)$")


def display_level(level: object, crop: bool = False) -> str:
    """A level as the report writes it: on a crop axis (``crop``), the old ``0x1`` spelling as
    ``dy=0,dx=1`` (``0x1`` reads as hex); any other level (a resize's ``224x224``) as it is."""
    m = _CROP.match(str(level)) if crop else None
    return f"dy={m.group(1)},dx={m.group(2)}" if m else str(level)


def _run_meta(run: dict) -> dict:
    meta = run.get("manifest", {}).get("metadata", {}) or {}
    inner = meta.get("degradebench")
    return inner if isinstance(inner, dict) else meta


def axis_type(models: list[ModelResults], key: AxisKey) -> str | None:
    """The type of one (suite, axis) as its suite definition (in run.json's manifest metadata)
    declares it, else ``crop`` when its variants carry the crop axis's own parameters
    (``cfa_phase_kept``), else None (unknown)."""
    suite, axis = key
    for m in models:
        for run in m.runs:
            meta = _run_meta(run)
            definition = meta.get("suite_definition")
            axes = definition.get("axes") if isinstance(definition, dict) else None
            body = axes.get(axis) if isinstance(axes, dict) else None
            other = str(meta.get("suite") or "")
            if isinstance(body, dict) and not (other and suite and other != suite):
                return str(body.get("type", axis))
    for m in models:
        pred = m.rows("pred", key)
        if len(pred) and "axis_params" in pred:
            if any('"cfa_phase_kept"' in str(a) for a in pred["axis_params"].head(50)):
                return "crop"
    return None


def series_label(series: object) -> str:
    """A curve series or group (``aligned=False``, ``cfa_phase_kept=False,grid_kept=True``) in
    words from report.json's ``series_labels`` (``shifted grid``); unknown parts as they are."""
    names = report_defaults().get("series_labels", {})
    parts = [p for p in str(series).split(",") if p]
    return ", ".join(names.get(p, p) for p in parts) if parts else str(series)


def natural_key(text: object) -> list:
    """Sort key that puts ``x2`` before ``x10`` (numbers compared as numbers)."""
    return [(0, float(t), "") if re.fullmatch(r"\d+(\.\d+)?", t) else (1, 0.0, t)
            for t in re.split(r"(\d+(?:\.\d+)?)", str(text)) if t]  # fmt: skip


def safe_name(name: str) -> str:
    """A file-name-safe version of an axis name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "axis"


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA


def no_negative_zero(text: str) -> str:
    """``-0.0`` (a rounded tiny negative) as ``0.0``: a printed number is never negative zero."""
    return text[1:] if re.fullmatch(r"-0*\.?0*", text) and len(text) > 1 else text


def fmt(v, pct: bool = True, digits: int = 1) -> str:
    """A value as a percentage with ``digits`` decimals (or 3 significant digits); ``–`` when
    missing; never ``-0.0``."""
    if _missing(v):
        return MISSING
    return no_negative_zero(f"{100 * float(v):.{digits}f}" if pct else f"{float(v):.3g}")


def fmt_ci(v, lo, hi, pct: bool = True) -> str:
    """``value [low, high]``, or the value alone when the interval is missing."""
    if _missing(lo) or _missing(hi):
        return fmt(v, pct)
    return f"{fmt(v, pct)} [{fmt(lo, pct)}, {fmt(hi, pct)}]"


def clean_value(m: ModelResults, metric: str, suite: str) -> tuple[float, float, float, int] | None:
    """(value, ci_low, ci_high, n) of ``metric`` on the clean variants of ``suite``."""
    s = m.summary
    if not len(s):
        return None
    r = s[(s["axis"] == CLEAN) & (s["level"] == CLEAN) & (s["metric"] == metric)]
    if suite:  # clean of this suite only: another suite's clean is another set of sources
        r = r[r["_suite"] == suite]
    if r.empty:
        return None
    row = r.iloc[0]
    return float(row["value"]), float(row["ci_low"]), float(row["ci_high"]), int(row["n"])


CLASSIFICATION_METRICS = ("accuracy", "flip_rate")


def _has_metric(df: pd.DataFrame, pick) -> bool:
    if not len(df) or "metric" not in df:
        return False
    names = _metrics_with_values(df)
    return any(pick(n) for n in names)


_WITH_VALUES: dict[int, tuple[pd.DataFrame, frozenset]] = {}


def _metrics_with_values(df: pd.DataFrame) -> frozenset:
    """The metric names of ``df`` that have a numeric value in some row; remembered per frame
    object (the report asks about the same few frames hundreds of times)."""
    hit = _WITH_VALUES.get(id(df))
    if hit is not None and hit[0] is df:
        return hit[1]
    ok = pd.to_numeric(df["value"], errors="coerce").notna() if "value" in df else None
    names = frozenset() if ok is None else frozenset(df.loc[ok, "metric"].astype(str).unique())
    if len(_WITH_VALUES) > 256:
        _WITH_VALUES.clear()
    _WITH_VALUES[id(df)] = (df, names)
    return names


def classifies(m: ModelResults, rows: pd.DataFrame | None = None) -> bool:
    """Whether the model has classification figures (accuracy or flip rate with a value), in
    ``rows`` (a frame of its summary or curves) or its whole summary."""
    return _has_metric(m.summary if rows is None else rows, CLASSIFICATION_METRICS.__contains__)


def localizes(m: ModelResults) -> bool:
    """Whether the model produced localization figures (``pixel_*`` rows in summary.parquet)."""
    return _has_metric(m.summary, lambda name: name.startswith("pixel_"))


REGRESSION_METRICS = ("mae", "rmse", "within_5")


def regresses(m: ModelResults) -> bool:
    """Whether the model has regression figures (``mae``, ``rmse``, ``within_5`` rows in
    summary.parquet: a numeric ``--target``)."""
    return _has_metric(m.summary, REGRESSION_METRICS.__contains__)


def classifies_alone(models: list[ModelResults]) -> bool:
    """Whether no model localizes or regresses (a classification report, built as before)."""
    return not any(localizes(m) or regresses(m) for m in models)


@dataclass
class AxisView:
    """One (suite, axis) across models."""

    key: AxisKey
    models: list[ModelResults]
    label: str
    stem: str
    options: ReportOptions = field(default_factory=ReportOptions)

    @property
    def suite(self) -> str:
        return self.key[0]

    @property
    def axis(self) -> str:
        return self.key[1]

    def curve_rows(self, m: ModelResults, metric: str, series: str = "all") -> pd.DataFrame:
        """Curve points of one model, metric and series, mild to severe."""
        c = m.rows("curves", self.key)
        if not len(c):
            return c
        cache = m.__dict__.setdefault("_curve_groups", {})  # per (frame, axis): one groupby
        hit = cache.get(self.key)
        if hit is None or hit[0] is not c:
            ranked = c[c["rank"] >= 0].sort_values("rank", kind="stable")
            groups = {(str(k[0]), str(k[1])): g for k, g in
                      ranked.groupby(["metric", "series"], sort=False, observed=True)}  # fmt: skip
            hit = cache[self.key] = (c, groups, ranked.iloc[:0])
        return hit[1].get((metric, series), hit[2])

    def pooled_rows(self, m: ModelResults) -> pd.DataFrame:
        """Rows pooled over the axis per boolean-parameter group (curves' point ``all``)."""
        c = m.rows("curves", self.key)
        return c[c["rank"] == -1] if len(c) else c

    def points(self) -> tuple[list[str], np.ndarray]:
        """Curve points in severity order (union over models) and their x values."""
        order: list[str] = []
        xs: dict[str, float] = {}
        for m in self.models:
            c = m.rows("curves", self.key)
            if not len(c):
                continue
            c = c[c["rank"] >= 0].sort_values("rank")
            for pt, x in zip(c["point"], c["x"]):
                if pt not in xs:
                    order.append(pt)
                    xs[pt] = float(x)
        return order, np.array([xs[p] for p in order], dtype=float)

    def series(self) -> list[str]:
        """Series of the curve (``all`` first), union over models."""
        out: list[str] = []
        for m in self.models:
            c = m.rows("curves", self.key)
            if len(c):
                out += [s for s in pd.unique(c.loc[c["rank"] >= 0, "series"]) if s not in out]
        return ["all"] + sorted(s for s in out if s != "all")

    def metrics(self) -> list[str]:
        """Curve metrics present for this axis (accuracy, flip_rate)."""
        return [mt for mt in ("accuracy", "flip_rate")
                if any(len(self.curve_rows(m, mt)) for m in self.models)]  # fmt: skip

    def classified(self) -> list[ModelResults]:
        """The models whose accuracy and flip-rate figures this axis shows: every model when none
        localizes or regresses (a classification report as before), else those with such curves
        here."""
        if classifies_alone(self.models):
            return list(self.models)
        return [m for m in self.models if classifies(m, m.rows("curves", self.key))]

    def preds(self, m: ModelResults) -> pd.DataFrame:
        """Predictions of one model on this axis."""
        return m.rows("pred", self.key)

    def clean(self, m: ModelResults, metric: str) -> tuple[float, float, float, int] | None:
        """Clean (value, low, high, n) for this axis's suite."""
        return clean_value(m, metric, self.suite)

    @property
    def is_crop(self) -> bool:
        """Whether this axis is a crop axis (its levels are offsets; see :func:`axis_type`)."""
        if "_is_crop" not in self.__dict__:
            self.__dict__["_is_crop"] = axis_type(self.models, self.key) == "crop"
        return self.__dict__["_is_crop"]

    def level_label(self, level: object) -> str:
        """A level of this axis as the report writes it (see :func:`display_level`)."""
        return display_level(level, self.is_crop)
