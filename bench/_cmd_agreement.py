"""``degradebench agreement``: how far do resize libraries disagree on a dataset's images?"""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    from degradebench.generators.agreement import DEFAULT_OPS

    p = sub.add_parser(
        "agreement",
        help="compare resize libraries pairwise on a dataset (PSNR, max diff, predictions)",
        description=(
            "For each nominal operation (e.g. 'bicubic x0.5') resize every image of DATASET with "
            "every library that has the method (Pillow, OpenCV, torch, scikit-image; each with its "
            "own defaults, plus the other antialias setting where a library has both) and compare "
            "every pair: PSNR, maximum absolute difference, share of differing pixels and, with "
            "--model, the share of images whose predicted class differs. Writes "
            "DIR/agreement.parquet, DIR/agreement.md and a PSNR matrix plot per op (PNG and SVG)."
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
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument(
        "--model",
        metavar="SPEC",
        help="also report how often a model's prediction differs (built-in name, pkg.mod:fn, "
        "file.py:fn, TorchScript/export/ONNX file)",
    )
    p.add_argument(
        "--limit", type=int, metavar="N", help="only the first N images of each label (by path)"
    )
    p.add_argument(
        "--ops",
        metavar="LIST",
        help="comma-separated 'METHOD xSCALE' list (default: " + ", ".join(DEFAULT_OPS) + ")",
    )
    p.add_argument(
        "--float-paths",
        action="store_true",
        help="also compare each uint8 library path with the same library's float32 path",
    )
    p.add_argument("--no-plots", action="store_true", help="skip the matrix plots")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from degradebench.generators.agreement import run_agreement

    ops = [o for o in args.ops.split(",") if o.strip()] if args.ops else None
    summary = run_agreement(
        config=args.config,
        dataset=args.dataset,
        out=args.out,
        ops=ops,
        model=args.model,
        limit=args.limit,
        float_paths=args.float_paths,
        progress=not args.quiet,
        plots=not args.no_plots,
    )
    print(summary.line())
    return 0
