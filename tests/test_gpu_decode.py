"""GPU JPEG decoding (``--decode gpu``) and the GPU check script.

What runs anywhere: the fit on tensors against the CPU fit, the reader's errors against the CPU
loader's, the whole ``gpu_batches`` pipeline with a CPU stand-in for nvJPEG against the CPU
loader, the reasons of ``gpu_decode_problem``, and ``bench/gpu_check.py --tiny``. With CUDA and
torchvision, nvJPEG itself (marker ``gpu``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import jpeg_bytes, photo, png_bytes
from degradebench.evaluators import _gpu_decode as G
from degradebench.evaluators._fit import fit_image
from degradebench.evaluators._input_config import InputConfig
from degradebench.evaluators._loader import MaskSpec, VariantDataset, collate, decode_rgb
from degradebench.generators.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]

FITS = [
    {"fit": "center_crop", "input_size": (32, 32)},
    {"fit": "center_crop", "input_size": (64, 80), "pad_mode": "reflect"},
    {"fit": "center_crop", "input_size": (64, 80), "pad_mode": "symmetric"},
    {"fit": "center_crop", "input_size": (64, 80), "pad_mode": "edge"},
    {"fit": "center_crop", "input_size": (64, 80), "pad_mode": "constant"},
    {"fit": "center_crop", "input_size": (33, 17), "channel_order": "BGR"},
    {"fit": "pad", "input_size": (48, 70), "pad_mode": "reflect"},
    {"fit": "pad", "input_size": (20, 20)},
    {"fit": "tile", "input_size": (16, 16)},
    {"fit": "tile", "input_size": (16, 16), "tile_stride": 8, "max_tiles": 7},
    {"fit": "tile", "input_size": (64, 64), "pad_mode": "constant"},
    {"fit": "full"},
]
SIZES = [(40, 50), (21, 35), (1, 5), (3, 1), (64, 80)]


@pytest.mark.parametrize("fit", FITS, ids=lambda f: "-".join(str(v) for v in f.values()))
@pytest.mark.parametrize("hw", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_fit_tensor_equals_the_cpu_fit(fit, hw):
    cfg = InputConfig(**fit)
    rng = np.random.default_rng(hw[0] * 1000 + hw[1])
    imgs = [rng.integers(0, 256, (*hw, 3), dtype=np.uint8) for _ in range(2)]
    x = torch.stack([torch.from_numpy(im).permute(2, 0, 1) for im in imgs])
    got, t = G.fit_tensor(x, cfg)
    want = np.concatenate([fit_image(im, cfg) for im in imgs])
    assert t == len(want) // 2
    assert got.dtype == torch.uint8 and got.is_contiguous()
    np.testing.assert_array_equal(got.numpy(), want)


def test_resize_is_not_a_gpu_fit():
    with pytest.raises(ConfigError, match="not a GPU fit"):
        G.fit_tensor(torch.zeros((1, 3, 8, 8), dtype=torch.uint8), InputConfig(fit="resize"))


# --- a small folder of variants: good, bad and missing files -----------------------------------


def _files(tmp_path: Path) -> tuple[Path, list[str], list[str | None]]:
    grey = photo("camera", 40, 10, 10)[:, :, 0]
    files = {
        "a.jpg": jpeg_bytes(photo("astronaut", 48), 90),
        "b.png": png_bytes(photo("coffee", 48, 50, 100)),
        "c.jpg": jpeg_bytes(photo("chelsea", 56, 30, 90), 70, subsampling=0),
        "grey.jpg": jpeg_bytes(grey, 85),
        "truncated.jpg": jpeg_bytes(photo("astronaut", 48, 0, 0), 90)[:300],
        "junk.png": b"not an image at all",
        "changed.jpg": jpeg_bytes(photo("chelsea", 48), 60),
        "odd.jpg": jpeg_bytes(np.ascontiguousarray(photo("astronaut", 40, 5, 7)[:, :37]), 90),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "adir.jpg").mkdir()
    import hashlib

    paths = [*files, "missing.jpg", "adir.jpg"]
    sha = [hashlib.sha256(files[p]).hexdigest() if p in files else None for p in paths]
    sha[paths.index("changed.jpg")] = "0" * 64
    return tmp_path, paths, sha


def _cpu_stand_in(refuse: tuple[bytes, ...] = ()):
    """nvJPEG's contract with the CPU decoder: all or nothing for a list; ``refuse`` makes it
    fail on files starting with those bytes even though the CPU decoder reads them."""

    def decode(datas, device):
        out = []
        for d in datas:
            raw = d.numpy().tobytes()
            if any(raw.startswith(r) for r in refuse):
                raise RuntimeError("nvjpeg: unsupported")
            out.append(torch.from_numpy(decode_rgb(raw).copy()).permute(2, 0, 1).to(device))
        return out

    return decode


def _no_address(errors):
    """Pillow's messages name a BytesIO object by its address: compare them without it."""
    return [(i, stage, re.sub(r"0x[0-9a-f]+", "0x", msg)) for i, stage, msg in errors]


