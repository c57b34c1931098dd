"""Tone and geometry ops (issue 13, H2): formulas checked numerically on tiny arrays, masks
mapped with the pixels, grid phases measured on real JPEG blocking, inscribed crops without
fill, and the ``tone`` / ``geometry`` suites generated on ``samples``."""

from __future__ import annotations

import io
import json
import math

import cv2
import numpy as np
import pytest
from degradebench.generators.core.errors import ConfigError, OpError
from degradebench.generators.ops import ImageState, make_step, run_chain
from degradebench.generators.ops.geometry_warp import inscribed_size
from degradebench.generators.ops.tone import pillow_luma, tone_formula
from PIL import Image

RNG = np.random.default_rng(5)
IMG = RNG.integers(0, 256, (37, 45, 3), dtype=np.uint8)


def _run(spec: dict, img: np.ndarray = IMG, **state) -> ImageState:  # noqa: ANN003
    return run_chain(ImageState(pixels=img, **state), [make_step(spec)])


def _f32(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, np.float64).astype(np.float32).astype(np.float64)


# ---- tone -------------------------------------------------------------------------------


@pytest.mark.parametrize("factor", [0.0, 0.3, 0.7, 1.0, 1.3, 2.5])
def test_pillow_enhance_formulas(factor: float) -> None:
    x = IMG.astype(np.float32)
    f = np.float32(factor)
    lum = pillow_luma(IMG)
    m = np.float32(math.floor(lum.mean() + 0.5))
    expect = {
        "brightness": f * x,
        "contrast": m + f * (x - m),
        "saturation": lum[..., None].astype(np.float32) + f * (x - lum[..., None]),
    }
    for op, y in expect.items():
        want = np.clip(np.trunc(y), 0, 255).astype(np.uint8)
        got = _run({"op": op, "factor": factor}).pixels
        assert np.array_equal(got, want), op


@pytest.mark.parametrize("factor", [0.3, 0.7, 1.3, 1.7])
def test_opencv_addweighted_formulas(factor: float) -> None:
    """fma32 as OpenCV's SIMD path computes it; a CPU without FMA may differ by one level."""
    x = IMG.astype(np.float64)
    grey = cv2.cvtColor(IMG, cv2.COLOR_RGB2GRAY).astype(np.float64)
    al = _f32(factor)
    expect = {
        "brightness": _f32(x * al),
        "contrast": _f32(x * al + _f32((1 - factor) * grey.mean())),
        "saturation": _f32(x * al + _f32(grey[..., None] * _f32(1 - factor))),
    }
    for op, y in expect.items():
        want = np.clip(np.rint(y), 0, 255)
        got = _run({"op": op, "backend": "opencv", "factor": factor}).pixels
        diff = np.abs(got - want)
        assert diff.max() <= 1 and (diff == 0).mean() > 0.99, op


def test_tone_keeps_grids_region_mask_and_checks_a_stated_formula() -> None:
    mask = np.zeros(IMG.shape[:2], bool)
    mask[3:9, 4:20] = True
    out = _run({"op": "contrast", "factor": 1.5}, grids=((2, 3),), mask=mask)
    assert out.grids == ((2, 3),) and out.region == (0, 0) and out.mask is mask
    ok = {"op": "contrast", "backend": "opencv", "factor": 1.5}
    _run({**ok, "formula": tone_formula("contrast", "opencv")})
    with pytest.raises(OpError, match="backend 'opencv' computes"):
        _run({**ok, "formula": tone_formula("contrast", "pillow")})


