"""Reports of forensic results (issue 14 point 6): forensic curves, the optimistic label, the
per-level tables, overlay rows, the localizer's headline, LaTeX that compiles, and classification
reports unchanged. The results folders are written by hand, to the contract (results.py)."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _evalfix import TINY_CONFIG, TinyNet, make_manifest
from degradebench.evaluators import evaluate, model_from_module
from degradebench.evaluators.report import write_report
from degradebench.evaluators.report.build import axis_views
from degradebench.evaluators.report.figures import FIGURE_KINDS
from degradebench.evaluators.report.runs import load_models
from degradebench.evaluators.report.view import ReportOptions
from degradebench.evaluators.results import (
    AXIS_SUMMARY_COLUMNS,
    CURVE_COLUMNS,
    ERROR_COLUMNS,
    PREDICTION_COLUMNS,
    SUMMARY_COLUMNS,
)
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

SUITE = "forgery"
SOURCES = [f"s{i}" for i in range(5)]
# (axis, [(level, level_value)]) mild to severe; jpeg's "none" has no value: categorical points
AXES = [
    ("forgery-jpeg", [("none", np.nan), ("quality=90", 90.0), ("quality=70", 70.0)]),
    ("forgery-social", [("hops=1", 1.0), ("hops=2", 2.0), ("hops=3", 3.0)]),
]
PIXEL = ("pixel_f1", "pixel_auc", "pixel_mcc", "pixel_iou", "pixel_f1_best", "pixel_mcc_best")
DETECT = ("auc", "image_auc", "tpr_at_fpr", "eer")
OPTIMISTIC = "(optimistic: best threshold per image)"
SIZE = 64


def _value(metric: str, rank: int) -> float:
    """A different, recognisable value per metric and level (falls with severity)."""
    base = {"pixel_f1": 0.8, "pixel_auc": 0.9, "pixel_mcc": 0.7, "pixel_iou": 0.6,
            "pixel_f1_best": 0.85, "pixel_mcc_best": 0.75, "auc": 0.95, "image_auc": 0.88,
            "tpr_at_fpr": 0.5, "eer": 0.1}  # fmt: skip
    b = base.get(metric.split("[")[0], 0.5) - (0.05 if "[copy_move]" in metric else 0.0)
    return round(b - 0.2 * rank, 3) if metric != "eer" else round(b + 0.1 * rank, 3)


def _png(arr: np.ndarray, path: Path, mode: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(arr)
    (im.convert(mode) if mode else im).save(path)


def _manifest_files(root: Path, vid: str, k: int) -> tuple[str, str, np.ndarray]:
    """An image and its 1-bit mask under the manifest root (paths relative to it)."""
    rng = np.random.default_rng(k)
    img = rng.integers(0, 256, (SIZE, SIZE + 8, 3), dtype=np.uint8)
    mask = np.zeros((SIZE, SIZE + 8), bool)
    mask[10 + k : 40 + k, 12:44] = True
    _png(img, root / "variants" / f"{vid}.png")
    _png((mask * 255).astype(np.uint8), root / "masks" / f"{vid}.png", "1")
    return f"variants/{vid}.png", f"masks/{vid}.png", mask


def _rows(metrics, levels, axis, model, n) -> tuple[list[dict], list[dict]]:
    summ, curv = [], []
    for rank, (level, value) in enumerate(levels):
        for metric in metrics:
            v = _value(metric, rank)
            common = {"model": model, "axis": axis, "metric": metric, "value": v,
                      "ci_low": v - 0.05, "ci_high": v + 0.04, "n": n, "suite": SUITE,
                      "n_variants": n, "n_paired": 0, "delta_clean": np.nan}  # fmt: skip
            summ.append({**common, "level": level, "level_value": value,
                         "higher_is_better": metric != "eer"})  # fmt: skip
            curv.append({**common, "point": level, "x": value, "rank": rank, "series": "all"})
    return summ, curv


def write_localization_results(root: Path, model: str = "loc") -> Path:
    """A manifest folder (images, masks) and a localization RESULTS folder written by hand."""
    mroot, res = root / "manifest-out", root / model
    (res / "overlays").mkdir(parents=True, exist_ok=True)
    preds, summ, curv, overlays = [], [], [], []
    for sid in SOURCES:  # the clean variants: authentic
        row = dict.fromkeys(PREDICTION_COLUMNS)
        row.update(variant_id=f"clean-{sid}", source_id=sid, model=model, dataset="vc",
                   suite=SUITE, fold=0, axis="clean", level="clean", axis_params="{}",
                   manipulated=False, manipulation="none", sha256=f"clean-{sid}")  # fmt: skip
        preds.append(row)
    per_op = [f"{m}[{op}]" for op in ("copy_move", "splice") for m in ("pixel_f1", "pixel_auc")]
    for axis, levels in AXES:
        s, c = _rows([*PIXEL, *DETECT, *per_op], levels, axis, model, len(SOURCES))
        summ += s
        curv += c
        for rank, (level, value) in enumerate(levels):
            for k, sid in enumerate(SOURCES):
                for op in ("splice", "authentic"):
                    vid = f"{axis}-{rank}-{sid}-{op}"
                    row = dict.fromkeys(PREDICTION_COLUMNS)
                    # the lossless level's twin is the clean image, byte for byte (by design)
                    same = op == "authentic" and level == "none"
                    row.update(variant_id=vid, source_id=sid, model=model, dataset="vc",
                               suite=SUITE, fold=0, axis=axis, level=level, level_value=value,
                               axis_params="{}", path=f"variants/{vid}.png",
                               manipulated=op == "splice", manipulation=op,
                               sha256=f"clean-{sid}" if same else vid)  # fmt: skip
                    preds.append(row)
                    if op == "splice" and k < 3:
                        image, mask, truth = _manifest_files(mroot, vid, k)
                        pmap = (truth * (200 - 60 * rank) + 20).astype(np.uint8)
                        _png(pmap, res / "overlays" / f"{vid}.png")
                        overlays.append({"variant_id": vid, "suite": SUITE, "axis": axis,
                                         "level": level, "manipulation": op, "image": image,
                                         "mask": mask, "map": f"overlays/{vid}.png"})  # fmt: skip
    tables = {
        "predictions": pd.DataFrame(preds),
        "summary": pd.DataFrame(summ)[SUMMARY_COLUMNS],
        "curves": pd.DataFrame(curv)[CURVE_COLUMNS],
        "axis_summary": pd.DataFrame(columns=AXIS_SUMMARY_COLUMNS),
        "errors": pd.DataFrame(columns=ERROR_COLUMNS),
    }
    for name, df in tables.items():
        df.to_parquet(res / f"{name}.parquet", index=False)
    run = {"model": {"name": model, "spec": "reference-localizer", "kind": "builtin",
                     "weights_sha256": f"w-{model}",
                     "input_config": {"task": "localization", "fit": "full"}},
           "manifest": {"path": str(mroot), "metadata": {"suite": SUITE}},
           "config": {"resolved_device": "cpu", "fpr": 0.05}, "overlays": overlays,
           "key_sha256": f"key-{model}", "throughput": {"images_per_s": 10.0}}  # fmt: skip
    (res / "run.json").write_text(json.dumps(run))
    return res


@pytest.fixture(scope="module")
def forensic(tmp_path_factory):
    root = tmp_path_factory.mktemp("forensic")
    res = write_localization_results(root)
    files = write_report([res], root / "report", title="Forensic")
    return {"root": root, "res": res, "files": files}


def _views(results: list[Path]) -> dict:
    return {v.label: v for v in axis_views(load_models(results), ReportOptions())}


def _visible(html: str) -> str:
    html = re.sub(r"<svg.*?</svg>", "", html, flags=re.S)
    html = re.sub(r"data:[^'\"]+", "", html)
    return re.sub(r"<[^>]+>", " ", html)


def test_forensic_curves_are_drawn_per_axis_with_the_values_of_curves_parquet(forensic):
    names = {p.name for p in forensic["files"].figures}
    assert {"forgery-jpeg_forensic.png", "forgery-social_forensic.png"} <= names
    assert not any(n in names for n in ("forgery-jpeg.png", "forgery-jpeg_heatmap.png"))
    view = _views([forensic["res"]])["forgery-social"]
    fig = FIGURE_KINDS.get("forensic")(view)[0].fig
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [
        "forgery-social: localization",
        "forgery-social: localization, optimistic",
        "forgery-social: pixel F1 by manipulation",
        "forgery-social: detection",
    ]
    f1 = next(ln for ln in fig.axes[0].get_lines() if ln.get_label() == "pixel F1")
    assert list(f1.get_xdata()) == [1.0, 2.0, 3.0]  # hops: an ordered axis, a line
    assert fig.axes[0].get_xlabel() == "hops"  # named after the levels, not the drawn edits
    np.testing.assert_allclose(f1.get_ydata(), [0.8, 0.6, 0.4])
    by_op = {ln.get_label() for ln in fig.axes[2].get_lines()}
    assert {"pixel F1, copy_move", "pixel F1, splice"} <= by_op
    jpeg = FIGURE_KINDS.get("forensic")(_views([forensic["res"]])["forgery-jpeg"])[0].fig
    ticks = [t.get_text() for t in jpeg.axes[0].get_xticklabels()]
    assert ticks == ["none", "quality=90", "quality=70"]  # "none" has no value: categorical


def test_best_figures_are_labelled_optimistic_everywhere(forensic):
    view = _views([forensic["res"]])["forgery-jpeg"]
    fig = FIGURE_KINDS.get("forensic")(view)[0].fig
    labels = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().texts]
    best = [x for x in labels if "best" in x]
    assert len(best) == 2 and all(x.endswith(OPTIMISTIC) for x in best), labels
    files = forensic["files"]
    texts = {"md": files.markdown.read_text(), "html": _visible(files.html.read_text()),
             "tex": re.sub(r"\s*\\\\\s*", " ",  # header lines broken with \\
                           files.latex.read_text().replace(r",\allowbreak{}", ","))}  # fmt: skip
    for fmt, body in texts.items():
        flat = " ".join(body.split())
        assert flat.count("best") >= 2, fmt
        for hit in re.finditer(r"pixel (F1|MCC) best", flat):
            assert flat[hit.end() :].lstrip().startswith(OPTIMISTIC), (
                fmt,
                flat[hit.start() : hit.end() + 60],
            )


def test_tables_per_level_with_n(forensic):
    md = forensic["files"].markdown.read_text()
    section = md.split("## Axis `forgery-jpeg`", 1)[1].split("\n## ", 1)[0]
    assert "forgery-jpeg: localization per level" in section
    assert "| level | n | pixel F1 [95% CI] | pixel AUC [95% CI] |" in section
    assert "| quality=90 | 5 | 0.600 [0.550, 0.640] | 0.700 [0.650, 0.740] |" in section
    assert (
        "forgery-jpeg: detection per level" in section
        and "| none | 5 | 0.950 [0.900, 0.990]" in section
    )
    assert "pixel F1, splice [95% CI]" in section  # per manipulation
    assert "accuracy and flip rate per level" not in section  # a localizer has no accuracy
    assert "byte-identical" not in section  # the lossless twins equal clean by design
    tex = forensic["files"].latex.read_text()
    assert r"\label{tab:degradebench-localization}" in tex and r"\textbf{forgery-{}social}" in tex


def test_overlay_rows_are_files_the_report_embeds(forensic):
    files = forensic["files"]
    figdir = files.out / "figures"
    for axis in ("forgery-jpeg", "forgery-social"):
        png = figdir / f"{axis}_overlays.png"
        assert png.exists() and png in files.figures
        assert min(Image.open(png).info["dpi"]) >= 199.5
        data = base64.b64encode(png.read_bytes()).decode("ascii")
        assert data in files.html.read_text()
        assert f"figures/{axis}_overlays.png" in files.markdown.read_text()
        assert f"{{figures/{axis}_overlays.png}}" in files.latex.read_text()
    view = _views([forensic["res"]])["forgery-jpeg"]
    fig = FIGURE_KINDS.get("overlays")(view)[0].fig
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 3 * 3 * 3  # 3 levels x 3 variants x (image, mask, map)
    assert [panels[9 * r].get_ylabel() for r in range(3)] == ["none", "quality=90", "quality=70"]
    assert [ax.get_title() for ax in panels[:3]] == ["image", "true mask", "predicted map"]
    # the map panel shows the saved PNG / 255 with the heat-map colours, the mask its truth
    saved = np.asarray(Image.open(forensic["res"] / "overlays" / "forgery-jpeg-1-s0-splice.png"))
    shown = panels[9 + 2].images[0]
    np.testing.assert_allclose(shown.get_array(), saved / 255.0, atol=1e-6)
    assert shown.get_cmap().name == "inferno" and shown.get_clim() == (0.0, 1.0)
    mask = np.asarray(panels[9 + 1].images[0].get_array())
    assert mask.dtype == bool and mask[10:40, 12:44].all() and mask.sum() == 30 * 32


def test_overlay_panels_sit_on_a_fixed_grid(forensic):
    """No layout engine (it was half the drawing time): rows of equal panels that never
    overlap, the colour bar right of all of them, level labels and titles kept whole."""
    fig = FIGURE_KINDS.get("overlays")(_views([forensic["res"]])["forgery-jpeg"])[0].fig
    assert fig.get_layout_engine() is None
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    bar = next(ax for ax in fig.axes if ax.get_label() == "<colorbar>")
    boxes = [ax.get_position() for ax in panels]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a.x1 <= b.x0 or b.x1 <= a.x0 or a.y1 <= b.y0 or b.y1 <= a.y0
    assert [round(b.y0, 6) for b in boxes[::9]] == sorted({round(b.y0, 6) for b in boxes})[::-1]
    assert bar.get_position().x0 > max(b.x1 for b in boxes)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # every label and title inside the canvas, so the ink crop keeps them
    r = canvas.get_renderer()
    for t in [panels[0].yaxis.label, panels[0].title, fig._suptitle, bar.yaxis.label]:
        e = t.get_window_extent(r)
        assert e.x0 >= 0 and e.y0 >= 0 and e.x1 <= fig.bbox.x1 and e.y1 <= fig.bbox.y1, t


def test_overlay_with_a_missing_image_keeps_the_row(forensic, tmp_path):
    res = shutil.copytree(forensic["res"], tmp_path / "loc")
    run = json.loads((res / "run.json").read_text())
    run["manifest"]["path"] = str(tmp_path / "gone")  # the manifest moved away
    (res / "run.json").write_text(json.dumps(run))
    fig = FIGURE_KINDS.get("overlays")(_views([res])["forgery-jpeg"])[0].fig
    words = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert words.count("not found") == 3 * 3 * 2  # image and mask panels; the maps are there


def test_headline_quotes_the_localizer(forensic):
    md = forensic["files"].markdown.read_text()
    lead = md.split("\n## ", 1)[0]
    assert ("`loc`: pixel F1 0.800, pixel AUC 0.900 at level `none` of axis `forgery-jpeg` "
            "(manipulated, nothing done after; 5 sources), detection AUC 0.950; worst level "
            "`quality=70` on axis `forgery-jpeg` at pixel F1 0.400, pixel AUC 0.500 (0.400 below)"
            ) in lead  # fmt: skip
    assert "no labels, so no accuracy" not in lead


def test_definitions_name_the_forensic_figures(forensic):
    md = forensic["files"].markdown.read_text()
    glance = md.split("## Axes at a glance", 1)[1].split("\n## ", 1)[0]
    assert "**optimistic**" in glance and "**pixel F1, MCC, IoU, AUC**" in glance
    assert "AUC acc %" not in glance  # no accuracy overview for a localizer alone
    assert "**breaks at**" not in glance and "**n**" in glance


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="needs pdflatex (texlive)")
def test_latex_with_overlays_compiles(forensic):
    out = forensic["files"].out
    (out / "paper.tex").write_text(
        "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n"
        "\\usepackage{booktabs,longtable,array,graphicx}\n"
        "\\begin{document}\n\\input{report.tex}\n\\end{document}\n"
    )
    r = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "paper.tex"],
                       cwd=out, capture_output=True, text=True, timeout=240, check=False)  # fmt: skip
    log = (out / "paper.log").read_text(errors="replace")
    assert r.returncode == 0, log[-3000:]
    assert "forgery-jpeg_overlays.png" in log  # the overlay figure was included
    over = [float(x) for x in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert all(x <= 10 for x in over), (over, log[-3000:])


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    root = tmp_path_factory.mktemp("cls")
    m = make_manifest(root / "m", per_class=(2, 2, 1))
    model = model_from_module(TinyNet(seed=1), name="tiny", input_config=TINY_CONFIG)
    res = evaluate(m, model, root / "tiny", device="cpu", workers=0, n_boot=20, progress=False)
    return root, res.out


def _headings(md: str) -> list[str]:
    return [ln for ln in md.splitlines() if ln.startswith("## ")]


# the report of the same results before issue 14 had exactly these sections (checked once
# against the previous revision: report.md and report.tex byte-identical, the same figures)
CLASSIFICATION_HEADINGS = ["## Models", "## Axes at a glance", "## Axis `crop`",
                           "## Axis `double_jpeg`", "## Axis `jpeg`", "## Contact sheets",
                           "## Provenance"]  # fmt: skip


def test_classification_report_is_unchanged_in_structure(classifier):
    root, res = classifier
    files = write_report([res], root / "report")
    md = files.markdown.read_text()
    assert _headings(md) == CLASSIFICATION_HEADINGS
    names = sorted(p.name for p in files.figures if p.suffix == ".png")
    assert names == [
        "crop.png",
        "crop_heatmap.png",
        "double_jpeg.png",
        "double_jpeg_heatmap.png",
        "jpeg.png",
        "sheet_crop.png",
        "sheet_double_jpeg.png",
        "sheet_jpeg.png",
    ]
    for word in ("pixel", "optimistic", "overlay", "Forensic"):
        assert word not in md
    assert "clean accuracy" in md.split("\n## ", 1)[0]


def test_classifier_and_localizer_side_by_side(classifier, forensic, tmp_path):
    _, res = classifier
    files = write_report([res, forensic["res"]], tmp_path / "both")
    md = files.markdown.read_text()
    glance = md.split("## Axes at a glance", 1)[1].split("\n## ", 1)[0]
    assert "tiny AUC acc %" in glance and "loc AUC acc %" not in glance
    assert "| forgery-jpeg |" not in glance  # the localizer's axes: in their own sections
    jpeg = md.split("## Axis `jpeg`", 1)[1].split("\n## ", 1)[0]
    assert "loc accuracy" not in jpeg
    lead = md.split("\n## ", 1)[0]
    assert "`tiny`: clean accuracy" in lead and "`loc`: pixel F1 0.800" in lead
    assert "## Axis `forgery-social`" in md
    assert (files.out / "figures" / "forgery-social_overlays.png").exists()
    n_var = len(pd.read_parquet(res / "predictions.parquet")) + 2 * 3 * 5 * 2 + 5
    assert f"source images, {n_var} variants)" in lead  # both models' variants are counted
    view = _views([res, forensic["res"]])["forgery-social"]
    fig = FIGURE_KINDS.get("forensic")(view)[0].fig
    labels = [t.get_text() for t in fig.axes[0].get_legend().texts]
    assert labels[:2] == ["pixel F1", "pixel AUC"]  # the classifier has no forensic figures here


# --- the demo's forensic part (bench/_demo_forensic.py) -----------------------------------------


def test_demo_subset_config_keeps_the_named_levels_in_ladder_order(tmp_path):
    from degradebench._demo_forensic import subset_config
    from degradebench.appdata import ForensicDemo, demo_settings
    from degradebench.generators.config import load_config

    shipped = Path(__file__).parents[1] / "generators" / "datasets.yaml"
    levels = {"forgery-jpeg": ["quality=70", "none"], "forgery-crop": ["dy=3,dx=5"]}
    demo = ForensicDemo(suite="forgery", model="reference-localizer", levels=levels,
                        ops=["splice"])  # fmt: skip
    path = subset_config(shipped, demo, tmp_path / "f.yaml", "virtual-cameras", tmp_path / "vc")
    cfg = load_config(path)
    suite = cfg.suite("forgery").raw
    assert list(suite["axes"]) == ["clean", "forgery-jpeg", "forgery-crop"]
    assert list(suite["axes"]["forgery-jpeg"]["ladder"]) == ["none", "quality=70"]  # YAML order
    assert "Demo subset" in cfg.suite("forgery").description
    assert suite["axes"]["forgery-crop"]["ops"] == ["splice"]
    assert cfg.dataset("virtual-cameras").root == str(tmp_path / "vc")
    assert demo_settings().forensic.axes == ("forgery-jpeg", "forgery-crop", "forgery-social")


@pytest.mark.parametrize(("levels", "ops", "message"), [
    ({"forgery-jpg": ["none"]}, (), "suite 'forgery' has no axis 'forgery-jpg'; it has: "
     "forgery-jpeg, forgery-double-jpeg"),
    ({"forgery-crop": ["dy=3"]}, (), "forgery-crop: no level 'dy=3' in its ladder; levels: "
     "dy=1,dx=1"),
    ({"forgery-crop": ["dy=3,dx=5"]}, ("splise",), "ops: axis 'forgery-crop' of suite 'forgery' "
     "has no op 'splise'; its ops: splice, copy_move, inpaint, retouch"),
])  # fmt: skip
def test_demo_subset_names_what_is_missing(tmp_path, levels, ops, message):
    from degradebench._demo_forensic import subset_config
    from degradebench.appdata import ForensicDemo
    from degradebench.generators.core.errors import ConfigError

    shipped = Path(__file__).parents[1] / "generators" / "datasets.yaml"
    demo = ForensicDemo(suite="forgery", model="reference-localizer", levels=levels, ops=ops)
    with pytest.raises(ConfigError, match=re.escape(message)):
        subset_config(shipped, demo, tmp_path / "f.yaml", "virtual-cameras", tmp_path / "vc")


def test_demo_settings_refuse_a_level_string_unquoted():
    from degradebench.appdata import ForensicDemo
    from degradebench.generators.core.errors import ConfigError

    with pytest.raises(
        ConfigError, match=r"levels.forgery-crop: must be a list of level names \(quote"
    ):
        ForensicDemo(suite="forgery", model="m", levels={"forgery-crop": "dy=3,dx=5"})


def test_demo_prints_the_localizer_curve(forensic, capsys):
    from degradebench._demo_forensic import localizer_figures, print_localizer
    from degradebench.appdata import ForensicDemo

    levels = {"forgery-jpeg": ["none", "quality=70"], "forgery-social": ["hops=1"]}
    demo = ForensicDemo(suite=SUITE, model="loc", levels=levels, ops=["splice"])
    rows = localizer_figures(forensic["res"], demo)
    print_localizer({"model": "loc", "suite": SUITE}, rows, demo.ops)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("loc on the 'forgery' suite (splice vs authentic twins): pixel F1 / pixel "
                      "AUC / detection AUC, per level")  # fmt: skip
    assert out[1].split() == ["forgery-jpeg", "none", "0.800", "/", "0.900", "/", "0.950", "<-",
                              "clean", "(nothing", "done", "after", "the", "edit)"]  # fmt: skip
    assert out[2].split() == ["forgery-jpeg", "quality=70", "0.400", "/", "0.500", "/", "0.550"]
    assert out[3].split() == ["forgery-social", "hops=1", "0.800", "/", "0.900", "/", "0.950"]


def test_a_detector_keeps_its_accuracy_and_gets_detection_figures(classifier, tmp_path):
    """A classifier of ``--target manipulated``: accuracy as before plus auc & co per level."""
    _, res = classifier
    det = shutil.copytree(res, tmp_path / "det")
    s, c = (pd.read_parquet(det / f"{n}.parquet") for n in ("summary", "curves"))
    acc_s, acc_c = s[s["metric"] == "accuracy"], c[c["metric"] == "accuracy"]
    extra_s = [acc_s.assign(metric=m, value=v) for m, v in (("auc", 0.91), ("eer", 0.12))]
    extra_c = [acc_c.assign(metric=m, value=v) for m, v in (("auc", 0.91), ("eer", 0.12))]
    pd.concat([s, *extra_s]).to_parquet(det / "summary.parquet", index=False)
    pd.concat([c, *extra_c]).to_parquet(det / "curves.parquet", index=False)
    files = write_report([det], tmp_path / "report")
    md = files.markdown.read_text()
    jpeg = md.split("## Axis `jpeg`", 1)[1].split("\n## ", 1)[0]
    assert "jpeg: accuracy and flip rate per level" in jpeg  # the classifier's table stays
    assert "jpeg: detection per level" in jpeg and "AUC (score) [95% CI]" in jpeg
    assert "localization per level" not in jpeg  # no map, no pixel figures
    names = {p.name for p in files.figures}
    assert {"jpeg.png", "jpeg_forensic.png"} <= names and "jpeg_overlays.png" not in names
    view = _views([det])["jpeg"]
    fig = FIGURE_KINDS.get("forensic")(view)[0].fig
    assert [ax.get_title() for ax in fig.axes] == ["jpeg: detection"]
    assert "clean accuracy" in md.split("\n## ", 1)[0]
