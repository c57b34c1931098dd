"""``degradebench train-reference``: train the reference camera-model (or scanner) classifier.

The shipped weights (``evaluators/reference_weights.pt``) come from

    degradebench train-reference --out runs/reference --seed 0 --threads 1

which builds the default virtual-cameras dataset into ``runs/reference/data`` and trains with the
default recipe; ``runs/reference/reference_training.json`` holds the sha256 to compare.
``--policy NAME`` (a name of the config's ``policies:``; default ``clean``, which keeps those
weights bit for bit) degrades each training image per (epoch, index) before patches are cut.

``--task scanner`` trains the reference scanner model instead (``reference-scanner``; shipped
as ``evaluators/reference_scanner_weights.pt``, recipe ``reference_scanner_recipe.json``):

    degradebench train-reference --task scanner --out runs/reference-scanner --seed 0 --threads 1

builds the default virtual-scanners dataset into ``OUT/data`` (label = scanner model, group =
the document) and writes ``reference_scanner_weights.pt``, ``reference_scanner_config.json``
and ``reference_scanner_training.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ._options import add_config_option

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from degradebench.evaluators._recipe import DEFAULTS

    p = subparsers.add_parser(
        "train-reference",
        help="train the reference camera-model or scanner classifier (CPU, a few minutes)",
        description=(
            "Train the reference camera-model CNN on patches of folds 1-4 (fold 0 is held "
            "out) and write OUT/reference_weights.pt, reference_config.json and "
            "reference_training.json. With --policy, each training image is degraded once per "
            "epoch by a chain drawn from the policy for (seed, epoch, image) before the patches "
            "are cut (the policy, its sha256 and the chains applied are recorded). "
            "Deterministic: the same data, policy, seed and --threads give the same weights; "
            "the default policy 'clean' gives the shipped weights bit for bit. "
            "--task scanner trains the reference scanner model on document scans instead."
        ),
    )
    p.add_argument(
        "--task",
        choices=("camera", "scanner"),
        default="camera",
        help="camera: the camera-model reference on virtual cameras (default); scanner: the "
        "scanner-model reference on virtual scanners (its own recipe and file names)",
    )
    p.add_argument(
        "--dataset-root",
        type=Path,
        help="a folder holding list.csv or list.parquet (path,label[,group]), or a "
        "folder-per-class tree (default: build the default virtual-cameras, or with --task "
        "scanner virtual-scanners, dataset into OUT/data)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: runs/reference, or runs/reference-scanner)",
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help=f"training epochs (default: the task's recipe; camera {DEFAULTS['epochs']})",
    )
    p.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    p.add_argument(
        "--policy",
        default="clean",
        metavar="NAME",
        help="training policy from the config's policies: map (clean, jpeg, grid, jpeg+grid, "
        "social ship; default clean: no degradation)",
    )
    add_config_option(p)
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="worker processes for building the default dataset (default 1)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads (default 1; the weights depend on this number)",
    )
    p.add_argument(
        "--patches-per-image",
        type=int,
        default=None,
        help="random patches per image and epoch (default: the task's recipe; camera "
        f"{DEFAULTS['patches_per_image']})",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


def _default_dataset(args: argparse.Namespace, out: Path) -> Path:
    """Build the task's default dataset into ``OUT/data``; the folder holding its list.csv."""
    start = time.perf_counter()
    if args.task == "scanner":
        from degradebench.generators.virtual_scanners import (
            VirtualScannersParams,
            build_virtual_scanners,
        )

        built = build_virtual_scanners(
            VirtualScannersParams(), out / "data", jobs=args.jobs, progress=not args.quiet
        )
    else:
        from degradebench.generators.virtual_cameras import (
            VirtualCamerasParams,
            build_virtual_cameras,
        )

        built = build_virtual_cameras(
            VirtualCamerasParams(), out / "data", jobs=args.jobs, progress=not args.quiet
        )
    root = Path(built).parent if Path(built).is_file() else Path(built)
    print(f"dataset: {root} ({time.perf_counter() - start:.1f} s)", file=sys.stderr)
    return root


def _train(args: argparse.Namespace, root: Path, out: Path, degrade) -> tuple:
    """Train the task's model with the options given (None: the task's recipe); returns the
    weights, the training seconds and the held-out (fold 0) accuracy and image count."""
    opts = {"seed": args.seed, "threads": args.threads, "progress": not args.quiet,
            "degrade": degrade}  # fmt: skip
    if args.epochs is not None:
        opts["epochs"] = args.epochs
    if args.patches_per_image is not None:
        opts["patches_per_image"] = args.patches_per_image
    start = time.perf_counter()
    if args.task == "scanner":
        from degradebench.evaluators._train_reference_scanner import (
            held_out_accuracy,
            train_reference_scanner,
        )

        weights = train_reference_scanner(root, out, **opts)
    else:
        from degradebench.evaluators._train_reference import train_reference

        weights = train_reference(root, out, **opts)
        held_out_accuracy = _camera_held_out
    seconds = time.perf_counter() - start
    acc, n = held_out_accuracy(weights, root)
    return weights, seconds, acc, n


def _camera_held_out(weights: Path, root: Path) -> tuple[float | None, int]:
    from degradebench.evaluators._train_reference import load_split
    from degradebench.evaluators.reference import load_reference, predict_image

    model, config = load_reference(weights)
    items, _ = load_split(root, (0,))
    if not items:
        return None, 0
    pred = predict_image(model, config, [img for img, _, _ in items]).argmax(1)
    truth = [config["classes"].index(lab) for _, lab, _ in items]
    return sum(int(p == t) for p, t in zip(pred, truth)) / len(items), len(items)


def run(args: argparse.Namespace) -> int:
    from degradebench.data import Degrade
    from degradebench.generators.config import load_config
    from degradebench.generators.core.errors import ConfigError

    if args.jobs == 0 or args.jobs < -1:
        raise ConfigError(
            f"--jobs: must be a positive integer or -1, got {args.jobs}; e.g. --jobs 2, or -1 "
            "for every core"
        )
    out = args.out or Path("runs/reference-scanner" if args.task == "scanner" else "runs/reference")
    # the policy first: a misspelt name fails before the dataset is built
    degrade = Degrade(args.policy, seed=args.seed, config=load_config(args.config))
    root = args.dataset_root
    if root is None:
        root = _default_dataset(args, out)
    elif not Path(root).is_dir():
        kind = "virtual scanners" if args.task == "scanner" else "virtual cameras"
        raise ConfigError(
            f"--dataset-root: folder not found: {str(root)!r}; pass a folder-per-class tree or a "
            "folder holding list.csv or list.parquet, or leave --dataset-root out to build the "
            f"{kind} into OUT/data"
        )

    weights, seconds, acc, n = _train(args, Path(root), out, degrade)
    held_out = f"; held-out fold 0: {acc:.1%} of {n} images" if n else "; fold 0 is empty"
    print(f"{weights} ({seconds:.0f} s, policy {args.policy!r}){held_out}", file=sys.stderr)
    return 0
