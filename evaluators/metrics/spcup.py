"""The IEEE SP Cup 2018 score, a figure suites declare (``figures: [spcup2018_score]``).

Score = 0.7 x accuracy on the unaltered (clean) variants + 0.3 x accuracy on the manipulated
ones (FACTS: SP Cup 2018 / Kaggle camera-model identification). It is computed only when every
source has its clean variant and every manipulation the suite planned: with some sources missing
a manipulation (too small for x0.5, say) the two halves would be averages over different images.
"""

from __future__ import annotations

import math

from .base import METRICS, labelled
from .bootstrap import cell
from .figures import Figure, FigureAbsent, SuiteCurves, figure_row
from .pairing import is_clean

__all__ = ["SPCup2018Score", "SPCUP2018"]


def _missing(ctx: SuiteCurves) -> list[tuple[str, list[str]]]:
    """(level, sources lacking it) for each planned level some source lacks."""
    pred = ctx.pred
    have = set(zip(pred["axis"].astype(str), pred["level"].astype(str)))
    planned = set(ctx.planned or ()) | have | {("clean", "clean")}
    sources = set(pred["source_id"])
    out = []
    for axis, level in sorted(planned):
        at = pred[(pred["axis"] == axis) & (pred["level"] == level)]
        lacking = sorted(sources - set(at["source_id"]))
        if lacking:
            out.append((f"{axis}/{level}", lacking))
    return out


class SPCup2018Score(Figure):
    """``spcup2018_score`` (axis ``*``): 0.7 x accuracy(unaltered) + 0.3 x accuracy(manipulated)."""

    name = "spcup2018_score"
    default = False
    doc = "0.7 x accuracy(unaltered) + 0.3 x accuracy(manipulated), IEEE SP Cup 2018"

    def rows(self, ctx: SuiteCurves) -> list[dict]:
        """The score row, or FigureAbsent with the reason."""
        if not labelled(ctx.pred):
            raise FigureAbsent("the variants have no labels, so there is no accuracy")
        missing = _missing(ctx)
        if missing:
            n_src = ctx.pred["source_id"].nunique()
            eg = "; ".join(f"{lvl} for {len(s)} of {n_src} sources" for lvl, s in missing[:4])
            raise FigureAbsent(
                f"needs clean and every manipulation on the same sources; missing {eg} "
                "(not generated, e.g. a source too small, or not evaluated)"
            )
        acc = METRICS.get("accuracy")
        clean = is_clean(ctx.pred)
        cu = cell(acc, ctx.pred[clean], ctx.boot)
        cm = cell(acc, ctx.pred[~clean], ctx.boot)
        score = 0.7 * cu.value + 0.3 * cm.value
        lo = hi = math.nan
        if ctx.boot.n_boot:
            lo, hi = ctx.boot.interval(0.7 * cu.reps + 0.3 * cm.reps)
        detail = {
            "unaltered_accuracy": cu.value,
            "manipulated_accuracy": cm.value,
            "definition": "0.7 * accuracy(unaltered) + 0.3 * accuracy(manipulated)",
        }
        return [figure_row(ctx, "*", "spcup2018_score", score, lo=lo, hi=hi, n=cu.n,
                           n_variants=cu.n_variants + cm.n_variants, detail=detail)]  # fmt: skip


SPCUP2018 = SPCup2018Score()
