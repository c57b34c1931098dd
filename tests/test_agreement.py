"""The library-agreement audit: real libraries on tiny real images, no mocks."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from degradebench.agreement import (
    comparands,
    compare_pair,
    parse_op,
    psnr_matrix,
    run_agreement,
    summarise,
)
from degradebench.cli import main
from degradebench.generators.core.errors import ConfigError

MODEL_PY = """
import torch


class Brightness(torch.nn.Module):
    # two classes from the mean of each channel: deterministic and pixel-sensitive
    def forward(self, x):
        m = x.mean(dim=(2, 3))
        return torch.stack([m[:, 0] * 1000 % 1, m[:, 1] * 1000 % 1], dim=1)


def build():
    return Brightness(), {"input_size": [32, 32], "fit": "center_crop"}
"""


def test_parse_op_and_comparands():
    assert parse_op("bicubic x0.5").name == "bicubic x0.5"
    assert parse_op("nearest@2").scale == 2.0
    with pytest.raises(ConfigError, match="unknown method 'bicubik'"):
        parse_op("bicubik x0.5")
    with pytest.raises(ConfigError, match="write METHOD xSCALE"):
        parse_op("bicubic")
    names = [c.name for c in comparands(parse_op("bicubic x0.5"))]
    assert names == ["pillow(aa=on)", "opencv(aa=off)", "torch(aa=off)", "torch(aa=on)",
                     "skimage(aa=on)", "skimage(aa=off)"]  # fmt: skip
    assert [c.name for c in comparands(parse_op("area x0.5"), float_paths=True)] == [
        "pillow(aa=on)",
        "pillow(aa=on, float32)",
        "opencv(aa=off)",
        "opencv(aa=off, float32)",
        "torch(aa=off)",
    ]
    nearest = [c.name for c in comparands(parse_op("nearest x2"))]
    assert "opencv(aa=off, exact)" in nearest and "torch(aa=off, exact)" in nearest
    for c in comparands(parse_op("lanczos x0.5")):
        assert c.params.version and c.params.dtype and c.params.antialias is not None


def test_compare_pair_metrics():
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    assert compare_pair(a, b)["psnr"] == math.inf
    b[0, 0, 1] = 10
    m = compare_pair(a, b)
    assert m["max_abs_diff"] == 10 and m["differing_share"] == 1 / 16
    assert m["psnr"] == pytest.approx(10 * math.log10(255**2 / (100 / 48)))


def test_audit_on_a_folder_tree(tiny_tree: Path, tmp_path: Path):
    out = tmp_path / "agree"
    s = run_agreement(
        config=None,
        dataset=str(tiny_tree),
        out=out,
        ops=["bicubic x0.5", "nearest x2"],
        progress=False,
    )
    assert s.images == 6 and not s.failed
    df = pd.read_parquet(out / "agreement.parquet")
    assert {"op", "a", "b", "psnr", "max_abs_diff", "differing_share", "step_a"} <= set(df.columns)
    assert df["prediction_differs"].isna().all()
    summ = summarise(df)
    pair = summ[(summ.op == "bicubic x0.5") & (summ.a == "pillow(aa=on)") & (summ.b == "opencv(aa=off)")].iloc[0]
    assert pair.images == 6 and pair.psnr < 40 and pair.max_abs_diff > 10  # the audit reports it
    assert pair.differing_share > 0.5
    aa = summ[(summ.op == "bicubic x0.5") & (summ.a == "pillow(aa=on)") & (summ.b == "torch(aa=on)")].iloc[0]
    assert aa.max_abs_diff <= 1  # torch's antialiased bicubic is Pillow's kernel
    nearest = summ[summ.op == "nearest x2"]
    assert len(nearest) > 0 and (nearest.max_abs_diff == 0).all()  # integer upscale: all agree
    mat = psnr_matrix(summ, "bicubic x0.5")
    assert mat.loc["pillow(aa=on)", "opencv(aa=off)"] == mat.loc["opencv(aa=off)", "pillow(aa=on)"] == pair.psnr
    step = json.loads(df.step_a.iloc[0])
    assert step["op"] == "resize" and step["params"]["version"]
    md = (out / "agreement.md").read_text()
    assert "## bicubic x0.5" in md and "| pillow(aa=on) | opencv(aa=off) |" in md
    for ext in ("png", "svg"):
        assert (out / f"agreement-bicubic-x0-5.{ext}").stat().st_size > 1000


def test_audit_with_a_model_and_on_the_bundled_samples(tmp_path: Path):
    pytest.importorskip("degradebench.evaluators._fit")
    model = tmp_path / "tiny_model.py"
    model.write_text(MODEL_PY)
    out = tmp_path / "agree"
    s = run_agreement(
        dataset="samples",
        out=out,
        ops=["bicubic x0.5"],
        model=f"{model}:build",
        limit=1,
        progress=False,
        plots=False,
    )
    assert s.images == 4  # one per sample label
    df = pd.read_parquet(out / "agreement.parquet")
    assert df["prediction_differs"].notna().all()
    summ = summarise(df)
    assert summ["prediction_differs_share"].between(0, 1).all()
    assert summ["prediction_differs_share"].max() > 0  # libraries do change this model's answer
    pair = summ[(summ.a == "pillow(aa=on)") & (summ.b == "opencv(aa=off)")].iloc[0]
    assert pair.psnr < 40
    assert "predictions differing" in (out / "agreement.md").read_text()


def test_cli(tiny_tree: Path, tmp_path: Path, capsys):
    out = tmp_path / "cli"
    args = ["agreement", "--dataset", str(tiny_tree), "--out", str(out), "--ops", "nearest x2"]
    rc = main([*args, "--limit", "1", "--no-plots", "--quiet"])
    assert rc == 0
    assert "compared 1 ops on 2 images" in capsys.readouterr().out
    assert (out / "agreement.parquet").is_file() and not list(out.glob("*.png"))
    assert main(["agreement", "--dataset", str(tiny_tree), "--out", str(out), "--ops", "x2"]) == 2


def test_workers_give_the_same_rows(tiny_tree: Path, tmp_path: Path, monkeypatch):
    import degradebench.agreement as agreement

    monkeypatch.setattr(agreement, "MIN_IMAGES_PER_WORKER", 1)
    kw = {"dataset": str(tiny_tree), "ops": ["bilinear x0.5"], "progress": False, "plots": False}
    one = run_agreement(out=tmp_path / "one", jobs=1, **kw)
    two = run_agreement(out=tmp_path / "two", jobs=2, **kw)
    assert one.images == two.images == 6
    a = pd.read_parquet(tmp_path / "one" / "agreement.parquet")
    b = pd.read_parquet(tmp_path / "two" / "agreement.parquet")
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ConfigError, match="--jobs: must be an integer >= 1, got 0"):
        run_agreement(out=tmp_path / "x", jobs=0, **kw)
