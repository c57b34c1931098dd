"""Truthful results (issue 12): planned levels, sources as the unit, clean pairing, suites apart."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _evalfix import ConstantNet, TinyNet
from degradebench.evaluators import evaluate, model_from_module
from degradebench.evaluators import metrics as M
from PIL import Image

CFG16 = {"input_size": [16, 16], "fit": "center_crop"}


def _png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def _write_manifest(out: Path, variants: list[dict]) -> Path:
    """``variants``: dicts with source_id, label, suite, axis, level, level_value, axis_params
    and ``img``; writes the files and ``out/manifest/part-0.parquet``."""
    rows = []
    for i, v in enumerate(variants):
        data = _png(v.pop("img"))
        rel = f"variants/{v['suite']}/{i:04d}.png"
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
        rows.append({"variant_id": f"v{i:04d}", "dataset": "synthetic", "fold": 0, "path": rel,
                     "sha256": hashlib.sha256(data).hexdigest(), "psnr": np.nan, **v})
    (out / "manifest").mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame(rows)
    df["level_value"] = df["level_value"].astype("float64")
    df.to_parquet(out / "manifest" / "part-0.parquet", index=False)
    return out


def _noise(rng: np.random.Generator, size: int = 20) -> np.ndarray:
    return rng.integers(0, 256, size=(size, size, 3)).astype(np.uint8)


def _dj_variants(n_sources: int = 12, draws: int = 2) -> list[dict]:
    rng = np.random.default_rng(7)
    out = []
    for s in range(n_sources):
        base = {"source_id": f"s{s:02d}", "label": ("cam_a", "cam_b", "cam_c")[s % 3],
                "suite": "dj"}  # fmt: skip
        out.append({**base, "axis": "clean", "level": "clean", "level_value": np.nan,
                    "axis_params": "{}", "img": _noise(rng)})  # fmt: skip
        shifts = [(0, 0, "q1=95,q2=90,shift=0x0")]
        shifts += [(1 + d, 2 + d, "q1=95,q2=90,shift=random") for d in range(draws)]
        for r, c, level in shifts:
            params = {"q1": 95, "q2": 90, "shift": [r, c], "aligned": (r, c) == (0, 0)}
            out.append({**base, "axis": "double_jpeg", "level": level, "level_value": 95.0,
                        "axis_params": json.dumps(params), "img": _noise(rng)})  # fmt: skip
    return out


def test_random_draws_are_one_planned_level_with_sources_as_the_unit(tmp_path):
    out = _write_manifest(tmp_path / "m", _dj_variants(12, draws=2))
    model = model_from_module(TinyNet(seed=5), name="tiny", input_config=CFG16)
    res = evaluate(out, model, tmp_path / "r", device="cpu", workers=0, n_boot=50,
                   progress=False)  # fmt: skip
    acc = res.summary[res.summary["metric"] == "accuracy"].set_index("level")
    assert sorted(acc.index) == ["clean", "q1=95,q2=90,shift=0x0", "q1=95,q2=90,shift=random"]
    assert (acc["n"] == 12).all() and (acc["n_paired"] == 12).all()
    assert acc.loc["q1=95,q2=90,shift=random", "n_variants"] == 24
    assert acc.loc["q1=95,q2=90,shift=0x0", "n_variants"] == 12
    p = res.predictions[res.predictions["level"] == "q1=95,q2=90,shift=random"]
    per_source = p["correct"].astype(float).groupby(p["source_id"]).mean()
    assert acc.loc["q1=95,q2=90,shift=random", "value"] == pytest.approx(per_source.mean())
    clean = res.predictions[res.predictions["axis"] == "clean"].set_index("source_id")["correct"]
    delta = (per_source - clean.astype(float)).mean()
    assert acc.loc["q1=95,q2=90,shift=random", "delta_clean"] == pytest.approx(delta)
    for table in (res.summary, res.curves, res.axis_summary, res.predictions):
        assert set(table["suite"]) == {"dj"}


def test_unbalanced_draws_average_each_source_first():
    """A source with 3 draws weighs as much as a source with 1: mean of per-source means."""
    rows = [("a", True), ("a", True), ("a", True), ("b", False)]
    df = pd.DataFrame({"source_id": [s for s, _ in rows], "model": "m", "axis": "x",
                       "level": "random", "correct": pd.array([c for _, c in rows], "boolean"),
                       "label": "k"})  # fmt: skip
    boot = M.Bootstrap(df["source_id"], n_boot=20, seed=0)
    c = M.cell(M.METRICS.get("accuracy"), df, boot)
    assert (c.value, c.n, c.n_variants) == (0.5, 2, 4)


def test_generated_random_shift_suite_gives_one_row_per_planned_level(tmp_path):
    root = tmp_path / "data"
    rng = np.random.default_rng(0)
    for label in ("cam-a", "cam-b"):
        (root / label).mkdir(parents=True)
        for i in range(6):
            (root / label / f"{i}.png").write_bytes(_png(_noise(rng, 40)))
    cfg = tmp_path / "datasets.yaml"
    cfg.write_text(f"""
