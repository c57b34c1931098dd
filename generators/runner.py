"""Execute a suite on a dataset: plan every variant first (pure, seeded, no pixels), then run
grouped by source (each source decoded once, shared chain prefixes computed once), writing files
atomically and one manifest part per finished source, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import signal
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from . import manifest as mf
from .core.errors import (
    ConfigError,
    DegradebenchError,
    LockedError,
    OpError,
    OutputError,
    SourceError,
)
from .core.files import DirLock
from .core.provenance import derive_seed, library_versions, short_hash
from ._sources import SourceRef, limit_per_label, list_folder, list_samples, list_table
from .axes import AXES, PlanContext
from .config import Config, DatasetSpec, SuiteSpec, load_config
from .ops import ImageState, Step, canonical_chain, run_chain
from .ops.jpeg import DecodeParams

__all__ = [
    "generate",
    "GenerateSummary",
    "VariantPlan",
    "plan_source",
    "resolve_sources",
    "execute_source",
]

_EXT = {"jpeg": "jpg", "png": "png", "webp": "webp"}
_DECODE = Step("decode", "pillow", DecodeParams())  # libjpeg-turbo islow, as decode_pillow
STATE_DIR = ".state"


@dataclass(frozen=True)
class VariantPlan:
    """One variant, fully decided before any pixel is touched."""

    variant_id: str
    axis: str
    level: str
    level_value: float | None
    axis_params: dict
    chain: tuple[Step, ...]
    seed: int
    path: str  # relative to OUT


@dataclass(frozen=True)
class SourceJob:
    ref: SourceRef
    source_id: str
    source_sha256: str
    dataset: str
    suite: str
    plans: tuple[VariantPlan, ...]


@dataclass
class GenerateSummary:
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
        return (
            f"{self.variants} variants from {self.sources} sources "
            f"({self.sources_skipped} already done) in {self.seconds:.1f}s; "
            f"{self.failed_sources} sources and {self.failed_variants} variants failed"
            + (f"; {self.duplicates} duplicate files skipped" if self.duplicates else "")
            + (
                f" (see {self.out / mf.ERRORS_FILE})"
                if self.failed_sources or self.failed_variants or self.duplicates
                else ""
            )
        )


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


def plan_source(suite: SuiteSpec, source_id: str) -> list[VariantPlan]:
    """Expand ``suite`` for one source. Pure: depends only on the suite and the source id."""
    plans = []
    seen: set[str] = set()
    for axis in suite.axes:

        def rng_for(name: str, _axis: str = axis.name) -> np.random.Generator:
            return np.random.default_rng(derive_seed(suite.seed, source_id, f"{_axis}/{name}"))

        ctx = PlanContext(source_id, rng_for)
        for lv in AXES.get(axis.type).plan(axis.params, ctx):
            final = lv.chain[-1]
            from .ops import OPS

            fmt = OPS.get(final.op).encoder
            if fmt is None:
                raise ConfigError(
                    f"{axis.yaml_path}: the chain of level {lv.level!r} must end with an "
                    f"encoder step (jpeg, png, ...), got {final.op!r}"
                )
            variant_id = short_hash(f"{source_id}\n{axis.name}\n{canonical_chain(lv.chain)}")
            if variant_id in seen:
                raise ConfigError(
                    f"{axis.yaml_path}: two levels give the same variant ({lv.level!r})"
                )
            seen.add(variant_id)
            rel = f"variants/{source_id}/{_slug(axis.name)}/{_slug(lv.level)}.{_EXT[fmt]}"
            plans.append(
                VariantPlan(
                    variant_id,
                    axis.name,
                    lv.level,
                    lv.level_value,
                    lv.axis_params,
                    lv.chain,
                    derive_seed(suite.seed, source_id, f"{axis.name}/{lv.slot}"),
                    rel,
                )
            )
    return plans


def resolve_sources(
    config: Config, dataset: str, *, jobs: int = 1, progress: bool = True
) -> tuple[str, list[SourceRef]]:
    """A dataset name from the config, or the path of a folder-per-class tree -> (name, sources)."""
    if dataset not in config.datasets and Path(dataset).expanduser().is_dir():
        root = Path(dataset).expanduser()
        return root.resolve().name, list_folder(root, yaml_path="--dataset")
    spec: DatasetSpec = config.dataset(dataset)
    if spec.kind == "samples":
        return spec.name, list_samples(spec.folds, spec.fold_seed)
    if spec.kind == "folder":
        return spec.name, list_folder(spec.params.root, spec.folds, spec.fold_seed, spec.yaml_path)
    if spec.kind == "list":
        return spec.name, list_table(
            spec.params.path, spec.folds, spec.fold_seed, spec.params.root, spec.yaml_path
        )
    if spec.kind == "virtual-cameras":
        from .virtual_cameras import build_virtual_cameras

        root = (
            Path(spec.root).expanduser()
            if spec.root
            else _cache_dir()
            / f"virtual-cameras-{short_hash(json.dumps(_plain(spec.params), sort_keys=True), 12)}"
        )
        table = build_virtual_cameras(spec.params, root, jobs=jobs, progress=progress)
        return spec.name, list_table(table, spec.folds, spec.fold_seed, yaml_path=spec.yaml_path)
    raise ConfigError(f"{spec.yaml_path}.kind: unsupported kind {spec.kind!r}")


def _plain(obj: Any) -> Any:
    from .core.records import to_plain

    return to_plain(obj)


def _cache_dir() -> Path:
    base = os.environ.get("DEGRADEBENCH_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "degradebench"
    )
    return Path(base)


# ----------------------------------------------------------------------------- execution


def psnr_db(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 arrays of one shape (inf when identical).

    ``cv2.norm(NORM_L2SQR)`` sums squared differences in one pass with no temporaries: numpy's
    astype/subtract/dot allocates ~20 MB per megapixel and was slower than the JPEG decode."""
    import cv2

    sse = cv2.norm(a, b, cv2.NORM_L2SQR)
    return float("inf") if sse == 0 else 10.0 * math.log10(255.0 * 255.0 * a.size / sse)


