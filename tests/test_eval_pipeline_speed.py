"""The evaluation pipeline at the speed of the model (issue 16 point 1): batches filled in place
in a ring of shared slabs by decode workers, outputs kept on the device and checked a chunk at a
time, the worker count chosen from measured rates; the same numbers as the per-item path."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from _evalfix import TINY_CONFIG, TinyNet, make_manifest
from degradebench.evaluators import _pipe_outputs, _pipeline, evaluate, model_from_module
from degradebench.evaluators._fit import normalise
from degradebench.evaluators._input_config import resolve_input_config
from degradebench.evaluators._loader import MaskSpec, VariantDataset, collate
from degradebench.evaluators._localize import LocalizeSpec
from degradebench.evaluators._pipe_plan import choose_workers, row_bytes, row_plan, slot_bytes
from degradebench.evaluators._pipeline import DecodePool, SlabRing, fill_batch
from degradebench.evaluators._runner import run_model
from degradebench.evaluators.models import ModelError
from degradebench.generators import read_manifest
from degradebench.generators.core.errors import ConfigError, DegradebenchError
from degradebench.generators.manifest import mask_png
from PIL import Image

TILE = {"input_size": [8, 8], "fit": "tile", "max_tiles": 5}


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    return make_manifest(tmp_path_factory.mktemp("pipe") / "m", per_class=(2, 2, 1),
                         qualities=(90, 30), double=((50, 90),))  # fmt: skip


def _reference(root: Path, model, batch_size: int) -> np.ndarray:
    """Probabilities the way the runner computed them before the pipeline (item by item,
    collated, one forward per batch, softmax, tiles averaged as scores), in manifest order."""
    df = read_manifest(root)
    ds = VariantDataset(root, df["path"].tolist(), df["sha256"].tolist(), model.input_config)
    cfg = model.input_config
    out = []
    for k in range(0, len(df), batch_size):
        b = collate([ds[i] for i in range(k, min(k + batch_size, len(df)))])
        scores = model.predict(normalise(b.tiles, cfg)).float()
        if cfg.fit == "tile" and int(b.counts.max()) > 1:
            owner = torch.repeat_interleave(torch.arange(len(b.counts)), b.counts)
            mean = torch.zeros((len(b.counts), scores.shape[1])).index_add_(0, owner, scores)
            scores = mean / b.counts[:, None].float()
        out.append(torch.softmax(scores, dim=1).numpy())
    return np.concatenate(out)


@pytest.mark.parametrize("config", [TINY_CONFIG, TILE], ids=["center_crop", "tile"])
def test_probabilities_identical_whatever_the_workers_and_chunks(manifest, config, monkeypatch):
    torch.manual_seed(0)
    model = model_from_module(TinyNet(), name="t", input_config=config)
    df = read_manifest(manifest)
    want = _reference(manifest, model, 4)
    runs = [run_model(model, df, manifest, n_classes=3, device="cpu", batch_size=4, workers=w,
                      progress=False) for w in (0, 2)]  # fmt: skip
    monkeypatch.setattr(_pipe_outputs, "CHUNK_ROWS", 3)  # a host copy every batch or so
    runs.append(run_model(model, df, manifest, n_classes=3, device="cpu", batch_size=4,
                          workers=2, progress=False))  # fmt: skip
    for run in runs:
        assert run.rows.tolist() == list(range(len(df))) and not run.errors
        np.testing.assert_array_equal(run.probs, want)
    assert runs[0].workers == 0 and runs[1].workers == 2
    assert runs[1].pipeline["workers_chosen"] == "given" and runs[1].pipeline["slots"] >= 2


class NaNOnBatch(TinyNet):
    """NaN scores in one row of the ``at``-th forward pass only."""

    def __init__(self, at: int, value: float = float("nan"), softmax: bool = False):
        super().__init__()
        self.at, self.value, self.calls, self.softmax = at, value, 0, softmax

    def forward(self, x):
        self.calls += 1
        out = super().forward(x)
        if self.softmax:
            out = torch.softmax(out, dim=1)
        if self.calls == self.at:
            out[1, 0] = self.value
        return out


def test_a_bad_batch_found_late_is_still_named_by_its_ids(manifest):
    df = read_manifest(manifest)
    model = model_from_module(NaNOnBatch(at=3), name="late", input_config=TINY_CONFIG)
    with pytest.raises(ModelError) as exc:  # checked at the end (one chunk), not per batch
        run_model(model, df, manifest, n_classes=3, device="cpu", batch_size=4, workers=0,
                  progress=False)  # fmt: skip
    msg = str(exc.value)
    assert ", ".join(df["variant_id"].tolist()[8:12]) in msg  # the third batch of 4
    assert df["variant_id"].iloc[12] not in msg and df["variant_id"].iloc[7] not in msg
    assert "'late'" in msg and "NaN or infinite scores in 1 of 4 rows" in msg
    assert model.module.calls > 3  # later batches ran before the chunk was checked


def test_probability_rows_and_regression_values_are_checked_per_chunk(manifest, monkeypatch):
    monkeypatch.setattr(_pipe_outputs, "CHUNK_ROWS", 8)
    df = read_manifest(manifest)
    ids = df["variant_id"].tolist()
    probs = model_from_module(NaNOnBatch(at=2, value=5.0, softmax=True), name="p",
                              input_config={**TINY_CONFIG, "output": "probabilities"})  # fmt: skip
    with pytest.raises(ModelError, match="not probability vectors") as exc:
        run_model(probs, df, manifest, n_classes=3, device="cpu", batch_size=4, workers=0,
                  progress=False)  # fmt: skip
    assert ", ".join(ids[4:8]) in str(exc.value)

    class Reg(NaNOnBatch):
        def forward(self, x):
            return super().forward(x)[:, 0]

    reg = model_from_module(Reg(at=2), name="r", input_config=TINY_CONFIG)
    with pytest.raises(ModelError, match="NaN or infinite values") as exc:
        run_model(reg, df, manifest, n_classes=1, device="cpu", batch_size=4, workers=2,
                  progress=False, regression=True)  # fmt: skip
    assert ids[4] in str(exc.value) and ids[8] not in str(exc.value)


@pytest.mark.parametrize(
    ("decode", "forward", "cores", "n_batches", "expected"),
    [
        (1000.0, 5000.0, 16, 100, 7),  # ceil(1.25 * 5000 / 1000)
        (1000.0, 12000.0, 16, 100, 15),  # needs 15: capped at cores - 1
        (500.0, 50000.0, 64, 100, 16),  # capped at 16
        (5000.0, 1000.0, 16, 100, 1),  # at least one
        (1000.0, 5000.0, 1, 100, 0),  # one core: in the main process
        (1000.0, 5000.0, 16, 1, 0),  # one batch: nothing to overlap
        (1000.0, 5000.0, 2, 100, 1),  # two cores: one worker
        (None, 5000.0, 16, 100, 8),  # unknown decode rate: the earlier default
        (1000.0, None, 4, 100, 3),  # unknown forward rate: cores - 1
    ],
)
def test_worker_choice(decode, forward, cores, n_batches, expected):
    n, why = choose_workers(decode, forward, cores=cores, n_batches=n_batches)
    assert n == expected and why


def test_a_model_on_a_gpu_gets_every_core_but_one_to_decode():
    # the forward rate is not needed: idle workers wait on the ring at no cost
    assert choose_workers(1000.0, None, cores=16, n_batches=100, device_bound=True)[0] == 15
    assert choose_workers(1000.0, 500.0, cores=64, n_batches=100, device_bound=True)[0] == 16
    assert choose_workers(1000.0, None, cores=2, n_batches=100, device_bound=True)[0] == 1
    assert choose_workers(1000.0, None, cores=16, n_batches=1, device_bound=True)[0] == 0


def test_chosen_workers_and_rates_are_recorded(manifest, tmp_path):
    model = model_from_module(TinyNet(), name="t", input_config=TINY_CONFIG)
    res = evaluate(manifest, model, tmp_path / "r", device="cpu", batch_size=4, n_boot=0,
                   progress=False)  # fmt: skip
    pipe = json.loads((tmp_path / "r" / "run.json").read_text())["throughput"]["pipeline"]
    assert pipe["decode"] == "cpu" and pipe["workers_chosen"] == "measured"
    assert pipe["decode_img_s_per_worker"] > 0 and pipe["why"]
    assert pipe["workers"] == res.run["config"]["workers"]
    cores = len(os.sched_getaffinity(0))
    assert 0 <= pipe["workers"] <= min(max(cores - 1, 0), 16)


def test_bad_files_are_recorded_with_worker_processes(tmp_path):
    m = make_manifest(tmp_path / "m", per_class=(2, 1), qualities=(50,), double=())
    df = read_manifest(m)
    gone, altered, broken = df.iloc[1], df.iloc[4], df.iloc[6]
    (m / gone["path"]).unlink()
    with open(m / altered["path"], "ab") as fh:
        fh.write(b"\0")
    (m / broken["path"]).write_bytes(b"not an image")
    model = model_from_module(TinyNet(), name="t", input_config=TINY_CONFIG)
    run = run_model(model, df, m, n_classes=3, device="cpu", batch_size=3, workers=2,
                    progress=False)  # fmt: skip
    stages = {e["variant_id"]: e["stage"] for e in run.errors}
    assert stages == {gone["variant_id"]: "missing", altered["variant_id"]: "verify",
                      broken["variant_id"]: "verify"}  # fmt: skip
    assert sorted(set(run.rows) | {1, 4, 6}) == list(range(len(df)))


def _pngs(folder: Path, sizes) -> list[str]:
    names = []
    for k, (h, w) in enumerate(sizes):
        buf = io.BytesIO()
        rng = np.random.default_rng(k)
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(buf, "PNG")
        (folder / f"i{k}.png").write_bytes(buf.getvalue())
        names.append(f"i{k}.png")
    return names


def test_fill_batch_matches_collate_with_masks_overflow_and_odd_sizes(tmp_path):
    names = _pngs(tmp_path, [(20, 24), (20, 24), (13, 9), (20, 24)])
    masks = [None, "m1.png", None, "m3.png"]
    for k in (1, 3):
        (tmp_path / masks[k]).write_bytes(mask_png(np.eye(20, 24, dtype=bool)))
    for cfg in ({"input_size": [8, 8], "fit": "tile", "channel_order": "BGR"},
                {"input_size": [8, 8], "fit": "full"}):  # fmt: skip
        ds = VariantDataset(tmp_path, names + ["gone.png"], None, resolve_input_config(cfg),
                            MaskSpec(masks + [None]))  # fmt: skip
        want = collate([ds[i] for i in range(5)])
        for nbytes in (1 << 16, 700):  # roomy, and too small: the batch comes back inline
            ring = SlabRing(1, nbytes, shared=False, pin=False)
            meta = fill_batch(ds, range(5), ring.slab[0].numpy())
            assert (meta["inline"] is None) == (nbytes > 700)
            assert meta["index"] == want.index.tolist() and meta["errors"] == want.errors
            assert meta["counts"] == want.counts.tolist() and meta["sizes"] == want.sizes
            assert all((a is None and b is None) or np.array_equal(a, b)
                       for a, b in zip(meta["masks"], want.masks))  # fmt: skip
            assert torch.equal(ring.view(0, meta), want.tiles)


@pytest.mark.parametrize("cfg", [{"input_size": [8, 8], "fit": "tile", "channel_order": "BGR"},
                                 {"input_size": [8, 8], "fit": "full"},
                                 {"input_size": [10, 10], "fit": "center_crop"}],
                         ids=["tile-bgr", "full", "center_crop"])  # fmt: skip
def test_channels_last_batches_hold_the_same_tiles(tmp_path, cfg):
    names = _pngs(tmp_path, [(20, 24), (20, 24), (13, 9), (20, 24)])
    ds = VariantDataset(tmp_path, names + ["gone.png"], None, resolve_input_config(cfg))
    want = collate([ds[i] for i in range(5)])
    for nbytes in (1 << 16, 700):  # in the slot, and inline
        ring = SlabRing(1, nbytes, shared=False, pin=False)
        meta = fill_batch(ds, range(5), ring.slab[0].numpy(), hwc=True)
        assert meta["hwc"] and (meta["inline"] is None) == (nbytes > 700)
        tiles = ring.view(0, meta)
        assert torch.equal(tiles, want.tiles) and meta["errors"] == want.errors
        # channels last in memory, dense: one block copy to the device keeps the layout
        assert tiles.is_contiguous(memory_format=torch.channels_last)
        assert tiles.to("cpu", copy=True).stride() == tiles.stride()


@pytest.mark.parametrize("channels_last", [False, True])
def test_the_workers_layout_does_not_change_the_numbers(manifest, channels_last):
    """Channels-last tiles (with --channels-last, or on a GPU) and CHW tiles give bit-identical
    probabilities: the model gets the layout it asked for either way."""
    torch.manual_seed(0)
    model = model_from_module(TinyNet(), name="t", input_config=TINY_CONFIG)
    df = read_manifest(manifest)
    runs = {}
    for hwc in (False, True):
        orig = _pipeline.DecodePool.__init__

        def init(self, *a, _hwc=hwc, _orig=orig, **kw):
            _orig(self, *a, **{**kw, "hwc": _hwc})

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(_pipeline.DecodePool, "__init__", init)
            runs[hwc] = run_model(model, df, manifest, n_classes=3, device="cpu", batch_size=4,
                                  workers=2, progress=False, channels_last=channels_last)  # fmt: skip
    np.testing.assert_array_equal(runs[False].probs, runs[True].probs)
    assert runs[True].pipeline["layout"] == ("NHWC" if channels_last else "NCHW")


def test_pool_yields_batches_in_order_from_shared_slots(tmp_path):
    names = _pngs(tmp_path, [(16, 16)] * 7)
    cfg = resolve_input_config({"input_size": [8, 8], "fit": "center_crop"})
    ds = VariantDataset(tmp_path, names, None, cfg)
    plan = [range(0, 3), range(3, 6), range(6, 7)]
    ring = SlabRing(2, slot_bytes(plan, row_bytes(pd.DataFrame(index=range(7)), cfg, 0)),
                    shared=True, pin=False)  # fmt: skip
    pool = DecodePool(ds, plan, ring, workers=2)
    try:
        seen = []
        for batch, slot in pool:
            want = collate([ds[i] for i in plan[len(seen)]])
            assert torch.equal(batch.tiles, want.tiles)
            seen.append(batch.index.tolist())
            ring.release(slot)
    finally:
        pool.close()
    assert seen == [[0, 1, 2], [3, 4, 5], [6]] and not pool.procs


def test_a_started_pool_decodes_before_it_is_asked(tmp_path):
    """On a GPU the pool starts first and the model warms up meanwhile: the first batches are
    handed out at start(), and iterating afterwards still yields every batch once, in order."""
    names = _pngs(tmp_path, [(16, 16)] * 7)
    cfg = resolve_input_config({"input_size": [8, 8], "fit": "center_crop"})
    ds = VariantDataset(tmp_path, names, None, cfg)
    plan = [range(0, 3), range(3, 6), range(6, 7)]
    ring = SlabRing(2, 3 * 3 * 8 * 8, shared=True, pin=False)
    pool = DecodePool(ds, plan, ring, workers=1, hwc=True)
    try:
        pool.start()
        assert pool.sent == 2  # one batch per free slot
        seen = []
        for batch, slot in pool:
            assert torch.equal(batch.tiles, collate([ds[i] for i in plan[len(seen)]]).tiles)
            seen.append(batch.index.tolist())
            ring.release(slot)
    finally:
        pool.close()
    assert seen == [[0, 1, 2], [3, 4, 5], [6]] and pool.waited >= 0.0


def test_row_bytes_and_plan_follow_the_manifest_sizes():
    df = pd.DataFrame({"height": [20, 8, None, 30], "width": [24, 8, 9, 16]})
    tile = resolve_input_config({"input_size": [8, 8], "fit": "tile", "max_tiles": 4})
    assert row_bytes(df, tile, 7).tolist() == [4 * 192, 192, 7, 4 * 192]  # 2x3 tiles -> 4
    full = resolve_input_config({"input_size": [8, 8], "fit": "full"})
    assert row_bytes(df, full, 7).tolist() == [3 * 480, 192, 7, 3 * 480]
    plan = row_plan(df, "center_crop", 3)
    assert plan == [range(0, 3), range(3, 4)]
    assert slot_bytes(plan, np.array([1, 2, 3, 10])) == 10
    assert row_plan(df, "full", 3) == [[0], [1], [3], [2]]


def test_a_worker_that_dies_is_an_error_not_a_hang(tmp_path, monkeypatch):
    if torch.multiprocessing.get_start_method() != "fork":
        pytest.skip("the patched decoder reaches the workers only when they are forked")
    names = _pngs(tmp_path, [(16, 16)] * 4)
    cfg = resolve_input_config({"input_size": [8, 8], "fit": "center_crop"})
    ds = VariantDataset(tmp_path, names, None, cfg)
    monkeypatch.setattr(VariantDataset, "decoded", lambda self, i: os._exit(3))
    pool = DecodePool(ds, [range(0, 2), range(2, 4)], SlabRing(2, 1024, shared=True, pin=False), 1)
    try:
        with pytest.raises(DegradebenchError, match="exited with code 3.*--workers 0"):
            list(pool)
    finally:
        pool.close()


def test_a_bug_in_a_worker_comes_back_with_its_traceback(tmp_path, monkeypatch):
    if torch.multiprocessing.get_start_method() != "fork":
        pytest.skip("the patched fit reaches the workers only when they are forked")
    names = _pngs(tmp_path, [(16, 16)] * 2)
    ds = VariantDataset(tmp_path, names, None,
                        resolve_input_config({"input_size": [8, 8], "fit": "center_crop"}))
    monkeypatch.setattr(_pipeline, "fit_into", lambda *a: 1 / 0)
    pool = DecodePool(ds, [range(0, 2)], SlabRing(1, 1024, shared=True, pin=False), 1)
    try:
        with pytest.raises(DegradebenchError, match="(?s)rows 0..1.*ZeroDivisionError"):
            list(pool)
    finally:
        pool.close()


class Localizer(torch.nn.Module):
    """A map that is the input's red channel above its mean (any image, any size)."""

    def forward(self, x):
        return (x[:, :1] > x[:, :1].mean()).float() * 0.9 + 0.05


