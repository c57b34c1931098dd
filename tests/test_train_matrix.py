"""Training with a policy and the train-on-X / test-on-Y matrix (issue 15, points 3 and 4).

``train-reference --policy`` degrades each training image per (epoch, index) before the patches
are cut and keeps the clean weights bit for bit; ``train-matrix`` trains one model per policy,
evaluates each on the suites, writes matrix.parquet / .png / .svg, resumes without retraining,
and ``report`` shows the matrix. The end-to-end runs use a tinier ``--quick`` section (3 models
x 1 device x 5 scenes at 96 px, 1 epoch, two policies): the whole module takes about 30 s.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
from pathlib import Path

import degradebench as db
import numpy as np
import pandas as pd
import pytest
import torch
from degradebench import appdata
from degradebench.cli import main
from degradebench.data import Degrade
from degradebench.evaluators._train_reference import load_split, train_reference
from degradebench.evaluators.report.matrix import MATRIX_COLUMNS, read_matrix, summary_frame
from degradebench.generators.core.errors import ConfigError
from degradebench.generators.plan import plan_source
from degradebench.generators.virtual_cameras import VirtualCamerasParams

TINY = VirtualCamerasParams(models=3, devices_per_model=2, images_per_device=5, size=96, seed=1)
PIN = {"seed": 0, "epochs": 2, "patches_per_image": 4, "batch_size": 16, "threads": 1,
       "progress": False}  # fmt: skip
# train_reference(TINY, **PIN) with the code before --policy existed (torch 2.13.0+cpu, numpy 2.4)
PINNED_SHA256 = "5d8b80aaa22e0e4aa5bc5aa00432c0057ab78d04a72cb2b905f4d1f1abf61f2d"
PINNED_TORCH = "2.13.0+cpu"
POLICIES = ("clean", "jpeg+grid")
QUICK = appdata.QuickMatrix(
    dataset={"models": 3, "devices_per_model": 1, "images_per_device": 5, "size": 96},
    epochs=1,
    patches_per_image=8,
)


def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def tiny_root(virtual_cameras) -> Path:
    return virtual_cameras(TINY)


# --- train-reference --policy ------------------------------------------------------------------


def test_clean_policy_keeps_the_weights_bit_for_bit(tiny_root, tmp_path):
    plain = train_reference(tiny_root, tmp_path / "plain", **PIN)
    clean = train_reference(tiny_root, tmp_path / "clean", degrade=Degrade("clean"), **PIN)
    assert _sha(plain) == _sha(clean)
    if torch.__version__ == PINNED_TORCH:  # the code path before this change gave these bytes
        assert _sha(plain) == PINNED_SHA256
    rec = json.loads((tmp_path / "clean" / "reference_training.json").read_text())
    policy = db.load_config().policy("clean")
    assert rec["policy"]["name"] == "clean" and rec["policy"]["sha256"] == policy.sha256
    assert rec["policy"]["raw"] == json.loads(json.dumps(policy.raw))
    n = len(load_split(tiny_root, (1, 2, 3, 4))[0])
    assert rec["policy"]["chains"] == {"none": PIN["epochs"] * n}
    assert "policy" not in json.loads((tmp_path / "plain" / "reference_training.json").read_text())


def test_cli_policy_default_is_clean_and_is_recorded(tiny_root, tmp_path, capsys):
    base = ["train-reference", "--dataset-root", str(tiny_root), "--epochs", "1",
            "--patches-per-image", "2", "--threads", "1", "--quiet"]  # fmt: skip
    for name, extra in (("default", []), ("clean", ["--policy", "clean"]),
                        ("jg", ["--policy", "jpeg+grid"])):  # fmt: skip
        assert main([*base, "--out", str(tmp_path / name), *extra]) == 0
    assert "policy 'jpeg+grid'" in capsys.readouterr().err
    w = {n: _sha(tmp_path / n / "reference_weights.pt") for n in ("default", "clean", "jg")}
    assert w["default"] == w["clean"] != w["jg"]
    rec = json.loads((tmp_path / "jg" / "reference_training.json").read_text())["policy"]
    assert (
        rec["name"] == "jpeg+grid" and rec["sha256"] == db.load_config().policy("jpeg+grid").sha256
    )
    assert set(rec["chains"]) == {"jpeg>crop"} and rec["degrade_seconds"] >= 0
    assert main([*base, "--out", str(tmp_path / "bad"), "--policy", "jepg"]) == 2
    assert "did you mean 'jpeg'" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()  # refused before any work


def test_images_are_degraded_per_epoch_and_index_before_patches_are_cut(tiny_root, tmp_path):
    calls = []

    def crop_7(image, *, index, epoch):  # 96 -> 89 px: patches must come from the cropped image
        calls.append((epoch, index))
        return image[7:, 7:].copy(), [{"op": "crop", "backend": "numpy", "params": {}}]

    w = train_reference(tiny_root, tmp_path / "c", degrade=crop_7, **PIN)
    n = len(load_split(tiny_root, (1, 2, 3, 4))[0])
    assert sorted(calls) == [(e, i) for e in range(PIN["epochs"]) for i in range(n)]
    assert _sha(w) != _sha(train_reference(tiny_root, tmp_path / "p", **PIN))
    rec = json.loads((tmp_path / "c" / "reference_training.json").read_text())["policy"]
    assert rec["name"] is None and "crop_7" in rec["callable"] and rec["chains"] == {"crop": 2 * n}

    def too_small(image, *, index, epoch):
        return image[:40, :40].copy(), []

    with pytest.raises(ConfigError, match=r"at least 64x64 px.*policy that keeps the size"):
        train_reference(tiny_root, tmp_path / "s", degrade=too_small, **PIN)


# --- train-matrix ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_settings() -> appdata.MatrixSettings:
    return dataclasses.replace(appdata.matrix_settings(), quick=QUICK)


def _run_matrix(out: Path, settings, capsys) -> tuple[int, str, str]:
    """``train-matrix --quick`` with ``settings`` (a tinier quick section) in place."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("degradebench.train_matrix.matrix_settings", lambda: settings)
        rc = main(["train-matrix", "--quick", "--out", str(out), "--policies", ",".join(POLICIES),
                   "--jobs", "2", "--no-progress"])  # fmt: skip
    if capsys is None:
        return rc, "", ""
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


