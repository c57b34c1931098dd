"""The ``mixed`` axis (issue 13 point 3): two one-op ladders swept jointly as a grid, levels named
by both parameters, seeds drawn per op value, and the output rules (decode after an encoder that
is not last, an encoder last writes the file, else PNG or the requested JPEG)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from _harness import _plan
from degradebench.evaluators.report.params import heatmap_params, level_params, params_frame
from degradebench.generators import generate, read_manifest, verify
from degradebench.generators.axes import AXES
from degradebench.generators.core.errors import ConfigError
from degradebench.generators.core.records import from_mapping, record, spec
from degradebench.generators.ops import OPS, ImageState, OpDef, run_chain
from PIL import Image

GAMMA_JPEG = {
    "first": {"op": "gamma", "gamma": [0.8, 1.25]},
    "then": {"op": "jpeg", "quality": [50, 70, 90]},
}


def _params(mapping: dict):
    return from_mapping(AXES.get("mixed").params_cls, mapping, "suites.s.axes.m")


def _levels(mapping: dict, source: str = "0123456789abcdef") -> list:
    return _plan("mixed", _params(mapping), source)


def test_a_grid_named_by_both_parameters() -> None:
    levels = _levels(GAMMA_JPEG)
    assert [lv.level for lv in levels] == [
        "gamma=0.8,quality=50", "gamma=0.8,quality=70", "gamma=0.8,quality=90",
        "gamma=1.25,quality=50", "gamma=1.25,quality=70", "gamma=1.25,quality=90",
    ]  # fmt: skip
    lv = levels[4]
    assert lv.level_value is None and lv.slot == lv.level and lv.variant is None
    assert lv.axis_params["gamma"] == 1.25 and lv.axis_params["quality"] == 70
    assert lv.axis_params["first"]["op"] == "gamma" and "gamma" not in lv.axis_params["first"]
    assert lv.axis_params["then"] == {"op": "jpeg", "backend": "pillow", "subsampling": "4:2:0",
                                      "optimize": False, "progressive": False}  # fmt: skip
    assert [s.op for s in lv.chain] == ["gamma", "jpeg"]  # the last op writes the file
    assert lv.chain[0].params.gamma == 1.25 and lv.chain[1].params.quality == 70


def test_decode_after_a_first_encoder_and_png_after_a_pixel_op() -> None:
    levels = _levels({"first": {"op": "jpeg", "backend": "opencv", "quality": [60, 80]},
                      "then": {"op": "resize", "backend": "opencv", "method": "bilinear",
                               "scale": [0.5, 1.5]}})  # fmt: skip
    assert [lv.level for lv in levels][:2] == ["quality=60,scale=0.5", "quality=60,scale=1.5"]
    assert [s.op for s in levels[0].chain] == ["jpeg", "decode", "resize", "png"]
    resize = levels[0].chain[2].params
    assert resize.antialias is False and resize.dtype == "uint8" and resize.version  # concrete
    assert levels[0].axis_params["then"]["antialias"] is False


def test_output_jpeg_and_center_crop_before_the_encoder_that_writes_the_file() -> None:
    lv = _levels({**GAMMA_JPEG, "first": {"op": "gamma", "gamma": [0.8]}, "save": "jpeg",
                  "then": {"op": "resize", "method": "bilinear", "scale": [0.5]},
                  "quality": 95, "center_crop": [16, 16]})[0]  # fmt: skip
    assert [s.op for s in lv.chain] == ["gamma", "resize", "center_crop", "jpeg"]
    assert lv.chain[-1].params.quality == 95
    lv = _levels({**GAMMA_JPEG, "center_crop": [16, 24]})[0]
    assert [s.op for s in lv.chain] == ["gamma", "center_crop", "jpeg"]


def test_equal_parameter_names_are_told_apart() -> None:
    same_op = _levels({"first": {"op": "jpeg", "quality": [70, 90]},
                       "then": {"op": "jpeg", "quality": [75], "subsampling": "4:4:4"}})  # fmt: skip
    assert [lv.level for lv in same_op] == ["quality1=70,quality2=75", "quality1=90,quality2=75"]
    assert [s.op for s in same_op[0].chain] == ["jpeg", "decode", "jpeg"]
    assert same_op[0].chain[2].params.subsampling == "4:4:4"
    assert {"quality1", "quality2"} <= set(same_op[0].axis_params)


@record
class _NoiseParams:
    sigma: float = dataclasses.field(metadata=spec(gt=0.0, hi=100.0))
    seed: int | None = dataclasses.field(default=None, metadata=spec(lo=0))


def _noise_op(state: ImageState, p: _NoiseParams, backend: str) -> ImageState:
    img = state.require_pixels("toy_noise")
    noise = np.random.default_rng(p.seed).normal(0, p.sigma, img.shape)
    return state.replace(pixels=np.clip(img + noise + 0.5, 0, 255).astype(np.uint8))


@pytest.fixture()
def toy_noise(monkeypatch):
    opdef = OpDef("toy_noise", _NoiseParams, ("numpy",), _noise_op, mask="unchanged")
    monkeypatch.setitem(OPS._items, "toy_noise", opdef)
    return opdef


def test_seeds_are_drawn_per_op_value_and_recorded(toy_noise) -> None:
    mapping = {
        "first": {"op": "toy_noise", "sigma": [2, 4]},
        "then": {"op": "jpeg", "quality": [50, 90]},
    }
    levels = _levels(mapping)
    seeds = {lv.level: lv.chain[0].params.seed for lv in levels}
    assert all(isinstance(s, int) for s in seeds.values())
    # the same noise under every JPEG quality of a row; another sigma, another draw
    assert seeds["sigma=2,quality=50"] == seeds["sigma=2,quality=90"]
    assert seeds["sigma=2,quality=50"] != seeds["sigma=4,quality=50"]
    assert levels[0].axis_params["first"]["seed"] == seeds["sigma=2,quality=50"]
    other = _levels(mapping, "fedcba9876543210")  # another source, other draws
    assert other[0].chain[0].params.seed != levels[0].chain[0].params.seed
    assert _levels(mapping)[0].chain == levels[0].chain  # deterministic
    given = _levels({**mapping, "first": {"op": "toy_noise", "sigma": [2], "seed": 7}})
    assert {lv.chain[0].params.seed for lv in given} == {7}
    # the report's heat map sees (sigma, quality): the drawn seed is no level parameter
    ap = pd.Series([json.dumps(lv.axis_params) for lv in levels + other])
    assert heatmap_params(ap) == ("sigma", "quality")


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"first": {"op": "gamma", "gamma": 0.8}}, r"first: sweep exactly one parameter of op 'gamma' as a list .* got no list"),
        ({"then": {"op": "resize", "method": ["bilinear", "bicubic"], "scale": [0.5, 2.0]}},
         "then: sweep exactly one parameter of op 'resize' .* got lists for method, scale"),
        ({"first": {"op": "gama", "gamma": [0.8]}}, "first.op: unknown op 'gama'; did you mean 'gamma'"),
        ({"first": {"gamma": [0.8]}}, "first: must be a mapping with an 'op'"),
        ({"then": {"op": "jpeg", "quality": [50, 500]}}, r"then.quality: must be an integer 1..100, got 500"),
        ({"then": {"op": "jpeg", "quality": [50, 50]}}, r"then.quality: repeated values \[50\]"),
        ({"then": {"op": "jpeg", "quality": []}}, "then.quality: must list at least one value"),
        ({"then": {"op": "jpeg", "quality": [50], "backend": "libjpeg"}}, "then.backend: op 'jpeg' has backends pillow, opencv"),
        ({"save": "png"}, "save: then's op 'jpeg' is an encoder and writes the file; leave save and quality out"),
        ({"then": {"op": "gamma", "gamma": [2.0]}, "save": "jpeg"}, "quality: required when save is 'jpeg'"),
    ],
)  # fmt: skip
def test_errors_name_the_entry_the_value_and_the_fix(mapping: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _params({**GAMMA_JPEG, **mapping})


def test_a_list_typed_parameter_is_swept_by_a_list_of_lists() -> None:
    sizes = {"op": "resize", "method": "bilinear", "mode": "exact", "size": [[20, 30], [10, 15]]}
    levels = _levels({**GAMMA_JPEG, "then": sizes, "first": {"op": "gamma", "gamma": [0.8]}})
    assert [lv.level for lv in levels] == ["gamma=0.8,size=20x30", "gamma=0.8,size=10x15"]
    assert levels[1].axis_params["size"] == [10, 15]
    fixed = {"op": "resize", "method": ["bilinear", "bicubic"], "mode": "exact", "size": [20, 30]}
    lv = _levels({**GAMMA_JPEG, "then": fixed})  # [20, 30] is the fixed size, not a sweep
    assert [x.level for x in lv][:2] == ["gamma=0.8,method=bilinear", "gamma=0.8,method=bicubic"]


def test_level_params_drop_seeds_and_relabelled_columns() -> None:
    pf = pd.DataFrame({"ksize": [3, 3, 7, 7], "quality": [50, 90, 50, 90],
                       "first.sigma": [0.8, 0.8, 1.4, 1.4], "first.seed": [1, 2, 3, 4]})  # fmt: skip
    assert level_params(pf) == ["ksize", "quality"]
    assert level_params(pf, distinct=False) == ["ksize", "quality", "first.sigma"]
    ap = pd.Series([json.dumps(r) for r in pf.to_dict("records")])
    assert heatmap_params(ap) == ("ksize", "quality")
    assert list(params_frame(ap).columns) == list(pf.columns)


def test_masks_follow_the_grid_steps() -> None:
    lv = _levels({"first": {"op": "resize", "method": "bilinear", "scale": [0.5]},
                  "then": {"op": "jpeg", "quality": [80]}})[0]  # fmt: skip
    img = np.zeros((40, 56, 3), np.uint8)
    mask = np.zeros((40, 56), bool)
    mask[10:30, 8:40] = True
    out = run_chain(ImageState(pixels=img, mask=mask), lv.chain)
    assert out.mask.shape == (20, 28) and out.mask[5:15, 4:20].all() and not out.mask[:4].any()


def _config(tmp: Path, axes: dict) -> Path:
    cfg = {"version": 1, "datasets": {"samples": {"kind": "samples", "folds": 4}},
           "suites": {"s": {"seed": 1, "axes": axes}}}  # fmt: skip
    path = tmp / "c.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def test_generate_on_samples_writes_the_grid_and_verifies(tmp_path: Path) -> None:
    axis = {"type": "mixed", **GAMMA_JPEG, "center_crop": [48, 64]}
    out = tmp_path / "o"
    generate(config=_config(tmp_path, {"gamma_x_jpeg": axis}), dataset="samples", suite="s",
             out=out, limit=1, progress=False)  # fmt: skip
    m = read_manifest(out)
    m = m[m["axis"] != "clean"]
    assert len(m) == 6 * m["source_id"].nunique() >= 6 * 4  # one source per label
    assert set(m["axis"]) == {"gamma_x_jpeg"}
    assert m["level_value"].isna().all()
    q = m["axis_params"].map(lambda s: json.loads(s)["quality"])
    assert (m["jpeg_quality"] == q).all() and set(m["format"]) == {"jpeg"}
    assert m["level"].str.fullmatch(r"gamma=(0\.8|1\.25),quality=(50|70|90)").all()
    assert (m["width"] == 64).all() and (m["height"] == 48).all()
    row = m.iloc[0]
    with Image.open(out / row["path"]) as im:
        assert im.format == "JPEG" and im.size == (64, 48)
    assert verify(out).ok
