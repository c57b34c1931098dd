"""datasets.yaml validation: every error names the YAML path, the allowed values and what was found."""

from __future__ import annotations

from pathlib import Path

import pytest
from degradebench.cli import main
from degradebench.generators import ConfigError, load_config
from degradebench.generators.config import parse_config

BASE = """
version: 1
datasets:
  s: {kind: samples}
suites:
  default:
    seed: 0
    axes:
      jpeg:
        qualities: [95, 90, 75, 130]
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (BASE, "suites.default.axes.jpeg.qualities[3]: must be an integer 1..100, got 130"),
        (
            BASE.replace("jpeg:", "jpg:"),
            "suites.default.axes.jpg.type: unknown axis type 'jpg'; did you mean 'jpeg'?",
        ),
        (
            BASE.replace("qualities: [95, 90, 75, 130]", "qualitys: [95]"),
            "suites.default.axes.jpeg.qualitys: unknown key; did you mean 'qualities'?",
        ),
        (
            BASE.replace("kind: samples", "kind: sample"),
            "datasets.s.kind: must be one of folder, list, samples, virtual-cameras, virtual-scanners; did you mean 'samples'?",
        ),
        (BASE.replace("seed: 0", "seed: zero"), "suites.default.seed: must be an integer"),
        (
            BASE.replace("[95, 90, 75, 130]", "90"),
            "suites.default.axes.jpeg.qualities: must be a list, got 90 (int)",
        ),
        (BASE.replace("[95, 90, 75, 130]", "[90, 90]"), "qualities: repeated values"),
        (BASE + "extra: 1\n", "extra: unknown key"),
        (
            "suites: !!python/object/apply:os.system ['echo hi']",
            "not valid YAML (safe subset, no tags)",
        ),
        ("datasets: [1, 2]", "datasets: must be a mapping"),
        (BASE.replace("version: 1", "version: 1\nversion: 2"), "duplicate key 'version'"),
        (
            BASE.replace(
                "qualities: [95, 90, 75, 130]", "qualities: [95]\n        subsampling: '4:1:0'"
            ),
            "suites.default.axes.jpeg.subsampling: must be one of 4:4:4, 4:2:2, 4:2:0",
        ),
    ],
)
def test_config_errors_name_path_allowed_and_found(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert expected in str(info.value)


def test_double_jpeg_and_crop_validation() -> None:
    text = BASE.replace(
        "jpeg:\n        qualities: [95, 90, 75, 130]",
        "double_jpeg:\n        q1: [60]\n        q2: [90]\n        shifts: [[0, 9]]",
    )
    with pytest.raises(
        ConfigError,
        match=r"suites.default.axes.double_jpeg.shifts\[0\]\[1\]: must be an integer 0..7, got 9",
    ):
        parse_config(text)
    text = BASE.replace(
        "jpeg:\n        qualities: [95, 90, 75, 130]", "crop:\n        offsets: some"
    )
    with pytest.raises(ConfigError, match="offsets: must be 'all' or a list"):
        parse_config(text)


def test_shipped_config_loads_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./datasets.yaml here: the packaged copy is used
    cfg = load_config()
    assert "default" in cfg.suites and "samples" in cfg.datasets
    from degradebench.generators.plan import plan_source

    assert 1 < len(plan_source(cfg.suite("default"), "0" * 16)) <= 40


def test_cli_reports_config_errors_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(BASE)
    code = main(["generate", "--config", str(cfg), "--dataset", "s", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert "qualities[3]: must be an integer 1..100, got 130" in err and "Traceback" not in err
    code = main(
        ["generate", "--config", str(cfg).replace("bad", "none"), "--dataset", "s", "--out", "x"]
    )
    assert code == 2 and "file not found" in capsys.readouterr().err


def test_help_is_complete(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["generate", "--help"])
    out = capsys.readouterr().out
    for flag in (
        "--config",
        "--dataset",
        "--suite",
        "--out",
        "--jobs",
        "--limit",
        "--folds",
        "--no-psnr",
    ):
        assert flag in out
