"""The workloads behind every ratio, as plain functions: the pytest-benchmark tests
(``test_bench_*.py``) and the interleaved runner (:mod:`.interleave`, ``python bench/run.py``)
call the same code.

A *side* is one thing timed (``fn(out)`` for a whole-suite run into a fresh folder, ``fn(None)``
for an in-memory op); a *group* is the sides timed together, interleaved round by round, and the
ratios read from them."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .data import N_SOURCES, SIZE, _sources, make_bench_tree, write_bench_config
from .floors import floor_crops, floor_hops, floor_ladder, naive_ladder

LADDER = [100, 95, 90, 85, 80, 75, 70, 60, 50, 40, 30, 20, 10]
OFFSETS = [(0, 0), (0, 4), (4, 0), (4, 4), (1, 1), (3, 5), (5, 3), (7, 7)]
NAIVE_RETIRED = (
    "info only: the naive loop itself costs ~1.5x the floor, so 2x cannot hold while generate "
    "does the floor's work (target retired, issue 16)"
)


@dataclass(frozen=True)
class Side:
    name: str
    fn: Callable[[Path | None], object]
    fresh_dir: bool = True  # give fn a new empty folder each call (not timed)
    inner: int = 1  # calls per timed round (ops: enough to make a round ~50 ms)


@dataclass(frozen=True)
class Ratio:
    label: str
    num: str
    den: str
    target: float | None
    kind: str  # "max": ratio must be <= target; "min": >= target
    note: str = ""
    per: int = 1  # the times column shows seconds / per (e.g. per source image)


@dataclass
class Group:
    name: str
    sides: list[Side]
    ratios: list[Ratio]
    rounds: int = 7
    warmup: int = 1
    info: dict = field(default_factory=dict)


# --- whole-suite generation ------------------------------------------------------------------


def ours(cfg: Path, suite: str, psnr: bool = True, jobs: int = 1) -> Callable[[Path], int]:
    from degradebench.generators import generate

    def run(out: Path) -> int:
        return generate(
            config=cfg, dataset="bench", suite=suite, out=out, psnr=psnr, jobs=jobs,
            progress=False,
        ).variants  # fmt: skip

    return run


def ladder_floor(tree: Path, psnr: bool) -> Callable[[Path], int]:
    return lambda out: floor_ladder(tree, out, LADDER, psnr)


def ladder_naive(tree: Path, psnr: bool) -> Callable[[Path], int]:
    return lambda out: naive_ladder(tree, out, LADDER, psnr)


def ladder_floor_2procs(tree: Path) -> Callable[[Path], int]:
    """The ladder's floor split over two processes (each camera folder's half of the sources):
    what two processes of bare library calls get on this machine, the ceiling of ``--jobs 2``.
    The pool is made once and kept, as joblib keeps its workers between generate calls."""
    pool = None

    def run(out: Path) -> int:
        nonlocal pool
        if pool is None:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            pool = ProcessPoolExecutor(2, mp_context=mp.get_context("fork"))
        halves = sorted(p for p in tree.iterdir() if p.is_dir())
        futures = [pool.submit(floor_ladder, half, out / half.name, LADDER, True)
                   for half in halves]  # fmt: skip
        return sum(f.result() for f in futures)

    return run


def crops_floor(tree: Path) -> Callable[[Path], int]:
    return lambda out: floor_crops(tree, out, OFFSETS, 90, True)


def hops_floor(tree: Path) -> Callable[[Path], int]:
    return lambda out: floor_hops(tree, out, 3, 75, True)


def generate_groups(tree: Path, cfg: Path) -> list[Group]:
    groups = []
    for psnr, tag, what in [(True, "psnr", "PSNR on"), (False, "nopsnr", "--no-psnr")]:
        groups.append(
            Group(
                f"ladder13-{tag}",
                [
                    Side("floor", ladder_floor(tree, psnr)),
                    Side("ours", ours(cfg, "ladder13", psnr)),
                    Side("naive", ladder_naive(tree, psnr)),
                ],
                [
                    Ratio(f"generate ladder13 vs floor ({what})", "ours", "floor", 1.15, "max"),
                    Ratio(
                        f"naive re-decode vs generate, ladder13 ({what}): speed-up",
                        "naive",
                        "ours",
                        None,
                        "min",
                        NAIVE_RETIRED,
                    ),  # fmt: skip
                ],
            )
        )
    groups.append(
        Group(
            "cropgrid-psnr",
            [Side("floor", crops_floor(tree)), Side("ours", ours(cfg, "cropgrid"))],
            [Ratio("generate crop grid vs floor (PSNR on)", "ours", "floor", 1.15, "max")],
        )
    )
    groups.append(
        Group(
            "social-psnr",
            [Side("floor", hops_floor(tree)), Side("ours", ours(cfg, "social"))],
            [Ratio("generate social chain vs floor", "ours", "floor", 1.15, "max")],
            rounds=11,  # a short side (~0.8 s): more rounds for minima the shared cores leave alone
        )
    )
    groups.append(
        Group(
            "ladder13-jobs",
            [
                Side("jobs1", ours(cfg, "ladder13", jobs=1)),
                Side("jobs2", ours(cfg, "ladder13", jobs=2)),
                Side("floor1", ladder_floor(tree, True)),
                Side("floor2", ladder_floor_2procs(tree)),
            ],
            [
                Ratio("--jobs 1 vs --jobs 2: speed-up", "jobs1", "jobs2", 1.8, "min"),
                Ratio("bare floor ladder13, 1 vs 2 processes: this machine's own speed-up",
                      "floor1", "floor2", None, "min", "the ceiling of --jobs 2 here"),  # fmt: skip
            ],
            rounds=11,  # --jobs 2 needs both cores free: more rounds to catch quiet ones
        )
    )
    return groups


# --- single ops against the bare library call -----------------------------------------------


def op_ours(steps: list[dict], state) -> Callable[[], object]:
    from degradebench.generators.ops import make_step, run_chain

    chain = [make_step(s) for s in steps]
    return lambda: run_chain(state, chain)


def bare_jpeg_pillow(img: np.ndarray, q: int) -> Callable[[], bytes]:
    from PIL import Image

    def bare() -> bytes:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "JPEG", quality=q, subsampling="4:2:0")
        return buf.getvalue()

    return bare


def bare_jpeg_opencv(img: np.ndarray) -> Callable[[], bytes]:
    import cv2

    flags = [cv2.IMWRITE_JPEG_QUALITY, 75]
    return lambda: cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), flags)[1].tobytes()


def bare_decode(blob: bytes) -> Callable[[], np.ndarray]:
    from PIL import Image

    return lambda: np.asarray(Image.open(io.BytesIO(blob)).convert("RGB"))


def bare_resize(img: np.ndarray, backend: str, method: str) -> Callable[[], np.ndarray]:
    import cv2
    from PIL import Image

    h, w = img.shape[0] // 2, img.shape[1] // 2
    if backend == "pillow":
        flt = {"bicubic": Image.Resampling.BICUBIC}[method]
        return lambda: np.asarray(Image.fromarray(img).resize((w, h), flt))
    flag = {"bicubic": cv2.INTER_CUBIC, "area": cv2.INTER_AREA}[method]
    return lambda: cv2.resize(img, (w, h), interpolation=flag)


def _op_side(name: str, fn: Callable[[], object]) -> Side:
    import time

    t = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t, 1e-6)
    return Side(name, lambda _out: fn(), fresh_dir=False, inner=max(1, int(0.05 / once)))


def op_groups() -> list[Group]:
    from degradebench.generators.ops import ImageState
    from PIL import Image

    img = _sources(1, SIZE)[0]
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=90)
    blob = buf.getvalue()
    pairs: list[tuple[str, str, Callable, Callable]] = []
    for q in (75, 95):
        ours_fn = op_ours([{"op": "jpeg", "quality": q}], ImageState(pixels=img))
        pairs.append((f"op-jpeg-encode-q{q}", f"op jpeg encode q{q} vs bare Pillow", ours_fn,
                      bare_jpeg_pillow(img, q)))  # fmt: skip
    ocv = op_ours([{"op": "jpeg", "backend": "opencv", "quality": 75}], ImageState(pixels=img))
    pairs.append(("op-jpeg-encode-opencv-q75", "op jpeg encode q75 (opencv) vs bare cv2.imencode",
                  ocv, bare_jpeg_opencv(img)))  # fmt: skip
    dec = op_ours([{"op": "decode"}], ImageState(pixels=None, data=blob, fmt="jpeg"))
    pairs.append(("op-jpeg-decode", "op decode vs bare Pillow decode", dec, bare_decode(blob)))
    for backend, method in [("pillow", "bicubic"), ("opencv", "bicubic"), ("opencv", "area")]:
        step = {"op": "resize", "backend": backend, "method": method, "scale": 0.5}
        pairs.append((f"op-resize-{backend}-{method}-x0.5",
                      f"op resize {backend} {method} x0.5 vs bare",
                      op_ours([step], ImageState(pixels=img)), bare_resize(img, backend, method)))  # fmt: skip
    return [
        Group(
            name,
            [_op_side("ours", a), _op_side("bare", b)],
            [Ratio(label, "ours", "bare", None, "max")],
            rounds=15,
        )  # fmt: skip
        for name, label, a, b in pairs
    ]


# --- evaluation against the forward pass alone -----------------------------------------------

EVAL_BATCH = 32


def eval_manifest(tmp: Path) -> Path:
    """60 virtual-camera sources x (clean + 5 JPEG qualities) = 360 variants."""
    from degradebench.generators import generate
    from degradebench.generators.virtual_cameras import (
        VirtualCamerasParams,
        build_virtual_cameras,
    )

    table = build_virtual_cameras(
        VirtualCamerasParams(models=6, devices_per_model=2, images_per_device=5),
        tmp / "vcam", jobs=2, progress=False,
    )  # fmt: skip
    cfg = tmp / "c.yaml"
    cfg.write_text(
        f"version: 1\ndatasets:\n  v: {{kind: list, path: {table}}}\nsuites:\n  s:\n"
        "    seed: 0\n    axes:\n      jpeg: {qualities: [90, 70, 50, 30, 10]}\n"
    )
    generate(config=cfg, dataset="v", suite="s", out=tmp / "out", progress=False)
    return tmp / "out"


def evaluate_reference(manifest: Path) -> Callable[[Path], object]:
    from degradebench.evaluators import evaluate

    def run(out: Path) -> object:
        return evaluate(
            manifest, "reference", out, device="cpu", batch_size=EVAL_BATCH, n_boot=0,
            progress=False,
        )  # fmt: skip

    return run


def forward_only(manifest: Path) -> tuple[Callable[[], None], int]:
    """The reference model's forward pass on its inputs already decoded, fitted and normalised."""
    import torch
    from degradebench.evaluators import load_model
    from degradebench.evaluators._fit import fit_image, normalise
    from degradebench.generators import read_manifest
    from PIL import Image

    model = load_model("reference").to("cpu")
    tiles = []
    for p in read_manifest(manifest).path:
        t = fit_image(np.asarray(Image.open(manifest / p).convert("RGB")), model.input_config)
        t = torch.from_numpy(np.ascontiguousarray(t))
        tiles.append(t if t.ndim == 4 else t[None])
    batches = [
        normalise(torch.cat(tiles[i : i + EVAL_BATCH]), model.input_config)
        for i in range(0, len(tiles), EVAL_BATCH)
    ]

    def run() -> None:
        with torch.inference_mode():
            for x in batches:
                model.predict(x)

    return run, len(tiles)


