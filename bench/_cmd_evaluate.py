"""``degradebench evaluate``: score a model on every variant of a manifest."""

from __future__ import annotations

import argparse
import os
import sys
import time

from degradebench.generators.core.records import parse_folds

__all__ = ["add_parser", "run", "TARGET_HELP", "process_age", "timings_line"]

_IMPORTED = time.perf_counter()  # the fallback clock where /proc cannot say when we started

# The manifest's target columns (generators.manifest.TARGET_COLUMNS, listed here so that --help
# does not import the generators; a test keeps the two equal).
TARGET_HELP = ("label", "manipulated", "manipulation", "double_compressed", "aligned",
               "primary_quality", "hops", "platform")  # fmt: skip


def _int_list(text: str) -> list[int]:
    """``--top-k 1,5`` -> [1, 5] (folds go through the one fold parser, ``parse_folds``)."""
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers like 1,5, got {text!r}") from None


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "evaluate",
        help="score a model on a generated manifest, per axis and level",
        description=(
            "Run a model over every variant of a manifest (OUT of 'degradebench generate') and "
            "write RESULTS/predictions.parquet, summary.parquet (per model, axis, level and "
            "metric, with bootstrap CIs over source images), axis_summary.parquet (AUC, "
            "breaking level, CE vs --baseline, SP Cup 2018 score), curves.parquet (the points of "
            "each degradation curve), errors.parquet (files skipped) and run.json (model spec, input "
            "config, settings, library versions, warnings). Rerunning with the same model, "
            "weights, input config, manifest and settings reuses the results already in RESULTS."
        ),
        epilog=(
            "MODEL SPEC: 'reference' (the shipped camera-model classifier), "
            "'reference-localizer' (a splice localizer built on it: 1 - p(dominant camera "
            "model) per 64 px tile), 'dummy' (a tiny model for smoke tests), "
            "'package.module:function' or 'path/to/file.py:function' (returns a torch.nn.Module "
            "or (module, input_config)), or a TorchScript / torch.export (.pt2) / ONNX file, "
            "recognised by content. Input-config fields: input_size, fit "
            "(center_crop|resize|pad|tile|full), tile_stride, max_tiles, channel_order (RGB|BGR), "
            "value_range (1.0|255.0), mean, std, output (logits|probabilities), classes, "
            "resize_backend (pillow|opencv|torch|skimage: the resize axis's kernels), "
            "resize_method, resize_antialias (null = the library's default), pad_mode, "
            "tile_average, task (classification|localization: a localization model returns a "
            "map [N, 1, h, w] or [N, h, w], or {'score': [N], 'map': [N, 1, h, w]}, and is "
            "scored against the manifest's masks; fit full feeds each image at its own size). "
            "Example: --set fit=tile --set 'input_size=[64, 64]'; --set task=localization "
            "--set fit=full --save-maps."
        ),
    )
    _add_io_args(p)
    _add_run_args(p)
    _add_metric_args(p)
    p.set_defaults(func=run)
    return p


def _add_io_args(p: argparse.ArgumentParser) -> None:
    """Where the manifest, the model and the results are."""
    p.add_argument(
        "--manifest",
        required=True,
        metavar="OUT",
        help="output folder of 'degradebench generate' (holds manifest/)",
    )
    p.add_argument("--model", required=True, metavar="SPEC", help="model spec (see below)")
    p.add_argument("--out", required=True, metavar="RESULTS", help="folder for the results")
    p.add_argument("--name", help="model name in the results (default: from the spec)")


