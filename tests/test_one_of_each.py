"""One of each (issue 11, point 4): one validation path for every parameter record, backend names
from the one registry, one lock and one atomic writer, one fold parser, one version source, and
``apply_chain`` answering from the chain's final state."""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import numpy as np
import pytest
from degradebench.generators.core.errors import ParamError
from degradebench.generators.core.records import is_record

ROOT = Path(__file__).resolve().parents[1]


# --- one validation path: records validate at construction, from Python as from YAML -------


def _bad_records():
    from degradebench.appdata import AgreementSettings, DemoSettings, _File
    from degradebench.evaluators._input_config import InputConfig
    from degradebench.generators.datasets import (
        FolderDataset,
        ListDataset,
        SamplesDataset,
        VirtualCamerasDataset,
    )

    demo = DemoSettings(dataset="d", suites=("default",))
    agree = AgreementSettings(ops=("bicubic x0.5",))
    return [
        (InputConfig, {"input_size": (0, 0)}, "input_size[0]: must be an integer 1..65536, got 0"),
        (InputConfig, {"fit": "squash"}, "fit: must be one of"),
        (InputConfig, {"std": (1.0, 0.0, 1.0)}, "std[1]: must be a non-zero finite number"),
        (InputConfig, {"resize_backend": "skimage", "resize_method": "area"},
         "resize_method: skimage has no method 'area'"),
        (InputConfig, {"classes": ("a", "a")}, "classes: names must be unique"),
        (ListDataset, {"path": "x", "folds": 0}, "folds: must be an integer 1..100, got 0"),
        (FolderDataset, {"root": "x", "folds": 101}, "folds: must be an integer 1..100, got 101"),
        (SamplesDataset, {"fold_seed": "7"}, "fold_seed: must be an integer"),
        (VirtualCamerasDataset, {"root": 5}, "root: must be a string"),
        (DemoSettings, {"dataset": "d", "suites": ("a",), "fold": -7},
         "fold: must be an integer 0..99, got -7"),
        (DemoSettings, {"dataset": "d", "suites": ()}, "suites: must name at least one suite"),
        (AgreementSettings, {"ops": []}, "ops: must name at least one operation, got []"),
        (_File, {"version": 2, "demo": demo, "agreement": agree}, "version: must be an integer 1..1"),
    ]  # fmt: skip


N_BAD = 13  # the cases of _bad_records (checked below, so none is silently left out)


@pytest.mark.parametrize("case", range(N_BAD))
def test_records_refuse_bad_values_built_from_python(case):
    assert len(_bad_records()) == N_BAD
    cls, kwargs, message = _bad_records()[case]
    assert is_record(cls), cls
    with pytest.raises(ParamError) as info:
        cls(**kwargs)
    assert str(info.value).startswith(message), str(info.value)


def test_yaml_and_python_give_the_same_error():
    from degradebench.generators.core.records import from_mapping
    from degradebench.generators.datasets import ListDataset

    with pytest.raises(
        ParamError, match=r"^datasets\.x\.folds: must be an integer 1\.\.100, got 0$"
    ):
        from_mapping(ListDataset, {"path": "a.csv", "folds": 0}, "datasets.x")


def test_torch_lanczos_message_is_kept():
    from degradebench.evaluators._input_config import InputConfig

    with pytest.raises(ParamError, match="'lanczos' is not available with resize_backend 'torch'"):
        InputConfig(resize_backend="torch", resize_method="lanczos")


def test_no_post_init_outside_the_record_decorator():
    """Validation runs in ``@record`` (cross-field checks in ``_check``), nowhere else."""
    found = []
    for folder in ("bench", "generators", "evaluators"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef) and node.name == "__post_init__":
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, found


# --- backends: the name tuples come from the registry --------------------------------------


def test_backend_tuples_are_derived_from_the_registry():
    from degradebench.generators.backends import BACKENDS, backend_names
    from degradebench.generators.ops import codec, resize

    assert resize.BACKENDS == ("pillow", "opencv", "torch", "skimage")
    assert codec.ENCODE_BACKENDS == ("pillow", "opencv", "jpeglib")
    assert codec._JPEG_BUNDLERS == codec.JPEG_BUNDLERS == ("pillow", "opencv")
    assert resize.BACKENDS == backend_names(lambda b: b.resize is not None)
    assert set(backend_names()) == set(BACKENDS.names())
    assert all(BACKENDS.get(n).jpeg_build is not None for n in codec.JPEG_BUNDLERS)
    assert codec.is_mozjpeg("mozjpeg-4.0.3") and not codec.is_mozjpeg("libjpeg-turbo-2.1.0")


# --- one lock, one atomic writer, one temp-file cleanup -------------------------------------


def test_atomic_replace_dir_is_all_or_nothing(tmp_path):
    from degradebench.generators.core.files import atomic_replace_dir

    target = tmp_path / "ds"

    def dies(tmp: Path) -> None:
        (tmp / "a.txt").write_text("a")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_replace_dir(target, dies)
    assert not target.exists() and os.listdir(tmp_path) == []
    (tmp_path / ".ds.tmp-123-dead").mkdir()  # a killed build's leftover
    target.mkdir()  # an empty target is replaced
    atomic_replace_dir(target, lambda tmp: (tmp / "a.txt").write_text("b"))
    assert (target / "a.txt").read_text() == "b" and sorted(os.listdir(tmp_path)) == ["ds"]


