"""Run the speed benchmarks and print the tables (and, with --write, bench/RESULTS.md).

    python bench/run.py                # interleaved ratios, peak memory, peers (~8 min, 2 cores)
    python bench/run.py --quick        # 3 rounds per group: a smoke run
    python bench/run.py --demo         # also time `degradebench demo`, then 3 fresh reports (+5 min)
    python bench/run.py --scale 2000,20000   # also run bench/scale.py at these sizes
    python bench/run.py --write        # record the tables in bench/RESULTS.md
    python bench/run.py -k ladder      # only the groups whose name or labels contain a word
    python bench/run.py --pytest       # the pytest-benchmark suite instead (sequential timings)

Every ratio's sides run interleaved in this one process (A, B, B, A, ...; see
bench/benchmarks/interleave.py) and are reported as the ratio of minima, of medians and the
spread of the per-round ratios. The peers run in their own venv (.bench-peers/, made on first
use) as a server this process asks round by round. The scale and demo rows are the last ones
recorded in .benchmarks/ (by bench/scale.py, or by --demo / --scale here), with their date.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RECORDS = ROOT / ".benchmarks"  # git-ignored: the last scale and demo figures
REPORT_RUNS = 3  # fresh `degradebench report` processes timed after the demo
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


def machine() -> str:
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    except Exception:  # noqa: BLE001
        gpu = "torch unavailable"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {gpu}, Python {platform.python_version()}"


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def write_section(title: str, body: str, results: Path = HERE / "RESULTS.md") -> Path:
    """Replace the ``## {title}...`` section of RESULTS.md (or insert it after the heading)."""
    old = results.read_text() if results.exists() else "# Benchmark results\n\n"
    head, sep, rest = old.partition(f"## {title}")
    keep = rest.split("\n## ", 1)[1] if sep and "\n## " in rest else ""
    if not sep:  # new section first, the older ones below it
        head, keep = old.split("\n## ", 1)[0], old.split("\n## ", 1)[1] if "\n## " in old else ""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = f"## {title} ({stamp})\n\nMachine: {machine()}\n\n{body.strip()}\n"
    results.write_text(head.rstrip() + "\n\n" + section + ("\n## " + keep if keep else ""))
    return results


def _wanted(name: str, labels: list[str], words: list[str] | None) -> bool:
    return not words or any(w in name or any(w in label for label in labels) for w in words)


def _selected(groups, words: list[str] | None):
    return [g for g in groups if _wanted(g.name, [r.label for r in g.ratios], words)]


def ratio_table(args, scratch: Path) -> tuple[str, list]:
    from benchmarks import cases
    from benchmarks.data import make_bench_tree, write_bench_config
    from benchmarks.interleave import HEADER, row, run_groups

    tree = make_bench_tree(scratch / "data")
    cfg = write_bench_config(tree, scratch / "datasets.yaml")
    words = args.k.split() if args.k else None
    rounds = 3 if args.quick else args.rounds
    groups = _selected(cases.generate_groups(tree, cfg), words)
    groups += _selected(cases.op_groups(), words)
    server = None
    if not args.no_peers and _wanted("peers", ["imagecorruptions", "albumentations"], words):
        import peers

        server = peers.PeerServer(peers.setup())
        groups += [cases.peer_group(tree, cfg, server, save) for save in args.peer_save.split(",")]
    try:
        results = run_groups(groups, scratch, rounds)
        if _wanted("eval-reference-cpu", ["evaluate (reference, CPU)"], words):
            eval_rounds = min(rounds, 3) if rounds else None
            results += run_groups([cases.eval_group(scratch / "eval")], scratch, eval_rounds)
    finally:
        if server is not None:
            server.close()
    return table(HEADER, [row(r) for r in results]), results


def memory_row(scratch: Path) -> tuple[str, ...]:
    from benchmarks.cases import peak_memory

    p1, p2 = (peak_memory(scratch, n)["peak_kib"] for n in (20, 200))
    r = p2 / p1
    return ("peak memory of generate, 200 vs 20 sources (fresh processes)",
            f"{p2 / 1024:.0f} / {p1 / 1024:.0f} MiB, ratio {r:.2f}",
            f"{'PASS' if r <= 1.10 else 'MISS'} (<= 1.10)")  # fmt: skip


def _wall(cmd: list[str], **kw) -> tuple[float, subprocess.CompletedProcess]:
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return time.perf_counter() - t, done


