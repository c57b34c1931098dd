"""``evaluate``: one model over one manifest -> predictions, summary and per-axis figures on disk.

The steps, each a small function: check the arguments, load the model and the manifest
(:mod:`._manifest_in`), compute the results key and reuse a complete result set with the same
key (:mod:`._reuse`), run the model (:mod:`._runner`), build the predictions
(:mod:`._predictions`), the metrics (:mod:`.metrics`) and run.json (:mod:`._runinfo`), and write
them atomically (:mod:`.results`). A localization model (input config ``task: localization``)
is scored against the manifest's masks (:mod:`._localize`, :mod:`._forensic_eval`), its example
maps written by :mod:`._overlays`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from degradebench.generators.core.errors import ConfigError

from . import metrics as M
from ._distributed import check_scheduler, run_distributed
from ._forensic_eval import (
    add_target_detection,
    check_forensic_args,
    check_localization_input,
    localization_metrics,
    select_axes,
    settings_bootstrap,
)
from ._localize import LocalizeSpec
from ._manifest_in import ManifestInput, class_list, load_manifest
from ._overlays import MapWriter, choose_overlays
from ._predictions import localization_predictions, predictions_frame
from ._prefetch import EarlyBootstrap, take_input
from ._reuse import key_sha256, results_key, reusable
from ._runinfo import PhaseClock, run_info
from ._runner import resolve_device, run_model
from ._target import DEFAULT, Target, regression_predictions, resolve_target
from .models import Model, load_model
from .results import ERROR_COLUMNS, RESULT_FILES, ResultsLock, read_results, write_results

__all__ = ["evaluate", "EvalResult", "read_results", "load_manifest", "RESULT_FILES", "DECODES"]

DECODES = ("cpu", "gpu")  # where JPEG variants are decoded (gpu: nvJPEG through torchvision)


@dataclass
class EvalResult:
    """What ``evaluate`` wrote (also returned in memory)."""

    out: Path
    predictions: pd.DataFrame
    summary: pd.DataFrame
    axis_summary: pd.DataFrame
    curves: pd.DataFrame
    errors: pd.DataFrame
    run: dict[str, Any] = field(default_factory=dict)
    reused: bool = False


def _say(text: str) -> None:
    print(f"degradebench evaluate: {text}", file=sys.stderr)


def _check_args(batch_size: int, n_boot: int, decode: str = "cpu", no_score_px: int = 0,
                fpr: float = 0.05) -> None:  # fmt: skip
    check_forensic_args(no_score_px, fpr)
    if decode not in DECODES:
        raise ConfigError(f"--decode: must be one of {', '.join(DECODES)}, got {decode!r}")
    if batch_size < 1:
        raise ConfigError(f"--batch-size: must be a positive integer, got {batch_size}")
    if n_boot < 0:
        raise ConfigError(f"--bootstrap: must be 0 or more, got {n_boot}")


def _check_labels(df: pd.DataFrame, classes: list[str], model: Model) -> None:
    unknown = sorted({str(v) for v in pd.unique(df["label"].dropna())} - set(classes))
    if unknown and model.input_config.classes is not None:
        _say(f"labels {unknown[:10]} are not among the model's classes {classes[:10]}; their "
             "variants get no accuracy (flip rate and drift still count)")  # fmt: skip
    if not classes:
        raise ConfigError(
            "the manifest has no labels and the model's input config lists no classes"
        )


def _configure_classes(model: Model, classes: list[str]) -> None:
    """Let a model whose width follows the data (the built-in ``dummy``) size its output: a
    module with ``configure_classes(n)`` gets the number of classes before it runs."""
    hook = getattr(model.module, "configure_classes", None) if model.module is not None else None
    if callable(hook) and model.input_config.classes is None:
        hook(len(classes))


def _check_figures(mi: ManifestInput) -> None:
    """Every figure a suite declares exists (before the model runs for hours)."""
    for suite, names in mi.figures.items():
        for name in names:
            if name not in M.FIGURES:
                known = ", ".join(M.FIGURES.names())
                raise ConfigError(
                    f"suite {suite!r} (manifest metadata): figures: unknown figure {name!r}; "
                    f"known: {known} (a figure of your own registers in "
                    "degradebench.evaluators.metrics.FIGURES)"
                )


def _load_baseline(baseline: str | Path | None):
    if baseline is None:
        return None
    b = read_results(baseline, tables=("summary", "curves"))  # not the large predictions
    bname = b["run"].get("model", {}).get("name") or str(b["summary"]["model"].iloc[0])
    if b["curves"].empty:
        raise ConfigError(f"--baseline {baseline}: has no {RESULT_FILES['curves']}")
    return bname, b["summary"], b["curves"], b["run"].get("key_sha256")


def _errors_frame(run, mi: ManifestInput, out: Path) -> pd.DataFrame:
    errors = pd.DataFrame(run.errors, columns=ERROR_COLUMNS[:4])
    suites = None
    if len(errors) and "suite" in mi.frame:  # the suite column by id, not the whole frame
        suites = pd.Series(mi.frame["suite"].to_numpy(), index=mi.frame["variant_id"].astype(str))
    errors["suite"] = [suites.get(v) if suites is not None else None for v in errors["variant_id"]]
    if len(errors):
        counts = errors["stage"].value_counts().to_dict()
        what = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
        _say(f"skipped {len(errors)} of {len(mi.frame)} variants ({what}); see "
             f"{out / RESULT_FILES['errors']}")  # fmt: skip
        if "verify" in counts or "missing" in counts:
            _say(f"the manifest's files fail verification; run 'degradebench verify {mi.root}' "
                 "for the full check")  # fmt: skip
    return errors


def _boot(preds: pd.DataFrame, settings: dict, early: EarlyBootstrap | None) -> M.Bootstrap:
    return early.get(preds["source_id"]) if early is not None else settings_bootstrap(preds, settings)


def _metrics(preds: pd.DataFrame, mi: ManifestInput, settings: dict, baseline,
             early: EarlyBootstrap | None = None) -> dict:  # fmt: skip
    boot = _boot(preds, settings, early)
    summary, cells = M.level_metrics(preds, boot, tuple(settings["topk"]))
    curves, curve_cells = M.curve_metrics(preds, boot)
    figs = M.compute_figures(
        preds, cells, curve_cells, curves, boot, break_points=settings["break_points"],
        baseline=baseline[:3] if baseline else None, figures=mi.figures, planned=mi.planned,
    )  # fmt: skip
    pairing, line = M.pairing_report(preds)
    warnings = [line] if line else []
    for suite, status in figs.status.items():
        for name, state in status.items():
            if state != "computed":
                warnings.append(f"{name} for suite {suite!r} is {state}")
    for w in warnings:
        _say(w)
    return {"summary": summary, "curves": curves, "axis_summary": figs.frame,
            "figures": figs.status, "pairing": pairing, "warnings": warnings}  # fmt: skip


def _regression_metrics(preds: pd.DataFrame, settings: dict,
                        early: EarlyBootstrap | None = None) -> dict:  # fmt: skip
    """summary and curves rows of a regression target (``mae``, ``rmse``, ``within_5`` per
    level and curve point); no axis figures (they are built on accuracy and flip rate)."""
    boot = _boot(preds, settings, early)
    summary, _ = M.level_metrics(preds, boot, metrics=M.regression_metrics())
    curves, _ = M.curve_metrics(preds, boot, M.regression_metrics())
    axis = M.compute_figures(preds.iloc[:0], {}, M.CurveCells(), curves, boot).frame
    return {"summary": summary, "curves": curves, "axis_summary": axis, "figures": {},
            "pairing": [], "warnings": []}  # fmt: skip


def _settings(localize: bool, **kw: Any) -> dict:
    """The settings that change the numbers (part of the results key); ``target`` only when
    it is not the default (so the keys of label results stay as they were) and the model is
    not a localization model (scored against the masks whatever the target); ``decode`` only
    when it is not ``cpu`` (same reason). The scheduler is not a setting: same results."""
    kw["baseline"] = str(kw["baseline"]) if kw["baseline"] else None
    if kw.get("decode", "cpu") == "cpu":
        kw.pop("decode", None)
    if kw.get("target", DEFAULT) == DEFAULT or localize:
        kw.pop("target", None)
    return kw


def _select_target(mi: ManifestInput, full: pd.DataFrame, target: str,
                   model: Model) -> tuple[Target | None, list[str]]:  # fmt: skip
    """Resolve ``target`` (None for ``label``) and the classes; ``mi.frame`` loses null rows."""
    if target == DEFAULT:
        return None, class_list(full, model.input_config.classes)
    tgt, mi.frame = resolve_target(mi.frame, full, target)
    if tgt.kind == "regression":
        return tgt, []
    if tgt.n_null:
        _say(f"--target {target}: {tgt.n_null} variants have no value and are not scored")
    _, full_kept = resolve_target(full, full, target)
    classes = class_list(full_kept, model.input_config.classes)
    tgt.classes = classes
    return tgt, classes


def _run(model: Model, mi: ManifestInput, outp: Path, key: dict, run_kw: dict,
         scheduler: str | None, clock: PhaseClock):  # fmt: skip
    """The model over ``mi.frame``, here or sharded across Dask workers: (RunOutput, run.json's
    ``distributed`` entry or None, the errors table, the bootstrap drawn meanwhile or None);
    ``setup`` and ``loop`` on ``clock``."""
    settings = key["settings"]
    early = _early_bootstrap(mi, run_kw["device"], settings["bootstrap"], settings["seed"],
                             run_kw.get("localize") is not None)  # fmt: skip
    if scheduler is None:
        run, dist = run_model(model, mi.frame, mi.root, **run_kw), None
    else:
        run, dist = run_distributed(scheduler, model, mi.frame, mi.root, outp,
                                    key_sha256(key)[:16], run_kw, bool(run_kw.get("progress")))  # fmt: skip
    clock.run(run)
    return run, dist, _errors_frame(run, mi, outp), early


def _info(model: Model, classes: list[str], mi: ManifestInput, run, preds: pd.DataFrame,
          errors: pd.DataFrame, config: dict, key: dict, res: dict, clock: PhaseClock,
          dist: dict | None) -> dict:  # fmt: skip
    """run.json's mapping (``distributed``: the scheduler's workers and their throughput;
    ``timings``: filled in by :func:`_write` just before run.json is written)."""
    info = run_info(model=model, classes=classes, mi=mi, run=run, n_preds=len(preds),
                    n_errors=len(errors), config=config, key=key, warnings=res["warnings"],
                    figures=res["figures"], pairing=res["pairing"],
                    seconds=clock.total())  # fmt: skip
    info["distributed"] = dist
    return info


def _reused(outp: Path) -> EvalResult:
    r = read_results(outp)
    _say(f"{outp} already holds these results (same model, weights, input config, manifest and "
         "settings); reusing them")  # fmt: skip
    return EvalResult(outp, r["predictions"], r["summary"], r["axis_summary"], r["curves"],
                      r["errors"], r["run"], reused=True)  # fmt: skip


def _model(model: Model | str, name: str | None, clock: PhaseClock) -> Model:
    """The model (loaded from a spec string: ``model_load`` on ``clock``), renamed to ``name``."""
    if isinstance(model, str):
        model = load_model(model, name=name)
    elif name:
        model.name = name
    clock.lap("model_load")
    return model


def _score_run(run, mi: ManifestInput, model: Model, classes: list[str], tgt: Target | None,
               topk: tuple[int, ...], settings: dict, base, n_errors: int,
               clock: PhaseClock, early: EarlyBootstrap | None = None):  # fmt: skip
    """The predictions table and the metrics of one run (classification, regression or
    localization); ``predictions`` and ``metrics`` laps on ``clock``."""
    localize = model.input_config.task == "localization"
    if localize:
        preds = localization_predictions(mi.frame, run, model.name)
    elif tgt is not None and tgt.kind == "regression":
        preds = regression_predictions(mi.frame, run, model.name, tgt.column)
    else:
        preds = predictions_frame(mi.frame, run, model.name, classes, topk)
    if preds.empty:
        raise ConfigError(
            f"no variant could be evaluated ({n_errors} skipped); see the errors above"
        )
    clock.lap("predictions")
    if localize:
        res = localization_metrics(preds, settings)
    elif tgt is not None and tgt.kind == "regression":
        res = _regression_metrics(preds, settings, early)
    else:
        res = _metrics(preds, mi, settings, base, early)
        if tgt is not None:
            add_target_detection(preds, res, settings, classes)
    clock.lap("metrics")
    return preds, res


def _run_kwargs(classes: list[str], tgt: Target | None, *, decode: str, **kw: Any) -> dict:
    """run_model's keyword arguments (``decode`` only when it is not ``cpu``)."""
    return {"n_classes": max(len(classes), 1), **kw,
            "regression": tgt is not None and tgt.kind == "regression",
            **({"decode": decode} if decode != "cpu" else {})}  # fmt: skip


