"""``degradebench demo``: the main job end to end on the embedded default, beneath one folder.

Builds the virtual-camera dataset, loads the shipped reference model, generates the default and
social suites on the held-out fold 0 and evaluates each; then generates the forgery suite (the
ladder levels the settings name) on the same fold and scores the reference localizer on it
(:mod:`._demo_forensic`); writes one report of both models. The dataset, suites, fold and the
forensic part are data: the ``demo`` section of ``applications.yaml``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from importlib import resources
from pathlib import Path

import degradebench as db
from degradebench.appdata import demo_settings
from degradebench.generators.core.errors import ConfigError

from ._options import add_jobs_option, resolve_jobs

__all__ = ["add_parser", "run", "run_demo"]


def _suites_text(suites: tuple[str, ...]) -> str:
    """``("default", "social")`` -> ``"default and social"``."""
    return suites[0] if len(suites) == 1 else ", ".join(suites[:-1]) + " and " + suites[-1]


def add_parser(subparsers) -> argparse.ArgumentParser:
    s = demo_settings()
    suites = _suites_text(s.suites)
    f = s.forensic
    forensic = "" if f is None else (
        f"; then generate the {f.suite} suite ({', '.join(f.axes)}, some levels) on the same "
        f"fold and score {f.model} on it (splice localization)")  # fmt: skip
    p = subparsers.add_parser(
        "demo",
        help=f"build the virtual cameras, run the {suites} suites with the reference model"
        + (f" and the {f.suite} suite with {f.model}" if f else "") + ", write the report",
        description=(
            "The main job in one command, offline: build the synthetic virtual-camera dataset, "
            f"load the shipped reference camera-model classifier, generate the {suites} suites "
            f"on the held-out fold {s.fold}, evaluate each{forensic}; and write one report "
            "(curves, heat maps, example overlays, report.html) beneath DIR. Rerunning reuses "
            "what is already there. The dataset, suites, fold and forensic levels are the "
            "'demo' section of degradebench's applications.yaml."
        ),
    )
    p.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="folder for everything the demo writes (default ./degradebench-demo, with "
        "--documents ./degradebench-demo-documents)",
    )
    p.add_argument(
        "--documents",
        action="store_true",
        help="document scans instead (issue 17): build the virtual printers and scanners, run "
        "the documents suite with reference-scanner and the document-forgery suite with "
        "reference-scanner-localizer (demo.documents in applications.yaml), write the report",
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        help="datasets.yaml to take the virtual-cameras dataset and default suite from "
        "(default: the copy shipped with degradebench)",
    )
    add_jobs_option(p)
    p.add_argument("--device", default="auto", help="auto, cuda or cpu for the evaluation")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


def _cpu() -> float:
    """CPU seconds of this process and of its finished child processes (decode workers)."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class _Steps:
    """``[i/n] text`` on stderr, numbered in the order the steps run; :meth:`end` records the
    step's wall and CPU time (and variants) for the timing table."""

    def __init__(self, total: int):
        self.i, self.total = 0, total
        self.rows: list[dict] = []
        self._t0, self._c0 = time.perf_counter(), _cpu()

    def __call__(self, text: str) -> float:
        self.i += 1
        print(f"[{self.i}/{self.total}] {text}", file=sys.stderr, flush=True)
        self._t0, self._c0 = time.perf_counter(), _cpu()
        return self._t0

    def end(self, name: str, variants: int | None = None) -> float:
        """Close the step begun last under ``name``; returns its wall seconds."""
        wall = time.perf_counter() - self._t0
        self.rows.append({"step": name, "seconds": round(wall, 2),
                          "cpu_seconds": round(_cpu() - self._c0, 2), "variants": variants})  # fmt: skip
        return wall


def timing_table(rows: list[dict], total: float) -> str:
    """The demo's per-step timings as a Markdown table (wall, share of the total, CPU, variants)."""
    out = ["| step | wall s | share | CPU s | variants |", "|---|---:|---:|---:|---:|"]
    for r in rows:
        n = "" if r.get("variants") is None else str(r["variants"])
        out.append(f"| {r['step']} | {r['seconds']:.1f} | {100 * r['seconds'] / max(total, 1e-9):.0f}% "
                   f"| {r['cpu_seconds']:.1f} | {n} |")  # fmt: skip
    evaluated = sum(r.get("variants") or 0 for r in rows if r["step"].startswith("evaluate"))
    out.append(f"| total | {total:.1f} | 100% | | {evaluated} evaluated |")
    return "\n".join(out)


