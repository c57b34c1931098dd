"""Forensic reports end to end (issue 14 point 6): an engine-made manifest with a manipulation
ladder, ``evaluate`` and ``write_report`` for a map-only localizer, a classifier of
``--target manipulated`` (detection) and a regressor of ``--target primary_quality``.

The manifest: three sources (two PNGs and a JPEG, so ``primary_quality`` is known on the clean
axis for one of them), one ``manipulate`` axis ``forgery-jpeg`` whose levels (``none``, JPEG
``quality=90``, ``quality=70``) each hold a copy-move, an inpainting and the authentic twin of
every source, so every level has both classes. The models look each input up in the manifest's
truth (the helpers of test_eval_localization and test_eval_target), so the figures are known.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from conftest import jpeg_bytes, photo, png_bytes
from degradebench.evaluators import evaluate, model_from_module, write_report
from degradebench.evaluators.report.build import axis_views
from degradebench.evaluators.report.figures import FIGURE_KINDS
from degradebench.evaluators.report.runs import load_models
from degradebench.evaluators.report.view import ReportOptions
from degradebench.generators import generate, read_manifest
from degradebench.generators.config import default_config_path
from test_eval_localization import LOC, OPTS, _truth_by_input
from test_eval_localization import Lookup as MapLookup
from test_eval_localization import _key as full_key
from test_eval_target import CFG as CROP_CFG
from test_eval_target import _key as crop_key
from test_eval_target import _truth_map

AXIS = "forgery-jpeg"
LEVELS = ["none", "quality=90", "quality=70"]  # mild to severe (by PSNR)
DETECTION = ("auc", "balanced_accuracy", "tpr_at_fpr", "eer")


@pytest.fixture(scope="module")
def ladder(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("ladder")
    root = tmp / "data" / "cam"
    root.mkdir(parents=True)
    (root / "a.png").write_bytes(png_bytes(photo("astronaut", 64)))
    (root / "b.jpg").write_bytes(jpeg_bytes(photo("astronaut", 64, 100, 250), 85))
    (root / "c.png").write_bytes(png_bytes(photo("astronaut", 64, 200, 180)[:, :56]))
    shipped = yaml.safe_load(default_config_path().read_text())

    def jpeg(q: int) -> list[dict]:
        return [{"op": "jpeg", "backend": "pillow", "quality": q}]

    axis = {"type": "manipulate", "ops": ["copy_move", "inpaint"],
            "ladder": {"none": [], "quality=90": jpeg(90), "quality=70": jpeg(70)}}  # fmt: skip
    cfg = {"version": 1, "presets": shipped["presets"],
           "datasets": {"t": {"kind": "folder", "root": str(root.parent), "folds": 1}},
           "suites": {"s": {"seed": 3, "axes": {AXIS: axis}}}}  # fmt: skip
    (tmp / "c.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    out = tmp / "out"
    generate(config=tmp / "c.yaml", dataset="t", suite="s", out=out, progress=False)
    return out


class Detector(torch.nn.Module):
    """Logits of (authentic, manipulated) from the truth: a perfect detector."""

    def __init__(self, truth: dict):
        super().__init__()
        self.truth = truth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = torch.tensor([float(self.truth[full_key(xi)][1]) for xi in x])
        return torch.stack([5 - 10 * t, 10 * t - 5], dim=1)


class Regressor(torch.nn.Module):
    """The primary quality plus a fifth of its distance to 100: off by 2 at Q90, 6 at Q70."""

    def __init__(self, truth: dict):
        super().__init__()
        self.truth = truth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = torch.tensor([self.truth[crop_key(xi)] for xi in x], dtype=torch.float32)
        return t + (100 - t) / 5


@pytest.fixture(scope="module")
def runs(ladder, tmp_path_factory) -> dict:
    """The three results folders and a report of each."""
    tmp = tmp_path_factory.mktemp("runs")
    truth = _truth_by_input(ladder)
    loc = model_from_module(MapLookup(truth), name="loc", input_config=LOC)
    det = model_from_module(Detector(truth), name="det", input_config={"fit": "full"})
    qtruth = _truth_map(ladder, read_manifest(ladder), "primary_quality")
    reg = model_from_module(Regressor(qtruth), name="qf", input_config=CROP_CFG)
    out = {
        "loc": evaluate(ladder, loc, tmp / "loc", **OPTS),
        "det": evaluate(ladder, det, tmp / "det", target="manipulated", **OPTS),
        "reg": evaluate(ladder, reg, tmp / "reg", target="primary_quality", **OPTS),
    }
    for name in list(out):
        out[f"{name}_report"] = write_report([tmp / name], tmp / f"{name}-report", sheets=False)
    out["tmp"] = tmp
    return out


def _texts(files) -> dict[str, str]:
    return {"md": files.markdown.read_text(), "html": files.html.read_text(),
            "tex": files.latex.read_text()}  # fmt: skip


def _figure_referenced(files, stem: str) -> None:
    """The figure's files exist, Markdown links the PNG, LaTeX includes it, HTML embeds it."""
    png = files.out / "figures" / f"{stem}.png"
    assert png.exists() and png in files.figures, stem
    t = _texts(files)
    assert f"figures/{stem}.png" in t["md"], stem
    assert re.search(rf"\\includegraphics\[[^]]*\]{{figures/{re.escape(stem)}\.(pdf|png)}}",
                     t["tex"]), stem  # fmt: skip
    svg = files.out / "figures" / f"{stem}.svg"
    embedded = base64.b64encode(png.read_bytes()).decode("ascii") in t["html"]
    assert embedded or "<svg" in t["html"] and svg.exists(), stem