def _add_run_args(p: argparse.ArgumentParser) -> None:
    """How the model runs: device, batches, folds, precision, decoding, input config."""
    p.add_argument(
        "--device", default="auto", help="auto (CUDA when available), cuda, cuda:N or cpu"
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=32,
        metavar="N",
        help="images per batch; halves by itself on CUDA out-of-memory (default 32)",
    )
    p.add_argument("--folds", metavar="LIST", help="only these folds, e.g. 0 or 0,1")
    p.add_argument(
        "--axes",
        metavar="LIST",
        help="only these axes (and clean), e.g. forgery-jpeg,forgery-crop (default: every axis)",
    )
    p.add_argument(
        "--amp",
        action="store_true",
        help="mixed precision (float16 autocast on CUDA, bfloat16 on CPU)",
    )
    p.add_argument(
        "--channels-last",
        action="store_true",
        help="run torch models in NHWC memory format (faster on CPU; float rounding differs)",
    )
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="decoding worker processes (default: cores - 1, at most 8; 0 = in-process)",
    )
    p.add_argument(
        "--decode",
        choices=("cpu", "gpu"),
        default="cpu",
        help="where JPEG variants are decoded: cpu (default) or gpu (nvJPEG decoding via "
        "torchvision when present; JPEG variants only, fits without resampling); recorded in "
        "run.json and part of the results key",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDR",
        help="shard the manifest by source across Dask workers: local:N (N worker processes "
        "here, one GPU each when there are GPUs) or tcp://HOST:PORT (a running Dask scheduler; "
        "workers started with --resources GPU=1 get one shard per GPU). Same results as one "
        "process; manifest and RESULTS must be on a file system every worker shares. Needs "
        "pip install 'degradebench[dask]'",
    )
    p.add_argument(
        "--input-config",
        metavar="FILE",
        help="YAML/JSON file of input-config fields that override the model's",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="set_",
        help="override one input-config field (YAML value); repeatable",
    )


def _add_metric_args(p: argparse.ArgumentParser) -> None:
    """What is computed: top-k, bootstrap, break points, baseline; checks and progress."""
    p.add_argument(
        "--top-k",
        type=_int_list,
        default=[5],
        metavar="LIST",
        help="top-k accuracies to compute besides top-1 (default 5; k >= classes skipped)",
    )
    p.add_argument(
        "--bootstrap",
        type=int,
        default=1000,
        metavar="N",
        help="bootstrap replicates over source images for the CIs (default 1000; 0 = none)",
    )
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument(
        "--break-points",
        type=float,
        default=5.0,
        metavar="N",
        help="breaking level = first level more than N accuracy points below clean (default 5)",
    )
    p.add_argument(
        "--baseline",
        metavar="RESULTS",
        help="results folder of the baseline model for CE / relative CE / mCE",
    )
    p.add_argument(
        "--no-hash-check",
        action="store_true",
        help="skip checking each file's sha256 against the manifest",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--target",
        default="label",
        metavar="COLUMN",
        help="the manifest column the model predicts (default label). Target columns: "
        f"{', '.join(TARGET_HELP)}. Boolean and categorical ones are classification (classes: "
        "the sorted distinct values, booleans as false/true), numeric ones regression (one "
        "number per image; mae, rmse, within_5 per level); rows without a value are not scored. "
        "A boolean target also gets auc, balanced_accuracy, tpr_at_fpr and eer. Ignored for a "
        "localization model (scored against the masks)",
    )
    _add_forensic_args(p)


def _add_forensic_args(p: argparse.ArgumentParser) -> None:
    """Localization and detection settings (issue 14)."""
    p.add_argument(
        "--save-maps",
        action="store_true",
        help="localization: write every predicted map as an 8-bit PNG RESULTS/maps/<variant_id>.png "
        "(predictions.map_path); without it only the report's example overlays are kept "
        "(RESULTS/overlays/)",
    )
    p.add_argument(
        "--no-score-px",
        type=int,
        default=0,
        metavar="N",
        help="localization: leave out pixels within N pixels of a mask's boundary when scoring "
        "(a no-score band, as NIST MediScore; default 0 = every pixel scored)",
    )
    p.add_argument(
        "--fpr",
        type=float,
        default=0.05,
        metavar="F",
        help="detection: tpr_at_fpr is the true-positive rate at the threshold that keeps the "
        "false-positive rate on the clean authentic images at most F (default 0.05)",
    )


