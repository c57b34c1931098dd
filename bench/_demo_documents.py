"""``degradebench demo --documents``: document scans end to end beneath one folder (issue 17).

Builds the virtual-scanners dataset (virtual printers and scanners), loads the shipped reference
scanner model, generates the ``documents`` suite (JPEG ladder, dpi changes, re-scans, phone
photos, screenshot and messenger presets) on the held-out fold and evaluates it; then generates
the ``document-forgery`` suite (the ladder levels the settings name, each forgery with its
authentic twin) on the same fold and scores the scanner localizer on it (the forensic part of
the camera demo, :mod:`._demo_forensic`); writes one report of both. The dataset, suites, fold,
models and levels are data: the ``demo.documents`` section of ``applications.yaml``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import degradebench as db
import yaml
from degradebench.appdata import FILE, DocumentsDemo, demo_settings
from degradebench.generators.core.errors import ConfigError
from degradebench.generators.core.files import atomic_write_bytes
from degradebench.generators.core.yamlsafe import load_yaml

from ._options import resolve_jobs

__all__ = ["run_documents_demo", "print_documents", "scanner_figures", "cut_config", "DEFAULT_OUT"]

DEFAULT_OUT = "degradebench-demo-documents"


def _settings() -> DocumentsDemo:
    s = demo_settings().documents
    if s is None:
        raise ConfigError(f"{FILE}: demo.documents: missing; reinstall degradebench or restore "
                          "the section (dataset, suites, model, fold, forensic)")  # fmt: skip
    return s


def _config(cfg_path: Path, dataset: str, data_root: Path) -> Any:
    """The config with ``dataset`` (a virtual-scanners one) rooted at ``data_root``."""
    cfg = db.load_config(cfg_path)
    spec = cfg.dataset(dataset)
    if spec.kind != "virtual-scanners":
        raise ConfigError(f"{cfg_path}: dataset {dataset!r} must be of kind virtual-scanners "
                          f"(demo.documents.dataset in {FILE}), got {spec.kind!r}")  # fmt: skip
    spec = dataclasses.replace(spec, root=str(data_root))
    return dataclasses.replace(cfg, datasets={**cfg.datasets, dataset: spec}), spec


def cut_config(config: str | Path, cut: dict, dest: str | Path, dataset: str,
               data_root: str | Path) -> Path:  # fmt: skip
    """Write ``dest``: ``config`` with each suite of ``cut`` (suite -> axis -> keys replaced, or
    null: the axis left out) cut for time and ``dataset`` rooted at ``data_root``."""
    src = Path(config)
    raw = load_yaml(src.read_text(encoding="utf-8"), str(src))
    where = f"{FILE}: demo.documents.cut"
    for suite, axes in cut.items():
        body = (raw.get("suites") or {}).get(suite)
        if not isinstance(body, dict) or not isinstance(body.get("axes"), dict):
            raise ConfigError(f"{where}.{suite}: {src} has no suite {suite!r}")
        if not isinstance(axes, dict):
            raise ConfigError(f"{where}.{suite}: must map axis names to the keys replaced (or "
                              f"null: left out), got {axes!r}")  # fmt: skip
        for axis, change in axes.items():
            if axis not in body["axes"]:
                have = ", ".join(map(str, body["axes"]))
                raise ConfigError(f"{where}.{suite}.{axis}: suite {suite!r} has no axis {axis!r}; "
                                  f"it has: {have}")  # fmt: skip
            if change is None:
                del body["axes"][axis]
            elif isinstance(change, dict):
                body["axes"][axis] = {**body["axes"][axis], **change}
            else:
                raise ConfigError(f"{where}.{suite}.{axis}: must be a mapping of keys replaced "
                                  f"or null, got {change!r}")  # fmt: skip
        desc = str(body.get("description", "")).strip()
        body["description"] = f"{desc} Cut for the demo ({where}.{suite}).".strip()
    raw["datasets"][dataset] = {**raw["datasets"][dataset], "root": str(data_root)}
    head = (f"# Written by 'degradebench demo --documents': {src} with the suites cut as "
            f"{FILE} says (demo.documents.cut)\n# and dataset {dataset!r} rooted in the demo "
            "folder. Rerun it with 'degradebench generate --config THIS_FILE'.\n")  # fmt: skip
    text = head + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True, width=100)
    out = Path(dest)
    atomic_write_bytes(out, text.encode("utf-8"))
    return out


def scanner_figures(results: Path) -> dict[str, list[tuple[str, float, int]]]:
    """Accuracy per (axis, level), levels in ``level_value`` order: axis -> [(level, value, n)]."""
    import pandas as pd

    s = pd.read_parquet(Path(results) / "summary.parquet")
    s = s[s["metric"] == "accuracy"].sort_values(["axis", "level_value"], kind="stable")
    out: dict[str, list[tuple[str, float, int]]] = {}
    for r in s.itertuples():
        out.setdefault(str(r.axis), []).append((str(r.level), float(r.value), int(r.n)))
    return out


def _headline(figs: dict[str, list[tuple[str, float, int]]]) -> dict[str, float]:
    """Clean accuracy, and per degraded axis its mean and worst accuracy over the levels."""
    clean = figs.get("clean", [])
    out = {"clean_accuracy": clean[0][1] if clean else math.nan}
    for axis, rows in figs.items():
        if axis != "clean" and rows:
            vals = [v for _, v, _ in rows]
            out[f"{axis}.mean_accuracy"] = sum(vals) / len(vals)
            out[f"{axis}.worst_accuracy"] = min(vals)
    return out


def run_documents_demo(
    out: str | Path = DEFAULT_OUT,
    *,
    config: str | Path | None = None,
    jobs: int | None = None,
    device: str = "auto",
    progress: bool = True,
    steps: Callable[[int], Any],
    write_summary: Callable[..., Path],
) -> dict:
    """Run the documents demo beneath ``out``; return paths, timings and headline numbers.

    ``steps(n)``: the camera demo's step printer and timer (``[i/n] text``, ``.end(name)``);
    ``write_summary(out, rows, total, fold)``: its ``demo-summary.json`` writer (both passed
    in by ``degradebench demo``, which imports this module)."""
    from degradebench.generators.virtual_scanners import build_virtual_scanners

    s = _settings()
    out = Path(out).expanduser().absolute()
    jobs = resolve_jobs(jobs)
    cfg_path = Path(config or str(resources.files("degradebench.generators") / "datasets.yaml"))
    data_root = out / s.dataset
    if s.cut:  # the suites cut for time, written beside the outputs for anyone to rerun
        out.mkdir(parents=True, exist_ok=True)
        cfg_path = cut_config(cfg_path, s.cut, out / "documents-demo.yaml", s.dataset, data_root)
    cfg, spec = _config(cfg_path, s.dataset, data_root)
    times: dict[str, float] = {"generate": 0.0, "evaluate": 0.0}
    t_all = time.perf_counter()
    step = steps(3 + 2 * len(s.suites) + (2 if s.forensic else 0))

    step(f"building the virtual-scanners dataset in {data_root}")
    build_virtual_scanners(spec.params, data_root, jobs=jobs, progress=progress)
    times["dataset"] = step.end("dataset")

    step(f"loading the {s.model} model")
    model = db.load_model(s.model)
    times["model"] = step.end(f"load {s.model} model")

    results_dirs, rates, n_variants = [], [], 0
    for suite in s.suites:
        variants = out / "variants" / suite
        step(f"generating the {suite!r} suite on held-out fold {s.fold} into {variants}")
        g = db.generate(config=cfg, dataset=s.dataset, suite=suite, out=variants, jobs=jobs,
                        folds=[s.fold], progress=progress)  # fmt: skip
        times["generate"] += step.end(f"generate {suite}", g.variants)
        results = out / "results" / suite
        step(f"evaluating {model.name!r} on every {suite!r} variant into {results}")
        r = db.evaluate(variants, model, results, device=device, folds=[s.fold],
                        progress=progress, name=model.name)  # fmt: skip
        times["evaluate"] += step.end(f"evaluate {model.name} on {suite}", len(r.predictions))
        results_dirs.append(results)
        n_variants += len(r.predictions)
        rates.append(r.run["throughput"]["images_per_s"])

    loc = None
    if s.forensic is not None:
        from ._demo_forensic import localizer_figures, run_forensic

        loc = run_forensic(out, cfg_path, s.forensic, dataset=s.dataset, data_root=data_root,
                           fold=s.fold, jobs=jobs, device=device, progress=progress,
                           step=step)  # fmt: skip
        times["forgery_generate"], times["forgery_evaluate"] = loc["generate"], loc["evaluate"]
        loc["figures"] = localizer_figures(loc["results"], s.forensic)

    step("writing the report")
    who = s.model + (f" and {loc['model']}" if loc else "")
    files = db.write_report(
        results_dirs + ([loc["results"]] if loc else []), out / "report",
        title=f"degradebench demo: {who} on virtual document scans (held-out fold {s.fold})",
        jobs=jobs,
    )  # fmt: skip
    times["report"] = step.end("report" + (" (reused)" if files.reused else ""))
    times["total"] = time.perf_counter() - t_all
    summary = write_summary(out, step.rows, times["total"], s.fold)
    figs = scanner_figures(results_dirs[0])
    return {
        "out": out, "report": files.html, "results": results_dirs, "times": times,
        "figures": figs, "headline": _headline(figs), "variants": n_variants,
        "images_per_s": sum(rates) / len(rates), "fold": s.fold, "model": model.name,
        "localizer": loc, "steps": step.rows, "summary": summary,
        "report_reused": files.reused,
    }  # fmt: skip


def print_documents(r: dict, timing_table: Callable[[list[dict], float], str]) -> None:
    """The documents demo's terminal summary: scanner accuracy per axis and level, the
    localizer's figures per level, the timings (``timing_table``: the demo's table) and the
    report's path."""
    from ._demo_forensic import print_localizer

    h, figs = r["headline"], r["figures"]
    print(f"{r['model']}: clean accuracy (fold {r['fold']}): {100 * h['clean_accuracy']:.1f}%")
    for axis, rows in figs.items():
        if axis == "clean":
            continue
        vals = ", ".join(f"{lv}: {100 * v:.0f}%" for lv, v, _ in rows)
        print(f"  {axis:<18} {vals}")
    loc = r.get("localizer")
    if loc:
        print_localizer(loc, loc["figures"], loc["ops"])
    t = r["times"]
    forgery = "" if not loc else (
        f", {loc['suite']} generate {t['forgery_generate']:.0f} s, {loc['model']} "
        f"{loc['variants']} variants {t['forgery_evaluate']:.0f} s")  # fmt: skip
    n = r["variants"] + (loc["variants"] if loc else 0)
    print(f"{n} variants in {t['total']:.0f} s (dataset {t['dataset']:.0f} s, generate "
          f"{t['generate']:.0f} s, evaluate {t['evaluate']:.0f} s at {r['images_per_s']:.1f} "
          f"images/s{forgery}, report {t['report']:.0f} s"
          f"{', reused' if r.get('report_reused') else ''})")  # fmt: skip
    print(f"where the time went ({r['summary'].name}):")
    print(timing_table(r["steps"], t["total"]))
    print(f"report: {r['report']}")