def _config(settings: dict, base, batch_size: int, more: dict) -> dict:
    """run.json's ``config``: the settings (less the baseline's key), the batch size, the
    baseline model's name, then ``more`` (decode, scheduler, the caller's extra entries)."""
    return {**{k: v for k, v in settings.items() if k != "baseline_key"},
            "batch_size": batch_size, "baseline_model": base[0] if base else None, **more}  # fmt: skip


def _prepare(mi: ManifestInput, full: pd.DataFrame, model: Model, target: str):
    """(target, classes) for a classification or regression model; for a localization model
    (None, []) after checking the manifest has masks (``--target`` does not apply)."""
    if model.input_config.task == "localization":
        check_localization_input(mi, model.name)
        if target != DEFAULT:
            _say(f"--target {target}: not used; a localization model is scored against the "
                 "manifest's masks (and 'manipulated' for detection)")  # fmt: skip
        return None, []
    tgt, classes = _select_target(mi, full, target, model)
    regression = tgt is not None and tgt.kind == "regression"
    if not regression:
        _check_labels(mi.frame, classes, model)
    _configure_classes(model, [""] if regression else classes)
    return tgt, classes


def _write(outp: Path, preds: pd.DataFrame, res: dict, errors: pd.DataFrame, info: dict,
           tgt: Target | None, writer: MapWriter | None, chosen: list[dict],
           clock: PhaseClock) -> EvalResult:  # fmt: skip
    """run.json's target and overlays, then every results file (maps swapped in) -> the result;
    run.json's ``timings`` are taken once the tables are written, just before it."""
    if tgt is not None:
        info["target"] = tgt.to_dict()
    info["overlays"] = writer.entries(chosen) if writer is not None else []
    frames = {"predictions": preds, "summary": res["summary"], "axis_summary": res["axis_summary"],
              "curves": res["curves"], "errors": errors}  # fmt: skip
    write_results(outp, frames, info, writer.staged() if writer is not None else None,
                  before_run_json=lambda: info.update(timings=clock.done("write")))  # fmt: skip
    return EvalResult(outp, preds, res["summary"], res["axis_summary"], res["curves"], errors,
                      info)  # fmt: skip


