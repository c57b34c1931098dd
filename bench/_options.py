"""Options several commands share: ``--jobs`` (default: every core this process may use),
``--config`` and ``--dataset``."""

from __future__ import annotations

import argparse
import os

__all__ = ["cores", "add_jobs_option", "resolve_jobs", "add_config_option", "add_dataset_option"]


def cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def add_jobs_option(parser: argparse.ArgumentParser, what: str = "worker processes") -> None:
    """``--jobs N``: default all cores; ``-1`` also means all cores."""
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help=f"{what} (default: all cores, {cores()} here; -1 also means all)",
    )


def resolve_jobs(jobs: int | None) -> int:
    """``None`` or ``-1`` -> all cores; other values are passed on (the callee checks them)."""
    return cores() if jobs is None or jobs == -1 else jobs


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """``--config FILE``: the datasets.yaml to read."""
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="datasets.yaml to use (default: ./datasets.yaml if present, else the shipped one)",
    )


def add_dataset_option(parser: argparse.ArgumentParser) -> None:
    """``--dataset NAME_OR_PATH`` (required)."""
    parser.add_argument(
        "--dataset",
        required=True,
        metavar="NAME_OR_PATH",
        help="a dataset name from the config, or the path of a folder-per-class tree "
        "root/<label>/* (a folder holding list.csv is read as that list)",
    )
