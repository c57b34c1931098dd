"""The benchmark tools themselves (bench/run.py, bench/benchmarks/interleave.py, bench/scale.py):
interleaving order, the three ways a ratio is read, verdicts, flatness checks, RESULTS.md
sections. No timing is asserted: fake sides and synthetic records."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from benchmarks.cases import Group, Ratio, Side  # noqa: E402
from benchmarks.interleave import RatioResult, ratio_result, row, run_group  # noqa: E402


def test_rounds_alternate_which_side_goes_first(tmp_path):
    calls = []
    sides = [Side(n, lambda out, n=n: calls.append((n, out is not None and out.is_dir())))
             for n in "AB"]  # fmt: skip
    g = Group("g", sides, [Ratio("A vs B", "A", "B", None, "max")], rounds=4, warmup=1)
    times = run_group(g, tmp_path, log=lambda s: None)
    assert [c[0] for c in calls][2:] == list("AB" + "BA" + "AB" + "BA")  # after the warm-up
    assert all(fresh for _, fresh in calls)  # each call got its own folder...
    assert list(tmp_path.iterdir()) == []  # ...removed after the clock
    assert {k: len(v) for k, v in times.items()} == {"A": 4, "B": 4}


def test_ratio_of_minima_medians_and_spread():
    times = {"ours": [1.2, 1.0, 3.0, 1.1], "floor": [1.0, 1.0, 1.0, 2.0]}
    r = ratio_result(Ratio("x", "ours", "floor", 1.15, "max"), times)
    assert r.of_minima == pytest.approx(1.0)
    assert r.of_medians == pytest.approx(1.15 / 1.0)
    assert (r.round_lo, r.round_hi) == (pytest.approx(0.55), pytest.approx(3.0))
    assert r.rounds == 4
    assert row(r)[0] == "x" and "0.55-3.00" in row(r)[4]


@pytest.mark.parametrize(
    ("mins", "meds", "kind", "word"),
    [(1.0, 1.1, "max", "PASS"), (1.2, 1.3, "max", "MISS"), (1.1, 1.2, "max", "MIXED"),
     (1.9, 1.85, "min", "PASS"), (1.7, 1.9, "min", "MIXED")],
)  # fmt: skip
def test_verdict_reads_both_minima_and_medians(mins, meds, kind, word):
    target = 1.15 if kind == "max" else 1.8
    r = RatioResult("x", 1, 1, mins, meds, 1, 1, 1, 1, 3, target, kind)
    assert r.verdict().startswith(word)


def test_info_rows_have_no_verdict_and_say_why():
    r = RatioResult("x", 1, 1, 1.5, 1.5, 1, 1, 1, 1, 3, None, "min", "target retired")
    assert r.verdict() == "(info: target retired)"


def test_per_item_times(tmp_path):
    times = {"a": [2.0, 3.0], "b": [1.0, 1.0]}
    r = ratio_result(Ratio("x", "a", "b", 1.0, "min", per=4), times)
    assert (r.num_min_s, r.den_min_s, r.of_minima) == (0.5, 0.25, 2.0)


def test_write_section_replaces_its_own_section_only(tmp_path):
    import run

    res = tmp_path / "RESULTS.md"
    res.write_text("# Benchmark results\n\n## CPU figures (old)\n\nold table\n\n## GPU figures\n\n"
                   "gpu stays\n")  # fmt: skip
    run.write_section("CPU figures", "new table", res)
    text = res.read_text()
    assert "new table" in text and "old table" not in text and "gpu stays" in text
    run.write_section("Scale figures", "scale table", res)
    text = res.read_text()
    assert text.index("## Scale figures") < text.index("## CPU figures") < text.index("## GPU")
    assert text.count("## CPU figures") == 1 and "new table" in text


def _size(n: int, gen_s: float, ver_s: float, ev_s: float, mem: dict, pred: int = 100) -> dict:
    steps = {}
    for step, s in (("generate", gen_s), ("verify", ver_s), ("evaluate", ev_s)):
        steps[step] = {"work_s": s, "wall_s": s + 1, "maxrss_kib": mem[step] * 1024,
                       "self_hwm_kib": mem[step] * 1024}  # fmt: skip
    steps["evaluate"]["metrics_s"] = 0.05 * ev_s
    return {"target_variants": n, "variants": n, "sources": n // 14, "steps": steps,
            "predictions_bytes": pred * n}  # fmt: skip


def test_scale_table_checks_flatness_of_marginal_time_and_memory():
    import scale

    mem = {"generate": 200, "verify": 150, "evaluate": 400}
    big = {"generate": 250, "verify": 150, "evaluate": 500}
    rec = {"when": "now", "jobs": 2, "n_boot": 1000, "sizes": [
        _size(2_000, 3.0, 1.0, 5.0, mem), _size(20_000, 21.0, 10.0, 41.0, mem),
        _size(200_000, 201.0, 100.0, 401.0, big)]}  # fmt: skip
    text = scale.markdown(rec)
    assert "| 200,000 |" in text and "100.0" in text  # predictions bytes per variant
    lines = {ln.split(":")[0]: ln for ln in text.splitlines() if ln.startswith("- ")}
    # fixed start-up of 1 s: whole-time flatness misses, the marginal cost is flat
    assert "largest 1.00x the smallest interval: PASS" in lines["- generate"]
    assert "MISS" in lines["- generate"].split("whole time")[1]
    assert "MISS" in lines["- peak memory, generate"]  # 250 / 200
    assert "PASS" in lines["- peak memory, verify"]
    assert "5.0%" in lines["- metrics share of evaluate at 200,000 variants"]
