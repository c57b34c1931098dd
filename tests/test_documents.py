"""Synthetic documents (issue 17, D1): rendering, the vector-exact layout, draw_field."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest
from degradebench.generators.documents import (
    DOCUMENT_KINDS,
    FONT_FAMILIES,
    draw_field,
    font_path,
    redraw_mark,
    render_document,
)
from PIL import Image, ImageDraw, ImageFont

DPI = 75  # small pages: A4 is 620 x 877 px
FIELD_KINDS = {"text", "amount", "date", "name", "address", "table_cell", "signature", "stamp",
               "logo"}  # fmt: skip
MARKS = {"signature", "stamp", "logo"}


@pytest.fixture(scope="module")
def pages():
    return {kind: render_document(kind, 3, dpi=DPI) for kind in DOCUMENT_KINDS}


def _ink_box(diff: np.ndarray):
    rows, cols = np.flatnonzero(diff.any(axis=1)), np.flatnonzero(diff.any(axis=0))
    if rows.size == 0:
        return None
    return [int(rows[0]), int(cols[0]), int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)]


def _field(page, name):
    return next(f for f in page.layout["fields"] if f["name"] == name)


def test_contract_shape_and_layout(pages):
    for kind, page in pages.items():
        img, lay = page.image, page.layout
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
        assert lay["kind"] == kind and lay["seed"] == 3 and lay["dpi"] == DPI
        assert lay["size"] == list(img.shape[:2])
        assert json.loads(json.dumps(lay)) == lay  # JSON-able as is
        names = [f["name"] for f in lay["fields"]]
        assert len(names) == len(set(names)), kind
        h, w = img.shape[:2]
        for f in lay["fields"]:
            assert set(f) >= {"name", "kind", "content", "box", "font"}, f
            assert f["kind"] in FIELD_KINDS, f
            t, left, bh, bw = f["box"]
            assert bh > 0 and bw > 0 and t >= 0 and left >= 0 and t + bh <= h and left + bw <= w, f
            if f["kind"] in MARKS:
                assert f["font"] is None
            else:
                assert f["font"]["family"] in FONT_FAMILIES and f["font"]["size_px"] >= 4
    kinds = {f["kind"] for f in pages["invoice"].layout["fields"]}
    assert kinds == FIELD_KINDS  # an invoice has every field kind, a table and all three marks


def test_page_sizes_in_mm():
    assert render_document("invoice", 1, dpi=DPI).image.shape[:2] == (877, 620)  # A4
    assert render_document("form", 1, dpi=DPI).image.shape[:2] == (620, 437)  # A5
    assert render_document("receipt", 1, dpi=DPI).image.shape[1] == 236  # 80 mm roll
    small = render_document("invoice", 1, dpi=DPI, page_mm=(148, 210))
    assert small.image.shape[:2] == (620, 437) and small.layout["page_mm"] == [148.0, 210.0]


def _alone_text(field, paper, shape):
    """The field drawn by Pillow itself on blank paper (an independent path from the renderer)."""
    font = ImageFont.truetype(str(font_path(field["font"]["family"])), field["font"]["size_px"],
                              layout_engine=ImageFont.Layout.BASIC)  # fmt: skip
    canvas = Image.new("RGB", (shape[1], shape[0]), tuple(paper))
    y, x = field["origin"]
    ImageDraw.Draw(canvas).text((x, y), field["content"], fill=tuple(field["ink"]), font=font,
                                anchor=field["anchor"])  # fmt: skip
    return (np.asarray(canvas) != np.asarray(paper, np.uint8)).any(axis=2)


@pytest.mark.parametrize("kind", DOCUMENT_KINDS)
def test_field_boxes_match_each_field_rendered_alone(pages, kind):
    page = pages[kind]
    paper, shape = page.layout["paper"], page.image.shape[:2]
    for f in page.layout["fields"]:
        if f["kind"] in MARKS:
            alpha = redraw_mark(f["mark"])
            blank = np.zeros(shape, bool)
            t, left = f["origin"]
            blank[t : t + alpha.shape[0], left : left + alpha.shape[1]] = alpha > 0
            box = _ink_box(blank)
        else:
            box = _ink_box(_alone_text(f, paper, shape))
        assert box is not None, f
        assert np.abs(np.subtract(box, f["box"])).max() <= 1, (f["name"], box, f["box"])


def test_boxes_cover_the_page_ink(pages):
    """Outside the field boxes only rules and boxes (straight lines) carry ink: no text is
    drawn without being recorded."""
    page = pages["letter"]
    ink = (page.image != np.asarray(page.layout["paper"], np.uint8)).any(axis=2)
    for f in page.layout["fields"]:
        t, left, h, w = f["box"]
        ink[t : t + h, left : left + w] = False
    rows = np.flatnonzero(ink.any(axis=1))
    assert all(ink[r].sum() > 0.5 * page.image.shape[1] for r in rows)  # only the footer rule


def test_same_seed_same_bytes_other_seed_differs():
    from degradebench.generators.documents._fonts import load_font

    for kind in DOCUMENT_KINDS:
        a = render_document(kind, 11, dpi=DPI)
        load_font.cache_clear()
        b = render_document(kind, 11, dpi=DPI)
        c = render_document(kind, 12, dpi=DPI)
        assert (
            hashlib.sha256(a.image.tobytes()).digest() == hashlib.sha256(b.image.tobytes()).digest()
        )
        assert a.layout == b.layout
        assert c.layout["fields"] != a.layout["fields"]
        assert c.image.shape != a.image.shape or not np.array_equal(a.image, c.image)


def test_same_bytes_in_a_fresh_process():
    """No hidden state (font caches, import order): a new interpreter draws the same bytes."""
    code = (
        "import hashlib; from degradebench.generators.documents import render_document as r; "
        f"print(hashlib.sha256(r('receipt', 5, dpi={DPI}).image.tobytes()).hexdigest())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    here = hashlib.sha256(render_document("receipt", 5, dpi=DPI).image.tobytes()).hexdigest()
    assert out.stdout.strip() == here


def test_content_does_not_depend_on_dpi():
    lo, hi = render_document("invoice", 4, dpi=DPI), render_document("invoice", 4, dpi=2 * DPI)
    assert [(f["name"], f["content"]) for f in lo.layout["fields"]] == [
        (f["name"], f["content"]) for f in hi.layout["fields"]
    ]
    for a, b in zip(lo.layout["fields"], hi.layout["fields"], strict=True):
        anchor = a.get("anchor", "ls")  # compare the edge the text is anchored on
        edge_a = a["box"][1] + (a["box"][3] if anchor == "rs" else 0)
        edge_b = b["box"][1] + (b["box"][3] if anchor == "rs" else 0)
        if anchor != "ms":
            assert abs(2 * edge_a - edge_b) <= 3, (a["name"], a["box"], b["box"])
        assert abs(2 * a["origin"][0] - b["origin"][0]) <= 1, (a["name"], a["origin"], b["origin"])


def test_draw_field_mask_is_the_changed_pixels(pages):
    page = pages["invoice"]
    before = page.image.copy()
    total = _field(page, "total")
    new, mask = draw_field(page.image, total, "98,765.43")
    assert np.array_equal(page.image, before)  # input untouched
    assert mask.dtype == bool and mask.shape == page.image.shape[:2]
    assert np.array_equal(mask, (new != page.image).any(axis=2)) and mask.sum() > 20
    # the change stays on the field's line (a comma's tail may reach below the old digits)
    t, left, h, w = total["box"]
    outside = mask.copy()
    outside[t - 1 : t + h + h // 3, : left + w + 1] = False
    assert not outside.any()
    # right-aligned amounts stay right-aligned on the recorded anchor
    new_box = _ink_box(mask)
    assert abs((new_box[1] + new_box[3]) - (left + w)) <= 1 and new_box[3] > w


def test_draw_field_same_content_is_exact(pages):
    """Re-drawing a field with its own content reproduces the page exactly (where no other ink
    touches its box): the recorded origin, font and ink are the ones used."""
    checked = 0
    for page in pages.values():
        boxes = [f["box"] for f in page.layout["fields"]]
        for f in page.layout["fields"]:
            if f["kind"] in MARKS:
                continue
            t, left, h, w = f["box"]
            overlaps = sum(
                not (
                    t + h + 3 <= b[0]
                    or b[0] + b[2] + 3 <= t
                    or left + w + 3 <= b[1]
                    or b[1] + b[3] + 3 <= left
                )
                for b in boxes
            )
            if overlaps > 1:
                continue
            region = page.image[max(t - 3, 0) : t + h + 3, max(left - 3, 0) : left + w + 3]
            if (region.min(axis=2) < 200).sum() > (
                page.image[t : t + h, left : left + w].min(axis=2) < 200
            ).sum():
                continue  # a rule runs next to the box
            _, mask = draw_field(page.image, f, f["content"])
            assert not mask.any(), (page.layout["kind"], f["name"])
            checked += 1
    assert checked > 40


def test_draw_field_font_size_dx_and_fallback(pages):
    page = pages["form"]
    f = _field(page, "full_name")
    base, m0 = draw_field(page.image, f, f["content"] + "x")
    other = "serif-bold" if f["font"]["family"] != "serif-bold" else "sans"
    alt, m1 = draw_field(page.image, f, f["content"] + "x", font=other)
    assert m1.any() and not np.array_equal(alt, base)
    big, m2 = draw_field(page.image, f, f["content"], size_px=f["font"]["size_px"] + 3)
    assert _ink_box(m2)[2] > f["box"][2]
    shifted, m3 = draw_field(page.image, f, f["content"], dx=4)
    t, left, h, w = f["box"]
    b3 = _ink_box((shifted != np.asarray(page.layout["paper"], np.uint8)).any(axis=2)[
        t : t + h, left - 3 : left + w + 8])  # fmt: skip
    assert b3[1] == 3 + 4 and m3.any()
    # without the recorded origin/ink (a layout mapped onto a scan) the anchor comes from the box
    bare = {k: v for k, v in f.items() if k not in ("origin", "ink", "anchor")}
    again, _ = draw_field(page.image, bare, f["content"] + "x")
    paper = np.asarray(page.layout["paper"], np.uint8)
    assert _ink_box((again != paper).any(axis=2)[t : t + h, left - 3 : left + w + 8]) == _ink_box(
        (base != paper).any(axis=2)[t : t + h, left - 3 : left + w + 8]
    )  # same place; the ink colour is estimated from the darkest old pixel
    assert np.abs(again.astype(int) - base).max() < 60


def test_errors_name_the_problem(pages):
    with pytest.raises(ValueError, match="kind 'memo'.*invoice"):
        render_document("memo", 1)
    with pytest.raises(ValueError, match="dpi.*got 10"):
        render_document("letter", 1, dpi=10)
    with pytest.raises(ValueError, match="page_mm"):
        render_document("letter", 1, page_mm=(210,))
    with pytest.raises(ValueError, match="too short"):
        render_document("invoice", 1, dpi=DPI, page_mm=(210, 100))
    sig = _field(pages["invoice"], "signature")
    with pytest.raises(ValueError, match="'signature'.*copy"):
        draw_field(pages["invoice"].image, sig, "x")
    total = _field(pages["invoice"], "total")
    with pytest.raises(ValueError, match="font 'comic'"):
        draw_field(pages["invoice"].image, total, "1", font="comic")
    with pytest.raises(TypeError, match="uint8"):
        draw_field(pages["invoice"].image.astype(float), total, "1")
