"""Fold assignment without reading pixels, and per-label limits.

Groups (the ``group`` column, else each source on its own, keyed by its path relative to the
dataset root) are ordered by a seeded hash and dealt greedily to the fold that holds the fewest
items of the group's labels, so folds are stratified by label and no group is split across folds
(K-fold CV without moving files).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Sequence

from ..core.errors import ConfigError
from .base import SourceRef

__all__ = ["assign_folds", "with_folds", "limit_per_label"]


def _hash_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def assign_folds(
    groups: Sequence[str], labels: Sequence[str], k: int = 5, seed: int = 0
) -> list[int]:
    """Deterministic fold per item in 0..k-1, stratified by label and grouped by group.

    Groups are taken in seeded-hash order (largest first, so big groups do not unbalance the end)
    and each goes to the fold with the fewest items of its labels so far (ties: lowest fold).
    """
    if len(groups) != len(labels):
        raise ValueError(f"groups and labels differ in length: {len(groups)} vs {len(labels)}")
    if k < 1:
        raise ConfigError(f"folds: must be an integer >= 1, got {k}")
    members: dict[str, Counter] = defaultdict(Counter)
    for g, lab in zip(groups, labels):
        members[g][lab] += 1
    order = sorted(members, key=lambda g: (-sum(members[g].values()), _hash_int(f"{seed}/{g}"), g))
    counts = [Counter() for _ in range(k)]
    totals = [0] * k
    fold_of: dict[str, int] = {}
    for g in order:
        labs = members[g]
        best = min(range(k), key=lambda f: (sum(counts[f][lab] for lab in labs), totals[f], f))
        fold_of[g] = best
        counts[best].update(labs)
        totals[best] += sum(labs.values())
    return [fold_of[g] for g in groups]


def with_folds(refs: list[SourceRef], k: int, seed: int) -> list[SourceRef]:
    """``refs`` with their fold set by :func:`assign_folds` (groups kept together)."""
    folds = assign_folds([r.group for r in refs], [r.label for r in refs], k, seed)
    return [SourceRef(r.path, r.label, r.group, r.key, f) for r, f in zip(refs, folds)]


def limit_per_label(refs: Sequence[SourceRef], n: int) -> list[SourceRef]:
    """The first ``n`` sources of each label in key order (deterministic)."""
    taken: Counter = Counter()
    out = []
    for r in sorted(refs, key=lambda r: (r.label, r.key)):
        if taken[r.label] < n:
            out.append(r)
            taken[r.label] += 1
    return out
