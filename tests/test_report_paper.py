"""Paper-ready reports (issue 12 points 7 and 8): figure rules, honest tables, LaTeX that fits."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _evalfix import TINY_CONFIG, ConstantNet, TinyNet, make_manifest
from degradebench.cli import main
from degradebench.evaluators import evaluate, model_from_module
from degradebench.evaluators.report import write_report
from degradebench.evaluators.report.build import axis_views
from degradebench.evaluators.report.figures import FIGURE_KINDS
from degradebench.evaluators.report.runs import load_models
from degradebench.evaluators.report.view import ReportOptions
from degradebench.generators.core.errors import ConfigError
from PIL import Image

CHROMIUM = Path("/usr/bin/chromium")
KW = {"device": "cpu", "workers": 0, "n_boot": 50, "progress": False}


def _derived_axis(rows: pd.DataFrame, axis: str, spec: list[tuple[str, float, dict]]) -> list:
    """New manifest rows on ``axis`` that reuse the files of ``rows`` (one row per source)."""
    out = []
    for (_sid, g), (level, value, params) in (
        (s, lv) for s in rows.groupby("source_id") for lv in spec
    ):
        r = g.iloc[0].to_dict()
        r.update(axis=axis, level=level, level_value=value, axis_params=json.dumps(params))
        r["variant_id"] = hashlib.sha256(f"{r['source_id']}|{axis}|{level}".encode()).hexdigest()
        out.append(r)
    return out


def _with_hops_and_resize(out: Path) -> Path:
    """The tiny manifest plus a hop axis, a resize-family axis and a codec axis whose levels
    differ by library at shared qualities (files reused, labels new)."""
    part = out / "manifest" / "part-0.parquet"
    df = pd.read_parquet(part)
    jpeg = df[df["axis"] == "jpeg"]
    hops = [(str(k), float(k), {"hops": k, "journey": ["whatsapp-like"] * k}) for k in (1, 2, 3)]
    resize = []
    for backend, aa in (("pillow", True), ("opencv", False)):
        for method in ("bilinear", "bicubic"):
            for scale in (0.5, 2.0):
                p = {"antialias": aa, "backend": backend, "dtype": "uint8", "method": method,
                     "rounding": None, "scale": scale}  # fmt: skip
                resize.append((f"{backend},{method},x{scale:g}", scale, p))
    codec = [(f"q={q},enc={e}", float(q), {"encoder": e, "encoder_implementation": f"lib-{e}",
                                           "quality": q})
             for q in (90, 50) for e in ("pillow", "libjpeg-6b", "mozjpeg")]  # fmt: skip
    new = _derived_axis(jpeg[jpeg["level"] == "50"], "whatsapp-like", hops)
    new += _derived_axis(jpeg[jpeg["level"] == "90"], "resize", resize)
    new += _derived_axis(jpeg[jpeg["level"] == "10"], "codec", codec)
    pd.concat([df, pd.DataFrame(new)], ignore_index=True).to_parquet(part, index=False)
    return out


@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    root = tmp_path_factory.mktemp("paper")
    m = _with_hops_and_resize(make_manifest(root / "m", per_class=(2, 2, 1)))
    # a second suite whose crop axis is a pass-through (every variant byte-identical to clean)
    m2 = make_manifest(root / "m2", per_class=(2, 2, 1), suite="other", crops=((0, 0),),
                       qualities=(50,), double=())  # fmt: skip
    tiny = lambda: model_from_module(TinyNet(seed=1), name="tiny", input_config=TINY_CONFIG)  # noqa: E731
    a = evaluate(m, tiny(), root / "tiny", **KW)
    b = evaluate(m2, tiny(), root / "tiny-other", **KW)
    c = evaluate(m, model_from_module(ConstantNet(0), name="const", input_config=TINY_CONFIG),
                 root / "const", **KW)  # fmt: skip
    results = [a.out, b.out, c.out]
    files = write_report(results, root / "report", title="Paper")
    return {"root": root, "results": results, "files": files, "manifest": m}


def _views(paper, min_count: int = 10):
    models = load_models(paper["results"])
    opts = ReportOptions(min_count=min_count, heatmap_pairs=(("dy", "dx"), ("q1", "q2")))
    return {v.label: v for v in axis_views(models, opts)}


def _visible_text(html: str) -> str:
    html = re.sub(r"<svg.*?</svg>", "", html, flags=re.S)
    html = re.sub(r"data:[^'\"]+", "", html)
    return re.sub(r"<[^>]+>", " ", html)


def test_every_png_is_200_dpi_charts_also_pdf(paper):
    """The formats each renderer needs, no more: a chart as PNG (Markdown, HTML) and PDF
    (LaTeX); a raster figure (heat map, contact sheet) as PNG only; no SVG (read by nothing)."""
    figs = paper["files"].figures
    pngs = [p for p in figs if p.suffix == ".png"]
    assert any(p.name.startswith("sheet_") for p in pngs)  # contact sheets too
    for p in pngs:
        dpi = Image.open(p).info.get("dpi", (0, 0))
        assert min(dpi) >= 199.5, (p.name, dpi)
        raster = p.name.startswith("sheet_") or p.stem.endswith("_heatmap")
        pdf = p.with_suffix(".pdf")
        assert pdf.exists() != raster and (pdf in figs) != raster, p.name
        assert not p.with_suffix(".svg").exists(), p.name
    assert any(p.stem.endswith("_heatmap") for p in pngs)
    assert any(p.suffix == ".pdf" for p in figs)


def test_same_model_on_two_suites_is_one_model_and_axes_stay_apart(paper):
    md = paper["files"].markdown.read_text()
    overview = md.split("## Axes at a glance", 1)[1].split("\n## ", 1)[0]
    assert overview.count("tiny AUC acc %") == 1 and overview.count("const AUC acc %") == 1
    assert "| crop (default) |" in overview and "crop (other)" in overview
    names = {p.name for p in paper["files"].figures}
    assert {"default-crop.png", "other-crop.png"} <= names  # never one figure for both


def test_identical_axis_is_marked_not_presented_as_robust(paper):
    md = paper["files"].markdown.read_text()
    section = md.split("## Axis `crop (other)`", 1)[1].split("\n## ", 1)[0]
    assert "identical to clean: re-encode skipped" in section
    assert "crop (other) (identical to clean: re-encode skipped)" in md
    # the other suite's crop has one zero-offset level only: named, not the whole axis
    section = md.split("## Axis `crop (default)`", 1)[1].split("\n## ", 1)[0]
    assert "byte-identical to clean" in section and "dy=0,dx=0 (5 of 5)" in section


def test_html_headline_definitions_no_markdown_no_nan(paper):
    html = paper["files"].html.read_text()
    body = html.split("<body>", 1)[1]
    assert body.startswith("<h1>Paper</h1>") and "<p class='headline'>" in body[:400]
    head = re.search(r"<p class='headline'>(.*?)</p>", body, re.S).group(1)
    assert "clean accuracy" in head and "lowest AUC on axis" in head
    assert ("worst level" in head and "points below clean" in head) or "no level is below" in head
    for term in ("AUC", "breaks at", "flip rate", "CE"):
        assert f"<dt>{term}</dt>" in html
    text = _visible_text(html)
    assert "**" not in text and "`" not in text and "](" not in text
    for doc in (text, paper["files"].markdown.read_text(), paper["files"].latex.read_text()):
        assert not re.search(r"\bnan\b", doc, re.I)
    assert "class='table-wrap'" in html and "overflow-x:auto" in html


def test_categorical_levels_are_points_ordered_axes_are_lines(paper):
    views = _views(paper)
    crop = FIGURE_KINDS.get("curve")(views["crop (default)"])[0].fig
    for ax in crop.axes:
        data = [ln for ln in ax.get_lines() if len(ln.get_xdata()) >= 2
                and not ln.get_label().startswith(("clean", "chance"))]  # fmt: skip
        assert data and all(ln.get_linestyle() == "None" for ln in data)
        assert ax.get_xlabel().startswith("level (dy, dx")
    ticks = [t.get_text() for t in crop.axes[0].get_xticklabels()]
    assert "dy=3,dx=5" in ticks and "3x5" not in ticks
    jpeg = FIGURE_KINDS.get("curve")(views["jpeg (default)"])[0].fig
    acc = jpeg.axes[0]
    assert any(ln.get_linestyle() == "-" and len(ln.get_xdata()) == 3 for ln in acc.get_lines())
    assert acc.get_xlabel() == "JPEG quality"
    labels = [t.get_text() for t in jpeg.legends[0].get_texts()]
    assert "chance (1/3)" in labels and any(lb.startswith("clean") for lb in labels)
    assert not acc.get_legend()  # the legend sits outside the axes


def test_hop_axes_have_integer_ticks_labelled_hops(paper):
    fig = FIGURE_KINDS.get("curve")(_views(paper)["whatsapp-like"])[0].fig
    ax = fig.axes[0]
    assert ax.get_xlabel() == "hops"
    fig.canvas.draw() if hasattr(fig.canvas, "draw") else None
    ticks = [t for t in ax.get_xticks() if 1 <= t <= 3]
    assert ticks and all(float(t).is_integer() for t in ticks)


def test_resize_keeps_its_library_dimension(paper):
    names = {p.name for p in paper["files"].figures}
    assert {"resize_bicubic.png", "resize_bilinear.png"} <= names
    assert "resize.png" not in names  # libraries are never pooled into one curve
    drawn = FIGURE_KINDS.get("paths")(_views(paper)["resize"])
    labels = {t.get_text() for d in drawn for t in d.fig.legends[0].get_texts()}
    assert {"tiny: pillow, aa=on", "tiny: opencv, aa=off"} <= labels
    assert drawn[0].fig.axes[0].get_xlabel() == "scale factor"


def test_heatmap_shows_n_and_greys_out_small_cells(paper):
    view = _views(paper, min_count=10)["crop (default)"]
    fig = FIGURE_KINDS.get("heatmap")(view)[0].fig
    ax = fig.axes[0]
    assert any("n=5" in t.get_text() for t in ax.texts)
    shown = np.ma.masked_invalid(ax.images[0].get_array())
    assert shown.count() == 0  # 5 sources < 10: every cell greyed out
    fig = FIGURE_KINDS.get("heatmap")(_views(paper, min_count=5)["crop (default)"])[0].fig
    assert np.ma.masked_invalid(fig.axes[0].images[0].get_array()).count() == 2


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="needs pdflatex (texlive)")
def test_latex_compiles_in_a_one_column_article_without_overfull_boxes(paper):
    out = paper["files"].out
    tex = paper["files"].latex.read_text()
    assert r"\includegraphics" in tex and r"\toprule" in tex
    (out / "paper.tex").write_text(
        "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n"
        "\\usepackage{booktabs,longtable,array,graphicx}\n"
        "\\begin{document}\n\\input{report.tex}\n\\end{document}\n"
    )
    r = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "paper.tex"],
                       cwd=out, capture_output=True, text=True, timeout=240, check=False)  # fmt: skip
    log = (out / "paper.log").read_text(errors="replace")
    assert r.returncode == 0, log[-3000:]
    over = [float(x) for x in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert all(x <= 10 for x in over), (over, log[-3000:])


_CLIP_JS = """
<script>
window.addEventListener('load', () => {
  const wraps = [...document.querySelectorAll('table')].map((t) => {
    const w = t.parentElement;
    const scrolls = ['auto', 'scroll'].includes(getComputedStyle(w).overflowX);
    return {wrapped: w.classList.contains('table-wrap'), scrolls,
            clipped: !scrolls && w.scrollWidth > w.clientWidth, wide: t.scrollWidth > w.clientWidth};
  });
  const pre = document.createElement('pre');
  pre.id = 'clip-check';
  pre.textContent = JSON.stringify({wraps, nan: /\\bnan\\b/i.test(document.body.innerText)});
  document.body.appendChild(pre);
});
</script>
"""


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")
def test_html_in_chromium_has_no_clipped_table_and_no_nan(paper, tmp_path):
    html = paper["files"].html.read_text()
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", _CLIP_JS + "</body>"))
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=3000",
           "--window-size=700,900", "--dump-dom", probe.as_uri()]  # fmt: skip
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    found = re.search(r'<pre id="clip-check">(.*?)</pre>', r.stdout, re.S)
    assert found, "the page's load handler did not run"
    check = json.loads(found.group(1).replace("&quot;", '"'))
    assert not check["nan"]
    wraps = check["wraps"]
    assert wraps and all(w["wrapped"] and w["scrolls"] and not w["clipped"] for w in wraps)
    assert any(w["wide"] for w in wraps)  # at 700 px some table is wider: it scrolls


def test_sheet_cli_and_report_section(paper, tmp_path, capsys):
    m = str(paper["manifest"])
    dest = tmp_path / "sheet.png"
    assert main(["sheet", m, "--out", str(dest), "--axis", "jpeg"]) == 0
    assert "sheet:" in capsys.readouterr().out
    im = Image.open(dest)
    assert min(im.info["dpi"]) >= 199.5 and im.size[0] > 600
    assert main(["sheet", m, "--out", str(dest), "--axis", "jpg"]) == 2
    assert "--axis 'jpg': no variants on that axis" in capsys.readouterr().err
    assert main(["sheet", m, "--out", str(tmp_path / "z.png"), "--axis", "crop", "--zoom", "8"]) == 0
    assert main(["sheet", m, "--out", str(tmp_path / "z.png"), "--zoom", "2"]) == 2
    assert "--zoom 2: give the crop size in pixels" in capsys.readouterr().err
    assert main(["sheet", m, "--out", str(tmp_path / "all.png")]) == 0
    assert (tmp_path / "all_crop.png").exists() and (tmp_path / "all_double_jpeg.png").exists()
    md = paper["files"].markdown.read_text()
    assert "## Contact sheets" in md and "figures/sheet_jpeg.png" in md


def test_libraries_are_categories_not_pooled_into_one_curve(paper):
    drawn = FIGURE_KINDS.get("libraries")(_views(paper)["codec"])
    assert len(drawn) == 1 and not FIGURE_KINDS.get("curve")(_views(paper)["codec"])
    ax = drawn[0].fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["libjpeg-6b", "mozjpeg", "pillow"]
    assert ax.get_xlabel() == "encoder"  # encoder_implementation adds nothing: not named
    data = [ln for ln in ax.get_lines() if len(ln.get_xdata()) >= 2
            and not ln.get_label().startswith(("clean", "chance"))]  # fmt: skip
    assert data and all(ln.get_linestyle() == "None" for ln in data)
    md = paper["files"].markdown.read_text()
    section = md.split("## Axis `codec`", 1)[1].split("\n## ", 1)[0]
    assert "| q=50,enc=libjpeg-6b |" in section and "| q=90,enc=pillow |" in section


def test_report_options_are_checked(paper, tmp_path, capsys):
    res = [str(r) for r in paper["results"][:1]]
    assert main(["report", *res, "--out", str(tmp_path / "r"), "--min-count", "-1"]) == 2
    assert "--min-count must be a whole number >= 0, got -1" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="unknown figure kind 'curves'; did you mean 'curve'"):
        write_report(res, tmp_path / "r2", figures=["curves"])