version: 1
datasets:
  twelve: {{kind: folder, root: {root}, folds: 2}}
suites:
  dj:
    seed: 1
    axes:
      double_jpeg: {{q1: [95], q2: [90], shifts: [[0, 0]], random_shifts: 2}}
""")
    from degradebench.generators import generate

    generate(config=cfg, dataset="twelve", suite="dj", out=tmp_path / "out", progress=False)
    model = model_from_module(TinyNet(n_classes=2), name="t2", input_config=CFG16)
    res = evaluate(tmp_path / "out", model, tmp_path / "r", device="cpu", workers=0, n_boot=0,
                   progress=False)  # fmt: skip
    acc = res.summary[(res.summary["metric"] == "accuracy")
                      & (res.summary["axis"] == "double_jpeg")].set_index("level")  # fmt: skip
    assert sorted(acc.index) == ["q1=95,q2=90,shift=0x0", "q1=95,q2=90,shift=random"]
    assert (acc["n"] == 12).all()
    assert acc.loc["q1=95,q2=90,shift=random", "n_variants"] == 24


# --- clean pairing: spcup2018 with sources too small for some manipulations ------------------

SPCUP_LIKE = """
version: 1
datasets:
  cams: {{kind: folder, root: {root}, folds: 2}}
suites:
  spcup2018:
    seed: 0
    figures: [spcup2018_score]
    axes:
      clean: {{center_crop: [48, 48], save: png}}
      jpeg: {{type: codec, qualities: [70, 90], encoders: [pillow], decoders: [pillow],
              center_crop: [48, 48]}}
      resize: {{backends: [opencv], methods: [bicubic], scales: [0.5, 0.8],
                center_crop: [48, 48]}}
      gamma: {{gammas: [0.8, 1.2], center_crop: [48, 48]}}