def _headline(res) -> str:
    """``, clean accuracy X%`` (classification) or ``, pixel F1 X on N manipulated variants``."""
    s = res.summary
    acc = s[(s["metric"] == "accuracy") & (s["axis"] == "clean")]
    if len(acc):
        return f", clean accuracy {100 * acc['value'].iloc[0]:.1f}%"
    if "pixel_f1" in res.predictions:
        f1 = res.predictions["pixel_f1"].dropna()
        return f", mean pixel F1 {f1.mean():.3f} on {len(f1)} manipulated variants" if len(f1) else ""
    return ""


def process_age() -> float:
    """Seconds since this process started (Linux: ``/proc``, 10 ms resolution; elsewhere: since
    this module was imported, which misses the interpreter's start and the first imports)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime", encoding="ascii") as fh:
            uptime = float(fh.read().split()[0])
        return max(uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK"), 0.0)
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - _IMPORTED


_SHORT = {"cli_start_to_evaluate": "start", "model_load": "model", "read_manifest": "manifest",
          "results_key": "key"}  # fmt: skip


def timings_line(timings: dict[str, float], wall: float | None = None) -> str:
    """``timings: start 2.1 s, model 0.4 s, ..., write 0.5 s; sum 24.6 s, wall 24.7 s`` (the
    phases of run.json's ``timings``; ``wall``: the process's age once the results are written)."""
    parts = ", ".join(f"{_SHORT.get(k, k)} {v:.2f} s" for k, v in timings.items())
    tail = f"; sum {sum(timings.values()):.2f} s" + (f", wall {wall:.2f} s" if wall else "")
    return f"timings: {parts}{tail}"


def run(args: argparse.Namespace) -> int:
    import degradebench as db
    from degradebench.evaluators._distributed import check_scheduler
    from degradebench.evaluators._input_config import load_input_config_file, parse_set_options
    from degradebench.evaluators._prefetch import prefetch_input, warm_cuda

    folds = parse_folds(args.folds)  # before the model loads: a typo fails fast
    check_scheduler(args.scheduler)
    file_cfg = load_input_config_file(args.input_config) if args.input_config else None
    sets = parse_set_options(args.set_)
    # While the model file imports (seconds for torchvision), CUDA starts and the manifest is
    # read and hashed in the background; evaluate() takes them (the same errors, later).
    warm_cuda(args.device)
    prefetch_input(args.manifest, folds)
    started = process_age()
    t = time.perf_counter()
    model = db.load_model(
        args.model,
        name=args.name,
        input_config=file_cfg,
        overrides=[("--set", sets)] if sets else None,
    )
    # the phases before evaluate(): interpreter start, imports and checks; the model's load
    timings = {"cli_start_to_evaluate": started, "model_load": time.perf_counter() - t}
    res = db.evaluate(
        args.manifest,
        model,
        args.out,
        device=args.device,
        batch_size=args.batch_size,
        folds=folds,
        amp=args.amp,
        workers=args.workers,
        topk=tuple(args.top_k),
        n_boot=args.bootstrap,
        seed=args.seed,
        break_points=args.break_points,
        baseline=args.baseline,
        check_hash=not args.no_hash_check,
        progress=not args.no_progress,
        channels_last=args.channels_last,
        target=args.target,
        save_maps=args.save_maps,
        no_score_px=args.no_score_px,
        fpr=args.fpr,
        axes=args.axes,
        scheduler=args.scheduler,
        decode=args.decode,
        extra_config={"input_config_file": args.input_config, "set": args.set_},
        timings=timings,
    )
    thr = res.run["throughput"]
    clean = _headline(res)
    dist = res.run.get("distributed")
    where = res.run["config"]["resolved_device"]
    where += f" x {dist['dask_workers']} Dask workers" if dist else ""
    print(
        f"evaluated {thr['images']} variants with {model.name!r} on {where} "
        f"({thr['images_per_s']:.1f} images/s){clean}; results in {res.out}",
        file=sys.stdout,
    )
    args.quick_exit = args.scheduler is None  # the CLI may skip the interpreter's teardown
    if not res.reused and res.run.get("timings"):
        print(f"degradebench evaluate: {timings_line(res.run['timings'], process_age())}",
              file=sys.stderr)  # fmt: skip
    return 0