def test_reader_errors_are_the_cpu_loaders(tmp_path):
    root, paths, sha = _files(tmp_path)
    ds = VariantDataset(root, paths, sha, InputConfig(input_size=(32, 32)))
    for i, p in enumerate(paths):
        kind, value = G.read_item(ds, i)
        item = ds[i]
        if item["error"] is not None and kind == "error":
            assert _no_address([(i, *value)]) == _no_address([(i, *item["error"])]), p
        elif kind == "error":
            pytest.fail(f"{p}: the reader failed ({value}) where the CPU loader did not")
        else:  # decoded later (JPEG on the GPU) or here (other formats)
            assert kind in ("jpeg", "pixels"), p
            assert (kind == "jpeg") == p.endswith(".jpg"), p
    stages = {p: G.read_item(ds, i)[1][0] for i, p in enumerate(paths)
              if G.read_item(ds, i)[0] == "error"}  # fmt: skip
    assert stages == {"junk.png": "decode", "changed.jpg": "verify", "missing.jpg": "missing",
                      "adir.jpg": "read"}  # fmt: skip


@pytest.mark.parametrize("fit", [
    {"fit": "center_crop", "input_size": (32, 32)},
    {"fit": "tile", "input_size": (16, 16), "tile_stride": 12},
    {"fit": "full"},
    {"fit": "pad", "input_size": (50, 50), "pad_mode": "constant", "channel_order": "BGR"},
], ids=lambda f: f["fit"])  # fmt: skip
@pytest.mark.parametrize("refuse", [(), (b"",)], ids=["batched", "file-by-file"])
@pytest.mark.parametrize("opts", [
    G.GpuDecodeOptions(),
    G.GpuDecodeOptions(readers="processes", chunk=2, sync="host", upload="each"),
], ids=["default", "processes-chunk2-each"])  # fmt: skip
def test_gpu_batches_equal_the_cpu_loader(tmp_path, monkeypatch, fit, refuse, opts):
    """Every batch (index, counts, tiles, errors with stage and message) equals the CPU
    loader's, with nvJPEG's all-or-nothing failures and files only the CPU decoder reads,
    whatever the options (reader processes, chunks of decode_jpeg calls, uploads)."""
    monkeypatch.setattr(G, "_decode_jpegs", _cpu_stand_in(refuse))
    root, paths, sha = _files(tmp_path)
    ds = VariantDataset(root, paths, sha, InputConfig(**fit))
    plan = [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9], [3, 0]]
    got = list(G.gpu_batches(ds, plan, "cpu", threads=3, options=opts))
    assert len(got) == len(plan)
    for rows, b in zip(plan, got):
        want = collate([ds[i] for i in rows])
        assert b.index.tolist() == want.index.tolist()
        assert b.counts.tolist() == want.counts.tolist()
        assert _no_address(b.errors) == _no_address(want.errors)
        assert b.tiles.dtype == torch.uint8
        np.testing.assert_array_equal(b.tiles.numpy(), want.tiles.numpy())
    stages = {stage for b in got for _, stage, _ in b.errors}
    assert stages >= {"missing", "read", "verify", "decode"}
    assert ("size" in stages) == (fit["fit"] == "full")  # images of other sizes in a batch


def test_stats_time_every_batch_and_the_readers(tmp_path, monkeypatch):
    monkeypatch.setattr(G, "_decode_jpegs", _cpu_stand_in())
    root, paths, sha = _files(tmp_path)
    ds = VariantDataset(root, paths, sha, InputConfig(input_size=(32, 32)))
    stats: dict = {}
    got = list(G.gpu_batches(ds, [[0, 1, 2], [3, 6, 7]], "cpu", threads=2, stats=stats))
    assert len(got) == len(stats["batches"]) == 2
    phases = {"wait_reads", "decode_jpeg", "upload", "stack_fit", "sync", "queue_put"}
    assert all(phases <= set(b) and b["images"] == 3 for b in stats["batches"])
    r = stats["readers"]
    assert r["files"] == 6 and r["read"] > 0 and r["hash"] > 0 and r["cpu_decode"] > 0


