"""The evaluators on the real generator's output, on CUDA when present, and the demo end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _evalfix import TinyNet
from degradebench.evaluators import evaluate, model_from_module, write_report

CFG = {"input_size": [32, 32], "fit": "tile", "max_tiles": 4}


@pytest.fixture()
def generated(tiny_config, tmp_path) -> Path:
    from degradebench.generators import generate

    out = tmp_path / "out"
    generate(config=tiny_config, dataset="tiny", suite="small", out=out, progress=False)
    return out


def test_evaluates_every_variant_of_a_generated_manifest(generated, tmp_path):
    from degradebench.generators import read_manifest

    manifest = read_manifest(generated)
    model = model_from_module(TinyNet(n_classes=2), name="tiny2", input_config=CFG)
    res = evaluate(generated, model, tmp_path / "r", device="cpu", workers=1, progress=False)
    p = res.predictions
    assert set(p["variant_id"]) == set(manifest["variant_id"]) and res.errors.empty
    assert p["flipped"].notna().all()  # every source has its clean variant
    assert (p["n_tiles"] <= 4).all() and (p["n_tiles"] >= 1).all()
    # double JPEG levels sharing QF1 pool into one curve point, split by alignment
    dj = res.curves[(res.curves["axis"] == "double_jpeg") & (res.curves["metric"] == "accuracy")]
    on_curve = dj[dj["rank"] >= 0]
    assert set(on_curve["point"]) == {"q1=60"}
    assert set(on_curve["series"]) == {"all", "aligned=False", "aligned=True"}
    n_dj = (manifest["axis"] == "double_jpeg").sum()
    n_src = manifest["source_id"].nunique()
    at_all = on_curve.loc[on_curve["series"] == "all"].iloc[0]
    assert at_all["n_variants"] == n_dj and at_all["n"] == n_src  # n counts sources (issue 12)
    # crops: ordered by the properties they keep, and pooled per (CFA phase, JPEG grid) kept
    crop = res.curves[(res.curves["axis"] == "crop") & (res.curves["metric"] == "accuracy")]
    assert crop[crop["rank"] >= 0].sort_values("rank")["point"].tolist() == [
        "dy=0,dx=0",
        "dy=2,dx=4",
        "dy=3,dx=5",
    ]
    pooled = crop[crop["rank"] == -1].set_index("series")["n"]
    assert pooled["cfa_phase_kept=False,grid_kept=False"] == 6  # 3x5 on each of 6 sources
    pooled_v = crop[crop["rank"] == -1].set_index("series")["n_variants"]
    assert pooled_v["all"] == (manifest["axis"] == "crop").sum() and pooled["all"] == n_src
    files = write_report([res.out], tmp_path / "report")
    names = {f.name for f in files.figures}
    assert {"jpeg.pdf", "jpeg.png", "crop.pdf", "crop_heatmap.png", "double_jpeg.pdf"} <= names


def test_folds_restrict_the_variants(generated, tmp_path):
    model = model_from_module(TinyNet(n_classes=2), name="tiny2", input_config=CFG)
    res = evaluate(generated, model, tmp_path / "r", device="cpu", workers=0, folds=[1],
                   progress=False)  # fmt: skip
    assert set(res.predictions["fold"]) == {1}
    run = json.loads((tmp_path / "r" / "run.json").read_text())
    assert run["config"]["folds"] == [1]


@pytest.mark.gpu
def test_cuda_matches_cpu_and_amp_runs(generated, tmp_path):
    net = TinyNet(n_classes=2)
    cpu = evaluate(generated, model_from_module(net, name="t", input_config=CFG), tmp_path / "c",
                   device="cpu", workers=1, progress=False, n_boot=0)  # fmt: skip
    gpu = evaluate(generated, model_from_module(net, name="t", input_config=CFG), tmp_path / "g",
                   device="cuda", workers=1, progress=False, n_boot=0)  # fmt: skip
    assert gpu.run["config"]["resolved_device"].startswith("cuda")
    np.testing.assert_allclose(
        np.stack(gpu.predictions["probs"]), np.stack(cpu.predictions["probs"]), atol=1e-4
    )
    amp = evaluate(generated, model_from_module(net, name="t", input_config=CFG), tmp_path / "a",
                   device="cuda", amp=True, workers=1, progress=False, n_boot=0)  # fmt: skip
    assert (amp.predictions["pred"] == gpu.predictions["pred"]).mean() > 0.9


@pytest.mark.slow
def test_demo_end_to_end(tmp_path):
    from degradebench._cmd_demo import run_demo

    r = run_demo(tmp_path / "demo", progress=False)
    assert r["report"].exists()
    assert r["headline"]["clean_accuracy"] >= 0.9
    html = r["report"].read_text()
    for axis in ("jpeg", "double_jpeg", "crop", "whatsapp-like", "journey", "random-journey"):
        assert f"Axis <code>{axis}</code>" in html
    assert set(r["social"]) >= {"journey@1", "journey@2", "journey@3"}
    # the forensic part: the localizer on the forgery levels the settings name, in the report
    loc = r["localizer"]
    rows = {(f["axis"], f["level"]): f for f in loc["figures"]}
    assert set(rows) == {("forgery-jpeg", "none"), ("forgery-jpeg", "quality=90"),
                         ("forgery-jpeg", "quality=70"), ("forgery-crop", "dy=3,dx=5"),
                         ("forgery-social", "hops=1")}  # fmt: skip
    assert all(0 <= f["pixel_f1"] <= 1 and 0 <= f["pixel_auc"] <= 1 for f in rows.values())
    clean = rows[("forgery-jpeg", "none")]
    assert clean["pixel_auc"] > 0.5  # splices: another camera's pixels, found on clean images
    assert (r["out"] / "forgery-demo.yaml").exists()
    for axis in ("forgery-jpeg", "forgery-crop", "forgery-social"):
        assert f"Axis <code>{axis}</code>" in html
        assert (r["report"].parent / "figures" / f"{axis}_overlays.png").exists()
    assert "reference-localizer</code>: pixel F1" in html  # the localizer's headline
    assert "(optimistic: best threshold per image)" in html
