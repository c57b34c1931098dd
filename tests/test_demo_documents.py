"""``degradebench demo --documents`` (issue 17, D5): the flag, the settings, the suite cut, and
the whole demo end to end on a tiny virtual-scanners build (the shipped settings' models and
forgery levels, fewer scans and levels so it runs in seconds)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import yaml
from degradebench.appdata import DocumentsDemo, ForensicDemo, demo_settings
from degradebench.cli import build_parser
from degradebench.generators.core.errors import ConfigError

SHIPPED = Path(__file__).resolve().parents[1] / "generators" / "datasets.yaml"


def _demo_parser() -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["demo"]


def test_flag_and_shipped_settings() -> None:
    args = _demo_parser().parse_args(["--documents"])
    assert args.documents and args.out is None  # run() picks ./degradebench-demo-documents
    s = demo_settings().documents
    assert (s.dataset, s.model, s.fold) == ("virtual-scanners", "reference-scanner", 0)
    assert s.forensic.model == "reference-scanner-localizer"
    assert s.forensic.levels["doc-forgery"][0] == "none"  # the lossless level comes first
    with pytest.raises(ConfigError, match="suites: must list at least one value"):
        DocumentsDemo(dataset="d", suites=())


def test_cut_config_replaces_keys_and_drops_axes(tmp_path: Path) -> None:
    from degradebench._demo_documents import cut_config

    cut = {"documents": {"jpeg": {"qualities": [70]}, "telegram-like": None}}
    path = cut_config(SHIPPED, cut, tmp_path / "c.yaml", "virtual-scanners", tmp_path / "vs")
    raw = yaml.safe_load(path.read_text())
    axes = raw["suites"]["documents"]["axes"]
    assert axes["jpeg"]["qualities"] == [70] and axes["jpeg"]["backend"] == "pillow"
    assert "telegram-like" not in axes and "rescan" in axes
    assert raw["datasets"]["virtual-scanners"]["root"] == str(tmp_path / "vs")
    with pytest.raises(ConfigError, match="has no axis 'nope'; it has: clean, jpeg"):
        cut_config(SHIPPED, {"documents": {"nope": None}}, tmp_path / "d.yaml", "virtual-scanners",
                   tmp_path / "vs")  # fmt: skip


@pytest.mark.slow  # 15-50 s on 2 shared cores, by load
def test_demo_documents_end_to_end_on_a_tiny_build(tmp_path, monkeypatch, capsys) -> None:
    import degradebench._demo_documents as demo
    from degradebench._cmd_demo import run

    raw = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    raw["datasets"]["virtual-scanners"].update(
        printers=1, scanners=2, devices_per_scanner=1, documents=2, kinds=["invoice", "receipt"],
        size_mm=[30, 40], folds=1,
    )  # fmt: skip
    config = tmp_path / "datasets.yaml"
    config.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    keep = {"clean", "jpeg", "dpi", "rescan"}
    cut = {a: None for a in raw["suites"]["documents"]["axes"] if a not in keep}
    cut.update(jpeg={"qualities": [70]}, dpi={"dpis": [96], "backends": ["opencv"]},
               rescan={"hops": [1]})  # fmt: skip
    settings = DocumentsDemo(
        dataset="virtual-scanners", suites=("documents",), cut={"documents": cut},
        forensic=ForensicDemo(suite="document-forgery", model="reference-scanner-localizer",
                              levels={"doc-forgery": ("none", "print-scan")}),
    )  # fmt: skip
    monkeypatch.setattr(demo, "_settings", lambda: settings)
    out = tmp_path / "demo"
    args = _demo_parser().parse_args(["--documents", "--out", str(out), "--config", str(config),
                                      "--jobs", "1", "--no-progress", "--device", "cpu"])  # fmt: skip
    assert run(args) == 0
    text = capsys.readouterr().out
    assert "reference-scanner: clean accuracy (fold 0):" in text
    for line in ("  jpeg ", "  dpi ", "  rescan ", "doc-forgery none", "doc-forgery print-scan"):
        assert line in text, line
    html = (out / "report" / "report.html").read_text()
    for axis in ("jpeg", "dpi", "rescan", "doc-forgery"):
        assert f"Axis <code>{axis}</code>" in html
    assert (out / "documents-demo.yaml").exists() and (out / "document-forgery-demo.yaml").exists()
    assert (out / "demo-summary.json").exists()