def eval_group(tmp: Path) -> Group:
    manifest = eval_manifest(tmp)
    fwd, n = forward_only(manifest)
    return Group(
        "eval-reference-cpu",
        [
            Side("forward", lambda _out: fwd(), fresh_dir=False),
            Side("evaluate", evaluate_reference(manifest)),
        ],  # fmt: skip
        [
            Ratio(
                "evaluate (reference, CPU) vs forward pass alone: efficiency",
                "forward",
                "evaluate",
                0.9,
                "min",
            )
        ],  # fmt: skip
        rounds=3,
        warmup=0,
        info={"images": n},
    )


# --- peers at their own job ------------------------------------------------------------------


def peer_group(tree: Path, cfg: Path, server, save: str = "png") -> Group:
    """imagecorruptions' and albumentations' loops over the folder (run by ``server``, a
    :class:`peers.PeerServer` in the peers' venv) against ``generate --suite imagenet-c-jpeg``
    with full provenance, one process each."""
    n = len(sorted(tree.rglob("*.jpg")))

    def peer(job: str) -> Callable[[Path], int]:
        return lambda out: server.run(job, tree, out, save)

    how = "saved as PNG" if save == "png" else "re-saved as JPEG"
    note = f"ms per source image; peers' results {how}; >= 1 = degradebench is faster"
    return Group(
        f"peers-{save}",
        [
            Side("imagecorruptions", peer("imagecorruptions")),
            Side("ours", ours(cfg, "imagenet-c-jpeg")),
            Side("albumentations", peer("albumentations")),
        ],  # fmt: skip
        [
            Ratio(
                f"peer imagecorruptions README loop ({how}) vs generate imagenet-c-jpeg: speed-up",
                "imagecorruptions",
                "ours",
                1.0,
                "min",
                note,
                per=n,
            ),  # fmt: skip
            Ratio(
                f"peer albumentations ImageCompression loop ({how}) vs generate "
                "imagenet-c-jpeg: speed-up",
                "albumentations",
                "ours",
                1.0,
                "min",
                note,
                per=n,
            ),  # fmt: skip
        ],
        rounds=5,
        info={"images": n},
    )


# --- peak memory ------------------------------------------------------------------------------

# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across execve, so a child of a big process would
# report its parent's peak.
_PEAK_SCRIPT = """
import json, re, sys
from degradebench.generators import generate
s = generate(config=sys.argv[1], dataset="bench", suite="ladder13", out=sys.argv[2], progress=False)
hwm = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
print(json.dumps({"variants": s.variants, "peak_kib": hwm}))
"""


def peak_memory(tmp: Path, n: int) -> dict:
    """Peak RSS (KiB) of a fresh process generating the 13-level ladder over ``n`` 256 px sources."""
    root = make_bench_tree(tmp / f"data{n}", n=n, size=256)
    cfg = write_bench_config(root, tmp / f"cfg{n}.yaml")
    out = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT, str(cfg), str(tmp / f"out{n}")],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


__all__ = [
    "LADDER", "N_SOURCES", "OFFSETS", "Group", "Ratio", "Side", "eval_group", "generate_groups",
    "op_groups", "peak_memory",
]  # fmt: skip