def _view(results: Path):
    return next(v for v in axis_views(load_models([results]), ReportOptions()) if v.axis == AXIS)


def _section(md: str) -> str:
    return md.split(f"## Axis `{AXIS}`", 1)[1].split("\n## ", 1)[0]


def test_the_ladder_has_both_classes_and_known_qualities_at_every_level(ladder):
    m = read_manifest(ladder)
    on_axis = m[m["axis"] == AXIS]
    assert sorted(set(on_axis["level"])) == sorted(LEVELS)
    for _, g in on_axis.groupby("level"):
        assert g["manipulated"].any() and (~g["manipulated"].astype(bool)).any()
        assert g["mask_path"].notna().sum() == 2 * 3  # copy-move and inpaint of 3 sources
    q = m[m["level"] == "quality=70"]["primary_quality"]
    assert sorted(set(q)) == [70.0, 85.0]  # the JPEG source keeps its own first quality
    # every edit survives the ladder (the lookup models tell the variants apart by their pixels)
    assert on_axis.groupby(["source_id", "level"])["sha256"].nunique().eq(3).all()


def test_map_only_localizer_report(runs):
    s = runs["loc"].summary
    at = s[(s["axis"] == AXIS)]
    for level in LEVELS:
        names = set(at.loc[at["level"] == level, "metric"])
        assert {"pixel_f1", "pixel_auc", "image_auc", "image_balanced_accuracy", "image_eer",
                "image_tpr_at_fpr"} <= names, level  # fmt: skip
        assert "auc" not in names  # a map-only model has no image score of its own
    f1 = at[at["metric"] == "pixel_f1"]
    assert (f1["value"] == 1.0).all() and (f1["n"] == 3).all()
    files = runs["loc_report"]
    for stem in (f"{AXIS}_forensic", f"{AXIS}_overlays"):
        _figure_referenced(files, stem)
    md = files.markdown.read_text()
    section = _section(md)
    assert "| level | n | pixel F1 [95% CI] |" in section
    assert "| none | 3 (6 var.) | 1.000 [1.000, 1.000] |" in section
    assert "image EER (map max) [95% CI]" in section
    assert ("`loc`: pixel F1 1.000, pixel AUC 1.000 at level `none` of axis `forgery-jpeg` "
            "(manipulated, nothing done after; 3 sources), detection image AUC 1.000"
            ) in md.split("\n## ", 1)[0]  # fmt: skip
    fig = FIGURE_KINDS.get("forensic")(_view(runs["loc"].out))[0].fig
    titles = [ax.get_title() for ax in fig.axes]
    assert f"{AXIS}: detection" in titles and f"{AXIS}: detection, balanced accuracy" in titles
    det = fig.axes[titles.index(f"{AXIS}: detection")]
    assert det.get_ylabel() == "value (0 to 1; EER: lower is better)"
    labels = [t.get_text() for t in det.get_legend().texts]
    assert "image EER (map max)" in labels and "image AUC (map max)" in labels


