"""``verify``: re-hash every variant file and mask, re-read JPEG tables and subsampling, check sizes
and paths, and report files on disk (under ``variants/`` and ``masks/``) that no row names."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from . import manifest as mf
from .codecinfo import codec_facts
from .core.plugins import register_plugins
from .jpeginfo import probe_jpeg, tables_sha256
from .manifest.memory import HeapTrim, system_pool

__all__ = ["verify", "VerifyReport"]


@dataclass
class VerifyReport:
    out: Path
    checked: int = 0
    problems: list[str] = field(default_factory=list)  # mismatches and missing files: verify fails
    orphans: list[str] = field(default_factory=list)  # files no row names (e.g. from a killed run)
    # rows of errors.parquet (recorded, not verify failures): sources that could not be read,
    # decoded or planned (duplicates), and single variants that failed (e.g. an OpError)
    source_errors: int = 0
    variant_errors: int = 0

    @property
    def ok(self) -> bool:
        """True when every manifest row matches its file (orphans and recorded errors aside)."""
        return not self.problems

    def line(self) -> str:
        """The one-line summary the CLI prints."""
        state = "OK" if self.ok else f"FAILED: {len(self.problems)} problems"
        return (
            f"verify {self.out}: {self.checked} variants checked, {state}; "
            f"{len(self.orphans)} orphan files; {self.source_errors} recorded source errors, "
            f"{self.variant_errors} recorded variant errors"
        )

    def orphan_lines(self, limit: int = 20) -> list[str]:
        """The first ``limit`` orphan files (paths relative to OUT), then how many more."""
        lines = [f"orphan: {p}" for p in self.orphans[:limit]]
        if len(self.orphans) > limit:
            lines.append(f"... and {len(self.orphans) - limit} more orphan files")
        return lines


_COLUMNS = [
    "variant_id", "path", "sha256", "format", "width", "height", "quant_tables_sha256",
    "subsampling", "mask_path", "mask_sha256", "source_mask_path", "codec_info",
]  # fmt: skip


_BATCH_ROWS = 4_096  # rows checked per batch: a few MB of DataFrame whatever the manifest's size


class _Named:
    """The files rows name, as 64-bit hashes of their normalised paths: 8 bytes per row, sorted
    once when first asked (re-sorting a growing array per batch fragmented the heap: verify's
    RSS grew ~3 MiB per 20k rows), so a million-row manifest's orphan check stays small."""

    def __init__(self) -> None:
        self._new: list[int] = []
        self._chunks: list[np.ndarray] = []
        self._done: np.ndarray | None = None

    def add(self, path: str) -> None:
        self._new.append(hash(os.path.normpath(path)))

    def freeze(self) -> None:
        self._chunks.append(np.asarray(self._new, np.int64))
        self._new, self._done = [], None

    def __contains__(self, path: str) -> bool:
        if self._done is None:
            self._done = np.concatenate([*self._chunks, np.asarray(self._new, np.int64)])
            self._done.sort()  # in place: one array of 8 bytes per row at any time
            self._chunks, self._new = [self._done], []
        h = hash(path)
        i = int(np.searchsorted(self._done, h))
        return i < len(self._done) and int(self._done[i]) == h


def verify(out: str | Path, *, check_orphans: bool = True) -> VerifyReport:
    """Check every file OUT's manifest names (hash, JPEG tables, subsampling, size, path) and
    list the files under ``variants/`` that no row names. The manifest is read in batches:
    memory stays flat however many rows it has."""
    out_dir = Path(out)
    register_plugins()  # HEIC / JPEG XL variants open like any (the codecs extra)
    errors = mf.read_errors(out_dir)
    n_variant = int((errors.stage == "variant").sum()) if len(errors) else 0
    report = VerifyReport(out_dir, source_errors=len(errors) - n_variant, variant_errors=n_variant)
    named, trim = _Named(), HeapTrim()
    with system_pool():  # flat memory (manifest.memory)
        for frame in mf.iter_manifest(out_dir, columns=_COLUMNS, batch_rows=_BATCH_ROWS):
            for row in frame.itertuples(index=False):
                _check_row(report, out_dir, row, named)
            named.freeze()
            trim()
    if check_orphans:
        for folder in ("variants", mf.MASKS_ROOT):
            for path in _files_under(str(out_dir / folder)):
                p = os.path.normpath(path)
                if p not in named:
                    report.orphans.append(os.path.relpath(p, out_dir))
        report.orphans.sort()
    return report