def _pillow_equalize_lut(band: np.ndarray) -> np.ndarray:
    h = np.bincount(band.ravel(), minlength=256)
    nz = h[h > 0]
    step = (int(nz.sum()) - int(nz[-1])) // 255
    if len(nz) <= 1 or step == 0:
        return np.arange(256)
    before = np.concatenate([[0], np.cumsum(h)[:-1]])
    return np.minimum((step // 2 + before) // step, 255)  # Image.point clips the table


def test_histogram_equalization_formulas() -> None:
    grey = RNG.integers(40, 120, (23, 29), dtype=np.uint8)
    got = _run({"op": "histogram_equalization"}, grey).pixels
    assert np.array_equal(got, _pillow_equalize_lut(grey)[grey])
    h = np.bincount(grey.ravel(), minlength=256)
    lo = int(np.nonzero(h)[0][0])
    cdf = np.cumsum(h) - h[lo]
    lut = np.clip(np.rint(cdf * np.float32(255 / (grey.size - h[lo]))), 0, 255)
    got = _run({"op": "histogram_equalization", "backend": "opencv"}, grey).pixels
    assert np.abs(got.astype(int) - lut[grey]).max() <= 1
    # rgb equalizes each band alone; luma keeps the hue, so the two differ
    rgb = _run({"op": "histogram_equalization", "channel": "rgb"}).pixels
    for c in range(3):
        assert np.array_equal(rgb[..., c], _pillow_equalize_lut(IMG[..., c])[IMG[..., c]])
    assert not np.array_equal(rgb, _run({"op": "histogram_equalization"}).pixels)


def test_clahe_tiles_are_rows_then_cols() -> None:
    grey = np.ascontiguousarray(IMG[..., 0])
    got = _run({"op": "clahe", "clip_limit": 3.0, "tiles": [2, 4]}, grey).pixels
    want = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(4, 2)).apply(grey)
    assert np.array_equal(got, want)
    swapped = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(2, 4)).apply(grey)
    assert not np.array_equal(got, swapped)


# ---- geometry ---------------------------------------------------------------------------


