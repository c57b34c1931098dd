"""Fold assignment without reading pixels, and per-label limits.

Groups (the ``group`` column, else each source on its own, keyed by its path relative to the
dataset root) are ordered by a seeded hash and dealt greedily to the fold that holds the fewest
items of the group's labels, so folds are stratified by label and no group is split across folds
(K-fold CV without moving files).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence

import numpy as np

from ..core.errors import ConfigError
from .base import SourceRef
from .table import SourceTable

__all__ = ["assign_folds", "with_folds", "limit_per_label"]


def _hash_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def assign_folds(
    groups: Sequence[str], labels: Sequence[str], k: int = 5, seed: int = 0
) -> list[int]:
    """Deterministic fold per item in 0..k-1, stratified by label and grouped by group.

    Groups are taken in seeded-hash order (largest first, so big groups do not unbalance the end)
    and each goes to the fold with the fewest items of its labels so far (ties: lowest fold).
    Counted in arrays (a group's labels are a slice of sorted (group, label) pairs), not one
    Counter per group: a dataset of 1M single-image groups lists without 1M dicts.
    """
    if len(groups) != len(labels):
        raise ValueError(f"groups and labels differ in length: {len(groups)} vs {len(labels)}")
    if k < 1:
        raise ConfigError(f"folds: must be an integer >= 1, got {k}")
    gcode, gnames = _codes(groups)
    lcode, lnames = _codes(labels)
    n_labels = max(len(lnames), 1)
    pairs, pair_n = np.unique(gcode * n_labels + lcode, return_counts=True)
    pair_label = pairs % n_labels
    starts = np.searchsorted(pairs // n_labels, np.arange(len(gnames) + 1)).tolist()
    size = np.bincount(gcode, minlength=len(gnames))
    seeded = np.array([_hash_int(f"{seed}/{g}") for g in gnames], dtype=np.uint64)
    by_name = np.empty(len(gnames), dtype=np.int64)
    by_name[sorted(range(len(gnames)), key=gnames.__getitem__)] = np.arange(len(gnames))
    counts = np.zeros((k, n_labels), dtype=np.int64)
    totals = np.zeros(k, dtype=np.int64)
    fold_of = np.zeros(len(gnames), dtype=np.int64)
    folds = np.arange(k)
    for g in np.lexsort((by_name, seeded, -size)).tolist():
        labs, n = pair_label[starts[g] : starts[g + 1]], pair_n[starts[g] : starts[g + 1]]
        best = int(np.lexsort((folds, totals, counts[:, labs].sum(axis=1)))[0])
        fold_of[g] = best
        counts[best, labs] += n
        totals[best] += size[g]
    return fold_of[gcode].tolist()


def _codes(items: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """(each item's index among the distinct items, the distinct items in first-seen order)."""
    index: dict[str, int] = {}
    codes = np.fromiter(
        (index.setdefault(x, len(index)) for x in items), dtype=np.int64, count=len(items)
    )
    return codes, list(index)


def with_folds(refs: Sequence[SourceRef], k: int, seed: int) -> SourceTable:
    """``refs`` with their fold set by :func:`assign_folds` (groups kept together), as a
    columnar :class:`SourceTable` (a sequence of ``SourceRef``)."""
    table = SourceTable.from_refs(refs)
    return table.with_folds(assign_folds(table.groups, table.labels, k, seed))


def limit_per_label(refs: Sequence[SourceRef], n: int) -> SourceTable:
    """The first ``n`` sources of each label in key order (deterministic)."""
    table = SourceTable.from_refs(refs)
    if not len(table):
        return table
    # label names, then keys, in string order (UTF-8 bytes sort as the strings do)
    label_rank = np.argsort(np.argsort(np.array(table.label_names, dtype=object)))
    order = np.lexsort((table.keys.sort_keys(), label_rank[table.label_codes]))
    taken: Counter = Counter()
    keep = []
    for i in order.tolist():
        code = int(table.label_codes[i])
        if taken[code] < n:
            keep.append(i)
            taken[code] += 1
    return table.take(keep)
