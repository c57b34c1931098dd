"""Model plug-ins: every form of one network predicts the same; specs and configs fail clearly."""

from __future__ import annotations

import json
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from _evalfix import TINY_CONFIG, TinyNet, make_manifest
from degradebench.evaluators import evaluate, load_model, model_from_module
from degradebench.evaluators._input_config import (
    DEFAULT_INPUT_CONFIG,
    parse_set_options,
    resolve_input_config,
)
from degradebench.evaluators.models import ModelError, sniff_model_file
from degradebench.generators.core.errors import ConfigError


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    return make_manifest(tmp_path_factory.mktemp("m"), per_class=(2, 2, 1))


def _probs(manifest: Path, model, out: Path) -> tuple[list[str], np.ndarray]:
    res = evaluate(manifest, model, out, device="cpu", workers=0, n_boot=0, progress=False)
    p = res.predictions.sort_values("variant_id")
    return p["variant_id"].tolist(), np.stack(p["probs"].to_numpy())


def _write_factory_file(tmp_path: Path) -> Path:
    f = tmp_path / "my_models.py"
    f.write_text(
        textwrap.dedent(
            """
            from _evalfix import TINY_CONFIG, TinyNet

            def build():
                return TinyNet(), dict(TINY_CONFIG)
            """
        )
    )
    return f


@pytest.fixture(scope="module")
def python_probs(manifest, tmp_path_factory):
    out = tmp_path_factory.mktemp("py")
    return _probs(manifest, load_model("_evalfix:tiny_net_factory"), out / "r")


def test_python_file_factory_equals_module_factory(manifest, python_probs, tmp_path):
    f = _write_factory_file(tmp_path)
    ids, probs = _probs(manifest, load_model(f"{f}:build"), tmp_path / "r")
    assert ids == python_probs[0]
    np.testing.assert_array_equal(probs, python_probs[1])


def test_torchscript_by_content_is_exactly_equal(manifest, python_probs, tmp_path):
    path = tmp_path / "weights.bin"  # suffix says nothing: recognised by content
    scripted = torch.jit.script(TinyNet().eval())
    torch.jit.save(scripted, str(path), _extra_files={"input_config.json": json.dumps(TINY_CONFIG)})
    assert sniff_model_file(path) == "torchscript"
    model = load_model(str(path))
    assert model.input_config.input_size == (16, 16)
    ids, probs = _probs(manifest, model, tmp_path / "r")
    assert ids == python_probs[0]
    np.testing.assert_array_equal(probs, python_probs[1])


def test_torch_export_by_content_is_exactly_equal(manifest, python_probs, tmp_path):
    path = tmp_path / "model.data"
    ep = torch.export.export(
        TinyNet().eval(),
        (torch.rand(2, 3, 16, 16),),
        dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=4096)},),
    )
    torch.export.save(ep, str(path), extra_files={"input_config.json": json.dumps(TINY_CONFIG)})
    assert sniff_model_file(path) == "export"
    ids, probs = _probs(manifest, load_model(str(path)), tmp_path / "r")
    assert ids == python_probs[0]
    np.testing.assert_array_equal(probs, python_probs[1])


def test_onnx_within_float_tolerance(manifest, python_probs, tmp_path):
    pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    path = tmp_path / "model"  # no suffix
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                TinyNet().eval(), (torch.rand(2, 3, 16, 16),), str(path), dynamo=False,
                input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}},
            )  # fmt: skip
        except Exception as exc:  # the legacy exporter may leave torch some day
            pytest.skip(f"torch.onnx.export unavailable: {exc}")
    proto = onnx.load(str(path))
    entry = proto.metadata_props.add()
    entry.key, entry.value = "input_config", json.dumps(TINY_CONFIG)
    onnx.save(proto, str(path))
    assert sniff_model_file(path) == "onnx"
    model = load_model(str(path))
    assert model.kind == "onnx"
    ids, probs = _probs(manifest, model, tmp_path / "r")
    assert ids == python_probs[0]
    np.testing.assert_allclose(probs, python_probs[1], rtol=1e-4, atol=1e-5)


