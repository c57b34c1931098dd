"""Issue 17, point 3: the document forgery ops (text_replace, copy_move_text, splice_document,
print_scan) and the ``document_forgery`` axis: masks equal the changed pixels before later ops
and follow print_scan's geometry after it, twins differ only by the forgery, fields and
contents come from the layout sidecar, and a suite runs end to end on a folder of documents."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from _docs_d3 import doc_window
from degradebench.generators import generate, read_errors, read_manifest, verify
from degradebench.generators.axes import AXES, Peer, PlanContext
from degradebench.generators.axes._doc_edits import char_box, mutate_content
from degradebench.generators.core.errors import OpError
from degradebench.generators.core.provenance import derive_seed
from degradebench.generators.core.records import from_mapping, to_plain
from degradebench.generators.documents import render_document
from degradebench.generators.manifest import is_manipulation, read_mask_png
from degradebench.generators.ops import ImageState, make_step, run_chain
from degradebench.generators.ops.doc_forgery import TextField
from degradebench.generators.ops.jpeg import decode_pillow
from degradebench.generators.plan import read_layout
from PIL import Image

FORGERIES = ("text_replace", "copy_move_text", "splice_document")


def _changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    diff = a != b
    return diff.any(axis=-1) if diff.ndim == 3 else diff


def _pages() -> dict[str, object]:
    return {
        sid: render_document(k, s, dpi=150)
        for sid, k, s in [("a", "invoice", 7), ("b", "receipt", 3), ("c", "form", 5)]
    }


PAGES = _pages()


def _ctx(sid: str, layouts: dict | None = None) -> PlanContext:
    layouts = {k: p.layout for k, p in PAGES.items()} if layouts is None else layouts

    def rng(name: str) -> np.random.Generator:
        return np.random.default_rng(derive_seed(0, sid, name))

    peers = tuple(Peer(o, f"L{o}", 0) for o in PAGES if o != sid)
    return PlanContext(sid, rng, f"L{sid}", 0, peers, rng, layout_of=layouts.get)


def _plan(mapping: dict, sid: str = "a", layouts: dict | None = None) -> list:
    params = from_mapping(AXES.get("document_forgery").params_cls, mapping, "axes.d")
    return AXES.get("document_forgery").plan(params, _ctx(sid, layouts))


def _run(sid: str, chain) -> ImageState:
    donors = {k: p.image for k, p in PAGES.items()}
    return run_chain(ImageState(pixels=PAGES[sid].image, meta={"donors": donors}), chain)


@pytest.mark.parametrize("change", ["same", "family", "size", "kerning"])
def test_text_replace_mask_is_exactly_the_changed_pixels(change: str) -> None:
    img, layout = doc_window("invoice", 7, "total")
    field = next(f for f in layout["fields"] if f["name"] == "total")
    extra = {
        "same": {},
        "family": {"family": "mono"},
        "size": {"size_px": field["font"]["size_px"] + 2},
        "kerning": {"dx": 2},
    }[change]
    target = to_plain(TextField.from_layout(field))
    step = make_step(
        {
            "op": "text_replace",
            "target": target,
            "content": "8,888.88",
            "font_change": change,
            **extra,
        }
    )
    out = run_chain(ImageState(pixels=img), [step])
    assert out.mask is not None and out.mask.any()
    assert np.array_equal(out.mask, _changed(img, out.pixels))
    t, le, h, w = field["box"]
    ys, xs = np.nonzero(out.mask)  # the edit stays around the field
    assert ys.min() >= t - 6 and ys.max() < t + h + 6 and xs.min() >= le - 40


def test_drawn_contents_change_one_digit_or_shift_a_date() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        new = mutate_content("amount", "1,234.50", rng)
        assert new != "1,234.50" and len(new) == 8
        assert sum(a != b for a, b in zip(new, "1,234.50")) == 1 and new[0] != "0"
        day = mutate_content("date", "27/08/2020", rng)
        assert day != "27/08/2020" and day[2] == day[5] == "/"
    assert mutate_content("name", "Yara Adler", rng) != "Yara Adler"


def test_copy_move_text_copies_a_digit_exactly_over_another() -> None:
    (step,) = [lv.chain[0] for lv in _plan({"ops": ["copy_move_text"]}) if lv.chain[0].op != "png"]
    p = step.params
    assert p.text != p.replaced and p.text.isdigit() and p.replaced.isdigit()
    out = _run("a", [step])
    img = PAGES["a"].image
    t, le, h, w = p.src
    assert np.array_equal(
        out.pixels[p.dst_top : p.dst_top + h, p.dst_left : p.dst_left + w],
        img[t : t + h, le : le + w],
    )
    assert np.array_equal(out.mask, _changed(img, out.pixels)) and out.mask.any()
    assert out.meta["source_mask"][t : t + h, le : le + w].all()
    assert out.meta["source_mask"].sum() == h * w
    src = next(f for f in PAGES["a"].layout["fields"] if f["name"] == p.src_field)
    i = src["content"].index(p.text)  # the copied digit lies inside its field's ink box
    box = char_box(src, i)
    assert box[1] >= src["box"][1] - 2 and box[1] + box[3] <= src["box"][1] + src["box"][3] + 2


def test_splice_document_pastes_the_donor_field_and_nothing_else() -> None:
    (lv,) = [lv for lv in _plan({"ops": ["splice_document"]}, "b") if lv.level != "authentic"]
    p = lv.chain[0].params
    assert p.donor_source_id in ("a", "c") and p.kind is not None and p.donor_note is None
    donor_fields = {f["name"]: f for f in PAGES[p.donor_source_id].layout["fields"]}
    assert donor_fields[p.donor_field]["kind"] == p.kind
    out = _run("b", lv.chain[:1])
    img, donor = PAGES["b"].image, PAGES[p.donor_source_id].image
    assert np.array_equal(out.mask, _changed(img, out.pixels))
    t, le, h, w = p.box
    dt_, dl, dh, dw = p.donor_box
    ph, pw = min(dh, img.shape[0] - t), min(dw, img.shape[1] - le)
    assert np.array_equal(out.pixels[t : t + ph, le : le + pw], donor[dt_ : dt_ + ph, dl : dl + pw])
    outside = np.ones(img.shape[:2], bool)
    outside[t : t + max(h, ph), le : le + max(w, pw)] = False
    assert not out.mask[outside].any()


def test_twins_differ_only_by_the_forgery_before_and_after_print_scan() -> None:
    ladder = {"none": [], "scan": [{"op": "print_scan", "scanner": 1, "printer": 0}]}
    levels = _plan({"ops": ["text_replace"], "ladder": ladder}, "b")
    by = {lv.name: lv for lv in levels}
    twin_scan = by["scan/authentic"].chain
    assert twin_scan[0].params.seed is not None and twin_scan[0].params.page_dpi == 150
    assert by["scan/text_replace"].chain[1:] == twin_scan  # the same print and scan
    for level in ("none", "scan"):
        forged = _run("b", by[f"{level}/text_replace"].chain[:-1])
        twin = _run("b", by[f"{level}/authentic"].chain[:-1])
        diff = _changed(forged.pixels, twin.pixels)
        if level == "none":
            assert np.array_equal(diff, forged.mask)
            continue
        # after the scan: differences only near the mapped mask (dot spread, MTF and sharpening
        # reach a few pixels)
        near = cv2.dilate(forged.mask.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
        assert diff.any() and not diff[~near].any()
        assert forged.mask.shape == forged.pixels.shape[:2] and forged.mask.any()


def test_print_scan_maps_the_mask_onto_the_printed_region() -> None:
    page = np.full((120, 160, 3), 250, np.uint8)
    page[40:70, 50:110] = 20
    mask = np.zeros((120, 160), bool)
    mask[40:70, 50:110] = True
    step = make_step({"op": "print_scan", "seed": 11, "page_dpi": 150, "scanner": 2})
    out = run_chain(ImageState(pixels=page, mask=mask), [step])
    assert out.region is None and out.grids == ()
    dark = out.pixels.mean(axis=2) < 128
    iou = (dark & out.mask).sum() / (dark | out.mask).sum()
    assert iou > 0.85, iou
    assert out.mask.shape == out.pixels.shape[:2] != mask.shape  # 150 dpi page, 300 dpi scan


def test_text_replace_on_a_scan_edits_the_mapped_field() -> None:
    """A digital edit after print and scan: the virtual-scanners sidecar (boxes, anchor and font
    in scan pixels) drives the planner; the edit stays on the field's scan box."""
    from degradebench.generators.ops.print_scan import print_scan_numpy
    from degradebench.generators.virtual_scanners import map_layout

    img, layout = doc_window("invoice", 7, "total", size=(200, 420))
    step = make_step({"op": "print_scan", "seed": 4, "page_dpi": 150, "scanner": 1})
    scan, info = print_scan_numpy(img, step.params)
    scan_layout = map_layout(layout, info)
    (lv,) = [
        lv
        for lv in _plan({"ops": ["text_replace"], "kinds": ["amount"]}, "s", {"s": scan_layout})
        if lv.level != "authentic"
    ]
    p = lv.chain[0].params
    assert p.target.box == tuple(
        next(f["box"] for f in scan_layout["fields"] if f["name"] == "total")
    )
    out = run_chain(ImageState(pixels=scan), lv.chain[:1])
    assert np.array_equal(out.mask, _changed(scan, out.pixels))
    t, le, h, w = p.target.box
    ys, xs = np.nonzero(out.mask)
    assert out.mask[t : t + h, le : le + w].mean() > 0.5  # the scanned paper is replaced
    assert ys.min() >= t - 8 and ys.max() < t + h + 8 and xs.max() < le + w + 8


