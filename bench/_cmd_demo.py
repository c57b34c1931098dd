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
        default="degradebench-demo",
        metavar="DIR",
        help="folder for everything the demo writes (default ./degradebench-demo)",
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


class _Steps:
    """``[i/n] text`` on stderr, numbered in the order the steps run."""

    def __init__(self, total: int):
        self.i, self.total = 0, total

    def __call__(self, text: str) -> float:
        self.i += 1
        print(f"[{self.i}/{self.total}] {text}", file=sys.stderr, flush=True)
        return time.perf_counter()


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

    t = step(f"building the virtual-camera dataset in {data_root}")
    build_virtual_cameras(spec.params, data_root, jobs=jobs, progress=progress)
    times["dataset"] = time.perf_counter() - t

    t = step("loading the reference model")
    model = db.load_model("reference")
    times["model"] = time.perf_counter() - t

    results_dirs, res = [], None
    times["generate"] = times["evaluate"] = 0.0
    n_variants, rates = 0, []
    for suite in suites:
        variants = out / "variants" / suite
        t = step(f"generating the {suite!r} suite on held-out fold {fold} into {variants}")
        db.generate(
            config=cfg, dataset=dataset, suite=suite, out=variants, jobs=jobs, folds=[fold],
            progress=progress,
        )  # fmt: skip
        times["generate"] += time.perf_counter() - t
        results = out / "results" / suite
        t = step(f"evaluating {model.name!r} on every {suite!r} variant into {results}")
        r = db.evaluate(
            variants, model, results, device=device, folds=[fold], progress=progress,
            channels_last=True, name=model.name,  # one model, one name on every suite
        )  # fmt: skip
        times["evaluate"] += time.perf_counter() - t
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

    t = step("writing the report")
    who = "reference model" + (f" and {loc['model']}" if loc else "")
    files = db.write_report(
        results_dirs + ([loc["results"]] if loc else []), out / "report",
        title=f"degradebench demo: {who} on virtual cameras (held-out fold {fold})",
    )  # fmt: skip
    times["report"] = time.perf_counter() - t
    identical = {axis for suite, axis in files.identical if suite == suites[-1]}
    times["total"] = time.perf_counter() - t_all

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
    }  # fmt: skip


def _social_headline(results: Path) -> dict[str, float]:
    """Accuracy of the reference model after 1, 2 and 3 hops through each preset."""
    import pandas as pd

    s = pd.read_parquet(results / "summary.parquet")
    s = s[(s["metric"] == "accuracy") & (s["axis"] != "clean") & (s["axis"] != "random-journey")]
    s = s.sort_values(["axis", "level_value"], kind="stable")  # hops 1, 2, 3 in order
    return {f"{r.axis}@{r.level}": float(r.value) for r in s.itertuples()}


def run(args: argparse.Namespace) -> int:
    r = run_demo(
        args.out, config=args.config, jobs=args.jobs, device=args.device,
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
    print(f"report: {r['report']}")
    return 0