def _early_bootstrap(mi: ManifestInput, device: str, n_boot: int, seed: int,
                     localize: bool) -> EarlyBootstrap | None:  # fmt: skip
    """The bootstrap weights drawn while a GPU runs the model (on a CPU the loop needs the
    cores: drawn after it, as before); None for a localization model (its own bootstrap)."""
    if localize or n_boot <= 0 or resolve_device(device).type != "cuda":
        return None
    return EarlyBootstrap(mi.frame["source_id"], n_boot, seed)


def _map_writer(mi: ManifestInput, model: Model, outp: Path, save_maps: bool):
    """(map writer, chosen overlay entries) of a localization run; (None, []) otherwise."""
    if model.input_config.task != "localization":
        return None, []
    chosen = choose_overlays(mi.frame)
    return MapWriter(outp, {e["variant_id"] for e in chosen}, save_maps), chosen


def evaluate(
    manifest: str | Path,
    model: Model | str,
    out: str | Path,
    *,
    device: str = "auto",
    batch_size: int = 32,
    folds: list[int] | str | None = None,
    amp: bool = False,
    workers: int | None = None,
    topk: tuple[int, ...] = (5,),
    n_boot: int = 1000,
    seed: int = 0,
    break_points: float = 5.0,
    baseline: str | Path | None = None,
    check_hash: bool = True,
    progress: bool = True,
    name: str | None = None,
    extra_config: dict | None = None,
    channels_last: bool = False,
    reuse: bool = True,
    target: str = DEFAULT,
    save_maps: bool = False,
    no_score_px: int = 0,
    fpr: float = 0.05,
    axes: list[str] | str | None = None,
    scheduler: str | None = None,
    decode: str = "cpu",
    timings: dict[str, float] | None = None,
) -> EvalResult:
    """Score ``model`` on every variant of the manifest in ``manifest`` (an OUT folder).

    Writes the RESULTS files of :mod:`degradebench.evaluators.results` to ``out``:
    predictions, summary, axis_summary, curves, errors (files missing, failing their sha256, or
    undecodable: reported and skipped) and run.json. With ``reuse`` (the default), a complete
    result set made with the same key (model, weights, input config, manifest, settings) is
    returned as it is, without running the model.

    Args:
        model: a loaded :class:`Model` or a spec string for :func:`load_model`.
        folds: restrict to these folds (list or ``"0,1"``).
        baseline: a results folder of the model that CE / mCE are relative to.
        break_points: accuracy drop (percentage points vs clean) that marks the breaking level.
        target: the manifest column the model predicts (``label``; a boolean or categorical
            target is classification, a numeric one regression: see :mod:`._target`). A
            localization model (input config ``task: localization``) is scored against the
            manifest's masks whatever the target.
        save_maps: (localization) every map to ``RESULTS/maps/<variant_id>.png`` (``map_path``).
        no_score_px: (localization) pixels this close to a mask's boundary are not scored.
        fpr: false-positive rate on the clean authentic images that fixes ``tpr_at_fpr``.
        axes: evaluate only these axes (list or ``"a,b"``) and the clean one.
        scheduler: ``local:N`` | ``tcp://HOST:PORT``: shard by source across Dask workers
            (:mod:`._distributed`); same results and key as a single-process run.
        decode: ``cpu`` | ``gpu`` (nvJPEG via torchvision); in the key when not ``cpu``.
        timings: seconds of phases measured before this call (the CLI's start and model
            load); run.json's ``timings`` adds this call's (:data:`._runinfo.PHASES`).

    Raises:
        ModelError: the model fails or misbehaves (message names model, variants, expectation).
        ConfigError: bad arguments, manifest or baseline.
    """
    clock = PhaseClock(timings)
    _check_args(batch_size, n_boot, decode, no_score_px, fpr)
    model = _model(model, name, clock)
    localize = model.input_config.task == "localization"
    check_scheduler(scheduler, localize)
    mi, full, full_sha = take_input(manifest, folds)  # prefetched by the CLI, or read now
    axes_kept = select_axes(mi, axes)
    tgt, classes = _prepare(mi, full, model, target)
    _check_figures(mi)
    base = _load_baseline(baseline)
    settings = _settings(localize, folds=mi.folds, topk=list(topk), bootstrap=n_boot, seed=seed,
                         break_points=break_points, baseline=baseline, amp=amp,
                         channels_last=channels_last, device=device, check_hash=check_hash,
                         baseline_key=base[3] if base else None, target=target,
                         save_maps=bool(save_maps), no_score_px=int(no_score_px),
                         fpr=float(fpr), axes=axes_kept, decode=decode)  # fmt: skip
    clock.lap("read_manifest")
    key = results_key(model, classes, full, settings, manifest_sha=full_sha)
    run_kw = _run_kwargs(classes, tgt, device=device, batch_size=batch_size, workers=workers,
                         amp=amp, check_hash=check_hash, progress=progress,
                         channels_last=channels_last, decode=decode)  # fmt: skip
    with ResultsLock(outp := Path(out)):  # before the model runs: a 2nd run here fails now
        if reuse and reusable(outp, key):
            return _reused(outp)
        clock.lap("results_key")
        writer, chosen = _map_writer(mi, model, outp, bool(save_maps))
        run_kw["localize"] = LocalizeSpec(int(no_score_px), writer) if localize else None
        try:
            run, dist, errors, early = _run(model, mi, outp, key, run_kw, scheduler, clock)
            preds, res = _score_run(run, mi, model, classes, tgt, tuple(topk), settings, base,
                                    len(errors), clock, early)  # fmt: skip
            config = _config(settings, base, batch_size, {"decode": decode, "scheduler": scheduler,
                                                          **(extra_config or {})})  # fmt: skip
            info = _info(model, classes, mi, run, preds, errors, config, key, res, clock, dist)
            result = _write(outp, preds, res, errors, info, tgt, writer, chosen, clock)
        finally:
            if writer is not None:
                writer.discard()  # staging folders left only when the run failed
        return result