def test_remove_temp_files_recursive_or_not(tmp_path):
    from degradebench.generators.core.files import remove_temp_files

    (tmp_path / "sub").mkdir()
    for name in (".a.parquet.tmp-1-ab", "b.parquet.tmp", "keep.png", ".hidden"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub" / ".c.png.tmp-2-cd").write_bytes(b"x")
    assert remove_temp_files(tmp_path, recursive=False) == 2
    assert sorted(os.listdir(tmp_path)) == [".hidden", "keep.png", "sub"]
    assert remove_temp_files(tmp_path, recursive=True) == 1
    assert os.listdir(tmp_path / "sub") == []


def test_dir_lock_refuses_or_waits(tmp_path):
    from degradebench.generators.core.errors import LockedError
    from degradebench.generators.core.files import DirLock
    from filelock import FileLock

    busy = LockedError("busy")
    with FileLock(str(tmp_path / ".x.lock")):
        with pytest.raises(LockedError):
            with DirLock(tmp_path, busy, name=".x.lock"):
                pass
    with DirLock(tmp_path, busy, name=".x.lock", wait=True) as lock:
        assert Path(lock.lock.lock_file) == tmp_path / ".x.lock"


def test_agreement_figures_are_written_atomically_at_the_report_dpi(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("matplotlib")
    from degradebench._agreement_report import plot_matrices
    from PIL import Image

    summ = pd.DataFrame([{"op": "bicubic x0.5", "a": "pillow", "b": "opencv", "psnr": 41.0}])
    files = plot_matrices(summ, tmp_path)
    png = tmp_path / files["bicubic x0.5"]
    with Image.open(png) as im:
        assert round(im.info["dpi"][0]) == 200
    assert sorted(p.name for p in tmp_path.iterdir()) == [png.name, png.with_suffix(".svg").name]


# --- one fold parser -------------------------------------------------------------------------


def test_evaluate_folds_go_through_the_one_parser(tmp_path, capsys):
    from degradebench.cli import main

    rc = main(["evaluate", "--manifest", str(tmp_path), "--model", "dummy", "--out",
               str(tmp_path / "r"), "--folds", "0,x"])  # fmt: skip
    assert rc == 2
    err = capsys.readouterr().err
    assert "--folds: expected a comma-separated list of fold numbers like 0,1; got '0,x'" in err


# --- one version source ----------------------------------------------------------------------


def test_one_version_source_for_the_package_manifests_and_results(tiny_tree, tmp_path):
    from importlib.metadata import version

    import degradebench as db

    cfg = tmp_path / "datasets.yaml"
    cfg.write_text(
        f"version: 1\ndatasets:\n  tiny:\n    kind: folder\n    root: {tiny_tree}\n    folds: 2\n"
        "suites:\n  one:\n    seed: 1\n    axes:\n      jpeg:\n        qualities: [50]\n"
    )
    out = tmp_path / "out"
    db.generate(config=cfg, dataset="tiny", suite="one", out=out, progress=False, limit=1)
    (meta,) = db.generators.read_metadata(out)
    res = db.evaluate(out, db.load_model("dummy"), tmp_path / "r", device="cpu", workers=0,
                      n_boot=0, progress=False)  # fmt: skip
    run = json.loads((tmp_path / "r" / "run.json").read_text())
    assert db.__version__ == version("degradebench")
    assert meta["versions"]["degradebench"] == db.__version__
    assert run["degradebench_version"] == res.run["degradebench_version"] == db.__version__


# --- apply_chain answers from the final state ------------------------------------------------


def test_apply_chain_returns_bytes_when_the_final_state_is_a_file():
    from degradebench.generators.inmemory import apply_chain

    img = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    jpeg = {"op": "jpeg", "backend": "pillow", "params": {"quality": 80}}
    strip = {"op": "strip_metadata", "backend": "pillow", "params": {}}
    png = {"op": "png", "backend": "pillow", "params": {}}
    decode = {"op": "decode", "backend": "pillow", "params": {}}
    alone = apply_chain(img, [jpeg])
    assert isinstance(alone, bytes) and alone[:2] == b"\xff\xd8"
    assert apply_chain(img, [jpeg, strip]) == alone
    assert apply_chain(img, [png, strip])[:4] == b"\x89PNG"
    pixels = apply_chain(img, [jpeg, decode])
    assert isinstance(pixels, np.ndarray) and pixels.shape == (64, 64, 3)


# --- model formats carry their own naming and code-file rules ------------------------------


def test_model_formats_know_their_default_names_and_code_files():
    from degradebench.evaluators.formats import ModelFormat, format_of

    python = format_of("python")
    assert python.default_name("path/to/net.py:build") == "net.build"
    assert python.default_name("pkg.models:build") == "models.build"
    assert python.code_file("path/to/net.py:build") == "path/to/net.py"
    assert python.code_file("pkg.models:build") is None
    assert format_of("builtin").default_name("dummy") == "dummy"
    assert format_of("onnx").default_name("/m/net.v2.onnx") == "net.v2"
    assert format_of("torchscript").code_file("/m/net.pt") is None
    bare = ModelFormat(lambda spec: (None, None, {}))  # a plain loader gets the defaults
    assert bare.default_name("/m/x.pt2") == "x" and bare("s") == (None, None, {})
