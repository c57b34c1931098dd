"""Scheduling: run source jobs here (one process), on joblib workers, or on a Dask cluster, and
fold their results into the run summary as they finish."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from .core.errors import ConfigError, DegradebenchError, OutputError
from .execute import execute_source
from .manifest import ERRORS_FILE
from .plan import PlannedJobs, SourceJob

__all__ = ["GenerateSummary", "run_jobs", "dask_results", "dask_client"]

Result = tuple[int, list[dict], int]
Jobs = PlannedJobs | list[SourceJob]  # sized iterables of jobs; PlannedJobs plans each on demand


@dataclass
class GenerateSummary:
    """What a ``generate`` run did (counts, errors, time); ``line()`` is the CLI's summary."""

    out: Path
    sources: int = 0
    sources_skipped: int = 0  # finished by an earlier run
    variants: int = 0
    failed_sources: int = 0
    failed_variants: int = 0
    duplicates: int = 0  # files with the same bytes as an earlier one: listed in errors.parquet
    seconds: float = 0.0
    errors: list[dict] = field(default_factory=list)

    def line(self) -> str:
        """One line: variants, sources, failures, and where the errors are."""
        return (
            f"{self.variants} variants from {self.sources} sources "
            f"({self.sources_skipped} already done) in {self.seconds:.1f}s; "
            f"{self.failed_sources} sources and {self.failed_variants} variants failed"
            + (f"; {self.duplicates} duplicate files skipped" if self.duplicates else "")
            + (
                f" (see {self.out / ERRORS_FILE})"
                if self.failed_sources or self.failed_variants or self.duplicates
                else ""
            )
        )

    def add(self, result: Result) -> None:
        """Count one finished source."""
        n, errors, _ = result
        self.variants += n
        self.failed_sources += any(e["stage"] != "variant" for e in errors)
        self.failed_variants += sum(e["stage"] == "variant" for e in errors)
        self.errors.extend(errors)


@dataclass(frozen=True)
class RunOptions:
    """How to run the jobs of one ``generate`` call."""

    out: Path
    psnr: bool
    meta: dict
    jobs: int = 1
    backend: str = "loky"
    scheduler: str | None = None
    timeout: float | None = None
    progress: bool = True


def _total(jobs_list: Jobs) -> int:
    if isinstance(jobs_list, PlannedJobs):
        return jobs_list.variants_hint()
    return sum(len(j.plans) for j in jobs_list)


def run_jobs(jobs_list: Jobs, opts: RunOptions, summary: GenerateSummary) -> None:
    """Run every job, updating ``summary``; a write failure (OutputError) stops dispatch and is
    raised once the sources in flight finish. Jobs are taken from ``jobs_list`` as workers
    free up (joblib's ``pre_dispatch``, Dask's window), so memory does not grow with the run."""
    from tqdm.auto import tqdm

    total = _total(jobs_list)
    bar = tqdm(
        total=total, desc="generating", unit="var", disable=not opts.progress,
        dynamic_ncols=True, file=sys.stderr,
    )  # fmt: skip
    done_sources = 0
    failure: list[OutputError] = []
    try:
        for result in _results(jobs_list, opts, failure):
            if isinstance(result, OutputError):
                failure.append(result)
                continue
            done_sources += 1
            summary.add(result)
            bar.update(result[2])
            bar.set_postfix_str(f"{done_sources}/{len(jobs_list)} src", refresh=False)
        bar.total = bar.n  # the total was an estimate when sources differ in variants
    finally:
        bar.close()
    if failure:
        raise failure[0]


def _results(
    jobs_list: Jobs, opts: RunOptions, failure: list[OutputError]
) -> Iterable[Result | OutputError]:
    out = str(opts.out)
    if opts.scheduler is not None:
        return dask_results(
            opts.scheduler, jobs_list, str(opts.out.resolve()), opts.psnr, opts.meta, opts.timeout
        )
    if opts.jobs == 1 or len(jobs_list) <= 1:
        return (execute_source(j, out, opts.psnr, opts.meta, opts.timeout) for j in jobs_list)
    from joblib import Parallel, delayed

    def tasks():
        for j in jobs_list:
            if failure:  # dispatch no more; the sources in flight finish
                return
            yield delayed(_execute_or_fail)(j, out, opts.psnr, opts.meta, opts.timeout)

    # A write failure comes back as a value, not raised through joblib: raising would make it
    # kill the busy workers, and loky then prints leaked-semaphore warnings under the error.
    return Parallel(n_jobs=opts.jobs, backend=opts.backend, return_as="generator_unordered")(
        tasks()
    )


def _execute_or_fail(
    job: SourceJob, out: str, psnr: bool, meta: dict, timeout: float | None
) -> Result | OutputError:
    try:
        return execute_source(job, out, psnr, meta, timeout)
    except OutputError as exc:
        return exc


def dask_client(scheduler: str):
    """(client, cluster or None) for ``tcp://host:port`` or ``local:N`` (also used by
    ``evaluate --scheduler``; close both when done)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError(
            "--scheduler: needs dask.distributed; install it with: pip install 'degradebench[dask]'"
        ) from None
    if scheduler.startswith("local:"):
        n = scheduler.partition(":")[2]
        if not n.isdigit() or int(n) < 1:
            raise ConfigError(f"--scheduler: 'local:N' needs N >= 1 workers, got {scheduler!r}")
        cluster = LocalCluster(
            n_workers=int(n), threads_per_worker=1, processes=True, host="127.0.0.1",
            # A free port: None still serves the dashboard on 8787 (distributed 2026.8), and a
            # second local cluster then warns that the port is in use.
            dashboard_address="127.0.0.1:0", silence_logs=40,
        )  # fmt: skip
        return Client(cluster), cluster
    if scheduler.startswith(("tcp://", "tls://", "inproc://")):
        try:
            return Client(scheduler, timeout="30s"), None
        except OSError as exc:
            raise DegradebenchError(f"--scheduler: cannot reach {scheduler}: {exc}") from None
    raise ConfigError(f"--scheduler: expected tcp://host:port or local:N, got {scheduler!r}")


def dask_results(
    scheduler: str,
    jobs_list: Iterable[SourceJob],
    out: str,
    psnr: bool,
    meta: dict,
    timeout: float | None = None,
) -> Iterator[Result]:
    """Run sources on a Dask cluster: ``tcp://host:port`` (an existing scheduler) or ``local:N``
    (a LocalCluster of N single-threaded worker processes on loopback). Every worker writes to
    ``out``, which must be the same folder on all of them (a shared file system)."""
    client, cluster = dask_client(scheduler)
    from distributed import as_completed

    def submit(job: SourceJob):
        return client.submit(
            execute_source, job, out=out, psnr=psnr, meta=meta, timeout=timeout, pure=False
        )

    try:
        # a window of jobs in flight (4 per worker thread, at least 64), topped up as each
        # finishes: the scheduler and this process hold that many, not the whole run
        threads = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values())
        todo = iter(jobs_list)
        running = as_completed([submit(j) for j in islice(todo, max(64, 4 * threads))])
        for fut in running:
            result = fut.result()
            nxt = next(todo, None)
            if nxt is not None:
                running.add(submit(nxt))
            yield result
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