def _error_row(
    job: SourceJob, stage: str, exc: BaseException, variant: str = "", error_type: str | None = None
) -> dict:
    return {
        "source_path": job.ref.path,
        "stage": stage,
        "error_type": error_type or getattr(exc, "error_type", None) or type(exc).__name__,
        "message": getattr(exc, "message", None) or str(exc),
        "source_id": job.source_id,
        "suite": job.suite,
        "variant": variant,
    }


def _part_name(suite: str, source_id: str) -> str:
    return f"part-{_slug(suite)}-{source_id}.parquet"


class SourceTimeout(SourceError):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float | None, path: str):
    """Raise SourceTimeout after ``seconds`` (SIGALRM; only in a process's main thread, which is
    where joblib's process workers and --jobs 1 run sources; Dask's threaded workers get none)."""
    if (
        not seconds
        or threading.current_thread() is not threading.main_thread()
        or not hasattr(signal, "setitimer")
    ):
        yield
        return

    def on_alarm(signum, frame):
        raise SourceTimeout(
            path,
            "timeout",
            f"took longer than the per-source limit of {seconds:g}s "
            f"(--source-timeout); the file may be pathological",
            "timeout",
        )

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def execute_source(
    job: SourceJob, out: str, psnr: bool, meta: dict, timeout: float | None = None
) -> tuple[int, list[dict], int]:
    """Make every variant of one source. Returns (variants written, error rows, variants planned).
    Never raises for a bad image, a bad variant or a source over the time limit: those become
    error rows (a timed-out source's files are removed, so the disk agrees with the manifest).

    Raises:
        OutputError: a write into OUT failed (disk full, permissions); the run stops, resumable.
    """
    out_dir = Path(out)
    written: list[str] = []
    try:
        with _time_limit(timeout, job.ref.path):
            rows, errors = _execute_source(job, out, psnr, meta, written)
    except SourceTimeout as exc:
        for f in written:
            with contextlib.suppress(OSError):
                os.unlink(f)
        errors = [_error_row(job, exc.stage, exc)]
        _write_errors_part(out_dir, job, errors)
        return 0, errors, len(job.plans)
    # The parts are written after the time limit is disarmed: an alarm between the manifest
    # part's rename and the end of the source would delete files the part names.
    # Errors first, then the manifest part: the part's presence is what marks the source done.
    if errors:
        _write_errors_part(out_dir, job, errors)
    if rows is None:  # the source itself failed (read or decode): no manifest part
        return 0, errors, len(job.plans)
    table = pa.Table.from_pylist(rows, schema=mf.with_metadata(mf.MANIFEST_SCHEMA, meta))
    mf.write_table_atomic(table, out_dir / mf.MANIFEST_DIR / _part_name(job.suite, job.source_id))
    return len(rows), errors, len(job.plans)


