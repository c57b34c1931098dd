"""``degradebench report``: curves, heat maps and tables from one or more results folders."""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "report",
        help="draw curves and write report.md / report.html / report.tex from results",
        description=(
            "Write per-axis degradation curves with bootstrap confidence bands (PNG and SVG), "
            "heat maps for two-parameter axes (double JPEG QF1 x QF2, crop dy x dx), report.md, "
            "a self-contained report.html and LaTeX tables (report.tex). Several RESULTS "
            "folders put their models side by side, with McNemar's paired test per axis."
        ),
    )
    p.add_argument(
        "results", nargs="+", metavar="RESULTS", help="folders written by 'degradebench evaluate'"
    )
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the report")
    p.add_argument("--title", default="degradebench report", help="report title")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from degradebench.evaluators import write_report

    files = write_report(args.results, args.out, title=args.title)
    print(
        f"report: {files.html} (also {files.markdown.name}, {files.latex.name}, "
        f"{len(files.figures)} figure files in {files.out / 'figures'})"
    )
    return 0
