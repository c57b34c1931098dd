"""Clean pairing: a level is compared with clean on the sources that have both, within one suite.

Drops, gains, ``delta_clean``, flip rate and CE are paired comparisons. When a level's sources
differ from clean's (a manipulation that failed for small sources, a clean variant that could not
be decoded), comparing the level's mean with clean's mean over other sources answers another
question (and can make a drop negative). So they are computed on the intersection only, its size
is reported as ``n_paired``, and :func:`pairing_report` says which levels differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..results import CLEAN
from .base import Metric
from .bootstrap import Bootstrap, Cell, cell
from .grouped import Grouped, grouped_cells, key_groups, suite_rows

__all__ = ["suite_of", "is_clean", "Paired", "paired", "paired_cells", "pairing_report", "metric_cells"]


def suite_of(pred: pd.DataFrame) -> pd.Series:
    """Each row's suite as a string ("" when the predictions carry no suite)."""
    if "suite" not in pred:
        return pd.Series("", index=pred.index, dtype=object)
    return pred["suite"].astype(object).where(pred["suite"].notna(), "").astype(str)


def is_clean(pred: pd.DataFrame) -> np.ndarray:
    """Rows that are the clean (unaltered) variant of their source."""
    return ((pred["axis"] == CLEAN) & (pred["level"] == CLEAN)).to_numpy()


@dataclass
class Paired:
    """A cell and clean on their common sources: ``delta = at.value - clean.value``."""

    at: Cell
    clean: Cell
    n_paired: int

    @property
    def delta(self) -> float:
        """Value minus clean's on the paired sources (NaN when none are paired)."""
        return self.at.value - self.clean.value if self.n_paired else float("nan")

    @property
    def delta_reps(self) -> np.ndarray:
        """Bootstrap replicates of :attr:`delta`."""
        return self.at.reps - self.clean.reps


def paired(
    metric: Metric,
    rows: pd.DataFrame,
    clean_rows: pd.DataFrame,
    boot: Bootstrap,
    at: Cell,
    clean: Cell | None,
) -> Paired | None:
    """``at`` (the cell over ``rows``) and clean restricted to the sources both have.

    Reuses the given cells when the source sets already match; None without a clean cell.
    """
    if clean is None:
        return None
    common = at.sources & clean.sources
    at_p = at if common == at.sources else cell(metric, rows, boot, common)
    clean_p = clean if common == clean.sources else cell(metric, clean_rows, boot, common)
    return Paired(at_p, clean_p, len(common))


def paired_cells(
    metric: Metric, frame: pd.DataFrame, src: np.ndarray, boot: Bootstrap, res: Grouped,
    members: list[np.ndarray], clean: int,
) -> list[Paired | None]:  # fmt: skip
    """:func:`paired` for every group of ``res`` (``metric`` over ``frame.iloc[members[g]]``,
    see :func:`.grouped.grouped_cells`) against group ``clean``; None where a group has no rows
    that take part or clean has none. Groups whose sources differ from clean's are recomputed
    on the common sources, all in one pass."""
    cc = res.cells[clean]
    if cc.n_variants == 0:
        return [None] * len(members)
    if res.present is None:  # a metric with its own cells (detection): one pair at a time
        clean_rows = frame.iloc[members[clean]]
        return [paired(metric, frame.iloc[m], clean_rows, boot, c, cc) if c.n_variants else None
                for m, c in zip(members, res.cells)]  # fmt: skip
    cp = res.present[clean]
    common = res.present & cp
    at_same = (common == res.present).all(axis=1)
    clean_same = (common == cp).all(axis=1)
    # The cells to recompute on the common sources: (group, whose rows) -> rows.
    todo: dict[tuple[int, int], np.ndarray] = {}
    for g, c in enumerate(res.cells):
        for same, whose in ((at_same[g], g), (clean_same[g], clean)):
            if c.n_variants and not same:
                rows = members[whose]
                todo[(g, whose)] = rows[common[g][src[rows]]]
    redone = grouped_cells(metric, frame, src, list(todo.values()), boot, stats=res.stats).cells
    again = dict(zip(todo, redone))
    return [
        Paired(again.get((g, g), c), again.get((g, clean), cc), int(common[g].sum()))
        if c.n_variants else None
        for g, c in enumerate(res.cells)
    ]  # fmt: skip


def pairing_report(pred: pd.DataFrame) -> tuple[list[dict], str | None]:
    """Per (suite, axis, level) whose sources differ from clean's in the same suite: counts.

    Returns the list (``suite, axis, level, n, n_clean, n_paired``) and one warning line (None
    when every level has exactly clean's sources).
    """
    suites = suite_of(pred)
    clean = is_clean(pred)
    found: list[dict] = []
    src, ids = pd.factorize(pred["source_id"], use_na_sentinel=False)
    for suite, g, pos in suite_rows(pred, suites):
        cmask = clean[pos]
        clean_src = np.zeros(len(ids), dtype=bool)
        clean_src[src[pos[cmask]]] = True
        rest = np.flatnonzero(~cmask)
        keys, members = key_groups(g.iloc[rest], ["axis", "level"], sort=True)
        for (axis, level), m in zip(keys, members):
            at = np.zeros(len(ids), dtype=bool)
            at[src[pos[rest[m]]]] = True
            if (at != clean_src).any():
                found.append({"suite": suite or None, "axis": str(axis), "level": str(level),
                              "n": int(at.sum()), "n_clean": int(clean_src.sum()),
                              "n_paired": int((at & clean_src).sum())})  # fmt: skip
    if not found:
        return found, None
    eg = ", ".join(f"{d['axis']}/{d['level']} ({d['n_paired']} of {d['n']} sources paired, clean "
                   f"has {d['n_clean']})" for d in found[:3])  # fmt: skip
    more = f" and {len(found) - 3} more" if len(found) > 3 else ""
    line = (
        f"{len(found)} levels have other sources than clean: {eg}{more}; drops, flip rate and "
        "CE use the paired sources only (n_paired)"
    )
    return found, line


def metric_cells(metrics: list[Metric], sp: pd.DataFrame, src: np.ndarray,
                 members: list[np.ndarray], boot: Bootstrap) -> list[tuple]:  # fmt: skip
    """Per metric ``(metric, cells, paired, ci)`` for the groups ``members`` of one suite's
    rows ``sp`` (the last group is the suite's clean rows): every group at once, the pairing
    with clean and the bootstrap intervals (shared by the level and the curve tables)."""
    out = []
    for m in metrics:
        res = grouped_cells(m, sp, src, members, boot)
        pairs = paired_cells(m, sp, src, boot, res, members, len(members) - 1)
        ci = boot.intervals(res.reps) if res.reps is not None else None
        out.append((m, res.cells, pairs, ci))
    return out

