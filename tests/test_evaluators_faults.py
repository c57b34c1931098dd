"""Bad input: faulty models stop with a clear message; missing or altered files are skipped."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from _evalfix import TINY_CONFIG, TinyNet, make_manifest
from degradebench.cli import main
from degradebench.evaluators import evaluate, model_from_module
from degradebench.evaluators.models import ModelError
from degradebench.generators import read_manifest


@pytest.fixture()
def manifest(tmp_path) -> Path:
    return make_manifest(tmp_path / "m", per_class=(2, 1, 1), qualities=(50,), double=())


class Raises(torch.nn.Module):
    def forward(self, x):
        raise RuntimeError("boom inside the model")


class NaNs(TinyNet):
    def forward(self, x):
        out = super().forward(x)
        out[0, 0] = float("nan")
        return out


class OneD(torch.nn.Module):
    def forward(self, x):
        return x.mean(dim=(1, 2, 3))


def _run(manifest, module, tmp_path, **kw):
    model = model_from_module(module, name="faulty", input_config=TINY_CONFIG)
    return evaluate(manifest, model, tmp_path / "r", device="cpu", workers=0, n_boot=0,
                    progress=False, **kw)  # fmt: skip


def _first_batch_ids(manifest: Path, n: int) -> list[str]:
    return read_manifest(manifest)["variant_id"].head(n).tolist()  # the order evaluate reads


def test_model_that_raises_names_model_variants_and_expectation(manifest, tmp_path):
    with pytest.raises(ModelError) as exc:
        _run(manifest, Raises(), tmp_path, batch_size=4)
    msg = str(exc.value)
    assert "'faulty'" in msg and "boom inside the model" in msg
    assert ", ".join(_first_batch_ids(manifest, 4)) in msg
    assert "expected input [4, 3, 16, 16]" in msg and "scores [4, 3]" in msg


def test_nan_output_is_an_error(manifest, tmp_path):
    with pytest.raises(ModelError, match=r"'faulty'.*NaN or infinite scores in 1 of 4 rows"):
        _run(manifest, NaNs(), tmp_path, batch_size=4)


def test_wrong_shape_is_an_error(manifest, tmp_path):
    with pytest.raises(ModelError, match=r"returned shape \[4\]; expected \[4, 3\]"):
        _run(manifest, OneD(), tmp_path, batch_size=4)


def test_output_width_mismatch_says_both_numbers(manifest, tmp_path):
    with pytest.raises(ModelError, match=r"output width 5 does not match the number of classes 3"):
        _run(manifest, TinyNet(n_classes=5), tmp_path)


def test_probabilities_that_do_not_sum_to_one(manifest, tmp_path):
    model = model_from_module(
        TinyNet(), name="p", input_config={**TINY_CONFIG, "output": "probabilities"}
    )
    with pytest.raises(ModelError, match="not probability vectors"):
        evaluate(manifest, model, tmp_path / "r", device="cpu", workers=0, progress=False)


def test_missing_and_altered_files_are_reported_and_skipped(manifest, tmp_path, capsys):
    df = pd.read_parquet(manifest / "manifest")
    gone = df[df["axis"] == "jpeg"].iloc[0]
    altered = df[df["axis"] == "crop"].iloc[0]
    (manifest / gone["path"]).unlink()
    with open(manifest / altered["path"], "ab") as fh:
        fh.write(b"\0")
    broken = df[df["axis"] == "crop"].iloc[1]
    res = _run(manifest, TinyNet(), tmp_path, check_hash=False)
    assert set(res.errors["variant_id"]) == {gone["variant_id"]}  # no hash check: only missing
    (manifest / broken["path"]).write_bytes(b"not an image")
    res = _run(manifest, TinyNet(), tmp_path)
    err = res.errors.set_index("variant_id")["stage"].to_dict()
    assert err == {gone["variant_id"]: "missing", altered["variant_id"]: "verify",
                   broken["variant_id"]: "verify"}  # fmt: skip
    assert len(res.predictions) == len(df) - 3
    assert (tmp_path / "r" / "errors.parquet").exists()
    stderr = capsys.readouterr().err
    assert "skipped 3 of" in stderr and "fail verification" in stderr


def test_undecodable_file_with_matching_hash_is_a_decode_error(tmp_path):
    import hashlib

    m = make_manifest(tmp_path / "m", per_class=(1, 1), qualities=(50,), crops=(), double=())
    df = pd.read_parquet(m / "manifest")
    row = df[df["axis"] == "jpeg"].index[0]
    data = (m / df.loc[row, "path"]).read_bytes()[:200]  # truncated JPEG
    (m / df.loc[row, "path"]).write_bytes(data)
    df.loc[row, "sha256"] = hashlib.sha256(data).hexdigest()
    df.to_parquet(m / "manifest" / "part-0.parquet", index=False)
    res = _run(m, TinyNet(n_classes=2), tmp_path)
    assert res.errors["stage"].tolist() == ["decode"]


class OOMAbove2(TinyNet):
    """Raises CUDA's out-of-memory error for forward batches over 2 (as a full GPU would)."""

    def forward(self, x):
        if x.shape[0] > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated by batch size)")
        return super().forward(x)


