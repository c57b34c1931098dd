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

__all__ = ["suite_of", "is_clean", "Paired", "paired", "pairing_report"]


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


def pairing_report(pred: pd.DataFrame) -> tuple[list[dict], str | None]:
    """Per (suite, axis, level) whose sources differ from clean's in the same suite: counts.

    Returns the list (``suite, axis, level, n, n_clean, n_paired``) and one warning line (None
    when every level has exactly clean's sources).
    """
    suites = suite_of(pred)
    clean = is_clean(pred)
    found: list[dict] = []
    for suite, g in pred.groupby(suites.to_numpy(), sort=True):
        cmask = clean[suites.to_numpy() == suite]
        clean_src = set(g.loc[cmask, "source_id"])
        for (axis, level), lg in g[~cmask].groupby(["axis", "level"], sort=True):
            src = set(lg["source_id"])
            if src != clean_src:
                found.append({"suite": suite or None, "axis": str(axis), "level": str(level),
                              "n": len(src), "n_clean": len(clean_src),
                              "n_paired": len(src & clean_src)})  # fmt: skip
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
