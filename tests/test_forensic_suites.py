"""The forensic benchmark suites of issue 13 point 4: ``imdl-robustness`` (the IMDL-BenCo protocol,
seeded and exact) and ``processing-detection`` (median filter, resampling, contrast enhancement,
each alone as PNG and followed by JPEG), plus the ``mixed-chains`` example. Planned levels and
recorded parameters, generation on ``samples`` with ``verify``, and masks of doctored images
following every chain."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from degradebench.generators import generate, read_manifest, verify
from degradebench.generators.config import default_config_path, load_config
from degradebench.generators.ops import ImageState, run_chain
from degradebench.generators.plan import plan_source
from PIL import Image

SHIPPED = load_config()


def _plans(suite: str, source: str = "0123456789abcdef") -> dict[str, list]:
    out: dict[str, list] = {}
    for p in plan_source(SHIPPED.suites[suite], source):
        out.setdefault(p.axis, []).append(p)
    return out


def _ops(plan) -> list[str]:
    return [s.op for s in plan.chain]


def test_imdl_robustness_is_the_imdlbenco_protocol() -> None:
    axes = _plans("imdl-robustness")
    assert list(axes) == ["clean", "gaussian_blur", "gaussian_noise", "jpeg"]
    blur = axes["gaussian_blur"]
    assert [p.level for p in blur] == ["3", "7", "11", "15", "19", "23"]
    for p in blur:
        k = int(p.level)
        step = p.chain[0]
        assert _ops(p) == ["gaussian_blur", "png"] and step.backend == "opencv"
        assert step.params.ksize == k  # albumentations GaussianBlur(blur_limit=(k, k))
        assert step.params.sigma == pytest.approx(0.3 * ((k - 1) * 0.5 - 1) + 0.8)
        assert step.params.border is not None  # concrete in the chain
    noise = axes["gaussian_noise"]
    sigmas = [p.chain[0].params.sigma for p in noise]
    assert sigmas == [3, 7, 11, 15, 19, 23]  # the paper's (and the issue's) sigma, grey levels
    seeds = [p.chain[0].params.seed for p in noise]
    assert len(set(seeds)) == 6 and all(isinstance(s, int) for s in seeds)
    assert seeds == [p.chain[0].params.seed for p in _plans("imdl-robustness")["gaussian_noise"]]
    code = _plans("imdl-robustness-code")["gaussian_noise"]  # the code's variance reading
    variances = [p.chain[0].params.sigma**2 for p in code]
    assert variances == pytest.approx([3, 7, 11, 15, 19, 23], abs=2e-3)  # GaussNoise var_limit
    jpeg = axes["jpeg"]
    assert [p.chain[-1].params.quality for p in jpeg] == [50, 60, 70, 80, 90, 100]  # exactly q
    assert {p.chain[-1].backend for p in jpeg} == {"opencv"}  # albumentations encodes with cv2
    assert sum(len(v) for v in axes.values()) == 19


def test_processing_detection_each_alone_as_png_and_followed_by_jpeg() -> None:
    axes = _plans("processing-detection")
    assert [p.level for p in axes["median_filter"]] == ["3", "5", "7"]
    assert all(_ops(p) == ["median_filter", "png"] for p in axes["median_filter"])
    resize = axes["resize"]
    assert [p.chain[0].params.scale for p in resize] == [0.8, 0.9, 1.1, 1.2, 1.5]
    assert all(_ops(p) == ["resize", "png"] and p.chain[0].backend == "opencv" for p in resize)
    grid = axes["median_x_jpeg"]
    assert [p.level for p in grid][:3] == ["size=3,quality=70", "size=3,quality=80",
                                          "size=3,quality=90"]  # fmt: skip
    assert len(grid) == 9 and all(_ops(p) == ["median_filter", "jpeg"] for p in grid)
    assert len(axes["resize_x_jpeg"]) == 15
    assert all(_ops(p) == ["resize", "jpeg"] for p in axes["resize_x_jpeg"])
    contrast = axes["contrast_x_jpeg"]
    assert len(contrast) == 9 and all(_ops(p) == ["contrast", "jpeg"] for p in contrast)
    assert contrast[0].chain[0].params.formula  # the backend's formula (OpDef.concrete)
    assert [p.level for p in axes["contrast"]] == ["1.2", "1.5", "2"]
    assert all(_ops(p) == ["contrast", "png"] for p in axes["contrast"])
    expected = 1 + 3 + 5 + 3 + 9 + 15 + 9
    assert sum(len(v) for v in axes.values()) == expected


def test_mixed_chains_example_suite() -> None:
    axes = _plans("mixed-chains")
    assert len(axes["median_x_jpeg"]) == 18 and len(axes["blur_x_resize"]) == 6
    p = axes["blur_x_resize"][0]
    assert p.level == "ksize=3,scale=0.5" and _ops(p) == ["gaussian_blur", "resize", "png"]
    blur = p.chain[0].params
    assert (blur.sigma, blur.border) == (0.8, "reflect101")  # OpenCV's rule, recorded
    assert p.axis_params["first"]["sigma"] == 0.8 and p.axis_params["ksize"] == 3


def _masked_state(h: int = 64, w: int = 80) -> ImageState:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    mask = np.zeros((h, w), bool)
    mask[16:40, 20:60] = True
    return ImageState(pixels=img, mask=mask)


@pytest.mark.parametrize("suite", ["imdl-robustness", "processing-detection", "mixed-chains"])
def test_masks_of_a_doctored_image_follow_every_chain(suite: str) -> None:
    """Every variant runs with a mask: the mask keeps its place (point ops, filters, codecs) or
    is resampled with the pixels (resize), and it changes no output byte."""
    for plans in _plans(suite).values():
        for p in plans:
            state = _masked_state()
            with_mask = run_chain(state, p.chain)
            without = run_chain(state.replace(mask=None), p.chain)
            assert with_mask.data == without.data, (suite, p.axis, p.level)
            with Image.open(__import__("io").BytesIO(with_mask.data)) as im:
                w, h = im.size
            assert with_mask.mask.shape == (h, w), (suite, p.axis, p.level)
            frac = with_mask.mask.mean()
            assert abs(frac - state.mask.mean()) < 0.02, (suite, p.axis, p.level, frac)
            if "resize" not in _ops(p):
                assert np.array_equal(with_mask.mask, state.mask)


def _config(tmp: Path, suites: dict) -> Path:
    shipped = yaml.safe_load(default_config_path().read_text())
    cfg = {"version": 1, "presets": shipped["presets"],
           "datasets": {"samples": {"kind": "samples", "folds": 4}}, "suites": suites}  # fmt: skip
    path = tmp / "c.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def test_imdl_robustness_generates_on_samples_and_verifies(tmp_path: Path) -> None:
    out = tmp_path / "o"
    s = generate(dataset="samples", suite="imdl-robustness", out=out, folds=[0], progress=False)
    assert s.variants > 0
    m = read_manifest(out)
    n = m["source_id"].nunique()
    assert len(m) == 19 * n
    jpeg = m[m["axis"] == "jpeg"]
    assert (jpeg["jpeg_quality"] == jpeg["level_value"]).all()
    assert set(m.loc[m["axis"] != "jpeg", "format"]) == {"png"}
    assert verify(out).ok


def test_processing_ops_as_the_later_chain_of_a_doctored_suite(tmp_path: Path) -> None:
    """The suites' steps in a forgery ladder: masks are written, follow the resize, and verify."""
    then = {
        "none": [],
        "size=5": [{"op": "median_filter", "backend": "opencv", "size": 5}],
        "size=5,quality=80": [{"op": "median_filter", "backend": "opencv", "size": 5},
                              {"op": "jpeg", "backend": "pillow", "quality": 80}],
        "scale=0.8": [{"op": "resize", "backend": "opencv", "method": "bilinear", "scale": 0.8}],
        "sigma=2.6458": [{"op": "gaussian_noise", "sigma": 2.6458, "seed": 5}],
    }  # fmt: skip
    axis = {"type": "manipulate", "ops": ["copy_move"], "ladder": then}
    cfg = _config(tmp_path, {"s": {"seed": 2, "axes": {"doctored": axis}}})
    out = tmp_path / "o"
    generate(config=cfg, dataset="samples", suite="s", out=out, limit=1, progress=False)
    m = read_manifest(out)
    m = m[m["axis"] == "doctored"]
    forged = m[m["manipulated"].astype(bool)]
    assert len(forged) == 5 * m["source_id"].nunique() and forged["mask_path"].notna().all()
    for row in forged.itertuples():
        with Image.open(out / row.mask_path) as mk, Image.open(out / row.path) as im:
            assert mk.size == im.size == (row.width, row.height)
    assert verify(out).ok
