"""``degradebench report``: curves, heat maps and tables from one or more results folders."""

from __future__ import annotations

import argparse

import degradebench as db

from ._options import add_jobs_option, resolve_jobs

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "report",
        help="draw curves and write report.md / report.html / report.tex from results",
        description=(
            "Write per-axis degradation curves with bootstrap confidence intervals (PNG at "
            "200 dpi, and PDF for LaTeX; raster figures -- heat maps, overlays, contact sheets -- as "
            "PNG only), heat maps for two-parameter axes (double JPEG QF1 x QF2, crop "
            "dy x dx; n per cell, cells under --min-count greyed out), one figure per resize "
            "method with a series per library, a contact sheet per axis (without example "
            "overlays) when the manifest is "
            "reachable, report.md, a self-contained report.html and report.tex (a fragment for a "
            "one-column article: booktabs, longtable, array, graphicx). Several RESULTS folders "
            "put their models side by side (one model evaluated on several suites is one model), "
            "with McNemar's paired test per axis between different models. Forensic results (a "
            "localizer, a detector) get curves of their pixel and detection figures per axis "
            "(best-threshold figures labelled optimistic), tables per level with n, and per "
            "level a row of example overlays (image | true mask | predicted map). Regression "
            "results (a numeric --target such as primary_quality) get curves of MAE / RMSE and "
            "within 5 per axis with n, a table per level and the clean MAE in the headline."
        ),
    )
    p.add_argument(
        "results", nargs="+", metavar="RESULTS", help="folders written by 'degradebench evaluate'"
    )
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the report")
    p.add_argument("--title", default="degradebench report", help="report title")
    p.add_argument(
        "--min-count", type=int, default=10, metavar="N",
        help="heat-map cells with fewer than N sources are greyed out (default 10)",
    )  # fmt: skip
    add_jobs_option(p, "processes drawing and writing the figures")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    files = db.write_report(args.results, args.out, title=args.title, min_count=args.min_count,
                            jobs=resolve_jobs(args.jobs))  # fmt: skip
    print(
        f"report: {files.html} (also {files.markdown.name}, {files.latex.name}, "
        f"{len(files.figures)} figure files in {files.out / 'figures'})"
    )
    return 0
