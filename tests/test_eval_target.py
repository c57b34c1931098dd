"""``evaluate --target COLUMN`` (issue 14 points 1 and 6): regression and classification targets."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from degradebench.evaluators import evaluate, model_from_module
from degradebench.evaluators._fit import normalise
from degradebench.evaluators._loader import VariantDataset
from degradebench.evaluators.models import ModelError
from degradebench.generators.core.errors import ConfigError

CFG = {"input_size": [32, 32], "fit": "center_crop"}
OPTS = {"device": "cpu", "workers": 0, "progress": False, "n_boot": 50}


def _key(x: torch.Tensor) -> str:
    return hashlib.sha256(np.round(x.numpy().astype(np.float64), 3).tobytes()).hexdigest()


@pytest.fixture()
def generated(tiny_config, tmp_path) -> Path:
    from degradebench.generators import generate

    out = tmp_path / "out"
    generate(config=tiny_config, dataset="tiny", suite="small", out=out, progress=False)
    return out


@pytest.fixture()
def manifest(generated) -> pd.DataFrame:
    from degradebench.generators import read_manifest

    return read_manifest(generated)


def _truth_map(root: Path, m: pd.DataFrame, column: str) -> dict[str, float]:
    """The fitted, normalised input of every variant with a value -> its target."""
    cfg = model_from_module(torch.nn.Identity(), name="x", input_config=CFG).input_config
    rows = m[m[column].notna()]
    ds = VariantDataset(root, rows["path"].tolist(), None, cfg)
    out: dict[str, float] = {}
    for i, truth in enumerate(rows[column].astype(float)):
        x = normalise(ds[i]["tiles"], cfg)[0]
        k = _key(x)
        assert out.get(k, truth) == truth, "two variants with the same input and other truths"
        out[k] = truth
    return out


class Lookup(torch.nn.Module):
    """Returns each input's truth plus ``offset`` (``shape``: ``[N]`` or ``[N, 1]``)."""

    def __init__(self, truth: dict[str, float], offset: float = 0.0, flat: bool = True):
        super().__init__()
        self.truth, self.offset, self.flat = truth, offset, flat

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = torch.tensor([self.truth[_key(xi)] + self.offset for xi in x], dtype=torch.float32)
        return v if self.flat else v[:, None]


def _regression(generated, manifest, tmp_path, offset: float, flat: bool = True, name="r"):
    truth = _truth_map(generated, manifest, "primary_quality")
    model = model_from_module(Lookup(truth, offset, flat), name="lookup", input_config=CFG)
    return evaluate(generated, model, tmp_path / name, target="primary_quality", **OPTS)


def _levels(manifest: pd.DataFrame) -> set[tuple[str, str]]:
    known = manifest[manifest["primary_quality"].notna()]
    return {(str(a), str(b)) for a, b in zip(known["axis"], known["level"])}