def test_bad_options_are_a_config_error(tmp_path):
    root, paths, sha = _files(tmp_path)
    ds = VariantDataset(root, paths, sha, InputConfig(input_size=(32, 32)))
    for bad, what in [({"readers": "fibres"}, "readers 'fibres'"), ({"chunk": 0}, "chunk 0"),
                      ({"sync": "never"}, "sync 'never'")]:  # fmt: skip
        with pytest.raises(ConfigError, match=what):
            next(G.gpu_batches(ds, [[0]], "cpu", options=G.GpuDecodeOptions(**bad)))


def test_gpu_batches_refuse_masks_and_resampling_fits(tmp_path):
    root, paths, sha = _files(tmp_path)
    masks = VariantDataset(root, paths, sha, InputConfig(), MaskSpec([None] * len(paths)))
    with pytest.raises(ConfigError, match="localization.*--decode cpu"):
        next(G.gpu_batches(masks, [[0]], "cpu"))
    resize = VariantDataset(root, paths, sha, InputConfig(fit="resize"))
    with pytest.raises(ConfigError, match="'resize'.*--decode cpu"):
        next(G.gpu_batches(resize, [[0]], "cpu"))


def _decoder_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "degradebench-gpu-decode"]


def test_gpu_batches_stop_when_the_consumer_stops(tmp_path, monkeypatch):
    monkeypatch.setattr(G, "_decode_jpegs", _cpu_stand_in())
    root, paths, sha = _files(tmp_path)
    ds = VariantDataset(root, paths, sha, InputConfig(input_size=(32, 32)))
    it = G.gpu_batches(ds, [[0, 1]] * 50, "cpu", threads=2, prefetch=1)
    assert len(next(it).index) == 2
    it.close()
    assert not _decoder_threads()


def test_a_failure_in_the_decoder_thread_reaches_the_consumer(tmp_path, monkeypatch):
    monkeypatch.setattr(G, "_decode_jpegs", _cpu_stand_in())

    def broken(x, cfg):
        raise ValueError("fit broke on purpose")

    monkeypatch.setattr(G, "fit_tensor", broken)
    root, paths, sha = _files(tmp_path)
    ds = VariantDataset(root, paths, sha, InputConfig(input_size=(32, 32)))
    with pytest.raises(ValueError, match="on purpose"):
        list(G.gpu_batches(ds, [[0, 1], [2]], "cpu"))
    assert not _decoder_threads()


# --- when GPU decoding can run ------------------------------------------------------------------


def test_gpu_decode_problem_names_the_reason_and_the_fix():
    loc = G.gpu_decode_problem(InputConfig(task="localization", fit="full"), "cuda")
    assert "mask" in loc and "--decode cpu" in loc
    res = G.gpu_decode_problem(InputConfig(fit="resize"), "cuda")
    assert "'resize'" in res and "--decode cpu" in res and "center_crop" in res
    cpu = G.gpu_decode_problem(InputConfig(), torch.device("cpu"))
    assert "runs on cpu" in cpu and "--device cuda" in cpu
    if not torch.cuda.is_available():
        assert "CUDA is not available" in G.gpu_decode_problem(InputConfig(), "cuda")
        assert "runs on cpu" in G.gpu_decode_problem(InputConfig(), "auto")


def test_torchvision_missing_or_too_old_is_a_reason(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)
    assert "torchvision is not importable" in G._torchvision_problem()
    old = types.ModuleType("torchvision")
    old.__version__ = "0.19.1+cu121"
    io_ = types.ModuleType("torchvision.io")
    io_.decode_jpeg = lambda *a, **k: None
    old.io = io_
    monkeypatch.setitem(sys.modules, "torchvision", old)
    monkeypatch.setitem(sys.modules, "torchvision.io", io_)
    assert "upgrade torchvision" in G._torchvision_problem()
    old.__version__ = "0.26.0"
    assert G._torchvision_problem() is None