def _execute_source(
    job: SourceJob, out: str, psnr: bool, meta: dict, written: list[str]
) -> tuple[list[dict] | None, list[dict]]:
    """(manifest rows, error rows); rows is None when the source could not be read or decoded.
    Writes the variant files (appending each path to ``written`` first), not the parts."""
    from ._decode import decode_source
    from ._jpeginfo import estimate_quality, probe_jpeg, tables_sha256

    out_dir = Path(out)
    errors: list[dict] = []
    try:
        data = Path(job.ref.path).read_bytes()
        if hashlib.sha256(data).hexdigest() != job.source_sha256:
            raise SourceError(
                job.ref.path,
                "read",
                "file changed since it was hashed at planning; rerun",
                "changed",
            )
        src = decode_source(job.ref.path, data=data)
    except SourceError as exc:
        return None, [_error_row(job, exc.stage, exc)]
    except OSError as exc:
        return None, [_error_row(job, "read", exc, error_type="unreadable")]

    from .ops.metadata import read_source_metadata
    from .ops.skip import source_file_meta

    base = ImageState(
        pixels=src.pixels,
        grids=(src.jpeg_grid,) if src.jpeg_grid is not None else (),
        passes=1 if src.is_jpeg else 0,
        meta={
            **src.embedded,  # the source's exif/icc/xmp bytes, read once by the decoder
            "keep": (),
            **source_file_meta(data, src.load_step["params"], src.pixels),  # for skip rules
        },
    )
    load_json = json.dumps(src.load_step, sort_keys=True, separators=(",", ":"))
    # Cache chain prefixes that more than one variant shares (e.g. double JPEG's first pass).
    prefix_use: Counter = Counter()
    for plan in job.plans:
        for i in range(1, len(plan.chain)):
            prefix_use[plan.chain[:i]] += 1
    cache: dict[tuple[Step, ...], ImageState] = {}

    rows = []
    out_str = os.fspath(out_dir)
    real_out = os.path.realpath(out_str)
    made_dirs: set[str] = set()
    for plan in job.plans:
        try:
            state, k = base, 0
            for i in range(len(plan.chain) - 1, 0, -1):
                if plan.chain[:i] in cache:
                    state, k = cache[plan.chain[:i]], i
                    break
            for i in range(k, len(plan.chain) - 1):
                state = run_chain(state, plan.chain[i : i + 1])
                if prefix_use[plan.chain[: i + 1]] > 1:
                    cache[plan.chain[: i + 1]] = state
            before = state
            final = cache.get(plan.chain) or run_chain(before, plan.chain[-1:])
            if prefix_use[plan.chain]:  # a later hop continues from this output
                cache[plan.chain] = final
            pixels_in = before.require_pixels(plan.chain[-1].op)
            height, width = pixels_in.shape[:2]
            blob = final.data
            # Paths are built by the planner from slugs (no '..', relative): no realpath per file.
            target = os.path.join(out_str, plan.path)
            parent = os.path.dirname(target)
            if parent not in made_dirs:
                real = os.path.realpath(parent)  # a planted symlink must not lead writes out of OUT
                if os.path.commonpath([real_out, real]) != real_out:
                    raise mf.ManifestError(
                        f"{parent} resolves to {real}, outside {real_out}; remove the symlink"
                    )
                try:
                    os.makedirs(parent, exist_ok=True)
                except OSError as exc:
                    raise mf.write_failure(parent, exc) from exc
                made_dirs.add(parent)
            written.append(target)
            mf.atomic_write_bytes(target, blob, make_parent=False)
            row = {
                "variant_id": plan.variant_id,
                "source_id": job.source_id,
                "source_path": job.ref.path,
                "source_sha256": job.source_sha256,
                "dataset": job.dataset,
                "label": job.ref.label,
                "fold": job.ref.fold,
                "suite": job.suite,
                "axis": plan.axis,
                "level": plan.level,
                "level_value": plan.level_value,
                "axis_params": json.dumps(plan.axis_params, sort_keys=True),
                "chain": "[" + load_json + "," + canonical_chain(plan.chain)[1:],
                "seed": plan.seed,
                "path": plan.path,
                "sha256": hashlib.sha256(blob).hexdigest(),
                "format": final.fmt,
                "width": width,
                "height": height,
                "jpeg_quality": None,
                "estimated_quality": None,
                "quant_tables": None,
                "quant_tables_sha256": None,
                "subsampling": None,
                "jpeg_passes": final.passes,
                "prior_grid": [list(g) for g in final.grids],
                "psnr": None,
                "source_exif_make": src.exif_make,
                "source_exif_model": src.exif_model,
                "metadata_survived": False,
                "reencode_skipped": list(final.meta.get("skip_rules", ())),
            }
            if final.meta.get("keep"):  # read back what the file really carries
                back = read_source_metadata(blob)
                row["metadata_survived"] = any(back[k] for k in ("exif", "icc", "xmp"))
            if final.fmt == "jpeg":
                probe = probe_jpeg(blob)
                tables = [list(t) for t in probe.quant_tables]
                row.update(
                    jpeg_quality=final.jpeg_quality,
                    estimated_quality=estimate_quality(tables),
                    quant_tables=tables,
                    quant_tables_sha256=tables_sha256(tables),
                    subsampling=probe.subsampling,
                )
            if psnr and final.region is not None:
                if final.lossless_pixels:
                    decoded = pixels_in
                else:
                    # Decode through the chain's own decode step and keep the state: the next
                    # hop of a journey starts with exactly this decode, so it is done once.
                    key = plan.chain + (_DECODE,)
                    dstate = cache.get(key) or run_chain(final, (_DECODE,))
                    if prefix_use[key]:
                        cache[key] = dstate
                    decoded = dstate.pixels
                top, left = final.region
                ref = src.pixels[top : top + decoded.shape[0], left : left + decoded.shape[1]]
                if ref.shape == decoded.shape:
                    row["psnr"] = psnr_db(decoded, ref)
            rows.append(row)
        except SourceTimeout:
            raise
        except (OpError, ConfigError, SourceError) as exc:
            errors.append(_error_row(job, "variant", exc, variant=f"{plan.axis}/{plan.level}"))
    return rows, errors


