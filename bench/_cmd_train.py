"""``degradebench train-reference``: train the reference camera-model classifier.

The shipped weights (``evaluators/reference_weights.pt``) come from

    degradebench train-reference --out runs/reference --seed 0 --threads 1

which builds the default virtual-cameras dataset into ``runs/reference/data`` and trains with the
default recipe; ``runs/reference/reference_training.json`` holds the sha256 to compare.
``--policy NAME`` (a name of the config's ``policies:``; default ``clean``, which keeps those
weights bit for bit) degrades each training image per (epoch, index) before patches are cut.
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
        help="train the reference camera-model classifier (CPU, a few minutes)",
        description=(
            "Train the reference camera-model CNN on patches of folds 1-4 (fold 0 is held "
            "out) and write OUT/reference_weights.pt, reference_config.json and "
            "reference_training.json. With --policy, each training image is degraded once per "
            "epoch by a chain drawn from the policy for (seed, epoch, image) before the patches "
            "are cut (the policy, its sha256 and the chains applied are recorded). "
            "Deterministic: the same data, policy, seed and --threads give the same weights; "
            "the default policy 'clean' gives the shipped weights bit for bit."
        ),
    )
    p.add_argument(
        "--dataset-root",
        type=Path,
        help="a folder holding list.csv or list.parquet (path,label[,group]), or a "
        "folder-per-class tree (default: build the default virtual-cameras dataset into "
        "OUT/data)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("runs/reference"),
        help="output folder (default: runs/reference)",
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=DEFAULTS["epochs"],
        help=f"training epochs (default {DEFAULTS['epochs']})",
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
        default=DEFAULTS["patches_per_image"],
        help=f"random patches per image and epoch (default {DEFAULTS['patches_per_image']})",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from degradebench.data import Degrade
    from degradebench.evaluators._train_reference import load_split, train_reference
    from degradebench.evaluators.reference import load_reference, predict_image
    from degradebench.generators.config import load_config
    from degradebench.generators.core.errors import ConfigError

    if args.jobs == 0 or args.jobs < -1:
        raise ConfigError(
            f"--jobs: must be a positive integer or -1, got {args.jobs}; e.g. --jobs 2, or -1 "
            "for every core"
        )
    # the policy first: a misspelt name fails before the dataset is built
    degrade = Degrade(args.policy, seed=args.seed, config=load_config(args.config))
    root = args.dataset_root
    if root is None:
        from degradebench.generators.virtual_cameras import (
            VirtualCamerasParams,
            build_virtual_cameras,
        )

        start = time.perf_counter()
        root = build_virtual_cameras(
            VirtualCamerasParams(), args.out / "data", jobs=args.jobs, progress=not args.quiet
        ).parent
        print(f"dataset: {root} ({time.perf_counter() - start:.1f} s)", file=sys.stderr)
    elif not Path(root).is_dir():
        raise ConfigError(
            f"--dataset-root: folder not found: {str(root)!r}; pass a folder-per-class tree or a "
            "folder holding list.csv or list.parquet, or leave --dataset-root out to build the "
            "virtual cameras into OUT/data"
        )

    start = time.perf_counter()
    weights = train_reference(
        root,
        args.out,
        epochs=args.epochs,
        seed=args.seed,
        threads=args.threads,
        progress=not args.quiet,
        patches_per_image=args.patches_per_image,
        degrade=degrade,
    )
    seconds = time.perf_counter() - start

    model, config = load_reference(weights)
    items, _ = load_split(root, (0,))
    if items:
        pred = predict_image(model, config, [img for img, _, _ in items]).argmax(1)
        truth = [config["classes"].index(lab) for _, lab, _ in items]
        acc = sum(int(p == t) for p, t in zip(pred, truth)) / len(items)
        held_out = f"; held-out fold 0: {acc:.1%} of {len(items)} images"
    else:
        held_out = "; fold 0 is empty"
    print(f"{weights} ({seconds:.0f} s, policy {args.policy!r}){held_out}", file=sys.stderr)
    return 0
