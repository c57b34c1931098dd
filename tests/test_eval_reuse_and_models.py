"""Evaluation reruns reuse results; model specs that explain themselves; McNemar by source; one
resize, one normalisation, the training recipe as data (issues 11 and 12)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from _evalfix import TINY_CONFIG, TinyNet, make_manifest
from degradebench.evaluators import evaluate, load_model, model_from_module
from degradebench.evaluators import metrics as M
from degradebench.evaluators.models import ModelError


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    return make_manifest(tmp_path_factory.mktemp("m"), per_class=(2, 1, 1), qualities=(50,),
                         double=())  # fmt: skip


def _run(manifest: Path, out: Path, **kw):
    model = kw.pop("model", None) or load_model("_evalfix:tiny_net_factory")
    return evaluate(manifest, model, out, device="cpu", workers=0, n_boot=10, progress=False,
                    **kw)  # fmt: skip


# --- 12.10: rerunning reuses what is there -------------------------------------------------


def test_same_key_reuses_the_results_and_a_changed_key_reevaluates(manifest, tmp_path, capsys):
    out = tmp_path / "r"
    first = _run(manifest, out)
    assert not first.reused and first.run["key"]["weights_sha256"]
    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.is_file()}
    again = _run(manifest, out)
    assert again.reused and "reusing them" in capsys.readouterr().err
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.is_file()} == stamps
    pd.testing.assert_frame_equal(again.summary, first.summary)
    # Another input config, other settings, other weights: evaluated again.
    other_cfg = load_model("_evalfix:tiny_net_factory", overrides=[("--set", {"fit": "pad"})])
    assert not _run(manifest, out, model=other_cfg).reused
    assert not _run(manifest, out, model=other_cfg, seed=1).reused
    assert _run(manifest, out, model=other_cfg, seed=1).reused
    other_w = model_from_module(TinyNet(seed=9), name="tiny_net_factory",
                                input_config={**TINY_CONFIG, "fit": "pad"})  # fmt: skip
    assert not _run(manifest, out, model=other_w, seed=1).reused


def test_a_changed_manifest_reevaluates(tmp_path):
    m = make_manifest(tmp_path / "m", per_class=(1, 1, 1), qualities=(50,), double=())
    out = tmp_path / "r"
    first = _run(m, out)
    df = pd.read_parquet(m / "manifest" / "part-0.parquet")
    df.loc[df["axis"] == "jpeg", "level"] = "q=50"
    df.to_parquet(m / "manifest" / "part-0.parquet", index=False)
    second = _run(m, out)
    assert not second.reused
    assert second.run["key"]["manifest_sha256"] != first.run["key"]["manifest_sha256"]
    assert "q=50" in set(second.summary["level"])


# --- 12.9: a Python file without :FUNCTION --------------------------------------------------


def test_python_file_without_function_lists_its_callables_without_running_it(tmp_path, capsys):
    marker = tmp_path / "RAN"
    f = tmp_path / "my_nets.py"
    f.write_text(textwrap.dedent(f"""
        from pathlib import Path
        from _evalfix import tiny_net_factory as build_tiny
        Path({str(marker)!r}).write_text("ran")

        def build():
            return None

        class Wrapper:
            pass

        def _private():
            pass
    """))  # fmt: skip
    with pytest.raises(ModelError) as ei:
        load_model(str(f))
    msg = str(ei.value)
    assert "add ':FUNCTION'" in msg and f"'{f}:build'" in msg
    assert "callables: build, Wrapper (imported: Path, build_tiny)" in msg
    assert "_private" not in msg
    assert not marker.exists()
    from degradebench.cli import main

    m = make_manifest(tmp_path / "m", per_class=(1, 1, 1), qualities=(50,), double=())
    rc = main(["evaluate", "--manifest", str(m), "--model", str(f), "--out", str(tmp_path / "r"),
               "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc != 0 and err.count("\n") == 1 and "add ':FUNCTION'" in err
    assert not marker.exists()


# --- 12.7: McNemar between different models, sources as the unit ----------------------------


def _preds(model: str, correct: list[bool]) -> pd.DataFrame:
    # three variants per source, two sources
    return pd.DataFrame({"variant_id": [f"v{i}" for i in range(6)], "model": model,
                         "source_id": ["s0"] * 3 + ["s1"] * 3, "axis": "jpeg", "suite": "x",
                         "correct": pd.array(correct, dtype="boolean")})  # fmt: skip


def test_mcnemar_is_by_source_and_only_between_different_models():
    a = _preds("a", [True, True, False, False, False, True])  # s0 majority right, s1 wrong
    b = _preds("b", [False, False, True, True, True, False])  # s0 wrong, s1 right
    r = M.compare(a, b).iloc[0]
    assert (r["n"], r["n_variants"], r["a_only"], r["b_only"]) == (2, 6, 1, 1)
    assert r["suite"] == "x" and r["unit"].startswith("source")
    with pytest.raises(ValueError, match="two different models"):
        M.compare(a, a)


# --- 11.4: one resize, one normalisation, one decoder ---------------------------------------


@pytest.mark.parametrize(("backend", "method"), [("pillow", "bicubic"), ("opencv", "area"),
                                                 ("torch", "bilinear")])  # fmt: skip
def test_input_fitting_runs_the_resize_axis_kernel(backend, method):
    from degradebench.evaluators._fit import fit_image
    from degradebench.evaluators._input_config import resolve_input_config
    from degradebench.generators.ops.resize import resize_image

    img = np.random.default_rng(0).integers(0, 256, (37, 53, 3)).astype(np.uint8)
    cfg = resolve_input_config(None, ("t", {"input_size": [20, 24], "fit": "resize",
                                            "resize_backend": backend,
                                            "resize_method": method}))  # fmt: skip
    got = fit_image(img, cfg)[0].transpose(1, 2, 0)
    np.testing.assert_array_equal(got, resize_image(img, (20, 24), backend=backend, method=method))


def test_input_config_rejects_what_the_library_cannot_do():
    from degradebench.evaluators._input_config import resolve_input_config
    from degradebench.generators.core.errors import ConfigError

    with pytest.raises(ConfigError, match="resize_antialias: opencv bicubic cannot do antialias"):
        resolve_input_config(None, ("--set", {"resize_backend": "opencv",
                                              "resize_method": "bicubic",
                                              "resize_antialias": True}))  # fmt: skip


def test_reference_tiles_and_evaluation_share_one_normalisation():
    from degradebench.evaluators._fit import normalise
    from degradebench.evaluators._input_config import resolve_input_config
    from degradebench.evaluators.reference import tile_batch

    img = np.random.default_rng(1).integers(0, 256, (16, 16, 3)).astype(np.uint8)
    raw = {"input_size": [8, 8], "fit": "tile", "tile_stride": None, "max_tiles": None,
           "channel_order": "RGB", "value_range": 255.0, "mean": [0, 0, 0], "std": [1, 1, 1],
           "output": "logits", "classes": ["a", "b"]}  # fmt: skip
    tiles = tile_batch(img, raw)
    # value_range 255: raw 0..255 floats (tile_batch once divided by 255 * 255 here)
    assert float(tiles.max()) == float(img[:16, :16].max())
    cfg = resolve_input_config(raw)
    first = torch.from_numpy(img[:8, :8]).permute(2, 0, 1)[None]
    torch.testing.assert_close(tiles[:1], normalise(first, cfg), rtol=0, atol=0)


def test_training_recipe_is_data_beside_the_weights():
    from degradebench.evaluators import _train_reference as tr

    data = json.loads(tr.RECIPE_FILE.read_text())
    assert tr.DEFAULTS["epochs"] == data["epochs"] and tr.MEAN == data["mean"]
    shipped = json.loads((tr.RECIPE_FILE.parent / tr.TRAINING_NAME).read_text())["recipe"]
    for k in ("epochs", "patch", "align", "patches_per_image", "batch_size", "lr"):
        assert tr.DEFAULTS[k] == shipped[k], k


def test_formats_and_fit_modes_are_registries():
    from degradebench.evaluators import FIT_MODES, MODEL_FORMATS
    from degradebench.generators.core.errors import ConfigError

    assert {"python", "torchscript", "export", "onnx", "builtin"} <= set(MODEL_FORMATS.names())
    assert {"center_crop", "resize", "pad", "tile"} <= set(FIT_MODES.names())
    with pytest.raises(ConfigError, match="did you mean 'onnx'"):
        MODEL_FORMATS.get("onxx")


def test_builtin_dummy_is_registered_lazily():
    from degradebench.evaluators.formats import BUILTIN_MODELS

    assert "dummy" in BUILTIN_MODELS and "reference" in BUILTIN_MODELS
    model = load_model("dummy")
    assert model.kind == "builtin" and model.name == "dummy"





class _AnyWidth(torch.nn.Module):
    """Two outputs until told how many classes the data has."""

    def __init__(self):
        super().__init__()
        self.register_buffer("w", torch.zeros(2))

    def configure_classes(self, n: int) -> None:
        self.w = torch.arange(n, dtype=torch.float32)

    def forward(self, x):
        return self.w.expand(x.shape[0], -1) + 0 * x.mean()


def test_a_model_sized_by_the_data_is_told_the_number_of_classes(manifest, tmp_path):
    model = model_from_module(_AnyWidth(), name="any", input_config=TINY_CONFIG)
    res = _run(manifest, tmp_path / "r", model=model)
    assert (res.predictions["pred_label"] == "cam_c").all()  # the last of three classes
