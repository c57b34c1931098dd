"""Cells of many row groups at once: the vectorised form of :func:`.bootstrap.cell`.

Per metric, the per-row statistics are computed once over a frame and summed per (group, source)
with one ``bincount`` per statistic; each source's variants are averaged first, and the
replicates of every group come from one matrix product with the bootstrap's weight matrix
(``[B, S] @ [S, groups x k]``). The resampled source sets are therefore the same for every level,
metric and figure, and every number equals :func:`.bootstrap.cell`'s for the same rows (the
replicate sums up to the order in which the matrix product adds). Groups may overlap (a curve
point and its series). A metric that computes its own cells (``cell_of``: detection AUC, EER)
is asked group by group, as :func:`.bootstrap.cell` does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .base import Metric
from .bootstrap import Bootstrap, Cell

__all__ = ["Grouped", "members_of", "key_groups", "suite_rows", "grouped_cells"]

_MAX_ENTRIES = 1 << 22  # (groups x sources x statistics) doubles summed per chunk


@dataclass
class Grouped:
    """One metric over G row groups: ``cells[g]``, and the arrays behind them.

    ``present[g, s]``: source s has rows that take part in group g (None for a metric with its
    own cells); ``reps`` ``[B, G]``; ``stats``: the frame's per-row statistics (reused when the
    same groups are restricted to fewer sources).
    """

    cells: list[Cell]
    present: np.ndarray | None = None
    reps: np.ndarray | None = None
    stats: np.ndarray | None = None


def members_of(codes: np.ndarray, n_groups: int) -> list[np.ndarray]:
    """Row positions (ascending) of each group ``0..n_groups-1``, from one code per row
    (negative: the row is in no group)."""
    codes = np.asarray(codes, dtype=np.int64)
    pos = np.flatnonzero(codes >= 0)
    order = pos[np.argsort(codes[pos], kind="stable")]
    bounds = np.searchsorted(codes[order], np.arange(n_groups + 1))
    return [order[bounds[g] : bounds[g + 1]] for g in range(n_groups)]


def key_groups(frame: pd.DataFrame, cols: list[str], sort: bool = False):
    """(keys, rows) of ``frame.groupby(cols, sort=sort)``: the key tuples in the order that
    iterating the groupby gives, and each group's row positions; rows with a null key are in
    none, as in ``groupby``."""
    codes = frame.groupby(cols, sort=sort).ngroup()
    codes = codes.to_numpy(dtype=np.float64, na_value=np.nan)
    codes = np.where(np.isnan(codes), -1, codes).astype(np.int64)
    members = members_of(codes, int(codes.max()) + 1 if len(codes) else 0)
    values = [frame[c].to_numpy() for c in cols]
    return [tuple(v[m[0]] for v in values) for m in members], members


def suite_rows(pred: pd.DataFrame, suites: pd.Series):
    """(suite, its rows, their positions in ``pred``) per suite, in sorted suite order."""
    for suite, pos in sorted(pred.groupby(suites.to_numpy(), sort=True).indices.items()):
        whole = len(pos) == len(pred)  # one suite: no copy of a large frame
        yield suite, pred if whole else pred.iloc[pos], pos


def _sums(stats: np.ndarray, src: np.ndarray, part: list[np.ndarray], n_src: int) -> np.ndarray:
    """Statistics summed per (group, source) ``[G, S, k]``, rows added in frame order."""
    rows = np.concatenate(part) if part else np.zeros(0, dtype=np.int64)
    gid = np.repeat(np.arange(len(part)), [len(m) for m in part])
    flat = gid * n_src + src[rows]
    size = len(part) * n_src
    cols = [
        np.bincount(flat, weights=stats[rows, j], minlength=size) for j in range(stats.shape[1])
    ]
    return np.stack(cols, axis=-1).reshape(len(part), n_src, stats.shape[1])


class _Sets:
    """Source sets as frozensets, one object per distinct set (most cells share clean's)."""

    def __init__(self, sources: pd.Index):
        self.sources = sources.to_numpy(dtype=object)  # Python strs: no Arrow scalar per item
        self.seen: dict[bytes, frozenset] = {}

    def of(self, mask: np.ndarray) -> frozenset:
        key = np.packbits(mask).tobytes()
        if key not in self.seen:
            self.seen[key] = frozenset(self.sources[mask].tolist())
        return self.seen[key]


def grouped_cells(
    metric: Metric, frame: pd.DataFrame, src: np.ndarray, members: list[np.ndarray],
    boot: Bootstrap, stats: np.ndarray | None = None,
) -> Grouped:  # fmt: skip
    """``metric`` over the rows ``frame.iloc[members[g]]`` of every group g, by source.

    ``src``: each frame row's position in ``boot.sources`` (:meth:`.Bootstrap.codes`).
    ``stats``: ``metric.stats(frame)`` when the caller has it already.
    """
    own = getattr(metric, "cell_of", None)
    if own is not None:
        return Grouped([own(frame.iloc[m], boot) for m in members])
    if stats is None:
        stats = metric.stats(frame)
    n_src, k, n_boot, n_groups = len(boot.sources), stats.shape[1], boot.n_boot, len(members)
    values = np.zeros(n_groups)
    reps = np.zeros((n_boot, n_groups))
    present = np.zeros((n_groups, n_src), dtype=bool)
    n_var = np.zeros(n_groups, dtype=np.int64)
    step = max(1, _MAX_ENTRIES // max(n_src * k, 1))
    for g0 in range(0, n_groups, step):
        part = members[g0 : g0 + step]
        ps = _sums(stats, src, part, n_src)
        counts = ps[..., -1]
        pres = counts > 0
        # Average each source's variants first: the bootstrap unit and the averaging unit agree.
        with np.errstate(invalid="ignore", divide="ignore"):
            unit = np.where(pres[..., None], ps / np.where(pres, counts, 1.0)[..., None], 0.0)
        sl = slice(g0, g0 + len(part))
        values[sl] = metric.combine(unit.sum(axis=1))
        if n_boot:
            reps[:, sl] = metric.combine(boot.replicates_of(unit))
        present[sl] = pres
        n_var[sl] = counts.sum(axis=1).astype(np.int64)
    sets = _Sets(boot.sources)
    cells = [Cell(float(values[g]), reps[:, g], int(present[g].sum()), int(n_var[g]),
                  sets.of(present[g])) for g in range(n_groups)]  # fmt: skip
    return Grouped(cells, present, reps, stats)
