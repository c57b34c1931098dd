"""The CPU side of the evaluation pipeline (issue 16 point 1), measured without a GPU.

- ``main-process time per batch``: CPU seconds the main process spends per batch (receiving a
  decoded batch, handing it to the model, collecting its outputs) with a model that does
  nothing and a 32 px crop, so what is left is the loop's own cost: the ring of shared slabs (metadata only
  crosses the process boundary) against the earlier DataLoader path (a shared-memory storage
  per batch tensor, rebuilt in the main process).
- ``decode rate per worker``: 256 px JPEG variants read, sha256-checked, decoded and fitted
  (224 centre crop) into a slot, images per second on one core.

Run: ``python -m pytest bench/benchmarks/test_bench_pipeline.py --benchmark-enable -q``.
"""

from __future__ import annotations

import hashlib
import io
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

BATCH = 64
ROWS = 1280  # 20 batches
FILES = 32
CFG = {"input_size": [224, 224], "fit": "center_crop"}
# A small crop for the loop's cost: on a GPU the float conversion runs on the device, here it
# would be most of the main process's time at 224 px (about 1 ms per image on one core).
LOOP_CFG = {"input_size": [32, 32], "fit": "center_crop"}


class NoOp(torch.nn.Module):
    """Scores without work: the loop's cost is all that is measured."""

    def forward(self, x):
        return torch.zeros((x.shape[0], 2))


@pytest.fixture()
def one_thread():
    """One torch thread: on a loaded machine, idle OpenMP threads spinning would be counted as
    the loop's CPU time (the forward's threads are not what is measured here)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def jpegs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("pipe")
    rng = np.random.default_rng(0)
    rows = []
    for k in range(FILES):
        img = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
        img = np.clip(img // 4 + np.arange(256)[None, :, None] // 2, 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "JPEG", quality=85)
        (root / f"v{k}.jpg").write_bytes(buf.getvalue())
        rows.append((f"v{k}.jpg", hashlib.sha256(buf.getvalue()).hexdigest()))
    reps = [rows[i % FILES] for i in range(ROWS)]
    df = pd.DataFrame({"variant_id": [f"id{i}" for i in range(ROWS)],
                       "path": [p for p, _ in reps], "sha256": [s for _, s in reps],
                       "height": 256, "width": 256})  # fmt: skip
    return root, df


def test_main_process_time_per_batch_ring(benchmark, jpegs, one_thread):
    from degradebench.evaluators import model_from_module
    from degradebench.evaluators._runner import run_model

    root, df = jpegs
    benchmark.group = "pipeline-main-process"
    model = model_from_module(NoOp(), name="noop", input_config=LOOP_CFG)
    cpu: dict[int, list[float]] = {ROWS // 4: [], ROWS: []}

    def run():
        for n in cpu:
            t = time.process_time()
            out = run_model(model, df.iloc[:n], root, n_classes=2, device="cpu",
                            batch_size=BATCH, workers=1, progress=False)  # fmt: skip
            cpu[n].append(time.process_time() - t)
        return out

    out = benchmark.pedantic(run, rounds=3, iterations=1)
    assert len(out.rows) == ROWS
    _report(benchmark, "ring", cpu)
    benchmark.extra_info["pipeline"] = out.pipeline


def _report(benchmark, what: str, cpu: dict[int, list[float]]) -> None:
    """Per batch in the steady state: the difference of two run lengths (start-up, i.e. forking
    the worker, cancels out), and per batch all included."""
    short, full = sorted(cpu)
    steady = (min(cpu[full]) - min(cpu[short])) / ((full - short) / BATCH)
    total = min(cpu[full]) / (full / BATCH)
    benchmark.extra_info.update(main_cpu_ms_per_batch=round(steady * 1e3, 3), batch=BATCH,
                                main_cpu_ms_per_batch_with_startup=round(total * 1e3, 3))  # fmt: skip
    print(f"\n{what}: main-process CPU {steady * 1e3:.2f} ms per batch of {BATCH} (32 px crops; "
          f"{total * 1e3:.2f} ms with start-up over {full // BATCH} batches)")


def test_main_process_time_per_batch_dataloader(benchmark, jpegs, one_thread):
    """The earlier path, for comparison: DataLoader workers, a storage per batch tensor."""
    from degradebench.evaluators._fit import normalise
    from degradebench.evaluators._input_config import resolve_input_config
    from degradebench.evaluators._loader import VariantDataset, collate

    root, df = jpegs
    benchmark.group = "pipeline-main-process"
    cfg = resolve_input_config(LOOP_CFG)
    ds = VariantDataset(root, df["path"].tolist(), df["sha256"].tolist(), cfg)
    model = NoOp()
    cpu: dict[int, list[float]] = {ROWS // 4: [], ROWS: []}

    def run():
        for rows in cpu:
            t = time.process_time()
            sub = torch.utils.data.Subset(ds, range(rows))
            n = 0
            # the DataLoader path evaluate used before issue 16 (collate runs in the worker)
            loader = torch.utils.data.DataLoader(sub, batch_size=BATCH, shuffle=False,
                                                 num_workers=1, collate_fn=collate,
                                                 prefetch_factor=4)  # fmt: skip
            for batch in loader:
                torch.softmax(model(normalise(batch.tiles, cfg)), dim=1).cpu().numpy()
                n += len(batch.index.numpy())
            cpu[rows].append(time.process_time() - t)
        return n

    assert benchmark.pedantic(run, rounds=3, iterations=1) == ROWS
    _report(benchmark, "DataLoader", cpu)


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_decode_rate_per_worker(benchmark, jpegs, layout):
    """NHWC: the tiles a worker writes when the model runs on a GPU or takes channels last (a
    row copy per tile instead of a transpose)."""
    from degradebench.evaluators._input_config import resolve_input_config
    from degradebench.evaluators._loader import VariantDataset
    from degradebench.evaluators._pipeline import fill_batch

    root, df = jpegs
    benchmark.group = "pipeline-decode"
    n = 512
    ds = VariantDataset(root, df["path"].tolist()[:n], df["sha256"].tolist()[:n],
                        resolve_input_config(CFG))  # fmt: skip
    buf = np.empty(BATCH * 3 * 224 * 224, np.uint8)

    def run():
        for k in range(0, n, BATCH):
            fill_batch(ds, range(k, k + BATCH), buf, hwc=layout == "NHWC")

    benchmark.pedantic(run, rounds=5, iterations=1)
    rate = n / benchmark.stats.stats.min
    benchmark.extra_info.update(images=n, img_s_per_worker=round(rate, 1), layout=layout)
    print(f"\ndecode + sha256 + 224 centre crop of 256 px JPEGs into {layout} tiles: {rate:.0f} "
          "img/s per worker")  # fmt: skip
