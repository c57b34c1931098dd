"""Planning: every variant of a suite for one source, decided before any pixel is touched (pure,
seeded by (suite seed, source id, axis/level)); and the list of source jobs of a run."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .axes import AXES, Level, Peer, PlanContext
from .config import Config, SuiteSpec
from .core.errors import ConfigError
from .core.provenance import derive_seed, short_hash
from .datasets import (
    DATASET_KINDS,
    ListContext,
    SourceRef,
    SourceTable,
    looks_like_path,
    sources_from_path,
)
from .manifest.compact import done_parts
from .manifest.schema import MANIFEST_DIR
from .manifest.writer import errors_dir, part_name, slug, write_errors_part
from .ops import OPS, Step, canonical_chain
from .ops.splice import donor_ids

__all__ = [
    "preflight",
    "VariantPlan",
    "SourceJob",
    "plan_source",
    "plan_all",
    "read_layout",
    "PlannedJobs",
    "resolve_sources",
    "source_digest",
    "source_done",
]

_EXT = {
    "jpeg": "jpg",
    "png": "png",
    "webp": "webp",
    "avif": "avif",
    "heic": "heic",
    "jxl": "jxl",
    "jpeg2000": "jp2",
}


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
    """One source and every variant planned for it: the unit a worker executes."""

    ref: SourceRef
    source_id: str
    source_sha256: str
    dataset: str
    suite: str
    plans: tuple[VariantPlan, ...]
    # (source_id, path, sha256) of every splice donor the plans name, read by the worker.
    donors: tuple[tuple[str, str, str], ...] = ()


def _variant_id(source_id: str, axis: str, lv: Level, seen: set[str], where: str) -> str:
    """short_hash(source, axis, chain); a level flagged ``repeats_chain`` whose chain an earlier
    variant of the axis already has gets short_hash(source, axis, its name, chain) instead (the
    same bytes under its own id and file). Any other repeat is a config error."""
    chain = canonical_chain(lv.chain)
    variant_id = short_hash(f"{source_id}\n{axis}\n{chain}")
    if variant_id in seen and lv.repeats_chain:
        variant_id = short_hash(f"{source_id}\n{axis}\n{lv.name}\n{chain}")
    if variant_id in seen:
        raise ConfigError(
            f"{where}: two levels give the same variant (level {lv.level!r}, variant "
            f"{lv.name!r}): give the levels different steps, or drop one"
        )
    return variant_id


def preflight(suite: SuiteSpec) -> None:
    """Check what every axis of ``suite`` needs that this machine may lack (``AxisDef.preflight``:
    a codec library), before a run touches OUT; ConfigError naming the axis and the fix."""
    for spec in suite.axes:
        check = AXES.get(spec.type).preflight
        if check is not None:
            check(spec.params, spec.yaml_path)


def plan_source(
    suite: SuiteSpec,
    source_id: str,
    root: str = "variants",
    *,
    label: str | None = None,
    fold: int = -1,
    peers: tuple[Peer, ...] = (),
    layouts: Callable[[str], Any] | None = None,
) -> list[VariantPlan]:
    """Expand ``suite`` for one source. Pure: depends only on the suite, the source id and, for
    splices, its label, fold and the other sources of that fold (``peers``; ``root``: the folder
    under OUT the variant files go to); document forgeries also read layout sidecars
    (``layouts(source_id)``: a source's or a peer's, None when it has none)."""

    def shared_rng(name: str) -> np.random.Generator:
        return np.random.default_rng(derive_seed(suite.seed, source_id, name))

    plans = []
    seen: set[str] = set()
    if layouts is not None:  # each sidecar read once per source's planning
        layouts = functools.cache(layouts)
    for axis in suite.axes:

        def rng_for(name: str, _axis: str = axis.name) -> np.random.Generator:
            return np.random.default_rng(derive_seed(suite.seed, source_id, f"{_axis}/{name}"))

        ctx = PlanContext(source_id, rng_for, label, fold, peers, shared_rng)
        if layouts is not None:
            ctx = dataclasses.replace(ctx, layout_of=layouts)
        for lv in AXES.get(axis.type).plan(axis.params, ctx):
            final = lv.chain[-1]
            fmt = OPS.get(final.op).encoder
            if fmt is None:
                raise ConfigError(
                    f"{axis.yaml_path}: the chain of level {lv.level!r} must end with an "
                    f"encoder step (jpeg, png, ...), got {final.op!r}"
                )
            variant_id = _variant_id(source_id, axis.name, lv, seen, axis.yaml_path)
            seen.add(variant_id)
            rel = f"{root}/{source_id}/{slug(axis.name)}/{slug(lv.name)}.{_EXT[fmt]}"
            seed = derive_seed(suite.seed, source_id, f"{axis.name}/{lv.slot}")
            plans.append(
                VariantPlan(
                    variant_id,
                    axis.name,
                    lv.level,
                    lv.level_value,
                    lv.axis_params,
                    lv.chain,
                    seed,
                    rel,
                )  # fmt: skip
            )
    return plans


def resolve_sources(
    config: Config, dataset: str, *, jobs: int = 1, progress: bool = True
) -> tuple[str, SourceTable]:
    """A dataset name from the config, or a folder path -> (dataset name, sources with folds),
    the sources as a columnar ``SourceTable`` (a sequence of ``SourceRef``).

    A path (``--dataset DIR``) is a folder-per-class tree, or the list in it when the folder
    holds ``list.csv`` (labels and groups from the list, so folds keep groups together)."""
    if dataset not in config.datasets and (looks_like_path(dataset) or Path(dataset).is_dir()):
        return sources_from_path(dataset)
    spec = config.dataset(dataset)
    kind = DATASET_KINDS.get(spec.kind)
    refs = kind.list_sources(spec, ListContext(jobs=jobs, progress=progress))
    return spec.name, SourceTable.from_refs(refs)


def source_digest(ref: SourceRef) -> str:
    """sha256 of the source file (of its path and errno when unreadable: the read fails later)."""
    return _digest(ref.path).hex()


def _digest(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        return hashlib.sha256(f"unreadable:{path}:{exc.errno}".encode()).digest()
    return hashlib.sha256(data).digest()


def source_done(
    out_dir: Path, suite: str, source_id: str, compacted: set[str] | None = None
) -> bool:
    """True when an earlier run finished this source: its part was compacted (``compacted``:
    ``manifest.done_parts``, read here when not given), its part is still there, or its failure
    is recorded."""
    name = part_name(suite, source_id)
    if name in (done_parts(out_dir) if compacted is None else compacted):
        return True
    # os.path, not pathlib: a Path interns its parts, and a run checks every source's part
    if os.path.isfile(os.path.join(out_dir, MANIFEST_DIR, name)):
        return True
    err_part = os.path.join(errors_dir(out_dir), name)
    return os.path.isfile(err_part) and _failed_source(Path(err_part))


def _failed_source(err_part: Path) -> bool:
    """A source that could not be read or decoded is done (its error is recorded)."""
    if not err_part.is_file():
        return False
    try:
        stages = pq.read_table(err_part, columns=["stage"]).column("stage").to_pylist()
    except (OSError, pa.ArrowException):  # damaged state (not written by us): redo the source
        err_part.unlink(missing_ok=True)
        return False
    return any(s != "variant" for s in stages)


class PlannedJobs:
    """The sources a run makes, in listing order, each planned only when it is taken
    (``plan_source`` is pure, so planning late gives the same plans): a run holds one source's
    plans per job in flight, not every variant of the run. ``len()`` is the number of sources.

    The sources stay columnar (issue 16): their table, sha256 digests (32 bytes each) and the
    rows to make; a job's ``SourceRef``, ids and fold peers are made when it is taken, the peers
    only when a planner asks for them (``_FoldPeers``): ~200 bytes a source, not ~2 KB."""

    def __init__(
        self,
        todo: np.ndarray,
        sources: SourceTable,
        digests: np.ndarray,
        suite: SuiteSpec,
        dataset: str,
        root: str,
    ):
        self._todo = np.asarray(todo, dtype=np.int64)  # rows of ``sources`` to make
        self._sources, self._digests = sources, digests
        ids = _ids(digests)
        self._by_id = np.argsort(ids, kind="stable")  # rows in source id order (lookups)
        self._ids_sorted = ids[self._by_id]
        self._folds: dict[int, tuple[tuple[Peer, ...], dict[str, int]]] = {}
        self._suite, self._dataset, self._root = suite, dataset, root

    def __len__(self) -> int:
        return len(self._todo)

    def __iter__(self) -> Iterator[SourceJob]:
        return (self._job_at(int(row)) for row in self._todo)

    def job(self, source_id: str) -> SourceJob:
        """The job of one source to run (planned now)."""
        row = self._row(source_id)
        if row is None:
            raise KeyError(f"source {source_id!r} is not among the planned sources")
        return self._job_at(row)

    def _row(self, source_id: str) -> int | None:
        """The row of a source id, or None."""
        try:
            value = np.uint64(int(source_id, 16)) if len(source_id) == 16 else None
        except ValueError:
            value = None
        if value is None:
            return None
        at = int(np.searchsorted(self._ids_sorted, value))
        if at < len(self._ids_sorted) and self._ids_sorted[at] == value:
            return int(self._by_id[at])
        return None

    def _hex(self, row: int) -> str:
        return self._digests[row].tobytes().hex()

    def _job_at(self, row: int) -> SourceJob:
        ref = self._sources[row]
        digest = self._hex(row)
        source_id = digest[:16]
        peers = _FoldPeers(self, ref.fold, source_id)
        plans = tuple(
            plan_source(self._suite, source_id, self._root, label=ref.label, fold=ref.fold,
                        peers=peers, layouts=self.layout)  # type: ignore[arg-type]
        )  # fmt: skip
        donors = []
        for sid in donor_ids(tuple(s for plan in plans for s in plan.chain)):
            at = self._row(sid)
            donors.append(
                (sid, "", "") if at is None else (sid, self._sources.paths[at], self._hex(at))
            )
        return SourceJob(
            ref, source_id, digest, self._dataset, self._suite.name, plans, tuple(donors)
        )

    def fold_peers(self, fold: int) -> tuple[tuple[Peer, ...], dict[str, int]]:
        """(the sources of ``fold`` as Peers sorted by source id, each one's index there), made
        on first use and kept (only suites with splices ask)."""
        if fold not in self._folds:
            src = self._sources
            rows = self._by_id[src.folds[self._by_id] == fold]  # id order
            peers = tuple(Peer(self._hex(r)[:16], src.label(r), fold) for r in rows.tolist())
            self._folds[fold] = (peers, {p.source_id: i for i, p in enumerate(peers)})
        return self._folds[fold]

    def layout(self, source_id: str) -> Any:
        """The layout sidecar of a source (``<path minus suffix>.json``), or None."""
        row = self._row(source_id)
        return None if row is None else read_layout(self._sources.paths[row])

    def variants_hint(self) -> int:
        """Variants to make, estimated from the first source's plans (the progress bar's
        total; exact when every source has as many variants)."""
        return len(self._job_at(int(self._todo[0])).plans) * len(self) if len(self) else 0


class _FoldPeers(Sequence[Peer]):
    """A source's fold peers (its fold's other sources, sorted by id), made on first access:
    a suite without splices never builds a Peer."""

    def __init__(self, jobs: PlannedJobs, fold: int, source_id: str):
        self._jobs, self._fold, self._source_id = jobs, fold, source_id
        self._items: tuple[Peer, ...] | None = None

    def _all(self) -> tuple[Peer, ...]:
        if self._items is None:
            fold_peers, at = self._jobs.fold_peers(self._fold)
            i = at[self._source_id]
            self._items = fold_peers[:i] + fold_peers[i + 1 :]  # C-level slices: large folds
        return self._items

    def __len__(self) -> int:
        return len(self._all())

    def __getitem__(self, i):  # type: ignore[override]
        return self._all()[i]

    def __iter__(self) -> Iterator[Peer]:
        return iter(self._all())

    def __reduce__(self):  # kept by a planner and sent to a worker: the peers, not the run
        return (tuple, (self._all(),))


def _ids(digests: np.ndarray) -> np.ndarray:
    """Source ids as numbers: the first 8 bytes of each digest, big-endian (ordered as the hex
    ids are)."""
    return np.ascontiguousarray(digests[:, :8]).view(">u8").ravel().astype(np.uint64)


def read_layout(image_path: str | Path) -> Any:
    """The JSON layout sidecar beside an image (same path, suffix ``.json``), or None when
    there is none.

    Raises:
        ConfigError: the sidecar exists but is not valid JSON.
    """
    side = Path(image_path).with_suffix(".json")
    try:
        text = side.read_text(encoding="utf-8")
    except OSError:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConfigError(
            f"{side}: layout sidecar is not valid JSON ({exc}); fix or remove the file"
        ) from None


def plan_all(
    refs: Sequence[SourceRef],
    suite: SuiteSpec,
    dataset: str,
    out_dir: Path,
    progress: bool,
    root: str = "variants",
) -> tuple[PlannedJobs, int, int]:
    """(jobs to run, sources finished by an earlier run, duplicate sources). A file with the
    same bytes as an earlier one is recorded in the errors, not planned twice.

    Every source is hashed first: a source's plans may name a splice donor among the other
    sources of its fold (``peers``: never another fold), and its job carries the donors' paths
    and hashes so the worker can read them. The jobs are planned as they are taken
    (``PlannedJobs``); the sources stay columnar (``SourceTable`` and a digest array)."""
    from tqdm.auto import tqdm

    table = SourceTable.from_refs(refs)
    n = len(table)
    digests = np.empty((n, 32), dtype=np.uint8)
    for i in tqdm(range(n), desc="hashing", unit="src", disable=not progress or n < 200,
                  leave=False):  # fmt: skip
        digests[i] = np.frombuffer(_digest(table.paths[i]), dtype=np.uint8)
    ids = _ids(digests)
    uniq, first = np.unique(ids, return_index=True)  # first: each id's first row
    keep = np.sort(first)  # listing order
    if len(keep) < n:  # same bytes twice: one source id, one set of variants
        dup = np.ones(n, dtype=bool)
        dup[keep] = False
        for i in np.flatnonzero(dup).tolist():
            kept = int(first[np.searchsorted(uniq, ids[i])])
            _record_duplicate(out_dir, suite.name, table[i], table[kept], f"{int(ids[i]):016x}")
        table, digests, ids = table.take(keep), digests[keep], ids[keep]
    compacted = done_parts(out_dir)
    done = np.fromiter(
        (source_done(out_dir, suite.name, f"{v:016x}", compacted) for v in ids.tolist()),
        dtype=bool, count=len(ids),
    )  # fmt: skip
    del compacted
    todo = np.flatnonzero(~done)
    return PlannedJobs(todo, table, digests, suite, dataset, root), int(done.sum()), n - len(keep)


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
    name = f"part-{slug(suite)}-{source_id}-dup-{short_hash(ref.path, 8)}.parquet"
    write_errors_part(out_dir, name, [row])