def _write_errors_part(out_dir: Path, job: SourceJob, errors: list[dict]) -> None:
    table = pa.Table.from_pylist(errors, schema=mf.ERRORS_SCHEMA)
    mf.write_table_atomic(
        table, out_dir / STATE_DIR / "errors" / _part_name(job.suite, job.source_id)
    )


def _consolidate_errors(out_dir: Path) -> int:
    parts = sorted((out_dir / STATE_DIR / "errors").glob("*.parquet"))
    import pyarrow.parquet as pq

    tables = []
    for p in parts:
        try:
            tables.append(pq.read_table(p, schema=mf.ERRORS_SCHEMA))
        except (OSError, pa.ArrowException):  # damaged state (not written by us): its source
            p.unlink(missing_ok=True)  # was redone, or is made again by the next run

    table = pa.concat_tables(tables) if tables else mf.ERRORS_SCHEMA.empty_table()
    mf.write_table_atomic(table, out_dir / mf.ERRORS_FILE)
    return table.num_rows


def _clean_temps(out_dir: Path) -> int:
    n = 0
    for dirpath, _, files in os.walk(out_dir):
        for name in files:
            if ".tmp-" in name and name.startswith("."):
                os.unlink(os.path.join(dirpath, name))
                n += 1
    return n


def _out_lock(out_dir: Path) -> DirLock:
    """The lock that keeps a second run out of OUT."""
    busy = LockedError(
        f"{out_dir} is being written by another degradebench run; wait for it to finish or "
        "choose another --out"
    )
    return DirLock(out_dir, busy)


