"""The demo's forensic part: doctored images scored with the reference localizer.

The forgery suite is generated on the demo's held-out fold with only the ladder levels that
``applications.yaml`` (``demo.forensic.levels``) names: the demo writes that subset as a
datasets.yaml beside its outputs (``OUT/forgery-demo.yaml``: what was generated, for anyone to
rerun or widen) and evaluates the localizer on those axes only (``evaluate(axes=...)``).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import yaml
from degradebench.appdata import FILE, ForensicDemo
from degradebench.generators.core.errors import ConfigError
from degradebench.generators.core.files import atomic_write_bytes
from degradebench.generators.core.yamlsafe import load_yaml

__all__ = ["subset_config", "run_forensic", "localizer_figures", "print_localizer"]

_WHERE = f"{FILE}: demo.forensic"
# What the terminal shows per level: localization, then detection from the model's image score.
_SHOWN = ("pixel_f1", "pixel_auc", "auc")


def _pick_levels(axes: dict, axis: str, levels: tuple[str, ...], suite: str,
                 ops: tuple[str, ...]) -> dict:  # fmt: skip
    body = axes.get(axis)
    if not isinstance(body, dict):
        have = ", ".join(map(str, axes))
        raise ConfigError(f"{_WHERE}.levels.{axis}: suite {suite!r} has no axis {axis!r}; it has: "
                          f"{have} (name one of them)")  # fmt: skip
    ladder = body.get("ladder")
    if not isinstance(ladder, dict):
        raise ConfigError(f"{_WHERE}.levels.{axis}: axis {axis!r} of suite {suite!r} has no "
                          "ladder to choose levels from (remove it from levels)")  # fmt: skip
    missing = [lv for lv in levels if lv not in ladder]
    if missing:
        raise ConfigError(f"{_WHERE}.levels.{axis}: no level {', '.join(map(repr, missing))} in "
                          f"its ladder; levels: {', '.join(map(str, ladder))}")  # fmt: skip
    out = {**body, "ladder": {k: v for k, v in ladder.items() if k in levels}}  # ladder order
    if ops:
        have = list(body.get("ops") or [])
        unknown = [op for op in ops if op not in have]
        if unknown:
            raise ConfigError(f"{_WHERE}.ops: axis {axis!r} of suite {suite!r} has no op "
                              f"{', '.join(map(repr, unknown))}; its ops: {', '.join(have)}")  # fmt: skip
        out["ops"] = [op for op in have if op in ops]
    return out


def subset_config(config: str | Path, demo: ForensicDemo, dest: str | Path,
                  dataset: str, data_root: str | Path) -> Path:  # fmt: skip
    """Write ``dest``: ``config`` with ``demo.suite`` cut to ``demo.levels`` (ladder order kept)
    and ``dataset`` rooted at ``data_root``. Returns ``dest``."""
    src = Path(config)
    raw = load_yaml(src.read_text(encoding="utf-8"), str(src))
    suites = raw.get("suites") if isinstance(raw, dict) else None
    suite = suites.get(demo.suite) if isinstance(suites, dict) else None
    if not isinstance(suite, dict) or not isinstance(suite.get("axes"), dict):
        have = ", ".join(map(str, suites or {}))
        raise ConfigError(f"{_WHERE}.suite: {src} has no suite {demo.suite!r}; it has: {have}")
    axes = {a: _pick_levels(suite["axes"], a, lv, demo.suite, demo.ops)
            for a, lv in demo.levels.items()}  # fmt: skip
    kept = "; ".join(f"{a}: {', '.join(lv)}" for a, lv in demo.levels.items())
    kept += f"; ops: {', '.join(demo.ops)}" if demo.ops else ""
    desc = str(suite.get("description", "")).strip()
    suites[demo.suite] = {**suite, "axes": axes,
                          "description": f"{desc} Demo subset ({FILE}): {kept}.".strip()}  # fmt: skip
    body = raw["datasets"][dataset]
    raw["datasets"][dataset] = {**body, "root": str(data_root)}
    head = (f"# Written by 'degradebench demo': {src} with suite {demo.suite!r} cut to the levels "
            f"of {FILE} (demo.forensic.levels)\n# and dataset {dataset!r} rooted in the demo "
            "folder. Rerun or widen it with 'degradebench generate --config THIS_FILE'.\n")  # fmt: skip
    text = head + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True, width=100)
    out = Path(dest)
    atomic_write_bytes(out, text.encode("utf-8"))
    return out


def run_forensic(out: Path, config: str | Path, demo: ForensicDemo, *, dataset: str,
                 data_root: Path, fold: int, jobs: int, device: str, progress: bool,
                 step) -> dict[str, Any]:  # fmt: skip
    """Generate the suite subset and evaluate the localizer on it (``step``: the demo's step
    printer). Returns the results folder, timings, variants and throughput."""
    import degradebench as db

    cfg = subset_config(config, demo, out / f"{demo.suite}-demo.yaml", dataset, data_root)
    variants = out / "variants" / demo.suite
    levels = sum(len(v) for v in demo.levels.values())
    t = step(f"generating the {demo.suite!r} suite ({levels} levels of {len(demo.levels)} axes, "
             f"{cfg.name}) on held-out fold {fold} into {variants}")  # fmt: skip
    g = db.generate(config=cfg, dataset=dataset, suite=demo.suite, out=variants, jobs=jobs,
                    folds=[fold], progress=progress)  # fmt: skip
    t_gen = time.perf_counter() - t
    if hasattr(step, "end"):  # the demo's timing table
        step.end(f"generate {demo.suite} (demo levels)", g.variants)
    results = out / "results" / demo.suite
    t = step(f"evaluating {demo.model!r} on the {demo.suite!r} variants into {results}")
    model = db.load_model(demo.model)
    r = db.evaluate(variants, model, results, device=device, folds=[fold], progress=progress,
                    axes=list(demo.levels), name=model.name)  # fmt: skip
    t_eval = time.perf_counter() - t
    if hasattr(step, "end"):
        step.end(f"evaluate {model.name} on {demo.suite}", len(r.predictions))
    return {"results": results, "generate": t_gen, "evaluate": t_eval,
            "variants": len(r.predictions), "images_per_s": r.run["throughput"]["images_per_s"],
            "model": model.name, "suite": demo.suite, "config": cfg, "ops": demo.ops}  # fmt: skip


def localizer_figures(results: Path, demo: ForensicDemo) -> list[dict[str, Any]]:
    """Per level of ``demo.levels`` (listed order): axis, level and the figures of
    :data:`_SHOWN` (NaN when absent)."""
    import pandas as pd

    s = pd.read_parquet(Path(results) / "summary.parquet")
    out = []
    for axis, levels in demo.levels.items():
        for level in levels:
            at = s[(s["axis"] == axis) & (s["level"].astype(str) == level)]
            vals = dict(zip(at["metric"], at["value"].astype(float)))
            n = at.loc[at["metric"] == "pixel_f1", "n"]
            out.append({"axis": axis, "level": level, "n": int(n.iloc[0]) if len(n) else 0,
                        **{m: vals.get(m, math.nan) for m in _SHOWN}})  # fmt: skip
    return out


def _num(v: float) -> str:
    return "  –  " if math.isnan(v) else f"{v:.3f}"


def print_localizer(
    info: dict[str, Any], rows: list[dict[str, Any]], ops: tuple[str, ...] = ()
) -> None:
    """The localizer's clean pixel F1 / AUC (the first level listed) and its curve."""
    if not rows:
        return
    what = ", ".join(ops) if ops else "every manipulation"
    print(f"{info['model']} on the {info['suite']!r} suite ({what} vs authentic twins): "
          "pixel F1 / pixel AUC / detection AUC, per level")  # fmt: skip
    width = max(len(f"{r['axis']} {r['level']}") for r in rows)
    for i, r in enumerate(rows):
        name = f"{r['axis']} {r['level']}"
        note = "  <- clean (nothing done after the edit)" if i == 0 else ""
        vals = " / ".join(_num(r[m]) for m in _SHOWN)
        print(f"  {name:<{width}}  {vals}{note}")
