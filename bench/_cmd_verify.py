"""``degradebench verify``: check that OUT's files still match its manifest."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="re-hash every variant file and re-read its JPEG tables against the manifest",
        description=(
            "Re-hash every file named in OUT/manifest, re-read JPEG quantization tables and "
            "subsampling, check sizes and paths. Exits 1 on any mismatch or missing file. Sources "
            "recorded in OUT/errors.parquet are reported but are not failures; files that no manifest "
            "row names (left by a killed run that was not resumed) are listed as orphans."
        ),
    )
    p.add_argument("out", metavar="OUT", help="an output folder written by 'degradebench generate'")
    p.add_argument(
        "--max-problems", type=int, default=20, metavar="N", help="print at most N problems"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import degradebench as db

    report = db.verify(args.out)
    for msg in report.problems[: args.max_problems]:
        print(f"  {msg}", file=sys.stderr)
    if len(report.problems) > args.max_problems:
        print(f"  ... and {len(report.problems) - args.max_problems} more", file=sys.stderr)
    for line in report.orphan_lines(20):
        print(f"  {line}", file=sys.stderr)
    print(report.line())
    return 0 if report.ok else 1
