"""Execution: make every variant of one source. The source is read, hashed and decoded once;
chain prefixes that several variants share (e.g. double JPEG's first pass) are computed once;
each file is written atomically, then one manifest part marks the source done."""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import signal
import threading
from collections import Counter
from pathlib import Path

import numpy as np

from . import decode as _decode
from . import manifest as mf
from .core.errors import ConfigError, OpError, SourceError
from .core.files import atomic_write_bytes, write_failure
from .ops import ImageState, Step, run_chain
from .ops.jpeg import DecodeParams
from .ops.passthrough import METADATA_OPS
from .ops.skip import source_file_meta
from .plan import SourceJob, VariantPlan

__all__ = [
    "execute_source",
    "psnr_db",
    "SourceTimeout",
    "time_limit",
    "base_state",
    "ChainRunner",
    "make_variant",
    "make_variant_files",
    "read_source",
    "read_donors",
]

_DECODE = Step("decode", "pillow", DecodeParams())  # libjpeg-turbo islow, as decode_pillow


def psnr_db(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 arrays of one shape (inf when identical).

    ``cv2.norm(NORM_L2SQR)`` sums squared differences in one pass with no temporaries: numpy's
    astype/subtract/dot allocates ~20 MB per megapixel and was slower than the JPEG decode."""
    import cv2

    sse = cv2.norm(a, b, cv2.NORM_L2SQR)
    return float("inf") if sse == 0 else 10.0 * math.log10(255.0 * 255.0 * a.size / sse)


class SourceTimeout(SourceError):
    """A source ran past ``--source-timeout``."""


@contextlib.contextmanager
def time_limit(seconds: float | None, path: str):
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
    name = mf.part_name(job.suite, job.source_id)
    try:
        with time_limit(timeout, job.ref.path):
            rows, errors = _execute(job, out, psnr, written)
    except SourceTimeout as exc:
        for f in written:
            with contextlib.suppress(OSError):
                os.unlink(f)
        errors = [mf.error_row(job, exc.stage, exc)]
        mf.write_errors_part(out_dir, name, errors)
        return 0, errors, len(job.plans)
    # The parts are written after the time limit is disarmed: an alarm between the manifest
    # part's rename and the end of the source would delete files the part names.
    # Errors first, then the manifest part: the part's presence is what marks the source done.
    if errors:
        mf.write_errors_part(out_dir, name, errors)
    if rows is None:  # the source itself failed (read or decode): no manifest part
        return 0, errors, len(job.plans)
    mf.write_manifest_part(out_dir, job.suite, job.source_id, rows, meta)
    return len(rows), errors, len(job.plans)


def read_source(job: SourceJob) -> tuple[bytes, _decode.DecodedSource]:
    """The source's bytes (checked against the hash taken at planning) and its decode."""
    data = Path(job.ref.path).read_bytes()
    if hashlib.sha256(data).hexdigest() != job.source_sha256:
        raise SourceError(
            job.ref.path, "read", "file changed since it was hashed at planning; rerun", "changed"
        )
    return data, _decode.with_jpeg_history(_decode.decode_source(job.ref.path, data=data))


def read_donors(job: SourceJob) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The job's splice donors, each read once and decoded as sources are: (``{source_id:
    pixels}``, ``{source_id: why it could not be used}``). A bad donor fails only the variants
    that paste from it (the splice op raises the recorded reason), never the host."""
    donors: dict[str, np.ndarray] = {}
    failed: dict[str, str] = {}
    for sid, path, sha in job.donors:
        if not path:
            failed[sid] = (
                "not a source of this run (not listed, or left out by --folds / --limit), so "
                "it cannot be read; plan the donor among the host's fold peers"
            )
            continue
        try:
            blob = Path(path).read_bytes()
            if hashlib.sha256(blob).hexdigest() != sha:
                msg = "file changed since it was hashed at planning; rerun"
                raise SourceError(path, "read", msg)
            donors[sid] = _decode.decode_source(path, data=blob).pixels
        except SourceError as exc:
            failed[sid] = f"donor file {path}: {exc.stage}: {exc.message}"
        except OSError as exc:
            failed[sid] = f"donor file {path} cannot be read ({exc.strerror or exc}); fix or rerun"
    return donors, failed


def base_state(src: _decode.DecodedSource, data: bytes) -> ImageState:
    """The chain's first state: the decoded pixels, the source's own JPEG grid and metadata."""
    grid = src.grid  # the file's own JPEG grid, or a confident estimate for a lossless file
    return ImageState(
        pixels=src.pixels,
        grids=(grid,) if grid is not None else (),
        passes=1 if grid is not None else 0,
        meta={
            **src.embedded,  # the source's exif/icc/xmp bytes, read once by the decoder
            "keep": (),
            **source_file_meta(data, src.load_step["params"], src.pixels),  # for skip rules
        },
    )


def _step(state: ImageState, step: Step) -> tuple[ImageState, bool]:
    """Run one step: (new state, whether it was skipped). After a skip rule that fired nothing
    runs until the hop's encoder, which emits the incoming file under the hop's metadata policy
    (``ops.passthrough``): those steps are skipped, the metadata steps are not."""
    skipped = state.passthrough is not None and step.op not in METADATA_OPS
    return run_chain(state, (step,)), skipped


class ChainRunner:
    """Runs the chains of one source's plans from a base state, caching shared prefixes, and
    says which steps were skipped (by a skip rule that let the incoming file through)."""

    def __init__(self, base: ImageState, plans: tuple[VariantPlan, ...] | list[VariantPlan] = ()):
        self.base = base
        self.use: Counter = Counter()
        for plan in plans:
            for i in range(1, len(plan.chain)):
                self.use[plan.chain[:i]] += 1
        self.cache: dict[tuple[Step, ...], tuple[ImageState, tuple[bool, ...]]] = {}

    def run(self, chain: tuple[Step, ...]) -> tuple[ImageState, ImageState, tuple[bool, ...]]:
        """(state before the final step, final state, skipped flag per step)."""
        state, flags, k = self.base, (), 0
        for i in range(len(chain) - 1, 0, -1):
            if chain[:i] in self.cache:
                (state, flags), k = self.cache[chain[:i]], i
                break
        for i in range(k, len(chain) - 1):
            state, skipped = _step(state, chain[i])
            flags += (skipped,)
            if self.use[chain[: i + 1]] > 1:
                self.cache[chain[: i + 1]] = (state, flags)
        if chain in self.cache:
            final, all_flags = self.cache[chain]
        else:
            final, skipped = _step(state, chain[-1])
            all_flags = flags + (skipped,)
        if self.use[chain]:  # a later hop continues from this output
            self.cache[chain] = (final, all_flags)
        return state, final, all_flags

    def decoded(
        self, chain: tuple[Step, ...], final: ImageState, flags: tuple[bool, ...]
    ) -> np.ndarray:
        """The final file decoded through the chain's own decode step (kept: the next hop of a
        journey starts with exactly this decode, so it is done once)."""
        key = chain + (_DECODE,)
        if key in self.cache:
            return self.cache[key][0].pixels
        dstate = run_chain(final, (_DECODE,))
        if self.use[key]:
            self.cache[key] = (dstate, flags + (False,))
        return dstate.pixels


class _Writer:
    """Writes variant files under OUT; each new folder is checked to resolve inside OUT."""

    def __init__(self, out: str, written: list[str]):
        self.out = os.fspath(out)
        self.real_out = os.path.realpath(self.out)
        self.made: set[str] = set()
        self.written = written

    def write(self, rel: str, blob: bytes) -> None:
        # Paths are built by the planner from slugs (no '..', relative): no realpath per file.
        target = os.path.join(self.out, rel)
        parent = os.path.dirname(target)
        if parent not in self.made:
            real = os.path.realpath(parent)  # a planted symlink must not lead writes out of OUT
            if os.path.commonpath([self.real_out, real]) != self.real_out:
                raise mf.ManifestError(
                    f"{parent} resolves to {real}, outside {self.real_out}; remove the symlink"
                )
            try:
                os.makedirs(parent, exist_ok=True)
            except OSError as exc:
                raise write_failure(parent, exc) from exc
            self.made.add(parent)
        self.written.append(target)
        atomic_write_bytes(target, blob, make_parent=False)


def _execute(
    job: SourceJob, out: str, psnr: bool, written: list[str]
) -> tuple[list[dict] | None, list[dict]]:
    """(manifest rows, error rows); rows is None when the source could not be read or decoded.
    Writes the variant files (appending each path to ``written`` first), not the parts."""
    try:
        data, src = read_source(job)
    except SourceError as exc:
        return None, [mf.error_row(job, exc.stage, exc)]
    except OSError as exc:
        return None, [mf.error_row(job, "read", exc, error_type="unreadable")]
    base = base_state(src, data)
    if job.donors:
        donors, failed = read_donors(job)
        base = base.replace(meta={**base.meta, "donors": donors, "donor_errors": failed})
    runner = ChainRunner(base, job.plans)
    writer = _Writer(out, written)
    rows, errors = [], []
    for plan in job.plans:
        try:
            blob, row, masks = make_variant_files(job, plan, src, runner, psnr)
            writer.write(plan.path, blob)
            for rel, mask_blob in masks.items():
                writer.write(rel, mask_blob)
            rows.append(row)
        except SourceTimeout:
            raise
        except (OpError, ConfigError, SourceError) as exc:
            errors.append(mf.error_row(job, "variant", exc, variant=f"{plan.axis}/{plan.level}"))
    return rows, errors


def make_variant(
    job: SourceJob,
    plan: VariantPlan,
    src: _decode.DecodedSource,
    runner: ChainRunner,
    psnr: bool,
) -> tuple[bytes, dict]:
    """(the variant's bytes, its manifest row): what ``generate`` writes, made in memory."""
    blob, row, _ = make_variant_files(job, plan, src, runner, psnr)
    return blob, row


def make_variant_files(
    job: SourceJob,
    plan: VariantPlan,
    src: _decode.DecodedSource,
    runner: ChainRunner,
    psnr: bool,
) -> tuple[bytes, dict, dict[str, bytes]]:
    """(the variant's bytes, its manifest row, its mask files ``{path relative to OUT: PNG
    bytes}``, empty when the final state carries no mask)."""
    before, final, skipped = runner.run(plan.chain)
    pixels_in = before.require_pixels(plan.chain[-1].op)
    height, width = pixels_in.shape[:2]
    chain = mf.chain_json(src.load_step, plan.chain, skipped)
    row = mf.variant_row(
        job,
        plan,
        chain=chain,
        final=final,
        size=(width, height),
        blob=final.data,
        source=src,
        skipped=skipped,
    )
    cols, masks = mf.mask_files(plan.path, final, (height, width), plan.variant_id)
    row.update(cols)
    if psnr and final.region is not None:
        decoded = pixels_in if final.lossless_pixels else runner.decoded(plan.chain, final, skipped)
        top, left = final.region
        ref = src.pixels[top : top + decoded.shape[0], left : left + decoded.shape[1]]
        if ref.shape == decoded.shape:
            row["psnr"] = psnr_db(decoded, ref)
    return final.data, row, masks