def test_without_a_layout_the_forgery_refuses_with_the_reason() -> None:
    levels = _plan({"per_op": 2}, "a", layouts={})
    assert len({lv.name for lv in levels}) == len(levels)  # notes alike, own ids
    for lv in levels:
        if lv.level == "authentic":
            continue
        with pytest.raises(OpError, match="no layout sidecar"):
            _run("a", lv.chain[:1])


def test_forgeries_are_manipulations_and_print_scan_is_not() -> None:
    assert all(is_manipulation(op) for op in FORGERIES) and not is_manipulation("print_scan")


# --- end to end: a folder of documents with layout sidecars ------------------------------


def _document_folder(root: Path) -> Path:
    """Three labelled document windows (PNG + layout sidecar), one fold."""
    for label, (kind, seed, name) in {
        "x": ("invoice", 7, "total"),
        "y": ("invoice", 11, "total"),
        "z": ("receipt", 3, "total"),
    }.items():
        img, layout = doc_window(kind, seed, name, size=(160, 320))
        (root / label).mkdir(parents=True)
        Image.fromarray(img).save(root / label / "page.png")
        (root / label / "page.json").write_text(json.dumps(layout))
    suite = {
        "seed": 3,
        "axes": {
            "forge": {
                "type": "document_forgery",
                "ladder": {"none": [], "quality=70": [{"op": "jpeg", "quality": 70}]},
            }
        },
    }
    cfg = {
        "version": 1,
        "datasets": {"docs": {"kind": "folder", "root": str(root), "folds": 1}},
        "suites": {"docs": suite},
    }
    path = root.parent / "datasets.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def test_suite_on_a_document_folder_reads_the_sidecars(tmp_path: Path) -> None:
    path = _document_folder(tmp_path / "docs")
    assert read_layout(tmp_path / "docs" / "x" / "page.png")["kind"] == "invoice"
    out = tmp_path / "o"
    s = generate(config=path, dataset="docs", suite="docs", out=out, psnr=False, progress=False)
    assert s.failed_variants == 0, read_errors(out).message.tolist()
    df = read_manifest(out)
    assert verify(out).ok
    forged = df[df.manipulated]
    assert set(forged.manipulation) == set(FORGERIES) and len(forged) == 3 * 3 * 2
    assert ((df.axis == "forge") & (df.manipulation == "none")).sum() == 3 * 2  # the twins
    for r in forged[forged.level == "none"].itertuples():
        twins = df[(df.source_id == r.source_id) & (df.axis == "forge") & (df.level == "none")]
        twin = twins[~twins.manipulated].iloc[0]
        a, b = (
            decode_pillow((out / r.path).read_bytes()),
            decode_pillow((out / twin.path).read_bytes()),
        )
        mask = read_mask_png((out / r.mask_path).read_bytes())
        assert np.array_equal(mask, _changed(a, b)) and mask.any(), r.manipulation