def test_out_of_memory_halves_the_forward_batch(manifest, tmp_path, capsys):
    ref = _run(manifest, TinyNet(), tmp_path / "a", batch_size=8)
    res = _run(manifest, OOMAbove2(), tmp_path / "b", batch_size=8)
    assert res.run["config"]["final_forward_batch"] == 2
    np.testing.assert_array_equal(
        np.stack(res.predictions["probs"]), np.stack(ref.predictions["probs"])
    )
    assert "forward batch halved to 4" in capsys.readouterr().err


def test_cli_prints_model_error_without_traceback(manifest, tmp_path, capsys):
    f = tmp_path / "bad.py"
    f.write_text(textwrap.dedent("""
        import torch

        class Bad(torch.nn.Module):
            def forward(self, x):
                return torch.full((x.shape[0], 3), float("nan"))

        def build():
            return Bad(), {"input_size": [16, 16]}
    """))  # fmt: skip
    rc = main(["evaluate", "--manifest", str(manifest), "--model", f"{f}:build", "--out",
               str(tmp_path / "r"), "--device", "cpu", "--workers", "0", "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2
    assert "model 'bad.build'" in err and "NaN" in err and "variant ids:" in err
    assert "Traceback" not in err


def test_cli_unknown_device_and_folds(manifest, tmp_path, capsys):
    args = ["evaluate", "--manifest", str(manifest), "--model", "_evalfix:tiny_net_factory",
            "--out", str(tmp_path / "r"), "--workers", "0", "--no-progress"]  # fmt: skip
    assert main([*args, "--device", "tpu"]) == 2
    assert "--device: must be auto, cuda, cuda:N or cpu, got 'tpu'" in capsys.readouterr().err
    assert main([*args, "--folds", "7"]) == 2
    assert "no variants in those folds; manifest has [0, 1]" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert main([*args, "--device", "cuda"]) == 2
        assert "CUDA is not available" in capsys.readouterr().err


def test_manifest_folder_without_manifest(tmp_path, capsys):
    rc = main(["evaluate", "--manifest", str(tmp_path), "--model", "_evalfix:tiny_net_factory",
               "--out", str(tmp_path / "r")])  # fmt: skip
    assert rc == 2
    assert "no manifest" in capsys.readouterr().err


# --- more faults (issue 8): which batch, inf, non-tensors, OOM at one image ---------------------


class RaisesOnThirdBatch(TinyNet):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        if self.calls == 3:
            raise ValueError("bad weights for this input")
        return super().forward(x)


def test_a_later_batch_failing_names_that_batch(manifest, tmp_path):
    with pytest.raises(ModelError) as exc:
        _run(manifest, RaisesOnThirdBatch(), tmp_path, batch_size=4)
    ids = read_manifest(manifest)["variant_id"].tolist()[8:12]  # the third batch of 4
    assert ", ".join(ids) in str(exc.value) and "bad weights for this input" in str(exc.value)


class Infs(TinyNet):
    def forward(self, x):
        out = super().forward(x)
        out[-1, 1] = float("-inf")
        return out


class ReturnsNone(torch.nn.Module):
    def forward(self, x):
        return None


class OneRowShort(TinyNet):
    def forward(self, x):
        return super().forward(x)[1:]


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        (Infs(), r"NaN or infinite scores in 1 of 4 rows"),
        (ReturnsNone(), r"raised TypeError: returned NoneType, not a tensor"),
        (OneRowShort(), r"returned shape \[3, 3\]; expected \[4, 3\]"),
    ],
)
def test_bad_outputs_name_model_and_variants(manifest, tmp_path, module, expected):
    with pytest.raises(ModelError, match=expected) as exc:
        _run(manifest, module, tmp_path, batch_size=4)
    assert "'faulty'" in str(exc.value) and ", ".join(_first_batch_ids(manifest, 4)) in str(
        exc.value
    )
    assert not (tmp_path / "r" / "predictions.parquet").exists()  # nothing half-written


class AlwaysOOM(TinyNet):
    def forward(self, x):
        raise torch.OutOfMemoryError("CUDA out of memory (simulated)")


def test_out_of_memory_at_one_image_names_it(manifest, tmp_path, capsys):
    with pytest.raises(ModelError, match="out of memory even with a batch of 1 image") as exc:
        _run(manifest, AlwaysOOM(), tmp_path, batch_size=4)
    first = _first_batch_ids(manifest, 1)[0]
    assert f"variant ids: {first}" in str(exc.value)
    assert "forward batch halved to 2" in capsys.readouterr().err


class OOMOnce(TinyNet):
    """Out of memory once, in the middle of the run (a neighbour grabbed the GPU for a moment)."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        if self.calls == 3 and x.shape[0] > 1:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return super().forward(x)


def test_out_of_memory_mid_run_keeps_finished_predictions(manifest, tmp_path):
    ref = _run(manifest, TinyNet(), tmp_path / "a", batch_size=4)
    res = _run(manifest, OOMOnce(), tmp_path / "b", batch_size=4)
    assert res.run["config"]["final_forward_batch"] == 2
    pd.testing.assert_frame_equal(res.predictions, ref.predictions)  # every row, in order
