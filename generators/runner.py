"""``generate``: execute a suite on a dataset. Plan every variant first (pure, seeded, no
pixels: ``plan``), then run grouped by source (``execute``, scheduled by ``schedule``), writing
files atomically and one manifest part per finished source, so a killed run resumes where it
stopped. The OUT folder's lock, checks and run record are ``outdir``'s.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .config import Config, load_config
from .core.errors import ConfigError
from .core.provenance import library_versions
from .datasets import SourceRef, SourceTable, limit_per_label
from .execute import execute_source, psnr_db
from .manifest.compact import compact_manifest, recover
from .manifest.memory import HeapTrim
from .manifest.writer import consolidate_errors
from .outdir import check_own_folders, check_run_record, clean_temps, make_out_dir, out_lock
from .plan import VariantPlan, plan_all, plan_source, preflight, resolve_sources
from .schedule import GenerateSummary, RunOptions, run_jobs

__all__ = [
    "generate",
    "GenerateSummary",
    "default_jobs",
    # re-exported for callers of the former single-module runner
    "VariantPlan",
    "plan_source",
    "resolve_sources",
    "execute_source",
    "make_out_dir",
    "psnr_db",
]


def default_jobs() -> int:
    """All cores this process may use (``--jobs`` default)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _check_args(jobs: int, limit: int | None, source_timeout: float | None) -> None:
    if jobs < 1:
        raise ConfigError(f"--jobs: must be an integer >= 1, got {jobs}")
    if source_timeout is not None and source_timeout <= 0:
        raise ConfigError(
            f"--source-timeout: must be a number of seconds > 0, got {source_timeout}"
        )
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit: must be an integer >= 1, got {limit}")


def select_folds(refs: Sequence[SourceRef], folds: list[int] | None) -> SourceTable:
    """The sources in ``folds`` (all when None); naming folds that select nothing is an error."""
    table = SourceTable.from_refs(refs)
    if folds is None:
        return table
    k = int(table.folds.max()) + 1
    bad = [f for f in folds if f < 0]
    if bad:
        raise ConfigError(f"--folds: fold numbers are 0..{k - 1}, got {bad}")
    have = sorted(set(table.folds.tolist()))
    chosen = np.flatnonzero(np.isin(table.folds, folds))
    if not len(chosen):
        raise ConfigError(
            f"--folds: no source is in fold {', '.join(map(str, folds))}; this dataset has folds "
            f"{', '.join(map(str, have))}"
        )
    return table.take(chosen)


def generate(
    *,
    config: str | Path | Config | None = None,
    dataset: str,
    suite: str,
    out: str | Path,
    jobs: int | None = 1,
    limit: int | None = None,
    folds: list[int] | None = None,
    psnr: bool = True,
    progress: bool = True,
    backend: str = "loky",
    scheduler: str | None = None,
    source_timeout: float | None = 300.0,
    add_suite: bool = False,
) -> GenerateSummary:
    """Generate ``suite`` on ``dataset`` into ``out`` (resumable; see the module docstring).

    Args:
        jobs: worker processes (None: all cores). ``add_suite``: allow a second suite or dataset
            in an OUT that holds another (refused otherwise).
    """
    t0 = time.perf_counter()
    jobs = default_jobs() if jobs is None else jobs
    cfg = config if isinstance(config, Config) else load_config(config)
    suite_spec = cfg.suite(suite)
    _check_args(jobs, limit, source_timeout)
    preflight(suite_spec)  # a missing codec library stops here, before OUT is touched
    out_dir = make_out_dir(out)
    summary = GenerateSummary(out_dir)
    with out_lock(out_dir):
        check_own_folders(out_dir)
        clean_temps(out_dir)
        recover(out_dir)  # a compaction killed after its commit is finished, else dropped
        name, refs = resolve_sources(cfg, dataset, jobs=jobs, progress=progress)
        refs = select_folds(refs, folds)
        if limit is not None:
            refs = limit_per_label(refs, limit)
        root = check_run_record(out_dir, suite_spec, name, add_suite=add_suite)
        meta = {
            "config_path": str(cfg.path),
            "config_sha256": cfg.sha256,
            "suite": suite_spec.name,
            "suite_sha256": suite_spec.sha256,
            "suite_definition": suite_spec.raw,
            "dataset": name,
            "versions": library_versions(),
        }
        jobs_list, skipped, duplicates = plan_all(
            refs, suite_spec, name, out_dir, progress, root=root
        )
        HeapTrim()(force=True)  # the heap that listing and hashing freed goes back before the run
        summary.sources = len(refs) - duplicates
        summary.sources_skipped = skipped
        summary.duplicates = duplicates
        opts = RunOptions(out_dir, psnr, meta, jobs, backend, scheduler, source_timeout, progress)
        run_jobs(jobs_list, opts, summary)
        del jobs_list, refs  # the plan state (~2 KB per source) goes before compaction
        consolidate_errors(out_dir)
        compact_manifest(out_dir)
    summary.seconds = time.perf_counter() - t0
    return summary
