"""Cost that grows linearly: generate, verify and evaluate 2k, 20k and 200k variants (not CI).

    python bench/scale.py                      # 2,000, 20,000 and 200,000 variants (~15 min)
    python bench/scale.py --sizes 200,2000     # a quick run while developing
    python bench/scale.py --write              # also record the table in bench/RESULTS.md
    python bench/scale.py --steps generate     # one step only (its columns; nothing recorded)

The sources are 96 px JPEG crops of scikit-image's photographs (a ``list`` dataset, 6 labels);
the suite is the shipped ``jpeg-ladder`` (13 qualities + clean = 14 variants per source). Each
step runs in its own process, started by a small launcher that reads the step's peak RSS
(``RUSAGE_CHILDREN``: the largest process of the step's tree, workers included):

* ``generate --jobs 2`` (2 cores), ``verify``, ``evaluate`` with the built-in ``dummy`` model
  (64 px centre crop, batch 256, bootstrap B = 1000, device cpu).

Per-variant time is the API call's time (interpreter start and imports, a fixed ~1-2 s, are in
the wall column, not in the ratio). Flatness: time per variant within 15% of the smallest size's,
peak memory of generate and verify within 10%; evaluate's memory grows by the predictions it
keeps (bytes per variant in the table). The metrics share is the time inside evaluate's metrics
step (summary, curves, axis figures, pairing; timed by wrapping it) over the API call's time.
The last run is kept in ``.benchmarks/scale.json`` (``python bench/run.py`` prints it).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECORD = HERE.parent / ".benchmarks" / "scale.json"
PARTIAL = HERE.parent / ".benchmarks" / "scale-partial.json"  # a --steps run: not the table's
SIZES = (2_000, 20_000, 200_000)
STEPS = ("generate", "verify", "evaluate")
PER_SOURCE = 14  # jpeg-ladder: 13 qualities + clean
SIDE = 96
LABELS = 6

# A tiny process (a few MiB) between us and each step: ru_maxrss survives execve, so a step
# started from a big process would report that process's peak, not its own.
_LAUNCHER = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - t
if done.returncode:
    sys.stderr.write(done.stderr[-4000:])
    raise SystemExit(done.returncode)
rec = json.loads(done.stdout.strip().splitlines()[-1])
rec.update(wall_s=wall, maxrss_kib=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(json.dumps(rec))
"""

_STEP = """
import json, sys, time
t0 = time.perf_counter()
import degradebench as db
step, a = sys.argv[1], json.loads(sys.argv[2])
info, timers = {}, {}
if step == "evaluate":
    from degradebench.evaluators import _evaluate as ev
    def timed(name):
        fn = getattr(ev, name, None)
        if fn is None:
            return
        def wrapper(*args, **kw):
            t = time.perf_counter()
            try:
                return fn(*args, **kw)
            finally:
                timers[name] = timers.get(name, 0.0) + time.perf_counter() - t
        setattr(ev, name, wrapper)
    for name in ("_metrics", "_regression_metrics"):
        timed(name)
t1 = time.perf_counter()
if step == "generate":
    s = db.generate(config=a["config"], dataset="scale", suite="jpeg-ladder", out=a["out"],
                    jobs=a["jobs"], progress=False)
    info = {"variants": s.variants}
elif step == "verify":
    r = db.verify(a["out"])
    info = {"variants": r.checked, "ok": r.ok}
else:
    r = db.evaluate(a["out"], "dummy", a["results"], device="cpu", batch_size=256,
                    n_boot=a["n_boot"], progress=False, reuse=False)
    run = json.load(open(f"{a['results']}/run.json"))
    info = {"variants": len(r.predictions), "loop_s": run["throughput"]["seconds"],
            "metrics_s": sum(timers.values()) if timers else None,
            "timings": run.get("timings"), "pipeline": run["throughput"].get("pipeline")}
work = time.perf_counter() - t1
hwm = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
print(json.dumps({"import_s": t1 - t0, "work_s": work, "self_hwm_kib": hwm, **info}))
"""