def _blocky(h: int, w: int) -> np.ndarray:
    """Decoded pixels of a JPEG (q 30) of smooth noise: 8x8 blocking at phase (0, 0)."""
    base = cv2.resize(RNG.integers(0, 256, (h // 6, w // 6, 3), dtype=np.uint8), (w, h))
    buf = io.BytesIO()
    Image.fromarray(base).save(buf, "JPEG", quality=30)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def _grid_phase(img: np.ndarray) -> tuple[int, int]:
    """The measured 8x8 block phase: where neighbour differences peak, mod 8 (row, col)."""
    g = img.astype(np.float64).mean(axis=2)
    rows = np.abs(np.diff(g, axis=0)).mean(axis=1)  # rows[i]: step between rows i and i+1
    cols = np.abs(np.diff(g, axis=1)).mean(axis=0)
    pr = np.argmax([rows[k::8].mean() for k in range(8)])
    pc = np.argmax([cols[k::8].mean() for k in range(8)])
    return (int(pr) + 1) % 8, (int(pc) + 1) % 8


@pytest.mark.parametrize(
    ("spec", "h", "w"),
    [
        ({"op": "flip", "direction": "horizontal"}, 64, 76),
        ({"op": "flip", "direction": "vertical"}, 84, 64),
        ({"op": "rotate", "angle": 90}, 64, 76),
        ({"op": "rotate", "angle": -90, "fit": "crop"}, 84, 76),
        ({"op": "rotate", "angle": 180, "fit": "same"}, 84, 76),
    ],
)
def test_exact_moves_carry_the_grid_phase(spec: dict, h: int, w: int) -> None:
    img = _blocky(h, w)
    assert _grid_phase(img) == (0, 0)
    out = _run(spec, img, grids=((0, 0),))
    assert out.grids == (_grid_phase(out.pixels),), (out.grids, spec)
    assert out.grids != ((0, 0),) and out.region is None


def test_interpolating_ops_drop_the_grid_and_identity_keeps_it() -> None:
    for spec in (
        {"op": "rotate", "angle": 3},
        {"op": "affine", "shear": 2},
        {"op": "perspective", "strength": 0.1, "seed": 1},
        {"op": "pixelate", "factor": 2},
    ):
        out = _run(spec, grids=((1, 2),))
        assert out.grids == () and out.region is None, spec
    for spec in (
        {"op": "rotate", "angle": 0},
        {"op": "rotate", "angle": 360, "fit": "crop"},
        {"op": "affine"},
        {"op": "perspective", "strength": 0.0, "seed": 4},
        {"op": "pixelate", "factor": 1},
    ):
        state = ImageState(pixels=IMG, grids=((1, 2),))
        assert run_chain(state, [make_step(spec)]) is state, spec


@pytest.mark.parametrize("backend", ["pillow", "opencv"])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear", "bicubic"])
def test_rotate_crop_has_no_fill_pixel(backend: str, interpolation: str) -> None:
    flat = np.full((48, 70, 3), 100, np.uint8)
    mask = np.ones((48, 70), bool)
    for angle in (3, -17.5, 30, 45, 60, 89):
        spec = {"op": "rotate", "backend": backend, "angle": angle, "fit": "crop"}
        spec.update(interpolation=interpolation, fill=[255, 0, 255])
        out = _run(spec, flat, mask=mask)
        assert (out.pixels == 100).all(), (angle, np.argwhere(out.pixels != 100)[:3])
        assert out.mask.all() and out.pixels.shape[:2] == inscribed_size(48, 70, angle)


def test_inscribed_size_matches_the_closed_forms() -> None:
    assert inscribed_size(64, 64, 45) == (45, 45)  # 64 / sqrt(2)
    assert inscribed_size(40, 60, 90) == (60, 40)
    assert inscribed_size(40, 60, 0) == (40, 60)
    # a long thin image, the half-constrained case: w = 5 / sin(30) = 10, h = 5 / cos(30) = 5.77
    assert inscribed_size(10, 200, 30) == (5, 10)


def test_rotate_expand_size_and_fill() -> None:
    out = _run({"op": "rotate", "angle": 30, "fill": [255, 0, 255]}).pixels
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    assert out.shape[:2] == (math.ceil(45 * s + 37 * c), math.ceil(45 * c + 37 * s))
    assert out[0, 0].tolist() == [255, 0, 255] and out[-1, -1].tolist() == [255, 0, 255]
    grey = _run({"op": "rotate", "angle": 30, "fill": [255, 0, 255]}, IMG[..., 0].copy()).pixels
    assert grey[0, 0] == pillow_luma(np.array([[[255, 0, 255]]], np.uint8))[0, 0]


@pytest.mark.parametrize("backend", ["pillow", "opencv"])
def test_rotate_a_mask_and_its_pixels_alike(backend: str) -> None:
    mask = np.zeros((40, 56), bool)
    mask[6:25, 10:31] = True
    mask[30:36, 40:52] = True
    pixels = np.repeat((mask * 255).astype(np.uint8)[..., None], 3, axis=2)
    spec = {"op": "rotate", "backend": backend, "angle": 23, "interpolation": "nearest"}
    for fit in ("expand", "crop", "same"):
        out = _run({**spec, "fit": fit}, pixels, mask=mask)
        differ = (out.pixels[..., 0] == 255) != out.mask
        assert differ.sum() <= 2, (fit, differ.sum())  # only pixel centres on a tie may differ


@pytest.mark.parametrize("backend", ["pillow", "opencv"])
def test_rotate_matches_the_libraries_own_rotation(backend: str) -> None:
    spec = {"op": "rotate", "backend": backend, "angle": 17, "fit": "same"}
    got = _run(spec).pixels
    if backend == "pillow":
        want = np.asarray(Image.fromarray(IMG).rotate(17, resample=Image.Resampling.BILINEAR))
    else:
        m = cv2.getRotationMatrix2D(((45 - 1) / 2, (37 - 1) / 2), 17, 1.0)
        want = cv2.warpAffine(IMG, m, (45, 37), flags=cv2.INTER_LINEAR)
    assert np.array_equal(got, want)


@pytest.mark.parametrize("backend", ["pillow", "opencv"])
def test_affine_integer_translation_is_a_pure_shift(backend: str) -> None:
    spec = {"op": "affine", "backend": backend, "translate": [3, -2], "interpolation": "bilinear"}
    out = _run(spec).pixels
    assert np.array_equal(out[:-2, 3:], IMG[2:, :-3])
    step = make_step(spec)
    assert step.params.matrix == (1.0, 0.0, 3.0, 0.0, 1.0, -2.0)
    assert make_step(json.loads(json.dumps(step.to_json()))) == step
    with pytest.raises(ConfigError, match="drop matrix"):
        make_step({**spec, "matrix": [1, 0, 3, 0, 1, 2]})


def test_perspective_corners_are_drawn_recorded_and_checked() -> None:
    a = make_step({"op": "perspective", "strength": 0.1, "seed": 9}).params
    b = make_step({"op": "perspective", "strength": 0.1, "seed": 9}).params
    assert a.corners == b.corners and max(abs(v) for v in a.corners) <= 0.1
    signs = np.sign(a.corners)
    assert (signs == [1, 1, -1, 1, -1, -1, 1, -1]).all()  # every corner moves inwards
    with pytest.raises(ConfigError, match="give seed"):
        make_step({"op": "perspective", "strength": 0.1})
    with pytest.raises(ConfigError, match="drop corners"):
        make_step({"op": "perspective", "strength": 0.1, "seed": 9, "corners": [0.0] * 8})
    with pytest.raises(ConfigError, match="exceed strength"):
        make_step({"op": "perspective", "strength": 0.1, "corners": [0.2] + [0.0] * 7})
    from degradebench.generators.ops.perspective import perspective_geometry

    inv, _ = perspective_geometry(a, 37, 45)
    moved = np.array(a.corners).reshape(4, 2) * [45, 37] + [[0, 0], [45, 0], [45, 37], [0, 37]]
    for (x, y), want in zip(moved, [[0, 0], [45, 0], [45, 37], [0, 37]]):
        p = inv @ [x, y, 1.0]
        assert np.allclose(p[:2] / p[2], want)


@pytest.mark.parametrize("backend", ["pillow", "opencv"])
def test_pixelate_makes_constant_blocks_of_the_block_mean(backend: str) -> None:
    img = RNG.integers(0, 256, (32, 48, 3), dtype=np.uint8)
    out = _run({"op": "pixelate", "backend": backend, "factor": 4}, img).pixels
    blocks = img.reshape(8, 4, 12, 4, 3).astype(np.float64).mean(axis=(1, 3))
    got = out.reshape(8, 4, 12, 4, 3)
    assert (got == got[:, :1, :, :1]).all()  # constant 4x4 blocks
    assert np.abs(got[:, 0, :, 0] - blocks).max() <= 1
    with pytest.raises(OpError, match="no method"):
        _run({"op": "pixelate", "backend": "pillow", "factor": 4, "up": "nearest-exact"}, img)


def test_axes_record_formula_seeds_and_refuse_bad_ladders() -> None:
    from _harness import _axis_params, _plan

    levels = _plan("contrast", _axis_params("contrast", {"factors": [0.5, 2]}), "s1")
    assert levels[0].axis_params["formula"] == tone_formula("contrast", "pillow")
    assert [lv.level for lv in levels] == ["0.5", "2"]
    persp = _plan("perspective", _axis_params("perspective", {"strengths": [0.1]}), "s1")
    other = _plan("perspective", _axis_params("perspective", {"strengths": [0.1]}), "s2")
    assert persp[0].axis_params["corners"] != other[0].axis_params["corners"]  # per source
    with pytest.raises(ConfigError, match="exactly one of"):
        _axis_params("affine", {"shears": [1], "scales": [2]})
    with pytest.raises(ConfigError, match="no method"):
        _axis_params("pixelate", {"factors": [2], "up": "nearest-exact"})


@pytest.mark.parametrize("suite", ["tone", "geometry"])
def test_suites_generate_and_verify_on_samples(tmp_path, suite: str) -> None:  # noqa: ANN001
    import degradebench as db

    out = tmp_path / suite
    db.generate(dataset="samples", suite=suite, out=out, limit=1, psnr=False, progress=False)
    report = db.verify(out)
    rows = db.read_manifest(out)
    assert report.ok and report.checked == len(rows), report.problems
    want = {
        "tone": {"contrast", "brightness", "saturation", "histogram_equalization", "clahe"},
        "geometry": {"rotate", "flip", "affine", "perspective", "pixelate"},
    }[suite]
    assert want | {"clean"} == set(rows.axis)
    cleans = {r.source_id: r for r in rows[rows.axis == "clean"].itertuples()}
    assert any(len(r.prior_grid) for r in cleans.values()), "no JPEG source: grids untested"
    for row in rows.itertuples():
        chain = json.loads(row.chain)
        clean = cleans[row.source_id]
        grids = [tuple(g) for g in clean.prior_grid]
        if row.axis in ("contrast", "clahe"):  # same-size point ops keep the grid
            assert [tuple(g) for g in row.prior_grid] == grids
        if row.axis == "flip":
            w, h = int(clean.width), int(clean.height)
            moved = [
                (r, (w - c) % 8) if row.level == "horizontal" else ((h - r) % 8, c)
                for r, c in grids
            ]
            assert [tuple(g) for g in row.prior_grid] == moved
        if row.axis in ("affine", "perspective", "pixelate") or (
            row.axis == "rotate" and row.level != "90"
        ):
            assert len(row.prior_grid) == 0, row.axis
        if row.axis == "perspective":
            (step,) = [s for s in chain if s["op"] == "perspective"]
            assert len(step["params"]["corners"]) == 8 and step["params"]["seed"] is not None
