"""``degradebench build-dataset``: generate a built-in dataset (today: ``virtual-cameras``)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ._options import add_jobs_option, resolve_jobs

__all__ = ["add_parser", "run"]

KINDS = ("virtual-cameras",)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "build-dataset",
        help="generate a built-in dataset (virtual-cameras: synthetic camera-model ID data)",
        description=(
            "Generate a built-in dataset. virtual-cameras: K camera models x D devices x N shots "
            "of one shared scene pool, written as OUT/<model>/<image>.jpg with list.csv "
            "(path,label,group) and metadata.json. Deterministic from --seed; rerunning with "
            "the same options is a no-op."
        ),
    )
    p.add_argument("kind", choices=KINDS, help="which dataset to build")
    p.add_argument("--out", type=Path, required=True, help="dataset folder to create")
    p.add_argument("--models", type=int, help="camera models (classes), 1..12 (default 6)")
    p.add_argument("--devices", type=int, help="devices per model (default 2)")
    p.add_argument("--images", type=int, help="images per device (default 30)")
    p.add_argument("--size", type=int, help="image side in pixels, >= 64 (default 256)")
    p.add_argument("--seed", type=int, help="seed of every random draw (default 0)")
    add_jobs_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def params_from_args(args: argparse.Namespace):
    """VirtualCamerasParams from the command-line options that were given (others: defaults)."""
    from degradebench.generators.virtual_cameras import VirtualCamerasParams

    given = {
        "models": args.models,
        "devices_per_model": args.devices,
        "images_per_device": args.images,
        "size": args.size,
        "seed": args.seed,
    }
    mapping = {k: v for k, v in given.items() if v is not None}
    return VirtualCamerasParams.from_mapping(mapping, "build-dataset virtual-cameras")


def run(args: argparse.Namespace) -> int:
    from degradebench.generators.virtual_cameras import build_virtual_cameras

    params = params_from_args(args)
    start = time.perf_counter()
    jobs = resolve_jobs(args.jobs)
    table = build_virtual_cameras(params, args.out, jobs=jobs, progress=not args.quiet)
    seconds = time.perf_counter() - start
    print(
        f"{table.parent}: {params.images} images, {params.models} models x {params.devices_per_model} "
        f"devices x {params.images_per_device} scenes, {params.size}px ({seconds:.1f} s)",
        file=sys.stderr,
    )
    return 0