def make_sources(root: Path, n: int) -> Path:
    """``n`` distinct 96 px JPEG crops (q 90) and their list.csv (path,label)."""
    import numpy as np
    import skimage.data
    from PIL import Image

    photos = [getattr(skimage.data, k)()[..., :3] for k in
              ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "retina")]  # fmt: skip
    rng = np.random.default_rng(0)
    rows = ["path,label"]
    for i in range(n):
        img = photos[i % len(photos)]
        y = int(rng.integers(0, img.shape[0] - SIDE))
        x = int(rng.integers(0, img.shape[1] - SIDE))
        rel = f"s{i // 1000:03d}/img{i:06d}.jpg"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(img[y : y + SIDE, x : x + SIDE])).save(
            buf, "JPEG", quality=90
        )
        (root / rel).write_bytes(buf.getvalue())
        rows.append(f"{rel},c{i % LABELS}")
    (root / "list.csv").write_text("\n".join(rows) + "\n")
    return root / "list.csv"


def write_config(work: Path, table: Path) -> Path:
    from importlib import resources

    import yaml

    shipped = resources.files("degradebench.generators") / "datasets.yaml"
    suite = yaml.safe_load(shipped.read_text(encoding="utf-8"))["suites"]["jpeg-ladder"]
    cfg = {"version": 1,
           "datasets": {"scale": {"kind": "list", "path": str(table), "root": str(table.parent)}},
           "suites": {"jpeg-ladder": suite}}  # fmt: skip
    (work / "datasets.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return work / "datasets.yaml"


def run_step(step: str, args: dict) -> dict:
    cmd = [sys.executable, "-c", _LAUNCHER, sys.executable, "-c", _STEP, step, json.dumps(args)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"scale step {step!r} failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_size(
    work: Path, n_variants: int, jobs: int, n_boot: int, log=print, steps: tuple = STEPS
) -> dict:
    sources = math.ceil(n_variants / PER_SOURCE)
    base = work / f"n{n_variants}"
    t = time.perf_counter()
    table = make_sources(base / "src", sources)
    cfg = write_config(base, table)
    log(f"  {n_variants}: {sources} sources made in {time.perf_counter() - t:.1f} s")
    out, res = base / "out", base / "results"
    rec = {"target_variants": n_variants, "sources": sources, "steps": {}}
    for step, args in [("generate", {"config": str(cfg), "out": str(out), "jobs": jobs}),
                       ("verify", {"out": str(out)}),
                       ("evaluate", {"out": str(out), "results": str(res), "n_boot": n_boot})]:  # fmt: skip
        if step not in steps:
            continue
        r = run_step(step, args)
        log(f"  {n_variants}: {step} {r['work_s']:.1f} s (wall {r['wall_s']:.1f} s), "
            f"peak {r['maxrss_kib'] / 1024:.0f} MiB")  # fmt: skip
        rec["steps"][step] = r
    rec["variants"] = rec["steps"]["generate"]["variants"]
    if "evaluate" in steps:
        rec["predictions_bytes"] = (res / "predictions.parquet").stat().st_size
    return rec


def run_sizes(sizes: list[int], jobs: int = 2, n_boot: int = 1000, keep: Path | None = None,
              log=print, steps: tuple = STEPS) -> dict:  # fmt: skip
    """Run every size (smallest first), record and return the results. ``steps``: generate
    and a subset of the others (generate always runs: they read its OUT); a subset is kept in
    ``.benchmarks/scale-partial.json``, not as the last full table."""
    steps = ("generate", *(s for s in STEPS[1:] if s in steps))
    import shutil

    work = Path(tempfile.mkdtemp(prefix="degradebench-scale-", dir=keep))
    rec = {"when": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "machine": _machine(), "jobs": jobs, "n_boot": n_boot, "sizes": []}  # fmt: skip
    try:
        for n in sorted(sizes):
            rec["sizes"].append(run_size(work, n, jobs, n_boot, log, steps))
            if keep is None:
                shutil.rmtree(work / f"n{n}", ignore_errors=True)
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    rec["steps"] = list(steps)
    RECORD.parent.mkdir(exist_ok=True)
    (RECORD if steps == STEPS else PARTIAL).write_text(json.dumps(rec, indent=1))
    return rec


def _machine() -> str:
    from run import machine

    return machine()


def load_record() -> dict | None:
    return json.loads(RECORD.read_text()) if RECORD.exists() else None


def _flat(values: list[float], limit: float, what: str = "the smallest size's") -> str:
    if len(values) < 2:
        return "n/a (one size)"
    if min(values) <= 0:
        return "n/a (a step got faster with more variants: noise larger than the work)"
    worst = max(values) / min(values)
    verdict = "PASS" if worst <= 1 + limit else "MISS"
    return f"largest {worst:.2f}x {what}: {verdict} (<= {1 + limit:.2f})"


def _marginal(sizes: list[dict], step: str) -> list[float]:
    """ms per added variant between consecutive sizes: the fixed start-up (worker processes,
    model load) cancels, what is left is the cost that grows with the variants."""
    out = []
    for a, b in zip(sizes, sizes[1:]):
        dt = b["steps"][step]["work_s"] - a["steps"][step]["work_s"]
        out.append(1000 * dt / max(b["variants"] - a["variants"], 1))
    return out


def markdown(rec: dict) -> str:
    """The scale table and its flatness checks."""
    head = ("variants", "sources", "generate ms/variant (wall s)", "generate peak MiB (main)",
            "verify ms/variant (wall s)", "verify peak MiB (main)",
            "evaluate ms/variant (wall s)", "evaluate peak MiB (main)",
            "metrics share of evaluate", "predictions bytes/variant")  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    per: dict[str, list[float]] = {"generate": [], "verify": [], "evaluate": []}
    peak: dict[str, list[float]] = {"generate": [], "verify": [], "evaluate": []}
    for s in rec["sizes"]:
        cells = [f"{s['variants']:,}", f"{s['sources']:,}"]
        for step in ("generate", "verify", "evaluate"):
            r = s["steps"][step]
            ms = 1000 * r["work_s"] / s["variants"]
            per[step].append(ms)
            peak[step].append(r["maxrss_kib"] / 1024)
            main = f" ({r['self_hwm_kib'] / 1024:.0f})" if "self_hwm_kib" in r else ""
            cells += [f"{ms:.3f} ({r['wall_s']:.1f})", f"{r['maxrss_kib'] / 1024:.0f}{main}"]
        ev = s["steps"]["evaluate"]
        share = ev.get("metrics_s")
        cells.append("n/a" if share is None else f"{100 * share / ev['work_s']:.1f}% "
                     f"({share:.1f} s)")  # fmt: skip
        cells.append(f"{s['predictions_bytes'] / s['variants']:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    first, last = rec["sizes"][0], rec["sizes"][-1]
    grow = (
        (peak["evaluate"][-1] - peak["evaluate"][0])
        * 2**20
        / max(last["variants"] - first["variants"], 1)
    )
    checks = []
    for step in ("generate", "verify", "evaluate"):
        marg = _marginal(rec["sizes"], step)
        checks.append(
            f"- {step}: ms per variant {', '.join(f'{v:.3f}' for v in per[step])}; marginal ms "
            f"per added variant {', '.join(f'{v:.3f}' for v in marg) or 'n/a'}: "
            f"{_flat(marg, 0.15, 'the smallest interval') if len(marg) > 1 else 'n/a (two sizes)'}"
            f"; whole time per variant {_flat(per[step], 0.15)} (fixed start-up included)")  # fmt: skip
    checks += [f"- peak memory, generate: {_flat(peak['generate'], 0.10)}",
              f"- peak memory, verify: {_flat(peak['verify'], 0.10)}",
              f"- peak memory, evaluate: grows {grow:.0f} bytes per variant "
              f"({peak['evaluate'][0]:.0f} -> {peak['evaluate'][-1]:.0f} MiB)"]  # fmt: skip
    share = last["steps"]["evaluate"].get("metrics_s")
    if share is not None:
        pct = 100 * share / last["steps"]["evaluate"]["work_s"]
        checks.append(f"- metrics share of evaluate at {last['variants']:,} variants: {pct:.1f}%: "
                      f"{'PASS' if pct < 10 else 'MISS'} (< 10%)")  # fmt: skip
    note = (f"`python bench/scale.py --sizes {','.join(str(s['target_variants']) for s in rec['sizes'])}`"
            f" ({rec['when']}; --jobs {rec['jobs']}, B = {rec['n_boot']}, 96 px sources, "
            "jpeg-ladder, dummy model; ms/variant = the API call's time, wall = the whole process; "
            "peak = the largest process of the step, workers included, (main) = the step's own)")  # fmt: skip
    return "\n".join(lines) + "\n\n" + "\n".join(checks) + "\n\n" + note


def partial_markdown(rec: dict) -> str:
    """The columns of the steps a ``--steps`` run made, and their flatness checks."""
    steps = rec.get("steps", list(STEPS))
    head = ["variants", "sources"]
    for step in steps:
        head += [f"{step} ms/variant (wall s)", f"{step} peak MiB (main)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    peak: dict[str, list[float]] = {step: [] for step in steps}
    for s in rec["sizes"]:
        cells = [f"{s['variants']:,}", f"{s['sources']:,}"]
        for step in steps:
            r = s["steps"][step]
            peak[step].append(r["maxrss_kib"] / 1024)
            cells += [f"{1000 * r['work_s'] / s['variants']:.3f} ({r['wall_s']:.1f})",
                      f"{r['maxrss_kib'] / 1024:.0f} ({r['self_hwm_kib'] / 1024:.0f})"]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    checks = [f"- peak memory, {step}: {_flat(peak[step], 0.10)}" for step in steps]
    return "\n".join(lines) + "\n\n" + "\n".join(checks)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)),
                    help="variant counts, comma-separated (default 2000,20000,200000)")  # fmt: skip
    ap.add_argument("--jobs", type=int, default=2, help="generate --jobs (default 2)")
    ap.add_argument("--n-boot", type=int, default=1000, help="evaluate's bootstrap B")
    ap.add_argument("--keep", type=Path, default=None, help="work beneath DIR and keep it")
    ap.add_argument("--write", action="store_true", help="record the table in bench/RESULTS.md")
    ap.add_argument("--steps", default=",".join(STEPS),
                    help="steps to run, comma-separated (default all; generate always runs, the "
                         "others read its OUT): a subset prints its columns and records nothing "
                         "in RESULTS.md or the last full table")  # fmt: skip
    args = ap.parse_args(argv)
    steps = tuple(s.strip() for s in args.steps.split(",") if s.strip())
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        ap.error(f"--steps: unknown step(s) {', '.join(unknown)}; choose from {', '.join(STEPS)}")
    if args.write and set(steps) != set(STEPS):
        ap.error("--write records the whole table: run every step (drop --steps)")
    rec = run_sizes([int(s) for s in args.sizes.split(",")], args.jobs, args.n_boot, args.keep,
                    steps=steps)  # fmt: skip
    text = markdown(rec) if rec["steps"] == list(STEPS) else partial_markdown(rec)
    print("\n" + text)
    if args.write:
        from run import write_section

        print(f"\nwrote {write_section('Scale figures', text)}")
    return 0


if __name__ == "__main__":
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    raise SystemExit(main())