def test_truth_model_gives_zero_error_on_every_level(generated, manifest, tmp_path):
    res = _regression(generated, manifest, tmp_path, 0.0)
    s = res.summary
    assert set(s["metric"]) == {"mae", "rmse", "within_5"}
    assert set(zip(s["axis"], s["level"])) == _levels(manifest)
    for metric, want in (("mae", 0.0), ("rmse", 0.0), ("within_5", 1.0)):
        vals = s.loc[s["metric"] == metric, "value"]
        assert np.allclose(vals, want), (metric, vals.tolist())
    known = manifest[manifest["primary_quality"].notna()]
    per_level = known.groupby(["axis", "level"])["source_id"].nunique()
    mae = s[s["metric"] == "mae"]
    assert len(mae) >= 3
    for axis, level, n, nv in zip(mae["axis"], mae["level"], mae["n"], mae["n_variants"]):
        assert n == per_level[(axis, level)] and nv == len(known[(known["axis"] == axis)
                                                                 & (known["level"] == level)])
    assert bool(s.loc[s["metric"] == "mae", "higher_is_better"].eq(False).all())
    assert bool(s.loc[s["metric"] == "within_5", "higher_is_better"].all())
    n_null = int(manifest["primary_quality"].isna().sum())
    assert res.run["target"] == {"column": "primary_quality", "kind": "regression",
                                 "classes": [], "n_null": n_null}  # fmt: skip
    assert len(res.predictions) == len(manifest) - n_null
    assert res.axis_summary.empty  # axis figures are built on accuracy and flip rate
    c = res.curves[(res.curves["rank"] >= 0) & (res.curves["series"] == "all")]
    assert set(c["metric"]) == {"mae", "rmse", "within_5"}
    assert set(c["axis"]) == {a for a, _ in _levels(manifest)} - {"clean"}
    for metric, want in (("mae", 0.0), ("rmse", 0.0), ("within_5", 1.0)):
        assert np.allclose(c.loc[c["metric"] == metric, "value"], want), metric
    jpeg = c[c["axis"] == "jpeg"]  # its points are its levels: n as in the summary
    same = jpeg.merge(s, left_on=["axis", "point", "metric"], right_on=["axis", "level", "metric"])
    assert len(same) == len(jpeg) == 6 and (same["n_x"] == same["n_y"]).all()
    on_disk = json.loads((tmp_path / "r" / "run.json").read_text())
    assert on_disk["target"]["n_null"] == n_null


def test_offset_model_errors_and_within_5(generated, manifest, tmp_path):
    plus3 = _regression(generated, manifest, tmp_path, 3.0, flat=False, name="p3").summary
    assert np.allclose(plus3.loc[plus3["metric"] == "mae", "value"], 3.0)
    assert np.allclose(plus3.loc[plus3["metric"] == "rmse", "value"], 3.0)
    assert np.allclose(plus3.loc[plus3["metric"] == "within_5", "value"], 1.0)
    plus7 = _regression(generated, manifest, tmp_path, 7.0, name="p7").summary
    assert np.allclose(plus7.loc[plus7["metric"] == "mae", "value"], 7.0)
    assert np.allclose(plus7.loc[plus7["metric"] == "within_5", "value"], 0.0)
    ci = plus7[plus7["metric"] == "mae"]
    assert np.allclose(ci["ci_low"], 7.0) and np.allclose(ci["ci_high"], 7.0)


class Const(torch.nn.Module):
    def __init__(self, n: int, k: int, shape: tuple[int, ...] | None = None):
        super().__init__()
        self.n, self.k, self.shape = n, k, shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.shape is not None:
            return torch.zeros((len(x), *self.shape))
        out = torch.full((len(x), self.n), -10.0)
        out[:, self.k] = 10.0
        return out


def test_regression_output_shape_is_checked(generated, tmp_path):
    model = model_from_module(Const(1, 0, (2,)), name="wide", input_config=CFG)
    with pytest.raises(ModelError) as exc:
        evaluate(generated, model, tmp_path / "w", target="primary_quality", **OPTS)
    msg = str(exc.value)
    assert "'wide'" in msg and ", 2]" in msg and "\n" not in msg


def test_boolean_target_is_classification(generated, manifest, tmp_path):
    model = model_from_module(Const(2, 1), name="always_true", input_config=CFG)
    res = evaluate(generated, model, tmp_path / "c", target="double_compressed", **OPTS)
    truth = manifest["double_compressed"].dropna().astype(bool)
    assert res.run["target"]["classes"] == ["false", "true"]
    assert res.run["target"]["kind"] == "classification"
    overall = res.predictions["correct"].astype(float).mean()
    assert overall == pytest.approx(truth.mean())
    assert set(res.predictions["label"]) <= {"false", "true"}
    clean = res.summary[(res.summary["axis"] == "clean") & (res.summary["metric"] == "accuracy")]
    want = manifest.loc[manifest["axis"] == "clean", "double_compressed"].astype(bool).mean()
    assert clean["value"].iloc[0] == pytest.approx(want)