def test_classifier_of_manipulated_gets_detection_rows_and_figures(runs):
    res = runs["det"]
    s = res.summary
    assert res.run["target"]["column"] == "manipulated"
    for level in LEVELS:
        at = s[(s["axis"] == AXIS) & (s["level"] == level)].set_index("metric")
        assert set(DETECTION) <= set(at.index), level
        assert at.loc["auc", "value"] == 1.0 and at.loc["eer", "value"] == 0.0
        assert at.loc["balanced_accuracy", "value"] == 1.0 and at.loc["auc", "n"] == 3
        assert "accuracy" in at.index  # the classification figures stay
    c = res.curves
    assert set(DETECTION) <= set(c.loc[c["axis"] == AXIS, "metric"])
    files = runs["det_report"]
    _figure_referenced(files, AXIS)  # accuracy and flip rate
    _figure_referenced(files, f"{AXIS}_forensic")
    assert not (files.out / "figures" / f"{AXIS}_overlays.png").exists()  # no maps
    section = _section(files.markdown.read_text())
    assert f"{AXIS}: accuracy and flip rate per level" in section
    assert f"{AXIS}: detection per level" in section
    for label in ("AUC (score)", "balanced accuracy (score)", "EER (score)"):
        assert f"{label} [95% CI]" in section, label
    assert "| none | 3 (9 var.) | 1.000 [1.000, 1.000]" in section
    fig = FIGURE_KINDS.get("forensic")(_view(res.out))[0].fig
    assert [ax.get_title() for ax in fig.axes] == [f"{AXIS}: detection",
                                                   f"{AXIS}: detection, balanced accuracy"]  # fmt: skip
    # "none" has no level value: categorical points with error bars, mild to severe
    eer = next(c for c in fig.axes[0].containers if c.get_label() == "EER (score)")
    np.testing.assert_allclose(eer.lines[0].get_ydata(), [0.0, 0.0, 0.0])
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == LEVELS