# --- nvJPEG itself (CUDA + torchvision) ----------------------------------------------------------


@pytest.mark.gpu
def test_nvjpeg_decodes_like_the_cpu_decoder(tmp_path):
    pytest.importorskip("torchvision")
    if G.gpu_decode_problem(InputConfig(), "cuda"):
        pytest.skip(G.gpu_decode_problem(InputConfig(), "cuda"))
    root, paths, sha = _files(tmp_path)
    good = ["a.jpg", "c.jpg", "grey.jpg", "odd.jpg"]
    datas = [torch.from_numpy(np.fromfile(root / p, dtype=np.uint8)) for p in good]
    out = G._decode_jpegs(datas, torch.device("cuda"))
    for p, d, g in zip(good, datas, out):
        cpu = decode_rgb(d.numpy().tobytes())
        assert g.is_cuda and g.dtype == torch.uint8 and tuple(g.shape) == (3, *cpu.shape[:2]), p
        diff = np.abs(g.permute(1, 2, 0).cpu().numpy().astype(int) - cpu.astype(int))
        assert diff.mean() < 2.0, (p, diff.mean(), diff.max())
    grey = out[good.index("grey.jpg")]
    assert torch.equal(grey[0], grey[1]) and torch.equal(grey[1], grey[2])
    ds = VariantDataset(root, paths, sha, InputConfig(input_size=(32, 32)))
    plan = [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    for opts in (G.GpuDecodeOptions(), G.GpuDecodeOptions("processes", 2, "host", "each")):
        got = list(G.gpu_batches(ds, plan, "cuda", options=opts))
        for rows, b in zip(plan, got):
            want = collate([ds[i] for i in rows])
            assert b.tiles.is_cuda and b.index.tolist() == want.index.tolist(), opts
            assert _no_address(b.errors) == _no_address(want.errors)  # the truncated file: nvJPEG refuses it, then the CPU
            png = [k for k, i in enumerate(b.index.tolist()) if paths[i].endswith(".png")]
            for k in png:  # decoded on the CPU, fitted on the GPU: exactly the CPU loader's tiles
                assert torch.equal(b.tiles[k].cpu(), want.tiles[k]), opts


# --- the GPU check script, tiny, on the CPU -----------------------------------------------------


def test_gpu_check_tiny_runs_every_step(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu_check.py"), "--tiny", "--out",
                        str(out), "--work", str(tmp_path / "work"), "--jobs", "1"],
                       capture_output=True, text=True, timeout=300, env=env)  # fmt: skip
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    res = json.loads((out / "gpu_check.json").read_text())
    steps = res["steps"]
    assert steps["generate_subset"]["variants"] == 6 * 14
    assert steps["generate_whole"]["variants"] == 12 * 14
    for name in ("build_dataset", "forward_only_amp", "forward_only_fp32", "loop_subset_amp_cpu",
                 "loop_subset_fp32_cpu", "loop_whole_amp_cpu", "loop_whole_fp32_cpu",
                 "command_whole_amp_cpu", "command_whole_fp32_cpu", "decode_scaling"):  # fmt: skip
        assert name in steps, (name, res["errors"], res["skipped"])
    assert steps["command_whole_amp_cpu"]["images"] == 12 * 14
    assert set(steps["command_whole_amp_cpu"]["timings"]) >= {"loop", "metrics", "read_manifest"}
    scaling = steps["decode_scaling"]["settings"]
    assert len(scaling) >= 2 and all(v["images_per_s"] > 0 for v in scaling.values())
    assert steps["loop_subset_amp_cpu"]["images"] == 6 * 14
    assert not res["errors"], res["errors"]
    if "dask_subset_local2" in steps:  # distributed importable: per-worker phases recorded
        d = steps["dask_subset_local2"]
        assert d["images"] == 6 * 14 and len(d["per_worker"]) >= 1
        assert all("rest_s" in w["phases"] or "loop_s" in w["phases"] for w in d["per_worker"])
    else:
        assert "dask_subset_local2" in res["skipped"]
    # No CUDA here: the GPU steps do not run
    assert "pytest_gpu" not in steps and "loop_whole_amp_gpu" not in steps
    md = (out / "gpu_check.md").read_text()
    assert "| evaluate loop, whole, decode cpu |" in md and "forward only" in md
    assert "[" in p.stdout and "results:" in p.stdout  # progress lines as it goes
