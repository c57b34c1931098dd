"""Results folders -> one :class:`ModelResults` per model, axes keyed by (suite, axis).

One model evaluated on several suites is one model: folders whose run.json names the same model
(spec, weights hash, name) on different suites are merged into one column set. Axes with the same
name from different suites stay apart (they are different ladders). Extra columns that the
results files may grow (``n_variants``, ``n_paired``, ``suite``, ...) are carried along.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from degradebench.generators.core.errors import ConfigError

from ..results import CLEAN, read_results

__all__ = ["ModelResults", "AxisKey", "load_models", "axis_keys", "same_model", "CLEAN"]

FRAMES = ("summary", "axis_summary", "predictions", "curves")
AxisKey = tuple[str, str]  # (suite, axis); suite "" when unknown


@dataclass
class ModelResults:
    """One model's results (possibly from several folders, one per suite)."""

    name: str
    summary: pd.DataFrame
    axis_summary: pd.DataFrame
    pred: pd.DataFrame
    curves: pd.DataFrame
    runs: list[dict[str, Any]] = field(default_factory=list)
    dirs: list[Path] = field(default_factory=list)

    @property
    def run(self) -> dict[str, Any]:
        """The first folder's run.json (model, config, provenance)."""
        return self.runs[0] if self.runs else {}

    def suites(self) -> list[str]:
        """The suites this model was evaluated on, in load order."""
        return list(dict.fromkeys(self.pred["_suite"])) if len(self.pred) else []

    def rows(self, frame: str, key: AxisKey) -> pd.DataFrame:
        """Rows of ``frame`` (summary, axis_summary, curves, pred) for one axis of one suite."""
        df = getattr(self, frame)
        if not len(df):
            return df
        # asked for hundreds of times per report: cached per frame object (treat as read-only)
        cache = self.__dict__.setdefault("_rows_cache", {})
        hit = cache.get((frame, key))
        if hit is None or hit[0] is not df:
            hit = (df, df[(df["_suite"] == key[0]) & (df["axis"] == key[1])])
            cache[(frame, key)] = hit
        return hit[1]


def _model_key(run: dict, name: str) -> tuple:
    """What makes two runs one model: spec, weights hash and input config; without a recorded
    weights hash the name too (two in-memory modules can share a spec)."""
    m = run.get("model", {})
    weights = m.get("weights_sha256") or m.get("weights_hash")
    cfg = json.dumps(m.get("input_config", {}), sort_keys=True)
    return (m.get("spec"), weights, cfg, None if weights else name)


def same_model(a: ModelResults, b: ModelResults) -> bool:
    """Whether two entries are one model run twice: same spec, input config and a recorded
    weights hash (without a hash, two entries are taken as different models)."""
    ka = _model_key(a.run, "")
    return ka[1] is not None and ka == _model_key(b.run, "")


def _suite_of_run(res: dict) -> str:
    meta = res.get("run", {}).get("manifest", {}).get("metadata", {}) or {}
    suite = meta.get("suite")
    return str(suite) if suite else ""


def _with_suite(df: pd.DataFrame, axis_suite: dict[str, str], default: str) -> pd.DataFrame:
    """Add ``_suite``: the frame's own ``suite`` column when present, else by axis."""
    df = df.copy()
    if not len(df):
        df["_suite"] = pd.Series(dtype=object)
        return df
    if "suite" in df and df["suite"].notna().all():
        df["_suite"] = df["suite"].astype(str)
    elif "axis" in df:
        df["_suite"] = [axis_suite.get(a, default) for a in df["axis"]]
    else:
        df["_suite"] = default
    return df


def _split(res: dict, name: str, label: str) -> ModelResults:
    default = _suite_of_run(res)
    pred = res["predictions"]
    if len(pred) and "model" in pred:
        pred = pred[pred["model"] == name]
    axis_suite: dict[str, str] = {}
    if len(pred) and "suite" in pred:
        for a, s in zip(pred["axis"], pred["suite"]):
            if s is not None and not pd.isna(s):
                axis_suite.setdefault(str(a), str(s))
    frames = {}
    for key in FRAMES:
        df = res[key]
        if len(df) and "model" in df:
            df = df[df["model"] == name].copy()
            df["model"] = label
        frames[key] = _with_suite(df, axis_suite, default)
    return ModelResults(label, frames["summary"], frames["axis_summary"], frames["predictions"],
                        frames["curves"], [res.get("run", {})], [Path(res["dir"])])  # fmt: skip


def _merge(a: ModelResults, b: ModelResults) -> ModelResults:
    def cat(x: pd.DataFrame, y: pd.DataFrame) -> pd.DataFrame:
        if not len(x):
            return y
        return x if not len(y) else pd.concat([x, y], ignore_index=True)

    return ModelResults(a.name, cat(a.summary, b.summary), cat(a.axis_summary, b.axis_summary),
                        cat(a.pred, b.pred), cat(a.curves, b.curves), a.runs + b.runs,
                        a.dirs + b.dirs)  # fmt: skip


def load_models(results: list[str | Path]) -> list[ModelResults]:
    """Read every results folder; one entry per model, same-model folders on other suites merged."""
    if not results:
        raise ConfigError(
            "report: give at least one RESULTS folder written by 'degradebench evaluate'"
        )
    models: list[ModelResults] = []
    keys: list[tuple] = []
    for r in results:
        res = read_results(r)
        names = list(pd.unique(res["summary"]["model"])) if len(res["summary"]) else []
        for name in names or [Path(r).name]:
            key = _model_key(res.get("run", {}), str(name))
            part = _split(res, name, str(name))
            if key in keys:
                i = keys.index(key)
                if not set(part.suites()) & set(models[i].suites()):
                    models[i] = _merge(models[i], _split(res, name, models[i].name))
                    continue
            label = str(name)
            if label in {m.name for m in models}:  # the same model twice: tell the runs apart
                label = f"{name} ({Path(r).name})"
                part = _split(res, name, label)
            models.append(part)
            keys.append(key)
    return models


def axis_keys(models: list[ModelResults]) -> list[AxisKey]:
    """Every (suite, axis) but clean, in first-seen order."""
    out: list[AxisKey] = []
    for m in models:
        s = m.summary
        if not len(s):
            continue
        for key in zip(s["_suite"], s["axis"]):
            if key[1] != CLEAN and key not in out:
                out.append(key)
    return out
