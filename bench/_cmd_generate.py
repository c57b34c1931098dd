"""``degradebench generate``: make a suite's variants of a dataset, with a Parquet manifest."""

from __future__ import annotations

import argparse
import sys

from degradebench.generators.core.errors import ConfigError
from degradebench.generators.core.records import parse_folds


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "generate",
        help="generate a suite's degraded variants of a dataset (resumable)",
        description=(
            "Plan every variant of SUITE for each source of DATASET (seeded, no pixels), then make "
            "them grouped by source: each source is decoded once, files are written atomically and "
            "the manifest (OUT/manifest/*.parquet) grows one part per finished source. Rerun the same "
            "command to resume a killed run. Bad sources are listed in OUT/errors.parquet."
        ),
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        help="datasets.yaml to use (default: ./datasets.yaml if present, else the shipped one)",
    )
    p.add_argument(
        "--dataset",
        required=True,
        metavar="NAME_OR_PATH",
        help="a dataset name from the config, or the path of a folder-per-class tree root/<label>/*",
    )
    p.add_argument(
        "--suite",
        default="default",
        metavar="NAME",
        help="suite name from the config (default: default)",
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="OUT",
        help="output folder (variants/, manifest/, errors.parquet)",
    )
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes (default: 1)")
    p.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="only the first N sources of each label (sorted by path)",
    )
    p.add_argument("--folds", metavar="LIST", help="only sources in these folds, e.g. 0 or 0,1")
    p.add_argument(
        "--scheduler",
        metavar="ADDR",
        help="run on a Dask cluster: tcp://host:port (workers must share OUT's file system) "
        "or local:N (a LocalCluster of N processes on this machine)",
    )
    p.add_argument(
        "--source-timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="give up on a source after this long and record it in errors.parquet (default: 300)",
    )
    p.add_argument("--no-psnr", action="store_true", help="skip the PSNR column (faster)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from degradebench.generators import generate

    summary = generate(
        config=args.config,
        dataset=args.dataset,
        suite=args.suite,
        out=args.out,
        jobs=args.jobs,
        limit=args.limit,
        folds=parse_folds(args.folds),
        psnr=not args.no_psnr,
        scheduler=args.scheduler,
        source_timeout=args.source_timeout,
        progress=not args.quiet,
    )
    print(f"degradebench generate: {summary.line()}", file=sys.stderr)
    print(f"manifest: {summary.out / 'manifest'}")
    return 0
