"""Evaluator throughput against the model's forward pass alone on pre-decoded, pre-fitted tensors.

Efficiency = time(forward only) / time(evaluate): 1.0 means decoding, fitting and bookkeeping are
fully hidden behind the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from degradebench.generators import generate, read_manifest
from degradebench.generators.virtual_cameras import VirtualCamerasParams, build_virtual_cameras

BATCH = 32


@pytest.fixture(scope="module")
def eval_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("evalbench")
    table = build_virtual_cameras(
        VirtualCamerasParams(models=6, devices_per_model=2, images_per_device=5),
        tmp / "vcam",
        jobs=2,
        progress=False,
    )
    cfg = tmp / "c.yaml"
    cfg.write_text(f"""
version: 1
datasets:
  v: {{kind: list, path: {table}}}
suites:
  s:
    seed: 0
    axes:
      jpeg: {{qualities: [90, 70, 50, 30, 10]}}
""")
    generate(config=cfg, dataset="v", suite="s", out=tmp / "out", progress=False)
    return tmp / "out"


def test_evaluate_reference(benchmark, eval_manifest, tmp_path_factory):
    from degradebench.evaluators import evaluate

    benchmark.group = "eval-reference-cpu"
    n = len(read_manifest(eval_manifest))
    outs = iter(range(100))

    def run():
        return evaluate(
            eval_manifest,
            "reference",
            tmp_path_factory.mktemp(f"r{next(outs)}"),
            device="cpu",
            batch_size=BATCH,
            n_boot=0,
            progress=False,
        )

    benchmark.pedantic(run, rounds=3, iterations=1)
    benchmark.extra_info["images"] = n


def test_forward_only(benchmark, eval_manifest):
    from degradebench.evaluators import load_model
    from degradebench.evaluators._fit import fit_image, normalise
    from PIL import Image

    benchmark.group = "eval-reference-cpu"
    model = load_model("reference").to("cpu")
    df = read_manifest(eval_manifest)
    tiles, counts = [], []
    for p in df.path:
        t = fit_image(np.asarray(Image.open(eval_manifest / p).convert("RGB")), model.input_config)
        tiles.append(torch.from_numpy(np.ascontiguousarray(t)))
        counts.append(len(t) if t.ndim == 4 else 1)
    batches = []
    for i in range(0, len(tiles), BATCH):
        chunk = tiles[i : i + BATCH]
        x = torch.cat([c if c.ndim == 4 else c[None] for c in chunk])
        batches.append(x)

    batches = [normalise(x, model.input_config) for x in batches]  # the model's input, ready

    def run():
        with torch.inference_mode():
            for x in batches:
                model.predict(x)

    benchmark.pedantic(run, rounds=3, iterations=1)
    benchmark.extra_info["images"] = len(tiles)
