"""Level parameters (``axis_params`` JSON) as columns, and the report's defaults from report.json."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

import pandas as pd

__all__ = [
    "params_frame",
    "level_params",
    "heatmap_params",
    "report_defaults",
    "HEATMAP_PAIRS",
    "x_param",
]


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        elif isinstance(v, (list, tuple)):
            for i, x in enumerate(v):
                if isinstance(x, (int, float)) and not isinstance(x, bool):
                    out[f"{key}[{i}]"] = x
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[key] = v
    return out


def _parse(s: Any) -> dict:
    try:
        d = json.loads(s) if isinstance(s, str) else (s or {})
    except ValueError:
        d = {}
    return d if isinstance(d, dict) else {}


def params_frame(axis_params: pd.Series, numeric: bool = True) -> pd.DataFrame:
    """One column per numeric level parameter (``shift[0]`` for list items); or, with
    ``numeric=False``, the top-level parameters as they are (strings, booleans, numbers)."""
    one = (lambda s: _flatten(_parse(s))) if numeric else _parse  # noqa: E731
    try:  # an axis repeats a few parameter sets over many sources: parse each once
        codes, uniq = pd.factorize(axis_params.to_numpy(dtype=object))
    except TypeError:  # unhashable values (dicts given in memory)
        return pd.DataFrame([one(s) for s in axis_params], index=axis_params.index)
    rows = [one(s) for s in uniq]
    if (codes < 0).any():  # missing values: no parameters
        rows.append({})
    out = pd.DataFrame(rows).take(codes) if len(rows) else pd.DataFrame(index=range(len(codes)))
    out.index = axis_params.index
    return out


@lru_cache(maxsize=1)
def report_defaults() -> dict[str, Any]:
    """The shipped report.json: figure kinds, heat-map pairs, minimum count, CFA datasets."""
    text = resources.files(__package__).joinpath("report.json").read_text(encoding="utf-8")
    return json.loads(text)


HEATMAP_PAIRS: tuple[tuple[str, str], ...] = tuple(
    (str(a), str(b)) for a, b in report_defaults()["heatmap_pairs"]
)


def _one_to_one(a: pd.Series, b: pd.Series) -> bool:
    """Whether ``b`` is a relabelling of ``a`` (a recorded sigma beside the ksize it follows)."""
    pairs = pd.DataFrame({"a": a.fillna(-1e300), "b": b.fillna(-1e300)}).drop_duplicates()
    return len(pairs) == pairs["a"].nunique() == pairs["b"].nunique()


def _seed(name: object) -> bool:
    return name == "seed" or str(name).endswith((".seed", "_seed"))


def level_params(pf: pd.DataFrame, distinct: bool = True) -> list[str]:
    """The columns of ``params_frame`` that vary as level parameters: drawn seeds (``seed``,
    ``*.seed``, ``*_seed``) left out and, with ``distinct``, a column that only relabels an
    earlier one (a recorded sigma beside the ksize it follows) counted once."""
    out: list[str] = []
    for c in pf.columns:
        if _seed(c) or pf[c].nunique(dropna=True) < 2:
            continue
        if not distinct or not any(_one_to_one(pf[o], pf[c]) for o in out):
            out.append(c)
    return out


def heatmap_params(
    axis_params: pd.Series, pairs: tuple[tuple[str, str], ...] | None = None
) -> tuple[str, str] | None:
    """The two parameters of an axis to draw as a heat map, or None for one-parameter axes."""
    pf = params_frame(axis_params)
    varying = level_params(pf, distinct=False)
    for a, b in pairs if pairs is not None else HEATMAP_PAIRS:
        if a in varying and b in varying:
            return (a, b)
    varying = level_params(pf)
    if len(varying) == 2:
        return (varying[0], varying[1])
    return None


def x_param(pred_axis: pd.DataFrame) -> str | None:
    """The level parameter that ``level_value`` carries (``quality``, ``hops``, ``q1``), if any."""
    if "axis_params" not in pred_axis or "level_value" not in pred_axis or not len(pred_axis):
        return None
    lv = pd.to_numeric(pred_axis["level_value"], errors="coerce")
    if lv.isna().any():
        return None
    pf = params_frame(pred_axis["axis_params"])
    keys = [c for c in pf.columns if (pd.to_numeric(pf[c], errors="coerce") == lv).all()]
    return keys[0] if keys else None
