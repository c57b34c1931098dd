"""``degradebench generate``: make a suite's variants of a dataset, with a Parquet manifest."""

from __future__ import annotations

import argparse
import sys

from degradebench.generators.core.records import parse_folds

from ._options import add_config_option, add_dataset_option, add_jobs_option, resolve_jobs


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
    add_config_option(p)
    add_dataset_option(p)
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
    add_jobs_option(p)
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
    p.add_argument(
        "--add-suite",
        action="store_true",
        help="allow OUT to hold a second suite or dataset (refused otherwise: evaluators would "
        "pool unrelated variants)",
    )
    p.add_argument("--no-psnr", action="store_true", help="skip the PSNR column (faster)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import degradebench as db

    summary = db.generate(
        config=args.config,
        dataset=args.dataset,
        suite=args.suite,
        out=args.out,
        jobs=resolve_jobs(args.jobs),
        limit=args.limit,
        folds=parse_folds(args.folds),
        psnr=not args.no_psnr,
        scheduler=args.scheduler,
        source_timeout=args.source_timeout,
        progress=not args.quiet,
        add_suite=args.add_suite,
    )
    print(f"degradebench generate: {summary.line()}", file=sys.stderr)
    print(f"manifest: {summary.out / 'manifest'}")
    return 0
