"""The document suites and axes of issue 17 (D5): ``illumination`` (its formula on a tiny
array), ``dpi`` (the source's dpi from its layout sidecar, else ``from_dpi``), ``rescan`` (nested
print-scan hops, each reading the last scan at its resolution), ``photo_of_document``, and the
shipped ``documents`` / ``document-forgery`` suites generated and verified on a tiny
virtual-scanners build."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from degradebench import generate, read_manifest, verify
from degradebench.generators.axes import AXES, PlanContext
from degradebench.generators.core.errors import ConfigError, OpError
from degradebench.generators.core.provenance import derive_seed
from degradebench.generators.core.records import from_mapping
from degradebench.generators.ops import OPS, ImageState, make_step, run_chain
from degradebench.generators.ops.illumination import illumination_numpy

SHIPPED = Path(__file__).resolve().parents[1] / "generators" / "datasets.yaml"


def _ctx(layout=None, source: str = "src") -> PlanContext:  # noqa: ANN001
    def rng_for(name: str) -> np.random.Generator:
        return np.random.default_rng(derive_seed(0, source, name))

    return PlanContext(source, rng_for, layout_of=lambda _s: layout)


def _plan(axis: str, mapping: dict, layout=None, source: str = "src") -> list:  # noqa: ANN001
    params = from_mapping(AXES.get(axis).params_cls, mapping, f"axes.{axis}")
    return AXES.get(axis).plan(params, _ctx(layout, source))


# --- illumination ----------------------------------------------------------------------------


def test_illumination_formula_on_a_tiny_array() -> None:
    p = make_step({"op": "illumination", "gradient": 0.5, "vignette": 0.4, "angle": 0.0,
                   "center": [0.5, 0.5], "tint": [1.0, 0.5, 1.0]}).params  # fmt: skip
    img = np.full((2, 4, 3), 200, np.uint8)
    out = illumination_numpy(img, p)
    # column x: u = (x + .5)/4 - .5, t = u / .5, gradient gain 1 - .5 (t + 1)/2;
    # row y: v = +-.25, r2 = (u^2 + v^2)/.5, vignette gain 1 - .4 min(r2, 1)
    for x in range(4):
        u = (x + 0.5) / 4 - 0.5
        g = 1 - 0.5 * (u / 0.5 + 1) / 2
        k = 1 - 0.4 * min((u * u + 0.0625) / 0.5, 1.0)
        assert out[0, x, 0] == math.floor(200 * g * k + 0.5)
        assert out[1, x, 1] == math.floor(200 * g * k * 0.5 + 0.5)
    assert out[0, 0, 0] > out[0, 3, 0]  # angle 0: darker to the right
    gray = illumination_numpy(img[..., 0], p)  # grey: the tint's mean
    g0, k0 = 1 - 0.5 * 0.25 / 2, 1 - 0.4 * (0.375**2 + 0.0625) / 0.5  # x = 0, y = 0
    assert gray[0, 0] == math.floor(200 * g0 * k0 * 2.5 / 3 + 0.5) == 131


def test_illumination_draws_from_its_seed_and_refuses_without_one() -> None:
    a = make_step({"op": "illumination", "seed": 3}).params
    b = make_step({"op": "illumination", "seed": 3}).params
    c = make_step({"op": "illumination", "seed": 4}).params
    assert (a.angle, a.center) == (b.angle, b.center) != (c.angle, c.center)
    assert 0.3 <= min(a.center) and max(a.center) <= 0.7
    with pytest.raises(OpError, match="give seed"):
        make_step({"op": "illumination"})
    assert OPS.get("illumination").mask == "unchanged"


# --- dpi ------------------------------------------------------------------------------------


def test_dpi_reads_the_sidecar_then_from_dpi_and_resamples_by_the_ratio() -> None:
    levels = _plan(
        "dpi", {"dpis": [150, 96], "from_dpi": 600}, layout={"dpi": 300, "scan_dpi": 200}
    )
    assert [lv.level for lv in levels] == ["pillow,150", "pillow,96", "opencv,150", "opencv,96"]
    assert all(lv.axis_params["from_dpi"] == 200 and lv.axis_params["dpi_from"] == "sidecar"
               for lv in levels)  # fmt: skip
    assert levels[1].chain[0].params.scale == pytest.approx(96 / 200)
    assert levels[2].chain[0].backend == "opencv" and levels[2].level_value == 150.0
    levels = _plan("dpi", {"dpis": [100], "backends": ["opencv"], "from_dpi": 400})
    assert levels[0].level == "100" and levels[0].axis_params["dpi_from"] == "from_dpi"
    img = np.zeros((40, 60, 3), np.uint8)
    out = run_chain(ImageState(pixels=img), levels[0].chain[:1])
    assert out.pixels.shape[:2] == (10, 15)  # 100/400 of each side
    with pytest.raises(ConfigError, match=r"dpi: source nodpi: .*from_dpi"):
        _plan("dpi", {}, layout={"fields": []}, source="nodpi")


# --- rescan ---------------------------------------------------------------------------------


def test_rescan_hops_nest_and_each_pass_reads_the_last_scan() -> None:
    levels = _plan("rescan", {"hops": [1, 2, 3]}, layout={"dpi": 150})
    chains = [[s for s in lv.chain if s.op == "print_scan"] for lv in levels]
    assert [len(c) for c in chains] == [1, 2, 3]
    assert chains[2][:2] == chains[1] and chains[1][:1] == chains[0]  # one journey, cut
    assert chains[2][0].params.page_dpi == 150
    for a, b in zip(chains[2], chains[2][1:]):
        assert b.params.page_dpi == a.params.scan_dpi is not None
    assert levels[2].axis_params["passes"][2]["seed"] == chains[2][2].params.seed
    other = _plan("rescan", {"hops": [3]}, layout={"dpi": 150}, source="other")
    assert other[0].chain[:3] != levels[2].chain[:3]  # drawn per source
    fixed = _plan("rescan", {"hops": [2], "scanner": 3, "printer": 0}, layout={"dpi": 150})
    assert {(s.params.scanner, s.params.printer) for s in fixed[0].chain[:2]} == {(3, 0)}
    with pytest.raises(ConfigError, match="scanner: 4 is not among the 4 scanners"):
        _plan("rescan", {"scanner": 4}, layout={"dpi": 150})


# --- photo_of_document ----------------------------------------------------------------------


def test_photo_of_document_levels_chain_and_phone_jpeg() -> None:
    levels = _plan("photo_of_document", {})
    assert [lv.level for lv in levels] == ["mild", "moderate", "strong"]
    assert [s.op for s in levels[2].chain] == [
        "illumination", "perspective", "gaussian_blur", "motion_blur", "jpeg"]  # fmt: skip
    jpeg = levels[2].chain[-1].params
    assert (jpeg.quality, jpeg.subsampling) == (85, "4:2:0")
    seeds = {levels[1].chain[0].params.seed, levels[1].chain[1].params.seed}
    assert len(seeds) == 2  # illumination and perspective draw their own seeds
    img = np.full((48, 64, 3), 230, np.uint8)
    mask = np.zeros((48, 64), bool)
    mask[20:28, 30:40] = True
    out = run_chain(ImageState(pixels=img, mask=mask), levels[1].chain)
    assert out.fmt == "jpeg" and out.mask is not None and out.mask.any()
    with pytest.raises(ConfigError, match=r"levels.bad.quality"):
        _plan("photo_of_document", {"levels": {"bad": {"quality": 0}}})


def test_photo_and_rescan_levels_are_one_ladder_for_the_report() -> None:
    """No second numeric level parameter (a tint list, the per-source dpi) that would turn a
    curve into a heat map of one ladder."""
    import json

    import pandas as pd
    from degradebench.evaluators.report.params import heatmap_params

    photo = _plan("photo_of_document", {})
    rescan = [lv for dpi in (150, 300) for lv in _plan("rescan", {}, layout={"dpi": dpi})]
    for levels in (photo, rescan):
        assert heatmap_params(pd.Series([json.dumps(lv.axis_params) for lv in levels])) is None


# --- the shipped suites on a tiny virtual-scanners build ------------------------------------


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory) -> Path:
    """The shipped datasets.yaml with its virtual-scanners dataset made tiny (4 scans)."""
    root = tmp_path_factory.mktemp("docsuites")
    raw = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    raw["datasets"]["virtual-scanners"].update(
        root=str(root / "vs"), printers=1, scanners=2, devices_per_scanner=1, documents=2,
        kinds=["invoice", "receipt"], size_mm=[30, 40], folds=1,
    )  # fmt: skip
    path = root / "datasets.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def test_documents_suite_generates_and_verifies(tiny_config: Path, tmp_path: Path) -> None:
    out = tmp_path / "docs"
    s = generate(config=tiny_config, dataset="virtual-scanners", suite="documents", out=out,
                 psnr=False, progress=False)  # fmt: skip
    assert s.failed_variants == 0 and s.variants == 4 * 25
    assert verify(out).ok
    df = read_manifest(out)
    assert set(df.axis) == {"clean", "jpeg", "dpi", "rescan", "photo_of_document", "screenshot",
                            "whatsapp-like", "telegram-like"}  # fmt: skip
    for r in df[df.axis == "dpi"].itertuples():  # the sidecar's dpi -> the target dpi
        clean = df[(df.source_id == r.source_id) & (df.axis == "clean")].iloc[0]
        src = yaml.safe_load(r.axis_params)["from_dpi"]
        assert r.width == max(1, math.floor(clean.width * r.level_value / src + 0.5))
    photo = df[df.axis == "photo_of_document"]
    assert set(photo.format) == {"jpeg"} and set(photo.subsampling) == {"4:2:0"}


def test_document_forgery_suite_has_masks_and_twins(tiny_config: Path, tmp_path: Path) -> None:
    out = tmp_path / "forg"
    generate(config=tiny_config, dataset="virtual-scanners", suite="document-forgery", out=out,
             psnr=False, progress=False)  # fmt: skip
    assert verify(out).ok
    df = read_manifest(out)
    forged = df[df.manipulated]
    assert len(forged) and set(forged.manipulation) <= {
        "text_replace", "copy_move_text", "splice_document"}  # fmt: skip
    assert (forged.mask_fraction > 0).all() and forged.mask_path.notna().all()
    levels = {"none", "quality=90", "quality=70", "scale=0.5", "print-scan", "whatsapp-like"}
    assert set(df[df.axis == "doc-forgery"].level) == levels
    twins = df[(df.axis == "doc-forgery") & ~df.manipulated]
    assert len(twins) == 4 * len(levels)  # one authentic twin per source and level