def _check_own_folders(out_dir: Path) -> None:
    """OUT's own folders must be real folders inside OUT: a planted symlink would lead the
    manifest or the run state somewhere else (variant folders are checked as they are made)."""
    real_out = os.path.realpath(out_dir)
    for name in (mf.MANIFEST_DIR, STATE_DIR, "variants"):
        p = out_dir / name
        real = os.path.realpath(p)
        if p.is_symlink() or os.path.commonpath([real_out, real]) != real_out:
            raise mf.ManifestError(
                f"{p} is a symlink (to {real}); OUT's own folders must be real folders inside "
                "it: remove the link"
            )


def _check_run_record(out_dir: Path, suite: SuiteSpec, dataset: str) -> None:
    """A resumed run must use the same suite definition as the run it continues."""
    rec_path = out_dir / "runs.json"
    try:
        runs = json.loads(rec_path.read_text()) if rec_path.is_file() else {}
        if not isinstance(runs, dict) or not all(
            isinstance(v, dict) and "suite_sha256" in v for v in runs.values()
        ):
            raise ValueError("not a map of dataset/suite -> record")
    except (OSError, ValueError) as exc:
        raise mf.ManifestError(
            f"{rec_path} is unreadable ({exc}); it records which suite definitions {out_dir} "
            "holds: restore it, or use a new --out"
        ) from None
    key = f"{dataset}/{suite.name}"
    prev = runs.get(key)
    if prev is not None and prev["suite_sha256"] != suite.sha256:
        raise ConfigError(
            f"--suite: {out_dir} already holds suite {suite.name!r} of dataset {dataset!r} made with a "
            f"different definition (sha256 {prev['suite_sha256'][:12]} vs {suite.sha256[:12]}); "
            f"use a new --out, or rename the suite"
        )
    runs[key] = {"suite_sha256": suite.sha256, "suite": suite.raw}
    mf.atomic_write_bytes(rec_path, json.dumps(runs, indent=2, sort_keys=True).encode())


def make_out_dir(out: str | Path) -> Path:
    """Create ``--out`` (and parents); a failure is one line naming the folder."""
    out_dir = Path(out).expanduser()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DegradebenchError(f"--out: cannot create {str(out_dir)!r}: {exc.strerror}") from None
    return out_dir


