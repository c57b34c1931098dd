"""The OUT folder: creating it, the lock that keeps a second run out, checks that its own folders
are real folders inside it, the record of which suite definitions it holds, and temp cleanup."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .config import SuiteSpec
from .core.errors import ConfigError, DegradebenchError, LockedError
from .core.files import DirLock, atomic_write_bytes, remove_temp_files
from .manifest import MANIFEST_DIR, STATE_DIR, ManifestError
from .manifest.schema import RUNS_FILE
from .manifest.writer import slug

__all__ = [
    "RUNS_FILE",
    "make_out_dir",
    "out_lock",
    "check_own_folders",
    "check_run_record",
    "clean_temps",
]


def make_out_dir(out: str | Path) -> Path:
    """Create ``--out`` (and parents); a failure is one line naming the folder."""
    out_dir = Path(out).expanduser()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DegradebenchError(f"--out: cannot create {str(out_dir)!r}: {exc.strerror}") from None
    return out_dir


def out_lock(out_dir: Path) -> DirLock:
    """The lock that keeps a second run out of OUT."""
    busy = LockedError(
        f"{out_dir} is being written by another degradebench run; wait for it to finish or "
        "choose another --out"
    )
    return DirLock(out_dir, busy)


def check_own_folders(out_dir: Path) -> None:
    """OUT's own folders must be real folders inside OUT: a planted symlink would lead the
    manifest or the run state somewhere else (variant folders are checked as they are made)."""
    real_out = os.path.realpath(out_dir)
    for name in (MANIFEST_DIR, STATE_DIR, "variants"):
        p = out_dir / name
        real = os.path.realpath(p)
        if p.is_symlink() or os.path.commonpath([real_out, real]) != real_out:
            raise ManifestError(
                f"{p} is a symlink (to {real}); OUT's own folders must be real folders inside "
                "it: remove the link"
            )


def _read_runs(out_dir: Path) -> dict:
    rec_path = out_dir / RUNS_FILE
    try:
        runs = json.loads(rec_path.read_text()) if rec_path.is_file() else {}
        if not isinstance(runs, dict) or not all(
            isinstance(v, dict) and "suite_sha256" in v for v in runs.values()
        ):
            raise ValueError("not a map of dataset/suite -> record")
    except (OSError, ValueError) as exc:
        raise ManifestError(
            f"{rec_path} is unreadable ({exc}); it records which suite definitions {out_dir} "
            "holds: restore it, or use a new --out"
        ) from None
    return runs


VARIANTS_ROOT = "variants"


def check_run_record(
    out_dir: Path, suite: SuiteSpec, dataset: str, *, add_suite: bool = False
) -> str:
    """A resumed run must use the same suite definition as the run it continues; an OUT holds
    one suite of one dataset unless ``add_suite`` (``--add-suite``) allows another.

    Returns the folder (relative to OUT) this run writes its variants under: ``variants`` for
    the first suite of an OUT, ``variants/<dataset>-<suite>`` for each one added later, so two
    suites never write the same path; recorded, so a resumed run keeps its folder."""
    runs = _read_runs(out_dir)
    key = f"{dataset}/{suite.name}"
    prev = runs.get(key)
    if prev is not None and prev["suite_sha256"] != suite.sha256:
        raise ConfigError(
            f"--suite: {out_dir} already holds suite {suite.name!r} of dataset {dataset!r} made with a "
            f"different definition (sha256 {prev['suite_sha256'][:12]} vs {suite.sha256[:12]}); "
            f"use a new --out, or rename the suite"
        )
    if prev is None and runs and not add_suite:
        _refuse_second(out_dir, sorted(runs), dataset, suite.name)
    if prev is None:
        _refuse_same_name(out_dir, sorted(runs), dataset, suite.name)
    if prev is not None:
        root = prev.get("variants", VARIANTS_ROOT)
    else:
        root = f"{VARIANTS_ROOT}/{slug(dataset)}-{slug(suite.name)}" if runs else VARIANTS_ROOT
    runs[key] = {"suite_sha256": suite.sha256, "suite": suite.raw, "variants": root}
    atomic_write_bytes(out_dir / RUNS_FILE, json.dumps(runs, indent=2, sort_keys=True).encode())
    return root


def _refuse_second(out_dir: Path, held: list[str], dataset: str, suite: str) -> None:
    """One suite of one dataset per OUT: evaluators would otherwise pool unrelated variants."""
    datasets = {k.partition("/")[0] for k in held}
    suites = ", ".join(repr(k.partition("/")[2]) for k in held)
    if dataset not in datasets:
        what = (
            f"dataset {', '.join(map(repr, sorted(datasets)))}, not dataset {dataset!r} "
            f"(suite {suite!r})"
        )
    else:
        what = f"suite {suites}, not suite {suite!r}"
    raise ConfigError(
        f"--out: {out_dir} already holds {what}; one suite of one dataset per OUT: choose "
        "another --out, or pass --add-suite to add it to this one"
    )


def _refuse_same_name(out_dir: Path, held: list[str], dataset: str, suite: str) -> None:
    """One dataset per suite name in an OUT, even with ``--add-suite``: evaluators key results
    by suite and would pool both datasets' variants in one summary row."""
    other = sorted(k.partition("/")[0] for k in held if k.partition("/")[2] == suite)
    if other:
        raise ConfigError(
            f"--add-suite: {out_dir} already holds suite {suite!r} of dataset {other[0]!r}; "
            f"the same suite of dataset {dataset!r} would be pooled with it in one summary row: "
            "one dataset per suite name in an OUT, choose another --out for it"
        )


def clean_temps(out_dir: Path) -> int:
    """Remove temp files a killed run left (``.NAME.tmp-*``) anywhere in OUT; returns how many."""
    return remove_temp_files(out_dir, recursive=True)