"""


def _spcup_run(tmp_path: Path, small: bool) -> tuple:
    from conftest import photo
    from degradebench.generators import generate

    root = tmp_path / "cams"
    for label, size, n in (("big", 128, 2), ("small", 56, 2 if small else 0)):
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            (root / label / f"{i}.png").write_bytes(_png(photo("astronaut", size, 40 * i, 30)))
    cfg = tmp_path / "datasets.yaml"
    cfg.write_text(SPCUP_LIKE.format(root=root))
    generate(config=cfg, dataset="cams", suite="spcup2018", out=tmp_path / "out", progress=False)
    # Always "big": right on every big source, wrong on every small one.
    classes = {"classes": ["big", "small"]}
    model = model_from_module(ConstantNet(0, n_classes=2), name="const",
                              input_config={**CFG16, **classes})  # fmt: skip
    return evaluate(tmp_path / "out", model, tmp_path / "r", device="cpu", workers=0,
                    n_boot=20, progress=False)  # fmt: skip


def test_spcup_with_too_small_sources_pairs_with_clean_and_has_no_score(tmp_path, capsys):
    res = _spcup_run(tmp_path, small=True)
    s = res.summary[res.summary["metric"] == "accuracy"].set_index(["axis", "level"])
    assert s.loc[("clean", "clean"), "value"] == 0.5 and s.loc[("clean", "clean"), "n"] == 4
    # x0.5 and x0.8 exist for the two big sources only: compared with clean on those two.
    for level in ("x0.5", "x0.8"):
        row = s.loc[("resize", level)]
        assert (row["n"], row["n_paired"], row["value"]) == (2, 2, 1.0)
        assert row["delta_clean"] == 0.0  # unpaired it would read +0.5
    ax = res.axis_summary
    drops = ax[ax["metric"] == "max_accuracy_drop"].set_index("axis")["value"]
    assert (drops >= 0).all() and drops["resize"] == 0.0
    assert not (ax["metric"] == "spcup2018_score").any()
    why = res.run["figures"]["spcup2018"]["spcup2018_score"]
    assert why.startswith("absent") and "resize/x0.5" in why and "resize/x0.8" in why
    assert any("other sources than clean" in w for w in res.run["warnings"])
    assert any(p["level"] == "x0.5" and p["n_paired"] == 2 for p in res.run["pairing"])
    err = capsys.readouterr().err
    assert "other sources than clean" in err and "spcup2018_score" in err


def test_spcup_score_when_every_source_has_every_manipulation(tmp_path):
    res = _spcup_run(tmp_path, small=False)
    row = res.axis_summary[res.axis_summary["metric"] == "spcup2018_score"].iloc[0]
    assert row["value"] == pytest.approx(1.0) and row["suite"] == "spcup2018" and row["n"] == 2
    assert res.run["figures"]["spcup2018"]["spcup2018_score"] == "computed"
    assert res.run["warnings"] == []


def test_mismatched_sources_never_make_a_negative_drop():
    """Old behaviour: clean over 4 sources (acc 0.5) vs a level over the 2 right ones (1.0)."""
    rows = []
    for s in range(4):
        ok = s < 2
        rows.append({"source_id": f"s{s}", "axis": "clean", "level": "clean", "correct": ok})
        if ok:
            rows.append({"source_id": f"s{s}", "axis": "resize", "level": "x0.5", "correct": ok})
    df = pd.DataFrame(rows).assign(model="m", label="a", level_value=np.nan, axis_params="{}",
                                   flipped=False, tv_clean=0.0, kl_clean=0.0,
                                   confidence=0.9)  # fmt: skip
    df["correct"] = df["correct"].astype("boolean")
    df["flipped"] = df["flipped"].astype("boolean")
    boot = M.Bootstrap(df["source_id"], n_boot=10, seed=0)
    _, cells = M.level_metrics(df, boot)
    curves, cc = M.curve_metrics(df, boot)
    ax = M.axis_summary(df, cells, cc, curves, boot)
    drop = ax[ax["metric"] == "max_accuracy_drop"]["value"].iloc[0]
    assert drop == 0.0


# --- suites kept apart ---------------------------------------------------------------------


def test_two_suites_in_one_out_keep_their_own_clean(tmp_path):
    rng = np.random.default_rng(3)
    variants = []
    for s in range(4):
        src = _noise(rng, 24)
        base = {"source_id": f"s{s}", "label": ("cam_a", "cam_b", "cam_c")[s % 3]}
        for suite, img in (("a", src), ("b", np.ascontiguousarray(src[::-1, ::-1]))):
            variants.append({**base, "suite": suite, "axis": "clean", "level": "clean",
                             "level_value": np.nan, "axis_params": "{}", "img": img})
            variants.append({**base, "suite": suite, "axis": "gamma", "level": "0.8",
                             "level_value": 0.8, "axis_params": "{}",
                             "img": np.clip(img.astype(int) + 9, 0, 255).astype(np.uint8)})
    out = _write_manifest(tmp_path / "m", variants)
    model = model_from_module(TinyNet(seed=1), name="tiny", input_config=CFG16)
    res = evaluate(out, model, tmp_path / "r", device="cpu", workers=0, n_boot=0, progress=False)
    p = res.predictions
    for suite in ("a", "b"):
        ps = p[p["suite"] == suite]
        clean_pred = ps[ps["axis"] == "clean"].set_index("source_id")["pred"]
        g = ps[ps["axis"] == "gamma"]
        assert (g["clean_pred"].astype(int).to_numpy() == g["source_id"].map(clean_pred)).all()
    acc = res.summary[(res.summary["metric"] == "accuracy") & (res.summary["axis"] == "clean")]
    assert sorted(acc["suite"]) == ["a", "b"] and (acc["n_variants"] == 4).all()
    for table in (res.summary, res.curves, res.errors, res.predictions):
        assert "suite" in table.columns
    assert set(res.curves["suite"]) == {"a", "b"}


def test_a_suite_declaring_an_unknown_figure_fails_before_the_model_runs(tmp_path):
    import pyarrow.parquet as pq
    from degradebench.generators.core.errors import ConfigError

    out = _write_manifest(tmp_path / "m", _dj_variants(3, draws=1))
    part = out / "manifest" / "part-0.parquet"
    table = pq.read_table(part)
    meta = {"suite": "dj", "suite_definition": {"figures": ["spcup2018_scor"]}}
    table = table.replace_schema_metadata({b"degradebench": json.dumps(meta).encode()})
    pq.write_table(table, part)

    class Boom(TinyNet):
        def forward(self, x):
            raise AssertionError("the model ran")

    model = model_from_module(Boom(), name="boom", input_config=CFG16)
    with pytest.raises(ConfigError, match="unknown figure 'spcup2018_scor'.*spcup2018_score"):
        evaluate(out, model, tmp_path / "r", device="cpu", workers=0, progress=False)


def test_add_suite_end_to_end_keeps_suites_apart(tmp_path, tiny_tree):
    from degradebench.generators import generate

    cfg = tmp_path / "two.yaml"
    cfg.write_text(f"""