def test_unknown_or_empty_target_is_one_line_error(generated, tmp_path):
    model = model_from_module(Const(2, 0), name="c", input_config=CFG)
    with pytest.raises(ConfigError) as exc:
        evaluate(generated, model, tmp_path / "n", target="nope", **OPTS)
    msg = str(exc.value)
    assert "nope" in msg and "primary_quality" in msg and "label" in msg and "\n" not in msg
    with pytest.raises(ConfigError) as exc:
        evaluate(generated, model, tmp_path / "p", target="platform", **OPTS)
    assert "platform" in str(exc.value) and "no selected variant" in str(exc.value)


def test_target_is_part_of_the_reuse_key(generated, manifest, tmp_path):
    truth = _truth_map(generated, manifest, "primary_quality")
    model = model_from_module(Lookup(truth), name="lookup", input_config=CFG)
    a = evaluate(generated, model, tmp_path / "k", target="primary_quality", **OPTS)
    b = evaluate(generated, model, tmp_path / "k", target="primary_quality", **OPTS)
    assert b.reused and a.run["key_sha256"] == b.run["key_sha256"]
    c = evaluate(generated, model_from_module(Const(2, 0), name="lookup", input_config=CFG),
                 tmp_path / "k", target="double_compressed", **OPTS)  # fmt: skip
    assert not c.reused and c.run["key_sha256"] != a.run["key_sha256"]
    assert "target" not in evaluate(generated, model_from_module(
        Const(2, 0), name="c", input_config=CFG), tmp_path / "l", **OPTS).run  # fmt: skip


def test_cli_help_lists_the_manifest_target_columns():
    from degradebench._cmd_evaluate import TARGET_HELP
    from degradebench.generators.manifest import TARGET_COLUMNS

    assert TARGET_HELP == ("label", *TARGET_COLUMNS)


def test_null_rows_of_a_classification_target_are_counted(generated, manifest, tmp_path):
    model = model_from_module(Const(2, 0), name="always_false", input_config=CFG)
    res = evaluate(generated, model, tmp_path / "a", target="aligned", **OPTS)
    n_null = int(manifest["aligned"].isna().sum())
    assert 0 < n_null < len(manifest)
    assert res.run["target"]["n_null"] == n_null
    assert len(res.predictions) == len(manifest) - n_null


def test_cli_target_flag(generated, tmp_path, capsys):
    from degradebench.cli import main

    rc = main(["evaluate", "--manifest", str(generated), "--model", "dummy", "--out",
               str(tmp_path / "cli"), "--device", "cpu", "--workers", "0", "--no-progress",
               "--target", "nope"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(err) == 1 and "nope" in err[0] and "primary_quality" in err[0]
    rc = main(["evaluate", "--manifest", str(generated), "--model", "dummy", "--out",
               str(tmp_path / "cli"), "--device", "cpu", "--workers", "0", "--no-progress",
               "--bootstrap", "20", "--target", "hops"])  # fmt: skip
    assert rc == 0
    run = json.loads((tmp_path / "cli" / "run.json").read_text())
    assert run["target"]["kind"] == "regression" and run["config"]["target"] == "hops"


def test_report_draws_regression_results(generated, manifest, tmp_path):
    """A regression run gets its own figure and tables in the report (no accuracy)."""
    from degradebench.evaluators import write_report

    _regression(generated, manifest, tmp_path, 3.0, name="rr")
    files = write_report([tmp_path / "rr"], tmp_path / "rep", sheets=False)
    md = files.markdown.read_text()
    assert "`lookup`: predicts `primary_quality`; clean MAE 3.00" in md.split("\n## ", 1)[0]
    assert "| level | n | MAE [95% CI] | RMSE [95% CI] | within 5 [95% CI] |" in md
    assert "| 50 | 6 | 3.00 [3.00, 3.00] | 3.00 [3.00, 3.00] | 1.000 [1.000, 1.000] |" in md
    assert "figures/jpeg_regression.png" in md and "accuracy and flip rate" not in md
