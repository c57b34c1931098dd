"""Planned levels (issue 12): a randomly drawn parameter is one planned level whose draws are
variants of it; the draws themselves (and so the bytes) are what they always were. Crop levels
are written ``dy=0,dx=1``."""

from __future__ import annotations

import numpy as np
from degradebench.generators.config import parse_config
from degradebench.generators.core.provenance import derive_seed
from degradebench.generators.plan import plan_source

SRC = "0123456789abcdef"


def _suite(axes: str, seed: int = 5):  # noqa: ANN202
    text = f"version: 1\nsuites:\n  s:\n    seed: {seed}\n    axes:\n{axes}"
    return parse_config(text).suite("s")


def test_double_jpeg_random_shifts_are_variants_of_one_planned_level() -> None:
    suite = _suite(
        "      dj:\n        type: double_jpeg\n        q1: [60, 80]\n        q2: [90]\n"
        "        shifts: [[0, 0], [3, 5]]\n        random_shifts: 3\n"
    )
    plans = plan_source(suite, SRC)
    for q1 in (60, 80):
        pair = f"q1={q1},q2=90"
        mine = [p for p in plans if p.axis == "dj" and p.axis_params["q1"] == q1]
        assert [p.level for p in mine] == [f"{pair},shift=0x0", f"{pair},shift=3x5"] + [
            f"{pair},shift=random"
        ] * 3
        drawn = [tuple(p.axis_params["shift"]) for p in mine[2:]]
        # the draw is the planner's seeded choice among the unlisted shifts, as before
        rng = np.random.default_rng(derive_seed(5, SRC, f"dj/{pair},random"))
        free = [i for i in range(64) if divmod(i, 8) not in [(0, 0), (3, 5)]]
        assert drawn == [divmod(int(i), 8) for i in rng.choice(free, size=3, replace=False)]
        for p, (r, c) in zip(mine[2:], drawn):
            assert p.path == f"variants/{SRC}/dj/q1_{q1}_q2_90_shift_{r}x{c}.jpg"
            crop = [s for s in p.chain if s.op == "crop"]
            assert [(s.params.top, s.params.left) for s in crop] == (
                [(r, c)] if (r, c) != (0, 0) else []
            )
    assert len({p.variant_id for p in plans}) == len({p.path for p in plans}) == len(plans)


def test_crop_levels_are_written_dy_dx_and_a_sample_is_one_random_level() -> None:
    suite = _suite(
        "      crop:\n        offsets: [[0, 1], [2, 4]]\n"
        "      drawn:\n        type: crop\n        sample: 4\n"
    )
    plans = plan_source(suite, SRC)
    listed = [p for p in plans if p.axis == "crop"]
    assert [p.level for p in listed] == ["dy=0,dx=1", "dy=2,dx=4"]
    assert [p.path.rsplit("/", 1)[1] for p in listed] == ["0x1.png", "2x4.png"]  # files as before
    drawn = [p for p in plans if p.axis == "drawn"]
    assert {p.level for p in drawn} == {"dy=random,dx=random"} and len(drawn) == 4
    offsets = [(p.axis_params["dy"], p.axis_params["dx"]) for p in drawn]
    rng = np.random.default_rng(derive_seed(5, SRC, "drawn/sample"))
    all_offsets = [(dy, dx) for dy in range(8) for dx in range(8)]
    picks = sorted(int(i) for i in rng.choice(64, size=4, replace=False))
    assert offsets == [all_offsets[i] for i in picks]
    assert len({p.path for p in drawn}) == 4


def test_random_journeys_are_one_planned_level() -> None:
    text = """
version: 1
presets:
  a: {source: test, note: test, chain: [{op: strip_metadata}, {op: jpeg, quality: 80}]}
  b: {source: test, note: test, chain: [{op: strip_metadata}, {op: jpeg, quality: 60}]}
suites:
  s:
    axes:
      hops: {type: social, mode: random, presets: [a, b], hop_range: [1, 3], journeys: 5}
"""
    plans = [p for p in plan_source(parse_config(text).suite("s"), SRC) if p.axis == "hops"]
    assert len(plans) == 5
    for p in plans:
        k = len(p.axis_params["journey"])
        # one planned level (issue 12.1): n per level never depends on the drawn hop counts
        assert p.level == "random" and p.level_value is None and k == p.axis_params["hops"]
    assert len({p.path for p in plans}) == 5  # each journey its own file
