"""Reports: files, tables, and the HTML rendered in headless Chromium with every figure visible."""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _evalfix import TINY_CONFIG, ConstantNet, TinyNet, make_manifest
from degradebench.cli import main
from degradebench.evaluators import evaluate, model_from_module, write_report
from PIL import Image

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("rep")
    m = make_manifest(root / "m", per_class=(2, 2, 1))
    kw = {"device": "cpu", "workers": 0, "n_boot": 100, "progress": False}
    a = evaluate(m, model_from_module(TinyNet(seed=1), name="tiny", input_config=TINY_CONFIG),
                 root / "tiny", **kw)  # fmt: skip
    b = evaluate(m, model_from_module(ConstantNet(0), name="const", input_config=TINY_CONFIG),
                 root / "const", baseline=root / "tiny", **kw)  # fmt: skip
    files = write_report([a.out, b.out], root / "report", title="Tiny & const")
    return files


def test_report_files_and_figures(report):
    names = sorted(p.name for p in report.figures)
    for axis in ("jpeg", "crop", "double_jpeg"):
        assert f"{axis}.png" in names and f"{axis}.pdf" in names
        assert f"{axis}.svg" not in names  # read by no renderer: HTML embeds the PNG
    # two-parameter axes get heat maps; the one-parameter JPEG ladder does not
    assert {"crop_heatmap.png", "double_jpeg_heatmap.png"} <= set(names)
    assert "crop_heatmap.pdf" not in names  # a raster figure: PNG only
    assert "jpeg_heatmap.png" not in names
    for p in report.figures:
        assert p.stat().st_size > 1000
        if p.suffix == ".png":
            assert Image.open(p).size[0] > 300


def test_markdown_and_latex_put_models_side_by_side(report):
    md = report.markdown.read_text()
    assert "tiny accuracy % [95% CI]" in md and "const accuracy % [95% CI]" in md
    assert "![jpeg curves](figures/jpeg.png)" in md
    assert "McNemar" in md and "const | mce" in md
    tex = report.latex.read_text()
    assert r"\begin{tabular}" in tex and r"\toprule" in tex and "Tiny" not in tex
    assert r"double\_jpeg" in tex and r"95\% bootstrap CI" in tex


def test_html_is_self_contained(report):
    html = report.html.read_text()
    assert "data:image/png;base64," in html
    for p in report.figures:  # every figure shown, as the PNG itself
        if p.suffix == ".png":
            assert base64.b64encode(p.read_bytes()).decode("ascii") in html, p.name
    # nothing fetched from disk or network
    assert not re.search(r"""(src|href)=['"](?!data:|#)""", html)
    assert "Tiny &amp; const" in html


_CHECK_JS = """
<script>
window.addEventListener('load', () => {
  const figs = [...document.querySelectorAll('figure')].map((f) => {
    const el = f.querySelector('img, svg');
    const r = el.getBoundingClientRect();
    const ok = el.tagName.toLowerCase() === 'img'
      ? el.complete && el.naturalWidth > 0 && el.naturalHeight > 0
      : r.width > 0 && r.height > 0;
    return {tag: el.tagName.toLowerCase(), ok, x: r.left + scrollX, y: r.top + scrollY,
            w: r.width, h: r.height};
  });
  const pre = document.createElement('pre');
  pre.id = 'figure-check';
  pre.textContent = JSON.stringify({figs, height: document.documentElement.scrollHeight});
  document.body.appendChild(pre);
});
</script>
"""

_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--hide-scrollbars", "--force-device-scale-factor=1"]  # fmt: skip


def _chromium(args: list[str], profile: Path) -> str:
    cmd = [str(CHROMIUM), *_FLAGS, f"--user-data-dir={profile}", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs /usr/bin/chromium (apt-get install chromium)"
)
def test_html_renders_every_figure_in_headless_chromium(report, tmp_path):
    html = report.html.read_text()
    n_figures = html.count("<figure")
    assert n_figures == 5  # jpeg, crop (+ heat map), double_jpeg (+ heat map)
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", _CHECK_JS + "</body>"))
    dom = _chromium(["--virtual-time-budget=3000", "--window-size=1280,1000", "--dump-dom",
                     probe.as_uri()], tmp_path / "profile1")  # fmt: skip
    found = re.search(r'<pre id="figure-check">(.*?)</pre>', dom, re.S)
    assert found, "the page's load handler did not run"
    check = json.loads(found.group(1).replace("&quot;", '"'))
    figs = check["figs"]
    assert len(figs) == n_figures
    assert {f["tag"] for f in figs} == {"img"}
    assert all(f["ok"] for f in figs), figs

    # Screenshot the whole page and look inside each figure's box: it must hold a drawing.
    height = min(int(check["height"]) + 10, 16000)
    shot = tmp_path / "shot.png"
    _chromium(["--virtual-time-budget=3000", f"--window-size=1280,{height}",
               f"--screenshot={shot}", report.html.as_uri()], tmp_path / "profile2")  # fmt: skip
    img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    for f in figs:
        x0, y0 = int(f["x"]), int(f["y"])
        box = img[y0 : y0 + int(f["h"]), x0 : x0 + int(f["w"])]
        assert box.size, f
        dark = (box.sum(axis=2) < 300).mean()  # axes, ticks and text
        colours = len(np.unique(box.reshape(-1, 3), axis=0))
        assert dark > 0.005 and colours > 20, (f, dark, colours)


def test_report_cli(report, tmp_path, capsys):
    results = [str(report.out.parent / "tiny"), str(report.out.parent / "const")]
    assert main(["report", *results, "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "report.html" in out and (tmp_path / "r" / "report.html").exists()
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "x")]) == 2
    assert "not an evaluate results folder" in capsys.readouterr().err


def test_axis_summary_file_has_documented_figures(report):
    ax = pd.read_parquet(report.out.parent / "const" / "axis_summary.parquet")
    assert {"auc_accuracy", "breaking_level", "ce", "relative_ce", "mce"} <= set(ax["metric"])
    assert set(ax.loc[ax["metric"] == "ce", "baseline"]) == {"tiny"}
    run = json.loads((report.out.parent / "const" / "run.json").read_text())
    assert run["model"]["input_config"]["input_size"] == [16, 16]
    assert "torch" in run["library_versions"] and run["config"]["baseline_model"] == "tiny"