def run_demo(scratch: Path) -> dict:
    """`degradebench demo` in a fresh folder (wall time, imports included), then a fresh
    `degradebench report` of its results (wall time); recorded in .benchmarks/demo.json."""
    cli = [sys.executable, "-m", "degradebench"]
    out = scratch / "demo"
    demo_s, done = _wall([*cli, "demo", "--out", str(out), "--no-progress"])
    lines = [ln.strip() for ln in done.stdout.splitlines() if " variants in " in ln]
    results = sorted(str(p.parent) for p in (out / "results").glob("*/summary.parquet"))
    # a fresh folder each time (a report of unchanged inputs is reused); the least disturbed
    # of REPORT_RUNS processes is the figure, the others say how noisy the machine was
    runs = [_wall([*cli, "report", *results, "--out", str(scratch / f"report{i + 2}")])[0]
            for i in range(REPORT_RUNS)]  # fmt: skip
    rec = {"when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "machine": machine(), "demo_s": demo_s, "demo_line": lines[-1] if lines else "",
           "report_s": min(runs), "report_runs": runs,
           "report_results": len(results)}  # fmt: skip
    RECORDS.mkdir(exist_ok=True)
    (RECORDS / "demo.json").write_text(json.dumps(rec, indent=1))
    return rec


def _runs(runs: list[float] | None) -> str:
    if not runs or len(runs) < 2:
        return ""
    return f", least of {len(runs)} fresh processes ({', '.join(f'{r:.1f}' for r in runs)} s)"


def demo_rows(rec: dict) -> list[tuple[str, ...]]:
    when = f"recorded {rec['when']}"
    m = re.match(r"(\d+) variants", rec.get("demo_line", ""))
    return [
        ("`degradebench demo` (fresh folder, wall, imports included)",
         f"{rec['demo_s']:.0f} s{f' for {m.group(1)} variants' if m else ''}; "
         f"its own breakdown: {rec.get('demo_line') or 'n/a'} ({when})",
         f"{'PASS' if rec['demo_s'] <= 300 else 'MISS'} (<= 5 min)"),
        (f"`degradebench report` of the demo's {rec['report_results']} results (fresh, wall)",
         f"{rec['report_s']:.1f} s{_runs(rec.get('report_runs'))} ({when})",
         f"{'PASS' if rec['report_s'] <= 6 else 'MISS'} (<= 6 s)"),
    ]  # fmt: skip


def scale_text(args) -> str:
    """The scale table: run bench/scale.py with --scale, else the last recorded one."""
    import scale

    if args.scale:
        rec = scale.run_sizes([int(s) for s in args.scale.split(",")])
    else:
        rec = scale.load_record()
    if rec is None:
        return "(no scale figures recorded yet: `python bench/scale.py` records them)"
    return scale.markdown(rec)


def run_pytest(extra: list[str]) -> int:
    cmd = [sys.executable, "-m", "pytest", str(HERE / "benchmarks"), "-q", "-p",
           "no:cacheprovider", "--benchmark-enable", "--benchmark-only",
           "--benchmark-columns=min,median,mean,rounds", *extra]  # fmt: skip
    return subprocess.call(cmd, cwd=ROOT)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rounds", type=int, default=None, help="rounds per group (default: each "
                    "group's own, 5-15; the evaluate group at most 3)")  # fmt: skip
    ap.add_argument("--quick", action="store_true", help="3 rounds per group (a smoke run)")
    ap.add_argument("--no-peers", action="store_true", help="skip imagecorruptions/albumentations")
    ap.add_argument(
        "--peer-save",
        default="png",
        help="how the peers save their results: png (lossless, default), jpeg (re-encoded at the "
        "library's default quality, ImageNet-C's pitfall) or png,jpeg",
    )
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory processes")
    ap.add_argument("--demo", action="store_true",
                    help="also run the demo and time 3 fresh reports (the least is recorded)")  # fmt: skip
    ap.add_argument("--scale", default=None, metavar="SIZES",
                    help="also run bench/scale.py at these variant counts (e.g. 2000,20000)")  # fmt: skip
    ap.add_argument("--write", action="store_true", help="write the tables to bench/RESULTS.md")
    ap.add_argument("-k", default=None, help="words: only the groups whose name or labels "
                    "contain one (with --pytest: a pytest -k expression)")  # fmt: skip
    ap.add_argument("--pytest", action="store_true", help="run the pytest-benchmark suite instead")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.pytest:
        return run_pytest(["-k", args.k] if args.k else [])
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="degradebench-bench-") as tmp:
        scratch = Path(tmp)
        ratios, results = ratio_table(args, scratch)
        other = [] if args.no_memory or args.k else [memory_row(scratch)]
        if args.demo:
            run_demo(scratch)
    rec = json.loads((RECORDS / "demo.json").read_text()) if (RECORDS / "demo.json").exists() \
        else None  # fmt: skip
    other += demo_rows(rec) if rec else []
    text = "Ratios (interleaved rounds):\n\n" + ratios
    if other:
        text += "\n\nOther figures:\n\n" + table(("what", "figure", "target"), other)
    text += "\n\nScale (bench/scale.py):\n\n" + scale_text(args)
    print("\n" + text + f"\n\n(run took {time.perf_counter() - t0:.0f} s)")
    if args.write:
        print(f"\nwrote {write_section('CPU figures', text)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
