"""``degradebench build-dataset``: generate a built-in dataset (``virtual-cameras``,
``virtual-scanners``)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ._options import add_jobs_option, resolve_jobs

__all__ = ["add_parser", "run"]

KINDS = ("virtual-cameras", "virtual-scanners")
# Options that only one kind takes: (option dest, kind).
_ONLY = {
    "models": "virtual-cameras",
    "images": "virtual-cameras",
    "size": "virtual-cameras",
    "printers": "virtual-scanners",
    "scanners": "virtual-scanners",
    "documents": "virtual-scanners",
    "size_mm": "virtual-scanners",
    "label": "virtual-scanners",
}


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "build-dataset",
        help="generate a built-in dataset (virtual-cameras: camera-model ID data; "
        "virtual-scanners: document scans for scanner/printer ID)",
        description=(
            "Generate a built-in dataset. virtual-cameras: K camera models x D devices x N shots "
            "of one shared scene pool, written as OUT/<model>/<image>.jpg with list.csv "
            "(path,label,group) and metadata.json. virtual-scanners: N synthetic documents, "
            "each printed by P virtual printers and scanned by S scanner models x D devices, "
            "written as OUT/<scanner or printer>/<page>.jpg|.png with a layout sidecar "
            "<page>.json, list.csv (group = the document) and metadata.json. Deterministic "
            "from --seed; rerunning with the same options is a no-op."
        ),
    )
    p.add_argument("kind", choices=KINDS, help="which dataset to build")
    p.add_argument("--out", type=Path, required=True, help="dataset folder to create")
    p.add_argument("--models", type=int, help="camera models (classes), 1..12 (default 6)")
    p.add_argument("--devices", type=int, help="devices per camera/scanner model (default 2)")
    p.add_argument("--images", type=int, help="images per device (default 30)")
    p.add_argument("--size", type=int, help="image side in pixels, >= 64 (default 256)")
    p.add_argument("--printers", type=int, help="virtual-scanners: printer models (default 3)")
    p.add_argument("--scanners", type=int, help="virtual-scanners: scanner models (default 4)")
    p.add_argument("--documents", type=int, help="virtual-scanners: documents (default 6)")
    p.add_argument(
        "--size-mm",
        type=float,
        nargs=2,
        metavar=("H", "W"),
        help="virtual-scanners: page window printed and scanned, mm (default 40 40)",
    )
    p.add_argument(
        "--label",
        choices=("scanner", "printer"),
        help="virtual-scanners: class = scanner model (default) or printer model",
    )
    p.add_argument("--seed", type=int, help="seed of every random draw (default 0)")
    add_jobs_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def _check_options(args: argparse.Namespace) -> None:
    from degradebench.generators.core.errors import ConfigError

    for dest, kind in _ONLY.items():
        if getattr(args, dest, None) is not None and args.kind != kind:
            flag = "--" + dest.replace("_", "-")
            raise ConfigError(f"build-dataset {args.kind}: {flag} applies to {kind} only; drop it")


def params_from_args(args: argparse.Namespace):
    """The kind's params record from the command-line options that were given (others:
    defaults)."""
    _check_options(args)
    if args.kind == "virtual-scanners":
        from degradebench.generators.virtual_scanners import VirtualScannersParams

        given = {
            "printers": args.printers,
            "scanners": args.scanners,
            "devices_per_scanner": args.devices,
            "documents": args.documents,
            "size_mm": args.size_mm,
            "label": args.label,
            "seed": args.seed,
        }
        mapping = {k: v for k, v in given.items() if v is not None}
        return VirtualScannersParams.from_mapping(mapping, "build-dataset virtual-scanners")
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


def _run_scanners(params, args: argparse.Namespace, jobs: int) -> str:
    from degradebench.generators.virtual_scanners import build_virtual_scanners

    table = build_virtual_scanners(params, args.out, jobs=jobs, progress=not args.quiet)
    return (
        f"{table.parent}: {params.images} scans, {params.documents} documents x "
        f"{params.printers} printers x {params.scanners} scanners x "
        f"{params.devices_per_scanner} devices, label {params.label}"
    )


def run(args: argparse.Namespace) -> int:
    from degradebench.generators import virtual_cameras

    params = params_from_args(args)
    start = time.perf_counter()
    jobs = resolve_jobs(args.jobs)
    if args.kind == "virtual-scanners":
        line = _run_scanners(params, args, jobs)
    else:
        table = virtual_cameras.build_virtual_cameras(
            params, args.out, jobs=jobs, progress=not args.quiet
        )
        line = (
            f"{table.parent}: {params.images} images, {params.models} models x "
            f"{params.devices_per_model} devices x {params.images_per_device} scenes, "
            f"{params.size}px"
        )
    print(f"{line} ({time.perf_counter() - start:.1f} s)", file=sys.stderr)
    return 0
