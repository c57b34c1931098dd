"""Run the speed benchmarks and print the ratio table (and, with --write, bench/RESULTS.md).

    python bench/run.py                # all benchmarks, ratio table on stdout
    python bench/run.py --peers        # also time imagecorruptions/albumentations in .bench-peers/
    python bench/run.py --write        # record the table in bench/RESULTS.md
    python bench/run.py -k ladder      # a subset (pytest -k expression)

Every ratio compares figures taken in the same run on the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# (label, numerator test, denominator test, target, "max" = ratio must be <= target, "min" = >=)
RATIOS = [
    (
        "generate ladder13 vs floor (PSNR on)",
        "test_ladder_degradebench[psnr]",
        "test_ladder_floor[psnr]",
        1.15,
        "max",
    ),
    (
        "generate ladder13 vs floor (--no-psnr)",
        "test_ladder_degradebench[nopsnr]",
        "test_ladder_floor[nopsnr]",
        1.15,
        "max",
    ),
    (
        "generate crop grid vs floor (PSNR on)",
        "test_cropgrid_degradebench",
        "test_cropgrid_floor",
        1.15,
        "max",
    ),
    (
        "generate social chain vs floor",
        "test_social_degradebench",
        "test_social_floor",
        1.15,
        "max",
    ),
    (
        "naive re-decode vs generate, ladder13 (PSNR on): speed-up",
        "test_ladder_naive[psnr]",
        "test_ladder_degradebench[psnr]",
        2.0,
        "min",
    ),
    (
        "naive re-decode vs generate, ladder13 (--no-psnr): speed-up",
        "test_ladder_naive[nopsnr]",
        "test_ladder_degradebench[nopsnr]",
        None,
        "min",
    ),
    ("--jobs 1 vs --jobs 2: speed-up", "test_ladder_jobs[1]", "test_ladder_jobs[2]", 1.8, "min"),
    (
        "op jpeg encode q75 vs bare Pillow",
        "test_jpeg_encode_ours[75]",
        "test_jpeg_encode_bare_pillow[75]",
        None,
        "max",
    ),
    (
        "op jpeg encode q95 vs bare Pillow",
        "test_jpeg_encode_ours[95]",
        "test_jpeg_encode_bare_pillow[95]",
        None,
        "max",
    ),
    (
        "op jpeg encode q75 (opencv) vs bare cv2.imencode",
        "test_jpeg_encode_ours_opencv",
        "test_jpeg_encode_bare_opencv",
        None,
        "max",
    ),
    ("op decode vs bare Pillow decode", "test_decode_ours", "test_decode_bare", None, "max"),
    (
        "op resize pillow bicubic x0.5 vs bare",
        "test_resize_ours[pillow-bicubic]",
        "test_resize_bare[pillow-bicubic]",
        None,
        "max",
    ),
    (
        "op resize opencv bicubic x0.5 vs bare",
        "test_resize_ours[opencv-bicubic]",
        "test_resize_bare[opencv-bicubic]",
        None,
        "max",
    ),
    (
        "op resize opencv area x0.5 vs bare",
        "test_resize_ours[opencv-area]",
        "test_resize_bare[opencv-area]",
        None,
        "max",
    ),
    (
        "evaluate (reference, CPU) vs forward pass alone: efficiency",
        "test_forward_only",
        "test_evaluate_reference",
        0.8,
        "min",
    ),
]


def _machine() -> str:
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


def run_pytest(json_path: Path, extra: list[str]) -> int:
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(HERE / "benchmarks"),
        "-q",
        "-p",
        "no:cacheprovider",
        "--benchmark-enable",
        "--benchmark-only",
        f"--benchmark-json={json_path}",
        "--benchmark-columns=min,median,mean,rounds",
        *extra,
    ]
    return subprocess.call(cmd, cwd=ROOT)


def ratio_rows(bench: dict) -> list[tuple[str, str, str, str]]:
    med = {b["name"]: b["stats"]["median"] for b in bench["benchmarks"]}
    rows = []
    for label, num, den, target, kind in RATIOS:
        if num not in med or den not in med:
            continue
        r = med[num] / med[den]
        if target is None:
            verdict = "(info)"
        else:
            ok = r <= target if kind == "max" else r >= target
            verdict = f"{'PASS' if ok else 'MISS'} ({'<=' if kind == 'max' else '>='} {target})"
        rows.append(
            (label, f"{med[num] * 1000:.1f} / {med[den] * 1000:.1f} ms", f"{r:.2f}", verdict)
        )
    mem = {
        b["extra_info"].get("sources"): b["extra_info"].get("peak_kib")
        for b in bench["benchmarks"]
        if b["name"].startswith("test_peak_memory")
    }
    if len(mem) == 2:
        (n1, p1), (n2, p2) = sorted(mem.items())
        r = p2 / p1
        rows.append(
            (
                f"peak memory, {n2} vs {n1} sources",
                f"{p2 / 1024:.0f} / {p1 / 1024:.0f} MiB",
                f"{r:.2f}",
                f"{'PASS' if r <= 1.10 else 'MISS'} (<= 1.10)",
            )
        )
    return rows


def peer_rows(bench: dict, peers: dict[str, float]) -> list[tuple[str, str, str, str]]:
    med = {b["name"]: b["stats"]["median"] * 1000 for b in bench["benchmarks"]}
    ours = {
        "jpeg": med.get("test_peer_equivalent_ours_jpeg_q18_roundtrip"),
        "pixelate": med.get("test_peer_equivalent_ours_pixelate"),
    }
    rows = []
    for name, ms in peers.items():
        mine = ours["pixelate"] if "pixelate" in name else ours["jpeg"]
        if mine:
            rows.append(
                (
                    f"peer {name} vs degradebench",
                    f"{ms:.2f} / {mine:.2f} ms",
                    f"{ms / mine:.2f}",
                    "(info: >1 = we are faster)",
                )
            )
    return rows


def run_peers() -> dict[str, float]:
    sys.path.insert(0, str(HERE))
    import peers

    py = peers.setup()
    out = subprocess.run(
        [str(py), str(HERE / "peers.py")], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(rows) -> str:
    lines = ["| comparison | times (median) | ratio | target |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--peers", action="store_true", help="also time peer tools in .bench-peers/")
    ap.add_argument("--write", action="store_true", help="write the table to bench/RESULTS.md")
    ap.add_argument("-k", default=None, help="pytest -k expression selecting benchmarks")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        jp = Path(tmp) / "bench.json"
        code = run_pytest(jp, ["-k", args.k] if args.k else [])
        if not jp.exists():
            return code or 1
        bench = json.loads(jp.read_text())
    rows = ratio_rows(bench)
    if args.peers:
        rows += peer_rows(bench, run_peers())
    text = table(rows)
    print("\n" + text)
    if args.write:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        section = f"## CPU figures ({stamp})\n\nMachine: {_machine()}\n\n{text}\n"
        res = HERE / "RESULTS.md"
        old = res.read_text() if res.exists() else "# Benchmark results\n\n"
        head, sep, rest = old.partition("## CPU figures")
        keep = rest.split("\n## ", 1)[1] if sep and "\n## " in rest else ""
        res.write_text(head.rstrip() + "\n\n" + section + ("\n## " + keep if keep else ""))
        print(f"\nwrote {res}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
