"""The Python API (``import degradebench as db``): cheap to import, every name documented and
the same object as the one the CLI runs; the commands registry; the shipped settings files."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources
from pathlib import Path

import degradebench as db
import pytest
from degradebench.appdata import agreement_settings, demo_settings
from degradebench.cli import build_parser
from degradebench.commands import BUILTIN, COMMANDS

ROOT = Path(__file__).resolve().parents[1]
API = ("load_config", "generate", "verify", "read_manifest", "evaluate", "load_model",
       "write_report", "apply_chain", "variants", "ManifestDataset", "Degrade")  # fmt: skip


def test_import_is_cheap():
    code = (
        "import sys, degradebench as db\n"
        "heavy = [m for m in ('numpy', 'torch', 'pandas', 'PIL', 'degradebench.generators')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert sorted(set(db.__all__) - {'__version__'}) == sorted(" + repr(API) + ")\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize("name", API)
def test_every_api_name_resolves_with_a_docstring(name):
    obj = getattr(db, name)
    assert callable(obj)
    assert (obj.__doc__ or "").strip(), f"db.{name} has no docstring"
    assert name in dir(db)
    assert f"db.{name}(" in db.__doc__  # the package docstring lists it


def test_api_names_are_the_layer_functions():
    from degradebench import evaluators, generators

    assert db.generate is generators.generate
    assert db.verify is generators.verify
    assert db.read_manifest is generators.read_manifest
    assert db.evaluate is evaluators.evaluate
    assert db.load_model is evaluators.load_model
    assert db.write_report is evaluators.write_report
    from degradebench import data

    assert db.ManifestDataset is data.ManifestDataset and db.Degrade is data.Degrade


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'genrate'"):
        db.genrate  # noqa: B018


def test_every_command_module_is_registered_under_its_parser_name():
    files = {p.stem for p in (ROOT / "bench").glob("_cmd_*.py")}
    targets = {t.partition(":")[0].rpartition(".")[2] for t in BUILTIN.values()}
    assert files <= targets, f"bench/_cmd_*.py not registered in commands.py: {files - targets}"
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert sorted(sub.choices) == sorted(n for n in COMMANDS if n in sub.choices)
    missing = sorted(set(COMMANDS) - set(sub.choices))
    assert not missing, f"registered commands with no module yet: {missing}"


def test_unknown_command_name_lists_the_registered_ones():
    with pytest.raises(Exception, match="unknown command 'genrate'; did you mean 'generate'"):
        COMMANDS.get("genrate")


def test_shipped_settings_are_read_from_data():
    demo = demo_settings()
    assert demo.suites == ("default", "social") and demo.fold == 0
    assert demo.dataset in db.load_config(ROOT / "generators" / "datasets.yaml").datasets
    assert "bicubic x0.5" in agreement_settings().ops
    text = (resources.files("degradebench") / "applications.yaml").read_text()
    assert "suites: [default, social]" in text


def test_one_datasets_yaml():
    packaged = ROOT / "generators" / "datasets.yaml"
    root = ROOT / "datasets.yaml"
    assert not packaged.is_symlink(), "generators/datasets.yaml is the source of truth"
    assert root.read_bytes() == packaged.read_bytes(), (
        "datasets.yaml (root) differs from generators/datasets.yaml: make the root one a "
        "symlink to it (ln -sf generators/datasets.yaml datasets.yaml)"
    )
    shipped = resources.files("degradebench.generators") / "datasets.yaml"
    assert shipped.read_bytes() == packaged.read_bytes()


def test_dummy_model_is_deterministic_and_sees_pixels():
    import torch

    model = db.load_model("dummy")
    assert model.kind == "builtin" and model.input_config.input_size == (64, 64)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 64, 64, generator=gen)
    a, b = model.predict(x), db.load_model("dummy").predict(x.clone())
    assert a.shape == (4, 2) and torch.equal(a, b)
    blurred = torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1)
    assert not torch.allclose(model.predict(blurred), a)
    from degradebench.evaluators.dummy import build

    assert build(num_classes=5)[0](x).shape == (4, 5)
    with pytest.raises(ValueError, match="num_classes: must be an integer >= 1, got 0"):
        build(num_classes=0)


def test_help_imports_no_model_or_plotting_library():
    code = (
        "import sys\n"
        "from degradebench.cli import build_parser\n"
        "build_parser().format_help()\n"
        "heavy = [m for m in ('torch', 'matplotlib', 'degradebench.evaluators._evaluate',"
        " 'degradebench.agreement') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_dummy_model_takes_the_manifest_class_count():
    """Evaluate hands the number of labels to ``configure_classes``: 3 classes give 3 scores,
    the same for the same seed."""
    import torch
    from degradebench.evaluators.dummy import build

    model, _ = build()
    model.configure_classes(3)
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    scores = model(x)
    assert scores.shape == (2, 3)
    again, _ = build()
    again.configure_classes(3)
    assert torch.equal(scores, again(x))
    model.configure_classes(2)
    assert model(x).shape == (2, 2)