def test_localization_runs_through_the_worker_pool(tmp_path):
    names = _pngs(tmp_path, [(20, 24)] * 5)
    masks = ["m0.png", None, "m2.png", None, "m4.png"]
    for k in (0, 2, 4):
        (tmp_path / masks[k]).write_bytes(mask_png(np.eye(20, 24, dtype=bool)))
    df = pd.DataFrame({"path": names, "mask_path": masks, "variant_id": [f"v{k}" for k in
                       range(5)], "height": 20, "width": 24})  # fmt: skip
    cfg = {"input_size": [8, 8], "fit": "tile", "task": "localization", "output": "probabilities"}
    model = model_from_module(Localizer(), name="loc", input_config=cfg)
    runs = [run_model(model, df, tmp_path, n_classes=1, device="cpu", batch_size=2, workers=w,
                      progress=False, localize=LocalizeSpec()) for w in (0, 2)]  # fmt: skip
    assert runs[0].rows.tolist() == list(range(5)) and runs[0].probs.shape == (5, 0)
    for col in ("score", "map_score", "pixel_f1"):
        np.testing.assert_array_equal(runs[0].extra[col], runs[1].extra[col])
    assert np.isfinite(runs[0].extra["pixel_f1"][[0, 2, 4]]).all()
    assert np.isnan(runs[0].extra["pixel_f1"][[1, 3]]).all()