def test_regressor_of_primary_quality_gets_curves_tables_and_headline(runs):
    res = runs["reg"]
    c = res.curves
    c = c[(c["axis"] == AXIS) & (c["series"] == "all")].sort_values("rank")
    assert c["point"].drop_duplicates().tolist() == LEVELS
    mae = c[c["metric"] == "mae"]
    # none: the JPEG source only (Q85, off by 3); Q90: 2, 2, 3; Q70: 6, 6, 3
    np.testing.assert_allclose(mae["value"], [3.0, 7 / 3, 5.0])
    assert mae["n"].tolist() == [1, 3, 3]
    w5 = c[c["metric"] == "within_5"]
    np.testing.assert_allclose(w5["value"], [1.0, 1.0, 1 / 3])
    files = runs["reg_report"]
    _figure_referenced(files, f"{AXIS}_regression")
    md = files.markdown.read_text()
    assert ("`qf`: predicts `primary_quality`; clean MAE 3.00 (1 source), within 5 1.000; worst "
            "level `quality=70` on axis `forgery-jpeg` at MAE 5.00 (2.00 above)"
            ) in md.split("\n## ", 1)[0]  # fmt: skip
    section = _section(md)
    assert "| level | n | MAE [95% CI] | RMSE [95% CI] | within 5 [95% CI] |" in section
    assert "| clean | 1 | 3.00 [3.00, 3.00] | 3.00 [3.00, 3.00] | 1.000 [1.000, 1.000] |" in section
    q70 = r"\| quality=70 \| 3 \(9 var\.\) \| 5\.00 \[[\d.]+, [\d.]+\] \| 5\.20 "
    assert re.search(q70, section)
    assert "accuracy" not in section and "pixel" not in md
    assert "**MAE, RMSE, within 5**" in md
    tex = files.latex.read_text()
    assert r"\label{tab:degradebench-regression}" in tex and "MAE [95\\% CI]" in tex
    fig = FIGURE_KINDS.get("regression")(_view(res.out))[0].fig
    assert [ax.get_title() for ax in fig.axes] == [f"{AXIS}: error", f"{AXIS}: within 5"]
    assert fig.axes[0].get_ylabel() == "error in primary_quality units (lower is better)"
    drawn = fig.axes[0].containers[0]  # the MAE error bars, mild to severe
    np.testing.assert_allclose(drawn.lines[0].get_ydata(), [3.0, 7 / 3, 5.0])
    assert [t.get_text() for t in fig.axes[0].texts] == ["n=1", "n=3", "n=3"]
    clean = [ln for ln in fig.axes[0].get_lines() if ln.get_label().startswith("clean MAE")]
    assert len(clean) == 1 and clean[0].get_ydata()[0] == 3.0


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="needs pdflatex (texlive)")
def test_the_three_side_by_side_compile_in_latex(runs):
    tmp = runs["tmp"]
    files = write_report([tmp / "loc", tmp / "det", tmp / "reg"], tmp / "all", sheets=False)
    md = files.markdown.read_text()
    lead = md.split("\n## ", 1)[0]
    assert "`loc`: pixel F1" in lead and "`det`: clean accuracy" in lead
    assert "`qf`: predicts `primary_quality`" in lead
    section = _section(md)
    assert "qf accuracy" not in section and "loc accuracy" not in section
    for stem in (AXIS, f"{AXIS}_forensic", f"{AXIS}_regression", f"{AXIS}_overlays"):
        _figure_referenced(files, stem)
    out = files.out
    (out / "paper.tex").write_text(
        "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n"
        "\\usepackage{booktabs,longtable,array,graphicx}\n"
        "\\begin{document}\n\\input{report.tex}\n\\end{document}\n"
    )
    r = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "paper.tex"],
                       cwd=out, capture_output=True, text=True, timeout=240, check=False)  # fmt: skip
    log = (out / "paper.log").read_text(errors="replace")
    assert r.returncode == 0, log[-3000:]
    assert f"{AXIS}_regression.pdf" in log and f"{AXIS}_forensic.pdf" in log
    preds = pd.read_parquet(tmp / "reg" / "predictions.parquet")
    assert {"target", "prediction", "abs_error"} <= set(preds.columns)


def test_mask_and_output_messages_name_the_fix(ladder, tmp_path):
    out = shutil.copytree(ladder, tmp_path / "copy")
    man = read_manifest(out)
    masks = man[man["mask_path"].notna()]
    changed, gone = masks.iloc[0], masks.iloc[1]
    (out / changed["mask_path"]).write_bytes(b"not the mask")
    (out / gone["mask_path"]).unlink()
    loc = model_from_module(MapLookup(_truth_by_input(ladder)), name="loc", input_config=LOC)
    errors = evaluate(out, loc, tmp_path / "r", **OPTS).errors.set_index("variant_id")
    assert errors.loc[changed["variant_id"], "stage"] == "verify"
    assert errors.loc[gone["variant_id"], "stage"] == "mask"
    for vid, what in ((changed["variant_id"], "differs from the manifest's mask_sha256"),
                      (gone["variant_id"], "file not found")):  # fmt: skip
        msg = errors.loc[vid, "message"]
        assert what in msg and f"run 'degradebench verify {out}'" in msg, msg
        assert "regenerate the suite" in msg and "\n" not in msg

    class Nothing(torch.nn.Module):
        def forward(self, x):
            return None

    from degradebench.evaluators.models import ModelError

    with pytest.raises(ModelError) as exc:
        evaluate(ladder, model_from_module(Nothing(), name="none", input_config={"fit": "full"}),
                 tmp_path / "n", **OPTS)  # fmt: skip
    msg = str(exc.value)
    assert "returned NoneType, not a tensor; expected a tensor [N, C]" in msg
    assert "task: localization" in msg and "{'score': [N], 'map': [N, 1, h, w]}" in msg