def test_suite_on_a_virtual_scanners_build_forges_scans_and_rescans_them(tmp_path: Path) -> None:
    """The forgeries on D2's scans (a digital edit after print and scan), then a re-print and
    re-scan: twins differ only near the mask; a window without a field to forge gets no such variant."""
    from degradebench.generators.virtual_scanners import (
        VirtualScannersParams,
        build_virtual_scanners,
    )

    vs = VirtualScannersParams(
        printers=1, scanners=2, devices_per_scanner=1, documents=3, size_mm=(40.0, 60.0), seed=1
    )
    table = build_virtual_scanners(vs, tmp_path / "vs")
    ladder = {"none": [], "rescan": [{"op": "print_scan", "scanner": 1}]}
    suite = {"seed": 3, "axes": {"forge": {"type": "document_forgery", "ladder": ladder}}}
    cfg = {
        "version": 1,
        "datasets": {"vs": {"kind": "list", "path": str(table), "folds": 1}},
        "suites": {"d": suite},
    }
    path = tmp_path / "datasets.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    out = tmp_path / "o"
    generate(config=path, dataset="vs", suite="d", out=out, psnr=False, progress=False)
    errors, df = read_errors(out), read_manifest(out)
    assert errors.empty  # no field to forge in a window: no such variant (planned, not failed)
    for (_src, _lvl), g in df[df.axis == "forge"].groupby(["source_id", "level"]):
        assert g.manipulated.any() and (~g.manipulated).sum() == 1  # forgeries with one twin
    assert verify(out).ok
    forged = df[df.manipulated]
    assert set(forged.manipulation) == set(FORGERIES) and (forged.mask_fraction > 0).all()
    for r in forged[forged.level == "rescan"].itertuples():
        twins = df[(df.source_id == r.source_id) & (df.level == "rescan")]
        twin = twins[~twins.manipulated].iloc[0]
        a = decode_pillow((out / r.path).read_bytes())
        b = decode_pillow((out / twin.path).read_bytes())
        mask = read_mask_png((out / r.mask_path).read_bytes())
        near = cv2.dilate(mask.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
        diff = _changed(a, b)
        assert diff.any() and not diff[~near].any(), r.manipulation