def _files_under(folder: str) -> Iterator[str]:
    """The files below ``folder`` as ``os.walk`` finds them (symlinked folders not entered),
    holding one open directory per level: ``os.walk`` lists each folder whole, and
    ``variants/`` holds a folder per source (~2.5 MB of names at 14k sources)."""
    try:
        with os.scandir(folder) as entries:
            for e in entries:
                try:
                    is_dir = e.is_dir()
                except OSError:
                    is_dir = False
                if not is_dir:
                    yield e.path
                elif not e.is_symlink():
                    yield from _files_under(e.path)
    except OSError:  # missing or unreadable, as os.walk skips it
        return


def _check_row(report: VerifyReport, out_dir: Path, row: object, named: _Named) -> None:
    """Check one row's file (and masks) against the row; add its paths to ``named``."""
    report.checked += 1
    tag = f"{row.path} (variant {row.variant_id})"
    try:
        full = mf.safe_join(out_dir, row.path)
    except mf.ManifestError as exc:
        report.problems.append(f"{tag}: {exc}")
        return
    named.add(str(full))
    _check_masks(report, out_dir, row, tag, named)
    try:
        data = full.read_bytes()
    except FileNotFoundError:
        report.problems.append(f"{tag}: missing file")
        return
    except OSError as exc:
        report.problems.append(f"{tag}: unreadable: {exc.strerror}")
        return
    digest = hashlib.sha256(data).hexdigest()
    if digest != row.sha256:
        report.problems.append(
            f"{tag}: sha256 {digest[:16]}... differs from the manifest's {row.sha256[:16]}..."
        )
        return
    try:
        if row.format == "jpeg":
            probe = probe_jpeg(data)
            size = (probe.width, probe.height)
            tables = [list(t) for t in probe.quant_tables]
            if tables_sha256(tables) != row.quant_tables_sha256:
                report.problems.append(f"{tag}: quantization tables differ from the manifest")
            if probe.subsampling != row.subsampling:
                report.problems.append(
                    f"{tag}: subsampling {probe.subsampling} != manifest {row.subsampling}"
                )
        else:
            with Image.open(io.BytesIO(data)) as im:
                size = im.size
            _check_codec_info(report, tag, row, data)
    except Exception as exc:  # noqa: BLE001 - any parse failure of a hashed file is a problem to report
        report.problems.append(f"{tag}: cannot be parsed: {exc}")
        return
    if size != (row.width, row.height):
        report.problems.append(
            f"{tag}: size {size[0]}x{size[1]} != manifest {row.width}x{row.height}"
        )


def _check_codec_info(report: VerifyReport, tag: str, row: object, data: bytes) -> None:
    """A WebP/AVIF/HEIC/JPEG XL/JPEG 2000 header re-read (``codecinfo``) against ``codec_info``."""
    want = getattr(row, "codec_info", None)
    if not isinstance(want, str):
        return
    got = codec_facts(row.format, data)
    if got != json.loads(want):
        report.problems.append(f"{tag}: codec header {got} != manifest codec_info {want}")


def _mask_problem(out_dir: Path, rel: str, want_sha: str | None, size: tuple[int, int]) -> str:
    """Why the mask file at ``rel`` does not match its row ("" when it does)."""
    try:
        data = mf.safe_join(out_dir, rel).read_bytes()
    except mf.ManifestError as exc:
        return str(exc)
    except OSError as exc:
        return "missing file" if isinstance(exc, FileNotFoundError) else f"unreadable: {exc}"
    digest = hashlib.sha256(data).hexdigest()
    if want_sha is not None and digest != want_sha:
        return f"sha256 {digest[:16]}... differs from the manifest's {want_sha[:16]}..."
    try:
        with Image.open(io.BytesIO(data)) as im:
            mode, got = im.mode, im.size
    except Exception as exc:  # noqa: BLE001 - any parse failure of a mask file is a problem
        return f"cannot be parsed: {exc}"
    if mode != "1" or got != size:
        return f"a {mode} {got[0]}x{got[1]} image, not a 1-bit {size[0]}x{size[1]} PNG"
    return ""


def _check_masks(report: VerifyReport, out_dir: Path, row: object, tag: str, named: _Named) -> None:
    """Re-hash the row's mask (``mask_sha256``), check its source mask exists and both are 1-bit
    PNGs the size of the output; add their paths to ``named``."""
    size = (row.width, row.height)
    for col, sha_col in (("mask_path", "mask_sha256"), ("source_mask_path", None)):
        rel = getattr(row, col, None)
        if not isinstance(rel, str):
            continue
        with contextlib.suppress(mf.ManifestError):
            named.add(os.path.normpath(str(mf.safe_join(out_dir, rel))))
        want = getattr(row, sha_col, None) if sha_col else None
        why = _mask_problem(out_dir, rel, want if isinstance(want, str) else None, size)
        if why:
            report.problems.append(f"{tag}: {col} {rel}: {why}")
