"""What the command line says, pinned: ``list``, ``demo --help``, ``--jobs`` defaults, the
agreement audit's names and ``--ops`` errors (issue 12, point 9)."""

from __future__ import annotations

import argparse
from pathlib import Path

import degradebench as db
import pytest
from degradebench._options import cores
from degradebench.agreement import comparands, parse_op
from degradebench.cli import build_parser, main

SHIPPED_SUITES = ("default", "double-jpeg", "crop-grid", "jpeg-ladder", "social", "spcup2018")


def _lines(capsys) -> list[str]:
    return capsys.readouterr().out.splitlines()


def test_list_suites_prints_the_shipped_suites(capsys):
    assert main(["list", "suites"]) == 0
    lines = _lines(capsys)
    names = [line.split()[0] for line in lines]
    assert set(SHIPPED_SUITES) <= set(names)
    assert sorted(names) == names == sorted(db.load_config().suites)
    default = next(line for line in lines if line.split()[0] == "default")
    assert "One modest ladder of each axis" in default  # name + description on one line
    assert all(len(line) <= 140 for line in lines)


@pytest.mark.parametrize(
    ("what", "expected"),
    [
        ("presets", {"twitter-like", "whatsapp-like", "screenshot"}),
        ("axes", {"jpeg", "double_jpeg", "crop", "social", "resize"}),
        ("ops", {"jpeg", "resize", "crop", "png"}),
        ("models", {"reference", "dummy"}),
        ("datasets", {"samples", "virtual-cameras"}),
    ],
)
def test_list_prints_one_line_per_item(what, expected, capsys):
    assert main(["list", what]) == 0
    lines = _lines(capsys)
    assert expected <= {line.split()[0] for line in lines}
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines), "every item has a description"


def test_list_ops_names_the_libraries(capsys):
    assert main(["list", "ops"]) == 0
    resize = next(line for line in _lines(capsys) if line.startswith("resize "))
    assert resize.endswith("[pillow, opencv, torch, skimage]")


def test_list_datasets_reads_the_given_config(tiny_config, capsys):
    assert main(["list", "datasets", "--config", str(tiny_config)]) == 0
    assert [line.split()[0] for line in _lines(capsys)] == ["tiny"]
    assert main(["list", "suites", "--config", str(tiny_config)]) == 0
    assert [line.split()[0] for line in _lines(capsys)] == ["small"]


def test_list_unknown_kind_names_the_choices(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["list", "suits"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'suits'" in err and "suites" in err and "datasets" in err


def _help(command: str) -> str:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return " ".join(sub.choices[command].format_help().split())


def test_demo_help_says_which_suites_it_runs():
    text = _help("demo")
    assert "generate the default and social suites on the held-out fold 0" in text


@pytest.mark.parametrize("command", ["build-dataset", "agreement", "demo"])
def test_jobs_help_says_all_cores(command):
    assert f"(default: all cores, {cores()} here; -1 also means all)" in _help(command)


def test_build_dataset_jobs_default_to_all_cores(monkeypatch, tmp_path, capsys):
    import degradebench.generators.virtual_cameras as vc

    seen = []

    def fake_build(params, out, jobs, progress):
        seen.append(jobs)
        return Path(out) / "list.csv"

    monkeypatch.setattr(vc, "build_virtual_cameras", fake_build)
    base = ["build-dataset", "virtual-cameras", "--out", str(tmp_path / "vc"), "--quiet"]
    assert main(base) == 0
    assert main([*base, "--jobs", "1"]) == 0
    assert main([*base, "--jobs", "-1"]) == 0
    assert seen == [cores(), 1, cores()]


def test_agreement_jobs_default_to_all_cores(monkeypatch, tmp_path, capsys):
    import degradebench.agreement as agreement

    seen = []

    class Summary:
        def line(self) -> str:
            return "stub"

    def fake_run(**kw):
        seen.append(kw["jobs"])
        return Summary()

    monkeypatch.setattr(agreement, "run_agreement", fake_run)
    base = ["agreement", "--dataset", str(tmp_path), "--out", str(tmp_path / "o")]
    assert main(base) == 0
    assert main([*base, "--jobs", "3"]) == 0
    assert seen == [cores(), 3]


def test_agreement_names_state_the_antialias_setting():
    for op in ("bicubic x0.5", "nearest x2", "area x0.5", "lanczos x0.5"):
        names = [c.name for c in comparands(parse_op(op), float_paths=True)]
        assert len(set(names)) == len(names), names
        assert all("(aa=on" in n or "(aa=off" in n for n in names), names
    names = [c.name for c in comparands(parse_op("bicubic x0.5"))]
    assert "skimage(aa=off)" in names and "torch(aa=on)" in names and "torch(aa=off)" in names


@pytest.mark.parametrize(
    ("ops", "message"),
    [
        (
            "bicubic",
            "--ops: 'bicubic': write METHOD xSCALE, e.g. 'bicubic x0.5' or 'nearest x2' "
            "(methods: area,",
        ),
        ("Bicubic x0.5", "--ops: 'Bicubic x0.5': write METHOD xSCALE"),
        ("bicubic x0.5; nearest x2", "separate several with commas"),
        ("bicubc x0.5", "--ops: 'bicubc x0.5': unknown method 'bicubc'; did you mean 'bicubic'?"),
        ("bicubic x0", "--ops: 'bicubic x0': scale must be > 0 and <= 100, got 0"),
        (
            "bicubic x0.5,bicubic@0.5",
            "--ops: 'bicubic@0.5' repeats 'bicubic x0.5' (both are 'bicubic x0.5')",
        ),
    ],
)
def test_agreement_rejects_malformed_ops_with_the_spelling(ops, message, tmp_path, capsys):
    args = ["agreement", "--dataset", str(tmp_path), "--out", str(tmp_path / "o"), "--ops", ops]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("degradebench agreement: error: ") and err.count("\n") == 1
    assert message in err