def test_onnx_without_onnxruntime_says_how_to_install(tmp_path, monkeypatch):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"\x08\x07\x12\x04test")  # starts like a ModelProto
    import builtins

    real_import = builtins.__import__

    def no_ort(name, *args, **kwargs):
        if name == "onnxruntime":
            raise ImportError("No module named 'onnxruntime'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ort)
    with pytest.raises(ModelError, match=r"degradebench\[onnx\]"):
        load_model(str(path))


def test_state_dict_file_is_rejected_with_advice(tmp_path):
    path = tmp_path / "ckpt.pt"
    torch.save(TinyNet().state_dict(), path)
    with pytest.raises(ModelError, match="state dict.*Python factory"):
        load_model(str(path))


def test_unknown_spec_suggests_builtin():
    with pytest.raises(ModelError, match="did you mean 'reference'"):
        load_model("refrence")


def test_factory_errors_name_the_spec(tmp_path):
    f = _write_factory_file(tmp_path)
    with pytest.raises(ModelError, match="has no attribute 'biuld'.*did you mean 'build'"):
        load_model(f"{f}:biuld")
    with pytest.raises(ModelError, match="cannot import module"):
        load_model("no_such_pkg.models:build")


def test_bare_module_gets_documented_default():
    m = model_from_module(TinyNet(), name="bare")
    cfg = m.input_config
    assert cfg == DEFAULT_INPUT_CONFIG
    assert (cfg.input_size, cfg.fit, cfg.pad_mode, cfg.channel_order) == (
        (256, 256), "center_crop", "reflect", "RGB",
    )  # fmt: skip
    assert (cfg.value_range, cfg.mean, cfg.std, cfg.output) == (1.0, (0, 0, 0), (1, 1, 1), "logits")


def test_overrides_from_yaml_and_set(tmp_path):
    yaml_file = tmp_path / "cfg.yaml"
    yaml_file.write_text("fit: tile\ntile_stride: 8\nclasses: [1, 2, 3]\n")
    from degradebench.evaluators._input_config import load_input_config_file

    model = load_model(
        "_evalfix:tiny_net_factory",
        input_config=load_input_config_file(yaml_file),
        overrides=[("--set", parse_set_options(["input_size=[8, 8]", "channel_order=BGR"]))],
    )
    cfg = model.input_config
    assert cfg.fit == "tile" and cfg.tile_stride == 8 and cfg.input_size == (8, 8)
    assert cfg.channel_order == "BGR" and cfg.classes == ("1", "2", "3")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"fit": "tiles"}, r"--set\.fit: must be one of .*did you mean 'tile'"),
        ({"fitt": "tile"}, r"--set\.fitt: unknown key; did you mean 'fit'"),
        ({"input_size": [0, 3]}, r"input_size\[0\]: must be an integer 1\.\.65536, got 0"),
        ({"std": [1, 0, 1]}, r"std\[1\]: must be a non-zero"),
        ({"value_range": 2}, r"value_range: must be one of 1\.0, 255\.0"),
    ],
)
def test_bad_override_names_field_and_allowed(override, message):
    with pytest.raises(ConfigError, match=message):
        resolve_input_config(None, ("--set", override))


def test_set_option_syntax_error():
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        parse_set_options(["fit"])


def test_channels_last_matches_within_float_tolerance(manifest, python_probs, tmp_path):
    model = load_model("_evalfix:tiny_net_factory")
    res = evaluate(manifest, model, tmp_path / "r", device="cpu", workers=0, n_boot=0,
                   progress=False, channels_last=True)  # fmt: skip
    p = res.predictions.sort_values("variant_id")
    np.testing.assert_allclose(np.stack(p["probs"].to_numpy()), python_probs[1], atol=1e-5)
    assert res.run["config"]["channels_last"] is True
