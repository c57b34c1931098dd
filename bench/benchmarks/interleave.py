"""Time the sides of a group interleaved, round by round, and read ratios that survive a noisy
machine.

Each round runs every side once, in forward order on even rounds and reversed on odd ones
(A B, B A, A B, ...), so a slow spell of the machine hits both sides of a ratio alike and neither
side always runs first. A ratio is reported three ways: the ratio of the sides' minima (noise
only ever adds time, so the minimum is each side's least disturbed round), the ratio of their
medians, and the spread of the per-round ratios (both sides of one round ran seconds apart)."""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .cases import Group, Ratio, Side


@dataclass(frozen=True)
class RatioResult:
    label: str
    num_min_s: float
    den_min_s: float
    of_minima: float
    of_medians: float
    round_lo: float  # per-round ratios: lowest, quartiles, highest
    round_q1: float
    round_q3: float
    round_hi: float
    rounds: int
    target: float | None
    kind: str
    note: str = ""

    def verdict(self) -> str:
        if self.target is None:
            return "(info" + (f": {self.note}" if self.note else "") + ")"
        if self.note:
            return f"{self._verdict()}; {self.note}"
        return self._verdict()

    def _verdict(self) -> str:
        assert self.target is not None
        sign = "<=" if self.kind == "max" else ">="

        def ok(r: float) -> bool:
            return r <= self.target if self.kind == "max" else r >= self.target

        a, b = ok(self.of_minima), ok(self.of_medians)
        word = "PASS" if a and b else "MISS" if not (a or b) else "MIXED (minima " + (
            "pass, medians miss" if a else "miss, medians pass") + ")"  # fmt: skip
        return f"{word} ({sign} {self.target})"


def time_side(side: Side, scratch: Path) -> float:
    """Seconds for one call of ``side`` (the mean of its ``inner`` calls); the fresh output
    folder is made before and removed after the clock."""
    out = Path(tempfile.mkdtemp(dir=scratch)) if side.fresh_dir else None
    try:
        t = time.perf_counter()
        for _ in range(side.inner):
            side.fn(out)
        return (time.perf_counter() - t) / side.inner
    finally:
        if out is not None:
            shutil.rmtree(out, ignore_errors=True)


def run_group(
    group: Group, scratch: Path, rounds: int | None = None, log: Callable[[str], None] = print
) -> dict[str, list[float]]:
    """Seconds per round for each side of ``group`` (warm-up rounds dropped)."""
    rounds = group.rounds if rounds is None else rounds
    times: dict[str, list[float]] = {s.name: [] for s in group.sides}
    t0 = time.perf_counter()
    for r in range(-group.warmup, rounds):
        order = group.sides if r % 2 == 0 else group.sides[::-1]
        for side in order:
            dt = time_side(side, scratch)
            if r >= 0:
                times[side.name].append(dt)
    log(f"  {group.name}: {rounds} rounds in {time.perf_counter() - t0:.1f} s")
    return times


def quartiles(xs: list[float]) -> tuple[float, float]:
    if len(xs) < 2:
        return xs[0], xs[0]
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], q[2]


def ratio_result(ratio: Ratio, times: dict[str, list[float]]) -> RatioResult:
    num, den = times[ratio.num], times[ratio.den]
    per_round = [a / b for a, b in zip(num, den)]
    q1, q3 = quartiles(per_round)
    return RatioResult(
        label=ratio.label, num_min_s=min(num) / ratio.per, den_min_s=min(den) / ratio.per,
        of_minima=min(num) / min(den),
        of_medians=statistics.median(num) / statistics.median(den),
        round_lo=min(per_round), round_q1=q1, round_q3=q3, round_hi=max(per_round),
        rounds=len(per_round), target=ratio.target, kind=ratio.kind, note=ratio.note,
    )  # fmt: skip


def run_groups(
    groups: list[Group], scratch: Path, rounds: int | None = None,
    log: Callable[[str], None] = print,
) -> list[RatioResult]:  # fmt: skip
    out = []
    for g in groups:
        times = run_group(g, scratch, rounds, log)
        out += [ratio_result(r, times) for r in g.ratios]
    return out


def _ms(s: float) -> str:
    return f"{s * 1000:.1f}" if s >= 0.01 else f"{s * 1000:.2f}"


def row(r: RatioResult) -> tuple[str, ...]:
    spread = (
        f"{r.round_lo:.2f}-{r.round_hi:.2f} (IQR {r.round_q1:.2f}-{r.round_q3:.2f}, n={r.rounds})"
    )
    return (
        r.label, f"{_ms(r.num_min_s)} / {_ms(r.den_min_s)} ms", f"{r.of_minima:.2f}",
        f"{r.of_medians:.2f}", spread, r.verdict(),
    )  # fmt: skip


HEADER = (
    "comparison", "minima (A / B)", "ratio of minima", "ratio of medians",
    "per-round ratios: range (IQR)", "target",
)  # fmt: skip