@pytest.fixture(scope="module")
def matrix_run(tmp_path_factory, tiny_settings):
    """The tiny --quick matrix, run once through the command line (two policies at once)."""
    out = tmp_path_factory.mktemp("matrix")
    err, std = io.StringIO(), io.StringIO()  # capsys is per test: capture this one by hand
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(std):
        rc, _, _ = _run_matrix(out, tiny_settings, None)
    return out, rc, std.getvalue(), err.getvalue()


def _conditions() -> list[tuple[str, str]]:
    cfg = db.load_config()
    pairs = [(p.axis, p.level) for s in ("default", "social")
             for p in plan_source(cfg.suite(s), "x")]  # fmt: skip
    return list(dict.fromkeys(pairs))


def test_quick_matrix_runs_end_to_end(matrix_run):
    out, rc, stdout, stderr = matrix_run
    assert rc == 0, stderr[-2000:]
    steps = 2 + 2 + 2 * len(POLICIES)
    for i in range(1, steps + 1):
        assert f"[{i}/{steps}] " in stderr
    assert stderr.count("trained policy ") == len(POLICIES)
    assert "accuracy (%) per training policy" in stdout and "JPEG Q90" in stdout
    assert (out / "matrix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (out / "matrix.svg").read_bytes()[:2000]
    rec = json.loads((out / "matrix.json").read_text())
    assert rec["quick"] and rec["policies"] == list(POLICIES) and rec["recipe"]["epochs"] == 1
    assert set(rec["models"]) == set(POLICIES)
    assert (
        rec["models"]["jpeg+grid"]["chains"] and "none" not in rec["models"]["jpeg+grid"]["chains"]
    )


def test_matrix_parquet_has_one_row_per_policy_condition_metric(matrix_run):
    out = matrix_run[0]
    frame = pd.read_parquet(out / "matrix.parquet")
    assert list(frame.columns) == MATRIX_COLUMNS
    conds = _conditions()
    metrics = list(appdata.matrix_settings().metrics)
    assert len(frame) == len(POLICIES) * len(conds) * len(metrics)
    assert not frame.duplicated(["policy", "axis", "level", "metric"]).any()
    for _, rows in frame.groupby("policy", sort=False):
        got = list(dict.fromkeys(zip(rows["axis"], rows["level"])))
        assert got == conds and got[0] == ("clean", "clean")  # clean once, first
    assert list(dict.fromkeys(frame["policy"])) == list(POLICIES)
    acc = frame[frame["metric"] == "accuracy"]
    assert acc["value"].between(0, 1).all() and (acc["ci_low"] <= acc["value"] + 1e-12).all()
    n_sources = db.read_manifest(out / "variants" / "default")["source_id"].nunique()
    assert (frame["n"] == n_sources).all() and frame["n"].dtype == np.int64
    # a value is the evaluation's own number for that model and condition
    summary = pd.read_parquet(out / "results" / "jpeg+grid" / "default" / "summary.parquet")
    want = summary[(summary["axis"] == "jpeg") & (summary["level"] == "50")
                   & (summary["metric"] == "accuracy")]["value"].item()  # fmt: skip
    got = acc[(acc["policy"] == "jpeg+grid") & (acc["axis"] == "jpeg") & (acc["level"] == "50")]
    assert got["value"].item() == want


def test_clean_policy_in_the_matrix_equals_a_run_without_policy(matrix_run, tmp_path):
    out = matrix_run[0]
    plain = train_reference(out / "data", tmp_path, epochs=QUICK.epochs, seed=0, threads=1,
                            patches_per_image=QUICK.patches_per_image, progress=False)  # fmt: skip
    assert _sha(plain) == _sha(out / "models" / "clean" / "reference_weights.pt")
    model = db.load_model(f"{out / 'models' / 'clean' / 'model.py'}:build")
    assert model.input_config.input_size == (64, 64)


def test_second_run_retrains_nothing(matrix_run, tiny_settings, capsys):
    out = matrix_run[0]
    weights = {
        p: (out / "models" / p / "reference_weights.pt").stat().st_mtime_ns for p in POLICIES
    }
    runs = {p: (out / "results" / p / "default" / "run.json").stat().st_mtime_ns for p in POLICIES}
    before = pd.read_parquet(out / "matrix.parquet")
    rc, _, err = _run_matrix(out, tiny_settings, capsys)
    assert rc == 0
    assert err.count("trained already") == len(POLICIES) and "trained policy " not in err
    assert "reusing them" in err
    assert weights == {
        p: (out / "models" / p / "reference_weights.pt").stat().st_mtime_ns for p in POLICIES
    }
    assert runs == {p: (out / "results" / p / "default" / "run.json").stat().st_mtime_ns
                    for p in POLICIES}  # fmt: skip
    pd.testing.assert_frame_equal(before, pd.read_parquet(out / "matrix.parquet"))


def test_report_shows_the_matrix(matrix_run, tmp_path, capsys):
    out = matrix_run[0]
    assert main(["report", str(out), "--out", str(tmp_path / "r")]) == 0
    md = (tmp_path / "r" / "report.md").read_text()
    assert "## Train on X, test on Y" in md and "figures/matrix.png" in md
    assert "| training policy | clean | JPEG Q90" in md and "a --quick run" in md
    assert (tmp_path / "r" / "figures" / "matrix.png").is_file()
    assert "Train on X, test on Y" in (tmp_path / "r" / "report.html").read_text()
    # beside an ordinary results folder: the axes sections and the matrix section
    files = db.write_report([out / "results" / "clean" / "default", out], tmp_path / "both")
    both = files.markdown.read_text()
    assert "Train on X, test on Y" in both and "Axis `jpeg`" in both


def test_summary_groups_match_names_and_patterns():
    rows = [("p", "double_jpeg", "q1=60,q2=90,shift=0x0", 0.2), ("p", "double_jpeg",
            "q1=60,q2=90,shift=random", 0.6), ("p", "jpeg", "90", 0.5)]  # fmt: skip
    frame = pd.DataFrame(
        [(*r[:3], "accuracy", r[3], 0, 1, 3) for r in rows], columns=MATRIX_COLUMNS
    )
    groups = [{"label": "aligned", "axis": "double_jpeg", "levels": ["*shift=0x0"]},
              {"label": "q90", "axis": "jpeg", "levels": ["90"]},
              {"label": "none", "axis": "crop", "levels": ["dy=1,dx=1"]}]  # fmt: skip
    s = summary_frame(frame, groups)
    assert (
        s.loc["p", "aligned"] == 0.2 and s.loc["p", "q90"] == 0.5 and np.isnan(s.loc["p", "none"])
    )


def test_a_matrix_without_its_columns_names_the_file_and_the_fix(tmp_path):
    pd.DataFrame({"policy": ["clean"], "value": [1.0]}).to_parquet(tmp_path / "matrix.parquet")
    with pytest.raises(ConfigError, match=r"matrix.parquet: lacks columns \['axis'.*rerun"):
        read_matrix(tmp_path)


def test_unknown_policy_is_refused_before_any_work(tmp_path, capsys):
    assert main(["train-matrix", "--out", str(tmp_path / "m"), "--policies", "clean,jepg"]) == 2
    assert "did you mean 'jpeg'" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_shipped_quick_settings_run_all_policies(tmp_path, capsys):
    """The real --quick (five policies, 6 models x 2 devices x 6 scenes at 128 px): ~2 min."""
    assert main(["train-matrix", "--quick", "--out", str(tmp_path), "--no-progress"]) == 0
    frame = read_matrix(tmp_path)
    assert list(dict.fromkeys(frame["policy"])) == list(appdata.matrix_settings().policies)
    assert len(frame) == 5 * len(_conditions()) * len(appdata.matrix_settings().metrics)


def test_matrix_settings_validate_like_the_other_sections(tmp_path):
    s = appdata.matrix_settings()
    with pytest.raises(ConfigError, match="metrics: must include accuracy"):
        dataclasses.replace(s, metrics=("flip_rate",))
    with pytest.raises(ConfigError, match="epochs: must be an integer 1..1000, got 0"):
        dataclasses.replace(s.quick, epochs=0)
    from degradebench.train_matrix import train_matrix

    with pytest.raises(ConfigError, match=r"quick.dataset.modles: unknown key; did you mean"):
        train_matrix(tmp_path, quick=True, dataset_params={"modles": 3}, progress=False)
    assert not (tmp_path / "data").exists()


# --- arguments checked up front, the resume key, datasets by path, messages -------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--epochs", "0"], "--epochs: must be an integer >= 1, got 0; pass e.g. --epochs 6, or "
         "leave it out for the default (6)"),
        (["--quick", "--epochs", "-2"], "--epochs: must be an integer >= 1, got -2; pass e.g. "
         "--epochs 3"),
        (["--patches-per-image", "0"], "--patches-per-image: must be an integer >= 1, got 0"),
    ],
)  # fmt: skip
def test_epochs_and_patches_are_checked_before_any_work(tmp_path, capsys, argv, message):
    assert main(["train-matrix", "--out", str(tmp_path / "m"), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_recipe_overrides_are_checked_before_any_work(tmp_path):
    from degradebench.train_matrix import train_matrix

    with pytest.raises(ConfigError, match=r"recipe\.weight_decay: cannot be overridden \(value "
                       r"0\.1\); override patch, batch_size, lr"):  # fmt: skip
        train_matrix(tmp_path / "m", recipe={"weight_decay": 0.1}, progress=False)
    with pytest.raises(ConfigError, match=r"recipe\.lr: must be a number > 0, got 0; e\.g\. "
                       r"recipe=\{'lr': 0\.002\}"):  # fmt: skip
        train_matrix(tmp_path / "m", recipe={"lr": 0}, progress=False)
    assert not (tmp_path / "m").exists()


def test_a_recipe_change_retrains_and_the_same_recipe_reuses(tiny_root, tmp_path, tiny_settings):
    from degradebench.evaluators._recipe import DEFAULTS
    from degradebench.train_matrix import _recorded_key, _train_all, _train_key, plan_matrix

    cfg, steps = db.load_config(), []
    weights = tmp_path / "models" / "clean" / "reference_weights.pt"

    def run(lr: float) -> bool:
        plan = plan_matrix(tiny_settings, cfg, ["clean"], None, True, 1, 2, 1, {"lr": lr})
        return _train_all(tmp_path, tiny_root, cfg, plan, 1, steps.append)["clean"]["reused"]

    assert run(0.002) is False
    first = _sha(weights)
    assert run(0.002) is True and "trained already" in steps[-1] and _sha(weights) == first
    assert run(0.01) is False and _sha(weights) != first  # lr changed: retrained
    rec = json.loads((tmp_path / "models" / "clean" / "reference_training.json").read_text())
    assert rec["recipe"]["lr"] == 0.01
    assert run(0.01) is True
    plan = plan_matrix(tiny_settings, cfg, ["clean"], None, True, 1, 2, 1, {"lr": 0.01})
    policy, model_dir = cfg.policy("clean"), tmp_path / "models" / "clean"
    key = _train_key(policy, plan, rec["dataset_digest"])
    assert _recorded_key(model_dir) == key and set(key["recipe"]) >= set(DEFAULTS)
    with pytest.MonkeyPatch.context() as mp:  # a key of reference_recipe.json, not an argument
        mp.setitem(DEFAULTS, "pct_start", 0.3)
        changed = plan_matrix(tiny_settings, cfg, ["clean"], None, True, 1, 2, 1, {"lr": 0.01})
    assert _recorded_key(model_dir) != _train_key(policy, changed, rec["dataset_digest"])


def test_quick_with_a_dataset_root_says_the_quick_dataset_is_not_built(tiny_root, tmp_path,
                                                                       tiny_settings, capsys):  # fmt: skip
    from degradebench.train_matrix import _dataset, plan_matrix

    cfg = db.load_config()
    for quick in (True, False):
        plan = plan_matrix(tiny_settings, cfg, ["clean"], None, quick, None, None, 1)
        assert _dataset(tmp_path, cfg, tiny_settings, plan, tiny_root, None, 1, False)[2] == (
            tiny_root.absolute()
        )
        err = capsys.readouterr().err
        assert ("--quick with --dataset-root: the quick dataset is not built" in err) is quick
        assert ("only the short recipe applies (1 epochs" in err) is quick
    assert not (tmp_path / "data").exists()
    with pytest.raises(SystemExit):
        main(["train-matrix", "--help"])
    assert "the quick dataset is not built" in " ".join(capsys.readouterr().out.split())


def test_load_split_reads_list_parquet_as_generate_does(tiny_root, tmp_path):
    import shutil

    root = tmp_path / "pq"
    shutil.copytree(tiny_root, root)
    table = pd.read_csv(root / "list.csv")
    table["label"] = "cam-" + table["label"]  # only the parquet list says so
    table.to_parquet(root / "list.parquet")
    (root / "list.csv").unlink()
    for folds in ((0,), (1, 2, 3, 4)):
        csv_items, csv_classes = load_split(tiny_root, folds)
        pq_items, pq_classes = load_split(root, folds)
        assert pq_classes == ["cam-" + c for c in csv_classes]
        assert [(key, "cam-" + lab) for _, lab, key in csv_items] == [
            (key, lab) for _, lab, key in pq_items
        ]
        assert all(np.array_equal(a[0], b[0]) for a, b in zip(csv_items, pq_items))


def test_missing_results_and_matrix_without_accuracy_name_the_file_and_the_fix(tmp_path):
    from degradebench.evaluators.report.matrix import matrix_section
    from degradebench.train_matrix import collect_matrix

    with pytest.raises(ConfigError, match=r"results/clean/default/summary\.parquet: not found: "
                       r"the evaluation of policy 'clean' on suite 'default' did not finish; "
                       r"rerun degradebench train-matrix --out .*, or delete .*results/clean "
                       r"first"):  # fmt: skip
        collect_matrix(tmp_path, ["clean"], ["default"], ["accuracy"])
    row = ("clean", "jpeg", "90", "flip_rate", 0.1, 0.0, 0.2, 5)
    pd.DataFrame([row], columns=MATRIX_COLUMNS).to_parquet(tmp_path / "matrix.parquet")
    with pytest.raises(ConfigError, match=r"matrix\.parquet: no 'accuracy' rows to draw \(metrics "
                       r"there: flip_rate\); rerun degradebench train-matrix into that folder"):  # fmt: skip
        matrix_section(tmp_path, tmp_path / "figures")


def test_cli_dataset_root_not_found_says_what_to_pass(tmp_path, capsys):
    assert main(["train-reference", "--dataset-root", str(tmp_path / "nope"), "--out",
                 str(tmp_path / "o")]) == 2  # fmt: skip
    assert "folder holding list.csv or list.parquet, or leave --dataset-root out" in (
        capsys.readouterr().err
    )