def generate(
    *,
    config: str | Path | Config | None = None,
    dataset: str,
    suite: str,
    out: str | Path,
    jobs: int = 1,
    limit: int | None = None,
    folds: list[int] | None = None,
    psnr: bool = True,
    progress: bool = True,
    backend: str = "loky",
    scheduler: str | None = None,
    source_timeout: float | None = 300.0,
) -> GenerateSummary:
    """Generate ``suite`` on ``dataset`` into ``out`` (resumable; see module docstring)."""
    t0 = time.perf_counter()
    cfg = config if isinstance(config, Config) else load_config(config)
    suite_spec = cfg.suite(suite)
    if jobs < 1:
        raise ConfigError(f"--jobs: must be an integer >= 1, got {jobs}")
    if source_timeout is not None and source_timeout <= 0:
        raise ConfigError(
            f"--source-timeout: must be a number of seconds > 0, got {source_timeout}"
        )
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit: must be an integer >= 1, got {limit}")
    out_dir = make_out_dir(out)
    summary = GenerateSummary(out_dir)
    with _out_lock(out_dir):
        _check_own_folders(out_dir)
        _clean_temps(out_dir)
        name, refs = resolve_sources(cfg, dataset, jobs=jobs, progress=progress)
        if folds is not None:
            k = max(r.fold for r in refs) + 1
            bad = [f for f in folds if f < 0]
            if bad:
                raise ConfigError(f"--folds: fold numbers are 0..{k - 1}, got {bad}")
            refs = [r for r in refs if r.fold in set(folds)]
        if limit is not None:
            refs = limit_per_label(refs, limit)
        _check_run_record(out_dir, suite_spec, name)
        meta = {
            "config_path": str(cfg.path),
            "config_sha256": cfg.sha256,
            "suite": suite_spec.name,
            "suite_sha256": suite_spec.sha256,
            "suite_definition": suite_spec.raw,
            "dataset": name,
            "versions": library_versions(),
        }
        jobs_list, skipped, duplicates = _plan_all(refs, suite_spec, name, out_dir, progress)
        summary.sources = len(refs) - duplicates
        summary.sources_skipped = skipped
        summary.duplicates = duplicates
        _run_jobs(
            scheduler,
            jobs_list,
            out_dir,
            psnr,
            meta,
            jobs,
            backend,
            progress,
            summary,
            source_timeout,
        )
        _consolidate_errors(out_dir)
    summary.seconds = time.perf_counter() - t0
    return summary


def _plan_all(
    refs: list[SourceRef], suite: SuiteSpec, dataset: str, out_dir: Path, progress: bool
) -> tuple[list[SourceJob], int, int]:
    """(jobs to run, sources finished by an earlier run, duplicate sources)."""
    from tqdm.auto import tqdm

    jobs_list: list[SourceJob] = []
    skipped = 0
    mdir = out_dir / mf.MANIFEST_DIR
    edir = out_dir / STATE_DIR / "errors"
    first: dict[str, SourceRef] = {}
    duplicates = 0
    for ref in tqdm(
        refs, desc="planning", unit="src", disable=not progress or len(refs) < 200, leave=False
    ):
        try:
            digest = hashlib.sha256(Path(ref.path).read_bytes()).hexdigest()
        except OSError as exc:
            digest = hashlib.sha256(f"unreadable:{ref.path}:{exc.errno}".encode()).hexdigest()
        source_id = digest[:16]
        if source_id in first:  # same bytes twice: one source id, one set of variants
            _record_duplicate(out_dir, suite.name, ref, first[source_id], source_id)
            duplicates += 1
            continue
        first[source_id] = ref
        part = _part_name(suite.name, source_id)
        if (mdir / part).is_file() or _failed_source(edir / part):
            skipped += 1
            continue
        jobs_list.append(
            SourceJob(
                ref, source_id, digest, dataset, suite.name, tuple(plan_source(suite, source_id))
            )
        )
    return jobs_list, skipped, duplicates


def _record_duplicate(
    out_dir: Path, suite: str, ref: SourceRef, kept: SourceRef, source_id: str
) -> None:
    """A file with the same bytes as an earlier one (in path order) is listed in errors.parquet;
    making it again would race on the same files and leave one of the two paths in the manifest
    depending on timing."""
    msg = f"same bytes as {kept.path} (label {kept.label!r}, fold {kept.fold}), whose variants stand for both"
    if ref.label != kept.label:
        msg += f"; this copy is labelled {ref.label!r}: the labels disagree"
    row = {
        "source_path": ref.path,
        "stage": "plan",
        "error_type": "duplicate",
        "message": msg,
        "source_id": source_id,
        "suite": suite,
        "variant": "",
    }
    name = f"part-{_slug(suite)}-{source_id}-dup-{short_hash(ref.path, 8)}.parquet"
    table = pa.Table.from_pylist([row], schema=mf.ERRORS_SCHEMA)
    mf.write_table_atomic(table, out_dir / STATE_DIR / "errors" / name)


def _failed_source(err_part: Path) -> bool:
    """A source that could not be read or decoded is done (its error is recorded)."""
    if not err_part.is_file():
        return False
    import pyarrow.parquet as pq

    try:
        stages = pq.read_table(err_part, columns=["stage"]).column("stage").to_pylist()
    except (OSError, pa.ArrowException):  # damaged state (not written by us): redo the source
        err_part.unlink(missing_ok=True)
        return False
    return any(s != "variant" for s in stages)