def run_demo(
    out: str | Path = "degradebench-demo",
    *,
    config: str | Path | None = None,
    jobs: int | None = None,
    device: str = "auto",
    progress: bool = True,
) -> dict:
    """Run the demo beneath ``out``; return paths, timings and headline numbers."""
    from degradebench.generators.virtual_cameras import build_virtual_cameras  # numpy, scipy

    settings = demo_settings()
    dataset, suites, fold = settings.dataset, settings.suites, settings.fold
    out = Path(out).expanduser().absolute()
    jobs = resolve_jobs(jobs)
    cfg_path = config or Path(str(resources.files("degradebench.generators") / "datasets.yaml"))
    cfg = db.load_config(cfg_path)
    spec = cfg.dataset(dataset)
    if spec.kind != "virtual-cameras":
        raise ConfigError(f"{cfg_path}: dataset {dataset!r} must be of kind virtual-cameras")
    data_root = out / dataset
    # Build the dataset beneath OUT (not the user cache) so the demo leaves one folder behind.
    spec = dataclasses.replace(spec, root=str(data_root))
    cfg = dataclasses.replace(cfg, datasets={**cfg.datasets, dataset: spec})
    times: dict[str, float] = {}
    t_all = time.perf_counter()
    forensic = settings.forensic
    # dataset, model, (generate, evaluate) per suite and for the forensic suite, report
    step = _Steps(3 + 2 * len(suites) + (2 if forensic else 0))

    step(f"building the virtual-camera dataset in {data_root}")
    build_virtual_cameras(spec.params, data_root, jobs=jobs, progress=progress)
    times["dataset"] = step.end("dataset")

    step("loading the reference model")
    model = db.load_model("reference")
    times["model"] = step.end("load reference model")

    results_dirs, res = [], None
    times["generate"] = times["evaluate"] = 0.0
    n_variants, rates = 0, []
    for suite in suites:
        variants = out / "variants" / suite
        step(f"generating the {suite!r} suite on held-out fold {fold} into {variants}")
        g = db.generate(
            config=cfg, dataset=dataset, suite=suite, out=variants, jobs=jobs, folds=[fold],
            progress=progress,
        )  # fmt: skip
        times["generate"] += step.end(f"generate {suite}", g.variants)
        results = out / "results" / suite
        step(f"evaluating {model.name!r} on every {suite!r} variant into {results}")
        r = db.evaluate(
            variants, model, results, device=device, folds=[fold], progress=progress,
            channels_last=True, name=model.name,  # one model, one name on every suite
        )  # fmt: skip
        times["evaluate"] += step.end(f"evaluate {model.name} on {suite}", len(r.predictions))
        results_dirs.append(results)
        n_variants += len(r.predictions)
        rates.append(r.run["throughput"]["images_per_s"])
        res = res or r

    loc = None
    if forensic is not None:
        from ._demo_forensic import localizer_figures, run_forensic

        loc = run_forensic(out, cfg_path, forensic, dataset=dataset, data_root=data_root,
                           fold=fold, jobs=jobs, device=device, progress=progress, step=step)  # fmt: skip
        times["forgery_generate"], times["forgery_evaluate"] = loc["generate"], loc["evaluate"]
        loc["figures"] = localizer_figures(loc["results"], forensic)

    step("writing the report")
    who = "reference model" + (f" and {loc['model']}" if loc else "")
    files = db.write_report(
        results_dirs + ([loc["results"]] if loc else []), out / "report",
        title=f"degradebench demo: {who} on virtual cameras (held-out fold {fold})", jobs=jobs,
    )  # fmt: skip
    times["report"] = step.end("report" + (" (reused)" if files.reused else ""))
    identical = {axis for suite, axis in files.identical if suite == suites[-1]}
    times["total"] = time.perf_counter() - t_all
    summary = _write_summary(out, step.rows, times["total"], fold)

    s, ax = res.summary, res.axis_summary
    clean = s[(s["axis"] == "clean") & (s["metric"] == "accuracy")]["value"]
    headline = {"clean_accuracy": float(clean.iloc[0]) if len(clean) else float("nan")}
    for r in ax[ax["metric"].isin(["auc_accuracy", "max_accuracy_drop"])].itertuples():
        headline[f"{r.axis}.{r.metric}"] = float(r.value)
    return {
        "out": out, "report": files.html, "results": results, "times": times,
        "headline": headline, "images_per_s": sum(rates) / len(rates),
        "variants": n_variants, "fold": fold,
        "social": _social_headline(out / "results" / suites[-1]),
        "identical": sorted(identical), "report_reused": files.reused, "localizer": loc,
        "steps": step.rows, "summary": summary,
    }  # fmt: skip


