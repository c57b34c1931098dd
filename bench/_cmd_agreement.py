"""``degradebench agreement``: how far do resize libraries disagree on a dataset's images?"""

from __future__ import annotations

import argparse

from ._options import add_config_option, add_dataset_option, add_jobs_option, resolve_jobs


def add_parser(sub: argparse._SubParsersAction) -> None:
    from degradebench.appdata import agreement_settings  # not .agreement: keeps --help fast

    p = sub.add_parser(
        "agreement",
        help="compare resize libraries pairwise on a dataset (PSNR, max diff, predictions)",
        description=(
            "For each nominal operation (e.g. 'bicubic x0.5') resize every image of DATASET with "
            "every library that has the method (Pillow, OpenCV, torch, scikit-image; each with its "
            "own defaults, plus the other antialias setting where a library has both; names say "
            "the setting: 'torch(aa=on)', 'skimage(aa=off)') and compare "
            "every pair: PSNR, maximum absolute difference, share of differing pixels and, with "
            "--model, the share of images whose predicted class differs. Writes "
            "DIR/agreement.parquet, DIR/agreement.md and a PSNR matrix plot per op (PNG and SVG)."
        ),
    )
    add_config_option(p)
    add_dataset_option(p)
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
        help="comma-separated 'METHOD xSCALE' list (default: "
        + ", ".join(agreement_settings().ops)
        + ")",
    )
    add_jobs_option(p)
    p.add_argument(
        "--float-paths",
        action="store_true",
        help="also compare each uint8 library path with the same library's float32 path",
    )
    p.add_argument("--no-plots", action="store_true", help="skip the matrix plots")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from degradebench.agreement import run_agreement

    ops = [o.strip() for o in args.ops.split(",") if o.strip()] if args.ops else None
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
        jobs=resolve_jobs(args.jobs),
    )
    print(summary.line())
    return 0
