"""``degradebench sheet``: one source through every level of an axis, as a contact sheet."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "sheet",
        help="draw a contact sheet: one source through every level of an axis",
        description=(
            "Draw the thumbnails of one source through every level of an axis, each labelled "
            "with its level and image size (PNG at 200 dpi), so a reader can see what a level "
            "such as 'q1=60,q2=90,shift=random' looks like. Without --axis, one sheet per axis "
            "(FILE gets the axis name before its suffix)."
        ),
    )
    p.add_argument("out", metavar="OUT", help="output folder of 'degradebench generate'")
    p.add_argument("--out", dest="dest", required=True, metavar="FILE.png", help="the sheet to write")
    p.add_argument("--axis", metavar="NAME", help="the axis to show (default: every axis)")
    p.add_argument(
        "--source", metavar="ID", help="source_id to show (default: the first with every level)"
    )
    p.add_argument(
        "--zoom", type=int, metavar="PX",
        help="show each image's centre PX x PX pixels unscaled (JPEG blocks become visible)",
    )  # fmt: skip
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from degradebench.evaluators.report.sheet import write_sheet

    files = write_sheet(args.out, args.dest, axis=args.axis, source=args.source, zoom=args.zoom)
    for f in files:
        print(f"sheet: {f}")
    return 0
