"""Writing report figures (evaluators/report/figures/save.py): one draw per format, the PNG
cropped to its drawn pixels, and text past the canvas still kept whole."""

from __future__ import annotations

import numpy as np
from degradebench.evaluators.report.figures.save import DPI, write_figure
from matplotlib.figure import Figure
from PIL import Image


def _chart() -> Figure:
    fig = Figure(figsize=(3, 2), layout="constrained")
    ax = fig.add_subplot()
    ax.plot([0, 1, 2], [1, 0, 2], marker="o")
    ax.set_title("t")
    ax.set_xlabel("x")
    return fig


def test_png_and_pdf_take_one_draw_each(tmp_path, monkeypatch):
    fig = _chart()
    draws = []
    original = Figure.draw

    def counting(self, renderer):
        draws.append(type(renderer).__name__)
        return original(self, renderer)

    monkeypatch.setattr(Figure, "draw", counting)
    files = write_figure(fig, tmp_path / "c", ("png", "pdf"))
    assert sorted(files) == ["pdf", "png"] and all(p.stat().st_size for p in files.values())
    assert len(draws) == 2, draws  # a layout placeholder would add a dry-run draw per savefig
    assert fig.get_layout_engine() is None


def test_png_is_cropped_to_its_ink_plus_padding(tmp_path):
    fig = Figure(figsize=(4, 3))
    fig.patch.set_facecolor("white")
    fig.text(0.5, 0.5, "ink", fontsize=20)
    png = write_figure(fig, tmp_path / "t", ("png",))["png"]
    px = np.asarray(Image.open(png).convert("L"))
    pad = round(0.1 * DPI)  # savefig.pad_inches
    dark = np.argwhere(px < 255)
    assert px.shape[0] < 3 * DPI and px.shape[1] < 4 * DPI  # cropped, not the whole canvas
    top, left = dark.min(axis=0)
    bottom, right = dark.max(axis=0)
    assert (top, left) == (pad, pad)
    assert (px.shape[0] - 1 - bottom, px.shape[1] - 1 - right) == (pad, pad)
    assert Image.open(png).info["dpi"] == (DPI, DPI) or min(Image.open(png).info["dpi"]) > 199


def test_text_past_the_canvas_is_kept_whole(tmp_path):
    fig = Figure(figsize=(2, 1))
    fig.text(-0.4, 0.5, "a long label reaching out", fontsize=10)  # ~1.7 in, 0.8 in past the edge
    png = write_figure(fig, tmp_path / "o", ("png",))["png"]
    # the canvas shows only the ~0.9 in right of its edge (~1.1 in with padding): the file has
    # the whole label plus padding
    assert Image.open(png).size[0] > 1.5 * DPI