def test_gpu_decode_is_refused_with_a_reason_when_it_cannot_run(manifest):
    if torch.cuda.is_available():
        pytest.skip("CUDA present: GPU decoding may run here")
    model = model_from_module(TinyNet(), name="t", input_config=TINY_CONFIG)
    with pytest.raises(ConfigError, match="--decode gpu: "):
        run_model(model, read_manifest(manifest), manifest, n_classes=3, device="cpu",
                  workers=0, progress=False, decode="gpu")  # fmt: skip
    with pytest.raises(ConfigError, match="--decode: must be cpu or gpu, got 'tpu'"):
        run_model(model, read_manifest(manifest), manifest, n_classes=3, device="cpu",
                  workers=0, progress=False, decode="tpu")  # fmt: skip


@pytest.mark.gpu
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("workers", [2, None])
def test_cuda_pipeline_matches_cpu(manifest, channels_last, workers):
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    df = read_manifest(manifest)
    net = TinyNet()
    cpu = run_model(model_from_module(net, name="t", input_config=TINY_CONFIG), df, manifest,
                    n_classes=3, device="cpu", batch_size=4, workers=0, progress=False)  # fmt: skip
    gpu = run_model(model_from_module(net, name="t", input_config=TINY_CONFIG), df, manifest,
                    n_classes=3, device="cuda", batch_size=4, workers=workers, progress=False,
                    channels_last=channels_last)  # fmt: skip
    assert gpu.pipeline["pinned"] is True and gpu.pipeline["layout"] == "NHWC"
    if workers is None:  # chosen without a forward probe: every core but one, warm-up measured
        assert gpu.pipeline["why"].startswith("model on a GPU") and gpu.pipeline["forward_img_s"]
    np.testing.assert_allclose(gpu.probs, cpu.probs, atol=1e-4)