def _write_summary(out: Path, rows: list[dict], total: float, fold: int) -> Path:
    """``OUT/demo-summary.json``: the per-step timings (wall, CPU, variants) of this run."""
    import json
    import os

    from degradebench.generators.core.files import atomic_write_bytes

    rec = {"when": time.strftime("%Y-%m-%d %H:%M:%S %z"), "cores": os.cpu_count(), "fold": fold,
           "total_seconds": round(total, 2), "steps": rows,
           "table": timing_table(rows, total)}  # fmt: skip
    path = out / "demo-summary.json"
    atomic_write_bytes(path, json.dumps(rec, indent=1).encode("utf-8"))
    return path


def _social_headline(results: Path) -> dict[str, float]:
    """Accuracy of the reference model after 1, 2 and 3 hops through each preset."""
    import pandas as pd

    s = pd.read_parquet(results / "summary.parquet")
    s = s[(s["metric"] == "accuracy") & (s["axis"] != "clean") & (s["axis"] != "random-journey")]
    s = s.sort_values(["axis", "level_value"], kind="stable")  # hops 1, 2, 3 in order
    return {f"{r.axis}@{r.level}": float(r.value) for r in s.itertuples()}


def run(args: argparse.Namespace) -> int:
    if getattr(args, "documents", False):
        from ._demo_documents import DEFAULT_OUT, print_documents, run_documents_demo

        r = run_documents_demo(
            args.out or DEFAULT_OUT, config=args.config, jobs=args.jobs, device=args.device,
            progress=not args.no_progress, steps=_Steps, write_summary=_write_summary)  # fmt: skip
        print_documents(r, timing_table)
        return 0
    r = run_demo(
        args.out or "degradebench-demo", config=args.config, jobs=args.jobs, device=args.device,
        progress=not args.no_progress,
    )  # fmt: skip
    from degradebench.evaluators.report.view import no_negative_zero

    h = r["headline"]
    print(f"clean accuracy (fold {r['fold']}): {100 * h['clean_accuracy']:.1f}%")
    for key, value in h.items():
        if key.endswith(".auc_accuracy"):
            axis = key.split(".")[0]
            drop = h.get(f"{axis}.max_accuracy_drop", float("nan"))
            print(f"  {axis:<12} mean accuracy {100 * value:5.1f}%, worst level "
                  f"{no_negative_zero(f'{100 * drop:5.1f}'.strip()):>5} points below clean")  # fmt: skip
    if r.get("social"):
        by_axis: dict[str, list[str]] = {}
        for key, value in r["social"].items():
            axis, level = key.split("@")
            by_axis.setdefault(axis, []).append(f"{level}: {100 * value:.0f}%")
        print("  social journeys, accuracy by hops:")
        same = set(r.get("identical", ()))
        for axis, vals in by_axis.items():
            note = " (identical to clean: re-encode skipped)" if axis in same else ""
            print(f"    {axis:<15} " + ", ".join(vals) + note)
    loc = r.get("localizer")
    if loc:
        from ._demo_forensic import print_localizer

        print_localizer(loc, loc["figures"], loc["ops"])
    t = r["times"]
    forgery = "" if not loc else (
        f", {loc['suite']} generate {t['forgery_generate']:.0f} s, {loc['model']} "
        f"{loc['variants']} variants {t['forgery_evaluate']:.0f} s at "
        f"{loc['images_per_s']:.1f} images/s")  # fmt: skip
    n = r["variants"] + (loc["variants"] if loc else 0)
    print(f"{n} variants in {t['total']:.0f} s (dataset {t['dataset']:.0f} s, generate "
          f"{t['generate']:.0f} s, evaluate {t['evaluate']:.0f} s at {r['images_per_s']:.1f} "
          f"images/s{forgery}, report {t['report']:.0f} s"
          f"{', reused' if r.get('report_reused') else ''})")  # fmt: skip
    print(f"where the time went ({r['summary'].name}):")
    print(timing_table(r["steps"], t["total"]))
    print(f"report: {r['report']}")
    return 0
