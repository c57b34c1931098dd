"""The virtual-scanners dataset: print/scan physics, determinism, layout sidecars, folds, CLI."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from degradebench.cli import main
from degradebench.generators.core.errors import ConfigError, ParamError
from degradebench.generators.datasets import list_table
from degradebench.generators.virtual_scanners import (
    VirtualScannersParams,
    build_virtual_scanners,
    design_printers,
    design_scanners,
    map_box,
    map_mask,
    print_page,
    print_scan,
    scan_page,
)
from PIL import Image

TINY = VirtualScannersParams(
    printers=2,
    scanners=2,
    devices_per_scanner=2,
    documents=2,
    kinds=("receipt", "form"),
    size_mm=(20.0, 20.0),
    seed=5,
)
DESIGN = VirtualScannersParams(printers=6, scanners=4, seed=0)


def _digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("virtual-scanners") / "data"
    return build_virtual_scanners(TINY, out, jobs=1).parent


def _page(mm: float = 20.0, dpi: int = 300, grey: int = 255) -> np.ndarray:
    n = round(mm * dpi / 25.4)
    return np.full((n, n, 3), grey, np.uint8)


def test_layout_list_sidecars_and_metadata(tiny_root):
    with open(tiny_root / "list.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["path", "label", "group"] and len(rows) == TINY.images == 16
    per_group: dict[str, set] = {}
    checked = 0
    for r in rows:
        assert r["path"].split("/")[0] == r["label"] and (tiny_root / r["path"]).is_file()
        per_group.setdefault(r["group"], set()).add(r["label"])
        side = json.loads((tiny_root / r["path"]).with_suffix(".json").read_text())
        with Image.open(tiny_root / r["path"]) as im:
            assert [im.height, im.width] == side["size"]
            dpi = next(
                s["dpi"]
                for s, _ in [(m.to_dict(), 0) for m, _ in design_scanners(TINY)]
                if s["name"] == r["label"]
            )
            assert abs(im.width - round(20 / 25.4 * dpi)) <= 1 and side["dpi"] == dpi
        assert side["page_dpi"] == TINY.print_dpi and side["group"] == r["group"]
        with Image.open(tiny_root / r["path"]) as im:
            luma = np.asarray(im.convert("L"), np.float64)
        for f in side["fields"]:  # every kept box lies inside the scan and holds its ink
            t, left, h, w = f["box"]
            assert t >= 0 and left >= 0 and t + h <= side["size"][0] and left + w <= side["size"][1]
            if f["kind"] in ("text", "amount", "date", "name", "address"):
                assert luma[t : t + h, left : left + w].min() < np.median(luma) - 40, f["name"]
                checked += 1
    assert checked >= len(rows)  # the windows hold text fields
    # Every document is scanned by every class: content cannot separate them.
    assert all(labels == {"vscan01", "vscan02"} for labels in per_group.values())
    assert len(per_group) == TINY.documents
    meta = json.loads((tiny_root / "metadata.json").read_text())
    assert meta["params"]["size_mm"] == [20.0, 20.0] and meta["classes"] == ["vscan01", "vscan02"]
    assert {"halftone", "lpi", "angle_deg", "dot_gain", "banding_period_mm"} <= set(
        meta["printers"][0]
    )
    assert {"mtf_sigma", "falloff", "skew_max_deg", "luma_table", "output"} <= set(
        meta["scanners"][0]
    )
    assert {"column_gain_std", "pattern_seed"} <= set(meta["scanners"][0]["devices"][0])
    assert len(meta["scans"]) == 16 and len(meta["documents"]) == 2


def test_same_seed_byte_identical_whatever_jobs(tiny_root, tmp_path):
    again = build_virtual_scanners(TINY, tmp_path / "again", jobs=2).parent
    assert _digests(again) == _digests(tiny_root)
    assert build_virtual_scanners(TINY, tmp_path / "again") == again / "list.csv"  # no-op
    other = dataclasses.replace(TINY, seed=6)
    with pytest.raises(ConfigError, match="other params"):
        build_virtual_scanners(other, tmp_path / "again")


def test_folds_never_split_a_document(tiny_root):
    refs = list_table(tiny_root / "list.csv", 2, 0)
    fold_of: dict[str, int] = {}
    for r in refs:
        assert fold_of.setdefault(r.group, r.fold) == r.fold
    assert sorted(set(fold_of.values())) == [0, 1]


def test_label_printer_and_scanner_jpeg_tables(tmp_path):
    params = dataclasses.replace(TINY, documents=1, label="printer", scanners=4)
    root = build_virtual_scanners(params, tmp_path / "p", jobs=1).parent
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["vprint01", "vprint02"]
    for model, devices in design_scanners(params):
        stem = root / "vprint01" / f"doc0000-vprint01-{devices[0].name}"
        path = stem.with_suffix(".png" if model.output == "png" else ".jpg")
        with Image.open(path) as im:
            if model.output == "png":
                assert im.format == "PNG"
                continue
            assert im.format == "JPEG"
            assert list(im.quantization[0]) == list(model.luma_table)  # natural order
            assert list(im.quantization[1]) == list(model.chroma_table)


def test_print_scan_is_deterministic_and_leaves_input(tmp_path):
    printer, (model, devices) = design_printers(DESIGN)[0], design_scanners(DESIGN)[2]
    page = _page(12, grey=200)
    page[40:80, 30:100] = (10, 20, 200)
    before = page.copy()
    a, info = print_scan(page, printer, model, devices[0], seed=3)
    b, _ = print_scan(page, printer, model, devices[0], seed=3)
    c, _ = print_scan(page, printer, model, devices[0], seed=4)
    assert np.array_equal(page, before) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert info["size"] == list(a.shape[:2]) and np.asarray(info["page_to_scan"]).shape == (3, 3)
    json.dumps(info)  # JSON-able
    enc, _ = print_scan(page, printer, model, devices[0], seed=3, encode=True)
    assert enc.shape == a.shape and not np.array_equal(enc, a)  # its JPEG ran


def _halftone_peak(scan: np.ndarray, dpi: int, lo_lpi: float = 40.0) -> tuple[float, float]:
    """(frequency in lpi, angle in degrees mod 90) of the strongest spectral peak."""
    g = scan.astype(np.float64) @ [0.2126, 0.7152, 0.0722]
    g = (g - g.mean()) * np.outer(np.hanning(g.shape[0]), np.hanning(g.shape[1]))
    n = 1024
    spec = np.abs(np.fft.rfft2(g, s=(n, n)))
    fy, fx = np.fft.fftfreq(n)[:, None], np.fft.rfftfreq(n)[None, :]
    spec[np.hypot(fx, fy) * dpi < lo_lpi] = 0
    iy, ix = np.unravel_index(np.argmax(spec), spec.shape)
    ky, kx = fy[iy, 0], fx[0, ix]
    return float(np.hypot(kx, ky) * dpi), float(np.degrees(np.arctan2(ky, kx)) % 90.0)


@pytest.mark.parametrize("print_dpi,scan_dpi", [(600, 300), (300, 400)])
def test_halftone_frequency_and_angle_recovered_from_fft(print_dpi, scan_dpi):
    """A flat grey patch printed at print dpi and scanned at >= 300 dpi: the spectrum's peak is
    each clustered-dot printer's screen (as designed, turned by the scan's skew)."""
    clustered = [p for p in design_printers(DESIGN) if p.halftone == "clustered"]
    assert len(clustered) >= 3
    model, devices = design_scanners(DESIGN)[0]
    for printer in clustered:
        scan, info = print_scan(
            _page(15, print_dpi, grey=150),
            printer,
            model,
            devices[0],
            seed=printer.index,
            print_dpi=print_dpi,
            scan_dpi=scan_dpi,
        )
        lpi, angle = _halftone_peak(scan, scan_dpi)
        skew = info["scan"]["skew_deg"]
        assert abs(lpi - printer.lpi) < 0.02 * printer.lpi, (printer.name, lpi, printer.lpi)
        turned = (printer.angle_deg + skew) % 90.0
        d = min(abs(angle - turned), 90 - abs(angle - turned))
        assert d < 0.6, (printer.name, angle, printer.angle_deg, skew)


def test_error_diffusion_has_no_screen_peak():
    fm = next(p for p in design_printers(DESIGN) if p.halftone == "error_diffusion")
    am = next(p for p in design_printers(DESIGN) if p.halftone == "clustered")
    model, devices = design_scanners(DESIGN)[2]

    def peakiness(printer) -> float:
        scan, _ = print_scan(_page(15, 300, 150), printer, model, devices[0], seed=1, scan_dpi=300)
        g = scan.astype(float).mean(axis=2)
        spec = np.abs(np.fft.rfft2(g - g.mean()))
        spec[:8, :8] = 0
        return float(spec.max() / np.median(spec))

    assert peakiness(am) > 5 * peakiness(fm)


def _column_profile(scan: np.ndarray) -> np.ndarray:
    g = scan.astype(np.float64).mean(axis=2)
    resid = g - cv2.GaussianBlur(g, (0, 0), 3.0)
    # The column fixed pattern survives averaging down the rows; the sheet's skewed edges don't.
    return resid[:, 8:-8].mean(axis=0)


def test_fixed_pattern_differs_per_device():
    """Blank-page scans: the column residual profiles of two scans by one device correlate, two
    devices of the same model do not (each model checked, its devices' patterns differ)."""
    printer = design_printers(DESIGN)[0]
    sheet, _ = print_page(_page(30, 300), printer, print_dpi=300, seed=0)
    for model, devices in design_scanners(DESIGN):
        prof = {
            (d, s): _column_profile(scan_page(sheet, model, devices[d], print_dpi=300, seed=s)[0])
            for d in (0, 1)
            for s in (1, 2)
        }
        same = [np.corrcoef(prof[(d, 1)], prof[(d, 2)])[0, 1] for d in (0, 1)]
        other = [np.corrcoef(prof[(0, a)], prof[(1, b)])[0, 1] for a, b in ((1, 2), (2, 1))]
        assert min(same) > 0.6 and max(np.abs(other)) < 0.25, (model.name, same, other)


def test_page_to_scan_maps_boxes_and_masks():
    printer = design_printers(DESIGN)[0]
    model, devices = design_scanners(DESIGN)[1]  # skewed up to about a degree
    page = _page(20)
    box = [60, 50, 70, 110]  # top, left, height, width
    page[60:130, 50:160] = 0
    mask = np.zeros(page.shape[:2], bool)
    mask[60:130, 50:160] = True
    scan, info = print_scan(page, printer, model, devices[0], seed=9)
    dark = scan.mean(axis=2) < 128
    ys, xs = np.nonzero(dark)
    t, left, h, w = map_box(box, info["page_to_scan"], tuple(info["size"]))
    assert abs(ys.min() - t) <= 2 and abs(xs.min() - left) <= 2
    assert abs(ys.max() + 1 - (t + h)) <= 2 and abs(xs.max() + 1 - (left + w)) <= 2
    moved = map_mask(mask, info)
    assert moved.dtype == bool and moved.shape == dark.shape
    iou = (moved & dark).sum() / (moved | dark).sum()
    assert iou > 0.9, iou


def test_params_validate_with_paths():
    with pytest.raises(ParamError, match="label: must be one of scanner, printer"):
        VirtualScannersParams(label="camera")
    with pytest.raises(ConfigError, match=r"ds\.kinds\[0\]: must be one of invoice"):
        VirtualScannersParams.from_mapping({"kinds": ["poster"]}, "ds")
    with pytest.raises(ConfigError, match="coarse"):
        print_page(_page(5, 150), design_printers(DESIGN)[0], print_dpi=150, seed=0)


def test_designs_differ_and_do_not_depend_on_counts():
    small = VirtualScannersParams(printers=2, scanners=2)
    assert design_printers(small) == design_printers(DESIGN)[:2]
    models = [m for m, _ in design_scanners(DESIGN)]
    assert len({(m.luma_table, m.mtf_sigma) for m in models}) == len(models)
    assert {m.dpi for m in models} == {150, 200, 300}
    devices = design_scanners(DESIGN)[0][1]
    assert devices[0].pattern_seed != devices[1].pattern_seed


def test_cli_build_dataset_virtual_scanners(tmp_path, capsys):
    base = ["build-dataset", "virtual-scanners", "--out", str(tmp_path / "vs"), "--quiet"]
    small = ["--documents", "1", "--printers", "1", "--scanners", "2", "--devices", "1"]
    assert main([*base, *small, "--size-mm", "12", "12", "--label", "printer"]) == 0
    assert len(list((tmp_path / "vs" / "vprint01").glob("*.json"))) == 2
    assert "2 scans, 1 documents" in capsys.readouterr().err
    assert main([*base, "--models", "3"]) == 2
    assert "--models applies to virtual-cameras only" in capsys.readouterr().err


def test_config_kind_virtual_scanners_resolves_to_sources(tmp_path):
    from degradebench.generators.config import parse_config
    from degradebench.generators.plan import resolve_sources

    text = f"""
version: 1
datasets:
  vs:
    kind: virtual-scanners
    root: {tmp_path / "vs"}
    folds: 2
    printers: 1
    scanners: 2
    devices_per_scanner: 1
    documents: 2
    kinds: [receipt]
    size_mm: [12, 12]
suites: {{}}
"""
    name, refs = resolve_sources(parse_config(text), "vs", progress=False)
    assert name == "vs" and len(refs) == 4 and {r.label for r in refs} == {"vscan01", "vscan02"}
    fold_of: dict[str, int] = {}
    for r in refs:
        assert fold_of.setdefault(r.group, r.fold) == r.fold
