"""The seeded bootstrap over source images, and one figure with its replicates (a :class:`Cell`).

One weight matrix ``[B, S]`` is drawn per evaluation (seeded), so the intervals of every level,
and of figures derived from several levels (AUC, drops, SP Cup score), come from the same
resampled source sets. The source is the unit everywhere: a source's variants in a cell are
averaged first (its statistics divided by its own count), then sources are averaged. With one
variant per source and cell this is the plain mean over variants.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .base import Metric

__all__ = ["Bootstrap", "Cell", "cell"]


class Bootstrap:
    """Seeded bootstrap over source images: one weight matrix ``[B, S]`` for a whole evaluation.

    Row b holds how many times each source is drawn in replicate b (S draws with replacement).
    """

    def __init__(self, source_ids, n_boot: int = 1000, seed: int = 0, ci: float = 0.95):
        self.sources = self.unique_sources(source_ids)
        self.n_boot = int(n_boot)
        self.ci = ci
        s = len(self.sources)
        rng = np.random.default_rng(seed)
        if self.n_boot > 0 and s > 0:
            self.weights = rng.multinomial(s, np.full(s, 1.0 / s), size=self.n_boot).astype(
                np.float64
            )
        else:
            self.weights = np.zeros((0, s))

    @staticmethod
    def unique_sources(source_ids) -> pd.Index:
        """The distinct source ids in order of first appearance (the weights' columns)."""
        ids = source_ids.to_numpy(dtype=object) if hasattr(source_ids, "to_numpy") else None
        ids = list(source_ids) if ids is None else ids
        return pd.Index(pd.unique(pd.Series(ids, dtype=object)))

    def codes(self, source_ids) -> np.ndarray:
        """Each row's position in :attr:`sources`.

        Raises:
            ValueError: a source_id is not among the bootstrap's sources.
        """
        ids = pd.Index(np.asarray(source_ids, dtype=object), dtype=object)
        codes = self.sources.get_indexer(ids)
        if (codes < 0).any():
            bad = ids[codes < 0][0]
            raise ValueError(f"a row's source_id {bad!r} is not among the bootstrap's sources; "
                             "build the Bootstrap from every scored row's source_id")  # fmt: skip
        return codes

    def per_source(self, source_ids: pd.Series, stats: np.ndarray) -> np.ndarray:
        """Row statistics ``[N, k]`` summed per source -> ``[S, k]`` (zeros for absent sources)."""
        codes = self.codes(source_ids)
        out = np.zeros((len(self.sources), stats.shape[1]))
        np.add.at(out, codes, stats)
        return out

    def replicates(self, per_source: np.ndarray) -> np.ndarray:
        """``[S, k]`` per-source sums -> ``[B, k]`` replicate sums."""
        return self.weights @ per_source

    def replicates_of(self, per_source: np.ndarray) -> np.ndarray:
        """``[G, S, k]`` per-source sums of G groups -> ``[B, G, k]``: one matrix product."""
        g, s, k = per_source.shape
        flat = per_source.transpose(1, 0, 2).reshape(s, g * k)
        return (self.weights @ flat).reshape(-1, g, k)

    def interval(self, reps: np.ndarray) -> tuple[float, float]:
        """The percentile interval of replicate values (NaN when there are none)."""
        reps = reps[~np.isnan(reps)]
        if len(reps) == 0:
            return (math.nan, math.nan)
        a = (1 - self.ci) / 2 * 100
        lo, hi = np.percentile(reps, [a, 100 - a])
        return float(lo), float(hi)

    def intervals(self, reps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`interval` of every column of ``reps`` ``[B, G]`` -> (lows, highs) ``[G]``."""
        g = reps.shape[1]
        lo, hi = np.full(g, math.nan), np.full(g, math.nan)
        if reps.shape[0] == 0 or g == 0:
            return lo, hi
        clean = ~np.isnan(reps).any(axis=0)
        if clean.any():
            a = (1 - self.ci) / 2 * 100
            lo[clean], hi[clean] = np.percentile(reps[:, clean], [a, 100 - a], axis=0)
        for j in np.flatnonzero(~clean):
            lo[j], hi[j] = self.interval(reps[:, j])
        return lo, hi


@dataclass
class Cell:
    """One figure: its value, bootstrap replicates ``[B]``, sources and variants behind it."""

    value: float
    reps: np.ndarray
    n: int  # distinct sources that take part
    n_variants: int = 0
    sources: frozenset = frozenset()


def cell(
    metric: Metric, df: pd.DataFrame, boot: Bootstrap, sources: Iterable | None = None
) -> Cell:
    """``metric`` over the rows of ``df`` (restricted to ``sources`` when given), by source.

    A metric that is not a sum of per-row statistics (detection AUC, EER: see
    :mod:`.forensic_levels`) computes its own cell: ``metric.cell_of(df, boot)``.
    """
    if sources is not None:
        df = df[df["source_id"].isin(set(sources))]
    own = getattr(metric, "cell_of", None)
    if own is not None:
        return own(df, boot)
    stats = metric.stats(df)
    ps = boot.per_source(df["source_id"], stats)
    counts = ps[:, -1]
    present = counts > 0
    # Average each source's variants first: the bootstrap unit and the averaging unit agree.
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = np.where(present[:, None], ps / np.where(present, counts, 1.0)[:, None], 0.0)
    value = float(metric.combine(unit.sum(axis=0)))
    reps = metric.combine(boot.replicates(unit)) if boot.n_boot else np.zeros(0)
    used = frozenset(boot.sources[present])
    return Cell(value, reps, int(present.sum()), int(counts.sum()), used)
