"""``degradebench train-matrix``: the train-on-X / test-on-Y matrix (:mod:`.train_matrix`)."""

from __future__ import annotations

import argparse
import sys

from ._options import add_config_option, add_jobs_option

__all__ = ["add_parser", "run"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    from degradebench.appdata import matrix_settings

    s = matrix_settings()
    p = subparsers.add_parser(
        "train-matrix",
        help="train the reference model under each training policy and test each on the "
        f"{' and '.join(s.suites)} suites (the train-on-X / test-on-Y matrix)",
        description=(
            "Train one reference camera-model CNN per training policy (datasets.yaml policies:) "
            f"on the folds other than {s.fold} of the virtual cameras (built beneath DIR unless "
            f"--dataset-root is given), evaluate each on the {' and '.join(s.suites)} suites on "
            f"the held-out fold {s.fold} (generated once beneath DIR), and write DIR/matrix.parquet "
            "(policy, axis, level, metric, value, ci_low, ci_high, n), DIR/matrix.png and .svg "
            "(rows = training policy, columns = test condition, clean first) and matrix.json. "
            "Resumable: a trained policy is not retrained, a finished evaluation is reused. "
            "Threads: each training uses --threads torch threads (default 1) and its weights are "
            "bit for bit the same for the same --threads; --jobs trains that many policies at "
            "once in separate processes (default all cores), which does not change the weights. "
            "Evaluation uses every core. 'degradebench report DIR --out R' shows the matrix."
        ),
    )
    p.add_argument("--out", required=True, metavar="DIR", help="folder for everything it writes")
    p.add_argument(
        "--policies",
        default=",".join(s.policies),
        metavar="A,B,...",
        help=f"training policies, comma-separated (default {','.join(s.policies)})",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="a small dataset and a short recipe (CI-sized: minutes on 2 cores; not the "
        "measured matrix); use another --out than the full run. With --dataset-root, the "
        "quick dataset is not built (that folder is used as given): only the short recipe "
        "applies",
    )
    p.add_argument(
        "--dataset-root",
        metavar="DIR",
        help="train and evaluate on this dataset (a folder with list.csv or list.parquet, or a "
        "folder-per-class tree) instead of building the virtual cameras (also with --quick)",
    )
    add_config_option(p)
    add_jobs_option(p, "processes for building, generating and training (policies at once)")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads per training (default 1; the weights depend on this number)",
    )
    p.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    p.add_argument(
        "--patches-per-image",
        type=int,
        default=None,
        help="override the recipe's random patches per image and epoch",
    )
    p.add_argument("--device", default="auto", help="auto, cuda or cpu for the evaluation")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from degradebench.evaluators.report.matrix import summary_frame
    from degradebench.evaluators.report.view import fmt

    from .train_matrix import train_matrix

    r = train_matrix(
        args.out, policies=args.policies, quick=args.quick, dataset_root=args.dataset_root,
        config=args.config, jobs=args.jobs, threads=args.threads, device=args.device,
        progress=not args.no_progress, epochs=args.epochs,
        patches_per_image=args.patches_per_image,
    )  # fmt: skip
    table = summary_frame(r["frame"], r["summary"])
    if len(table.columns):
        width = max(len(p) for p in table.index)
        print("accuracy (%) per training policy; columns: " + " | ".join(table.columns))
        for policy, row in zip(table.index, table.to_numpy()):
            print(f"  {policy:<{width}}  " + "  ".join(f"{fmt(v):>5}" for v in row))
    t = r["times"]
    print(f"matrix: {r['matrix']} ({r['png'].name}, {r['svg'].name}); {t['total']:.0f} s "
          f"(train {t['train']:.0f} s, evaluate {t['evaluate']:.0f} s)", file=sys.stderr)  # fmt: skip
    return 0