version: 1
datasets:
  tiny: {{kind: folder, root: {tiny_tree}, folds: 2}}
suites:
  one:
    seed: 0
    axes:
      jpeg: {{qualities: [50]}}
  two:
    seed: 0
    axes:
      clean: {{center_crop: [64, 64], save: png}}
      gamma: {{gammas: [0.8], center_crop: [64, 64]}}
""")
    out = tmp_path / "out"
    generate(config=cfg, dataset="tiny", suite="one", out=out, progress=False)
    generate(config=cfg, dataset="tiny", suite="two", out=out, progress=False, add_suite=True)
    model = model_from_module(TinyNet(n_classes=2), name="t2", input_config=CFG16)
    res = evaluate(out, model, tmp_path / "r", device="cpu", workers=0, n_boot=0, progress=False)
    clean = res.summary[(res.summary["axis"] == "clean") & (res.summary["metric"] == "confidence")]
    assert sorted(clean["suite"]) == ["one", "two"]
    assert (clean["n"] == 6).all() and (clean["n_variants"] == 6).all()  # not pooled: 12
    p = res.predictions
    for suite in ("one", "two"):
        ps = p[p["suite"] == suite]
        ref = ps[ps["axis"] == "clean"].set_index("source_id")["pred"]
        rest = ps[ps["axis"] != "clean"]
        assert (rest["clean_pred"].astype(int).to_numpy() == rest["source_id"].map(ref)).all()
    assert res.run["warnings"] == []