def _run_jobs(
    scheduler: str | None,
    jobs_list: list[SourceJob],
    out_dir: Path,
    psnr: bool,
    meta: dict,
    jobs: int,
    backend: str,
    progress: bool,
    summary: GenerateSummary,
    timeout: float | None = None,
) -> None:
    from tqdm.auto import tqdm

    total = sum(len(j.plans) for j in jobs_list)
    bar = tqdm(
        total=total,
        desc="generating",
        unit="var",
        disable=not progress,
        dynamic_ncols=True,
        file=sys.stderr,
    )
    done_sources = 0
    failure: list[OutputError] = []
    try:
        if scheduler is not None:
            results = _dask_results(
                scheduler, jobs_list, str(out_dir.resolve()), psnr, meta, timeout
            )
        elif jobs == 1 or len(jobs_list) <= 1:
            results = (execute_source(j, str(out_dir), psnr, meta, timeout) for j in jobs_list)
        else:
            from joblib import Parallel, delayed

            def tasks():
                for j in jobs_list:
                    if failure:  # dispatch no more; the sources in flight finish
                        return
                    yield delayed(_execute_or_fail)(j, str(out_dir), psnr, meta, timeout)

            # A write failure comes back as a value, not raised through joblib: raising would
            # make it kill the busy workers, and loky then prints leaked-semaphore warnings
            # under the one-line error.
            results = Parallel(n_jobs=jobs, backend=backend, return_as="generator_unordered")(
                tasks()
            )
        for result in results:
            if isinstance(result, OutputError):
                failure.append(result)
                continue
            n, errors, planned = result
            done_sources += 1
            summary.variants += n
            summary.failed_sources += any(e["stage"] != "variant" for e in errors)
            summary.failed_variants += sum(e["stage"] == "variant" for e in errors)
            summary.errors.extend(errors)
            bar.update(planned)
            bar.set_postfix_str(f"{done_sources}/{len(jobs_list)} src", refresh=False)
    finally:
        bar.close()
    if failure:
        raise failure[0]


def _execute_or_fail(
    job: SourceJob, out: str, psnr: bool, meta: dict, timeout: float | None
) -> tuple[int, list[dict], int] | OutputError:
    try:
        return execute_source(job, out, psnr, meta, timeout)
    except OutputError as exc:
        return exc


def _dask_results(
    scheduler: str,
    jobs_list: list[SourceJob],
    out: str,
    psnr: bool,
    meta: dict,
    timeout: float | None = None,
):
    """Run sources on a Dask cluster: ``tcp://host:port`` (an existing scheduler) or ``local:N``
    (a LocalCluster of N single-threaded worker processes on loopback). Every worker writes to
    ``out``, which must be the same folder on all of them (a shared file system)."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ConfigError(
            "--scheduler: needs dask.distributed; install it with: pip install 'degradebench[dask]'"
        ) from None
    cluster = None
    if scheduler.startswith("local:"):
        n = scheduler.partition(":")[2]
        if not n.isdigit() or int(n) < 1:
            raise ConfigError(f"--scheduler: 'local:N' needs N >= 1 workers, got {scheduler!r}")
        cluster = LocalCluster(
            n_workers=int(n),
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=40,
        )
        client = Client(cluster)
    elif scheduler.startswith(("tcp://", "tls://", "inproc://")):
        try:
            client = Client(scheduler, timeout="30s")
        except OSError as exc:
            raise DegradebenchError(f"--scheduler: cannot reach {scheduler}: {exc}") from None
    else:
        raise ConfigError(f"--scheduler: expected tcp://host:port or local:N, got {scheduler!r}")
    try:
        futures = client.map(
            execute_source, jobs_list, out=out, psnr=psnr, meta=meta, timeout=timeout, pure=False
        )
        for fut in as_completed(futures):
            yield fut.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
