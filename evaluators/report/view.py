"""What tables and figures read about one axis: its points, series, curve rows and clean values."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

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


def display_level(level: object) -> str:
    """A crop level in the old ``0x1`` spelling as ``dy=0,dx=1`` (``0x1`` reads as hex)."""
    m = _CROP.match(str(level))
    return f"dy={m.group(1)},dx={m.group(2)}" if m else str(level)


def natural_key(text: object) -> list:
    """Sort key that puts ``x2`` before ``x10`` (numbers compared as numbers)."""
    return [(0, float(t), "") if re.fullmatch(r"\d+(\.\d+)?", t) else (1, 0.0, t)
            for t in re.split(r"(\d+(?:\.\d+)?)", str(text)) if t]  # fmt: skip


def safe_name(name: str) -> str:
    """A file-name-safe version of an axis name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "axis"


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA


def fmt(v, pct: bool = True) -> str:
    """A value as a percentage with one decimal (or 3 significant digits); ``–`` when missing."""
    if _missing(v):
        return MISSING
    return f"{100 * float(v):.1f}" if pct else f"{float(v):.3g}"


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
        sel = (c["metric"] == metric) & (c["series"] == series) & (c["rank"] >= 0)
        return c[sel].sort_values("rank")

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

    def preds(self, m: ModelResults) -> pd.DataFrame:
        """Predictions of one model on this axis."""
        return m.rows("pred", self.key)

    def clean(self, m: ModelResults, metric: str) -> tuple[float, float, float, int] | None:
        """Clean (value, low, high, n) for this axis's suite."""
        return clean_value(m, metric, self.suite)
