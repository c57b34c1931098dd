"""Manipulation ops (copy_move, inpaint, retouch) and their regions: masks mark exactly what the
op changed, pixels outside the mask are untouched, parameters are concrete and validated."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from _harness import sample_image
from degradebench.generators.core.errors import OpError, ParamError
from degradebench.generators.ops import OPS, ImageState, make_step, run_chain
from degradebench.generators.ops._base import _check_mask_step
from degradebench.generators.ops.masks import nearest_indices
from degradebench.generators.ops.regions import Region, feather_alpha, region_mask
from degradebench.generators.ops.resize import resize_step
from degradebench.generators.ops.retouch import RetouchParams

H, W = 64, 80
RECT = {"shape": "rect", "top": 6, "left": 9, "height": 14, "width": 18}
ELLIPSE = {"shape": "ellipse", "top": 30, "left": 40, "height": 20, "width": 30}


def _flat_with_patch(value: int | None = None) -> np.ndarray:
    """A flat background (50) with RECT's box filled by unique values (or ``value``)."""
    img = np.full((H, W, 3), 50, np.uint8)
    n = RECT["height"] * RECT["width"] * 3
    patch = np.arange(100, 100 + n).reshape(RECT["height"], RECT["width"], 3) % 150 + 100
    box = (slice(6, 20), slice(9, 27))
    img[box] = patch if value is None else value
    return img


def _run(img: np.ndarray, spec: dict, mask: np.ndarray | None = None) -> ImageState:
    return run_chain(ImageState(pixels=img, mask=mask), [make_step(spec)])


def _changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a != b).any(axis=-1) if a.ndim == 3 else a != b


def test_copy_move_mask_marks_exactly_the_pasted_pixels() -> None:
    img = _flat_with_patch()
    kept = img.copy()
    out = _run(img, {"op": "copy_move", "region": RECT, "dst_top": 40, "dst_left": 50})
    assert np.array_equal(img, kept), "the input was mutated"
    assert np.array_equal(_changed(out.pixels, img), out.mask)
    assert out.mask.sum() == 14 * 18
    assert np.array_equal(out.pixels[40:54, 50:68], img[6:20, 9:27])  # an exact copy
    assert np.array_equal(out.meta["source_mask"], region_mask(H, W, Region(**RECT)))
    assert out.meta["source_mask"].dtype == np.bool_


@pytest.mark.parametrize(("angle", "scale"), [(30.0, 1.0), (-90.0, 1.0), (0.0, 1.5), (45.0, 0.7)])
def test_rotated_and_scaled_copy_move_masks_where_pasted(angle: float, scale: float) -> None:
    img = _flat_with_patch(value=200)
    spec = {"op": "copy_move", "region": RECT, "dst_top": 28, "dst_left": 36}
    out = _run(img, {**spec, "angle": angle, "scale": scale})
    assert np.array_equal(_changed(out.pixels, img), out.mask)
    area = 14 * 18 * scale**2
    assert 0.85 * area <= out.mask.sum() <= 1.15 * area


def test_copy_move_of_a_shaped_region_changes_nothing_outside_its_mask() -> None:
    img = sample_image(H, W)
    out = _run(
        img, {"op": "copy_move", "region": ELLIPSE, "dst_top": 2, "dst_left": 3, "angle": 20}
    )
    assert np.array_equal(out.pixels[~out.mask], img[~out.mask])
    assert out.mask[:2].sum() == 0 and out.mask[:, :3].sum() == 0


def test_feathering_is_inward_the_mask_stays_the_region() -> None:
    img = _flat_with_patch(value=200)
    spec = {"op": "copy_move", "region": {**RECT, "feather": 3}, "dst_top": 40, "dst_left": 50}
    soft = _run(img, spec)
    hard = _run(img, {**spec, "region": RECT})
    assert np.array_equal(soft.mask, hard.mask)
    assert np.array_equal(soft.pixels[~soft.mask], img[~soft.mask])
    rim = soft.pixels[40, 50:68, 0]  # the top row of the paste: blended towards the background
    assert (rim < 200).all() and (rim > 50).all()
    assert soft.pixels[47, 59, 0] == 200  # deep inside: the pasted value
    alpha = feather_alpha(hard.mask, 3)
    assert alpha.max() == 1 and alpha[~hard.mask].max() == 0


def test_a_paste_that_does_not_fit_is_an_op_error() -> None:
    with pytest.raises(OpError, match="does not fit an image of 64x80"):
        _run(sample_image(H, W), {"op": "copy_move", "region": RECT, "dst_top": 60, "dst_left": 0})
    with pytest.raises(OpError, match="region top=6 left=9 height=14 width=90 does not fit"):
        _run(sample_image(H, W), {"op": "inpaint", "region": {**RECT, "width": 90}})


@pytest.mark.parametrize("method", ["telea", "ns"])
def test_inpaint_changes_only_inside_the_region(method: str) -> None:
    img = sample_image(H, W)
    img[36:44, 48:62] = (250, 10, 10)  # an object inside the region, to remove
    out = _run(img, {"op": "inpaint", "region": ELLIPSE, "method": method, "radius": 4})
    expected = region_mask(H, W, Region(**ELLIPSE))
    assert np.array_equal(out.mask, expected)
    assert np.array_equal(out.pixels[~expected], img[~expected])  # tolerance 0 outside
    assert _changed(out.pixels, img)[expected].mean() > 0.9
    assert out.pixels[40, 55, 1] > 100  # the object (green 10) is gone: background green ~200


RETOUCHES = [
    {"effect": "blur", "sigma": 2.0},
    {"effect": "median", "ksize": 5},
    {"effect": "sharpen", "amount": 1.5},
    {"effect": "gamma", "gamma": 0.5},
    {"effect": "noise", "sigma": 10.0, "seed": 7},
]


@pytest.mark.parametrize("effect", RETOUCHES, ids=lambda e: e["effect"])
def test_retouch_changes_only_inside_the_region(effect: dict) -> None:
    img = sample_image(H, W)
    out = _run(img, {"op": "retouch", "region": ELLIPSE, **effect})
    expected = region_mask(H, W, Region(**ELLIPSE))
    assert np.array_equal(out.mask, expected)
    assert np.array_equal(out.pixels[~expected], img[~expected])
    assert _changed(out.pixels, img)[expected].mean() > 0.3


def test_sharpen_records_its_sigma() -> None:
    step = make_step({"op": "retouch", "region": RECT, "effect": "sharpen", "amount": 1.0})
    assert step.to_json()["params"]["sigma"] == 1.0


def test_noise_retouch_follows_its_seed() -> None:
    img = sample_image(H, W)
    spec = {"op": "retouch", "region": RECT, "effect": "noise", "sigma": 8.0, "seed": 11}
    a, b = _run(img, spec).pixels, _run(img, spec).pixels
    c = _run(img, {**spec, "seed": 12}).pixels
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(
    ("region", "lo", "hi"),
    [
        (RECT, 1.0, 1.0),
        (ELLIPSE, 0.74, 0.83),  # pi / 4 of the box
        ({**RECT, "shape": "polygon", "vertices": [[0, 0], [1, 0], [1, 1]]}, 0.45, 0.56),
        ({**ELLIPSE, "shape": "blob", "harmonics": [[0.25, 0], [0.15, 90]]}, 0.3, 0.8),
        ({**ELLIPSE, "shape": "blob"}, 0.74, 0.83),  # no harmonics: the ellipse
    ],
    ids=["rect", "ellipse", "polygon", "blob", "blob-plain"],
)
def test_every_region_shape_fills_its_box_as_expected(region: dict, lo: float, hi: float) -> None:
    r = Region(**region)
    m = region_mask(H, W, r)
    box = np.zeros_like(m)
    box[r.top : r.top + r.height, r.left : r.left + r.width] = True
    assert not m[~box].any(), "the shape leaves its box"
    assert lo <= m.sum() / box.sum() <= hi
    rows, cols = np.nonzero(m)
    spans = (rows.max() - rows.min() + 1) / r.height, (cols.max() - cols.min() + 1) / r.width
    assert max(spans) >= 0.9 and min(spans) >= 0.5, spans  # a blob touches its box somewhere


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"op": "inpaint", "region": {**RECT, "height": 0}}, "region.height"),
        ({"op": "inpaint", "region": {**RECT, "shape": "star"}}, "region.shape"),
        ({"op": "inpaint", "region": {**RECT, "shape": "polygon"}}, "vertices"),
        ({"op": "inpaint", "region": {**RECT, "vertices": [[0, 0], [1, 0], [1, 1]]}}, "vertices"),
        (
            {
                "op": "inpaint",
                "region": {**RECT, "shape": "blob", "harmonics": [[0.7, 0], [0.5, 0]]},
            },
            "harmonics",
        ),  # fmt: skip
        ({"op": "inpaint", "region": {**RECT, "feather": -1}}, "feather"),
        ({"op": "inpaint", "region": RECT, "method": "fast"}, "method"),
        ({"op": "copy_move", "region": RECT, "dst_top": 0, "dst_left": 0, "scale": 0}, "scale"),
        ({"op": "copy_move", "region": RECT, "dst_top": -1, "dst_left": 0}, "dst_top"),
        ({"op": "retouch", "region": RECT, "effect": "median", "ksize": 4}, "ksize"),
        ({"op": "retouch", "region": RECT, "effect": "blur"}, "sigma"),
        ({"op": "retouch", "region": RECT, "effect": "blur", "sigma": 1, "seed": 3}, "seed"),
        ({"op": "retouch", "region": RECT, "effect": "noise", "sigma": 1}, "seed"),
        ({"op": "retouch", "region": RECT, "effect": "smudge"}, "effect"),
    ],
)
def test_bad_params_name_the_field(spec: dict, field: str) -> None:
    with pytest.raises(ParamError, match=field):
        make_step(spec)


def test_bad_params_from_python_are_param_errors_too() -> None:
    with pytest.raises(ParamError, match="ksize: must be odd"):
        RetouchParams(region=Region(**RECT), effect="median", ksize=6)
    with pytest.raises(ParamError, match="width"):
        Region(shape="rect", top=0, left=0, height=3, width=0)


def test_masks_survive_a_chain_as_an_independent_recomputation_says() -> None:
    img = sample_image(H, W)
    chain = [
        make_step({"op": "copy_move", "region": ELLIPSE, "dst_top": 3, "dst_left": 4}),
        make_step({"op": "jpeg", "quality": 85}),
        make_step({"op": "decode"}),
        make_step({"op": "crop", "top": 3, "left": 5}),
        resize_step("opencv", "bilinear", scale=0.5),
    ]
    out = run_chain(ImageState(pixels=img), chain)
    pasted = region_mask(H, W, dataclasses.replace(Region(**ELLIPSE), top=3, left=4))
    cut = pasted[3:, 5:]
    h, w = out.pixels.shape[:2]
    expected = cut[np.ix_(nearest_indices(cut.shape[0], h), nearest_indices(cut.shape[1], w))]
    assert expected.any() and not expected.all()
    assert np.array_equal(out.mask, expected)
    source = region_mask(H, W, Region(**ELLIPSE))[3:, 5:]  # the copied-from region moves too
    rows, cols = nearest_indices(source.shape[0], h), nearest_indices(source.shape[1], w)
    assert np.array_equal(out.meta["source_mask"], source[np.ix_(rows, cols)])


def test_a_second_manipulation_adds_to_the_first() -> None:
    img = sample_image(H, W)
    first = make_step({"op": "copy_move", "region": RECT, "dst_top": 40, "dst_left": 50})
    second = make_step({"op": "retouch", "region": ELLIPSE, "effect": "gamma", "gamma": 2.0})
    out = run_chain(ImageState(pixels=img), [first, second])
    one = run_chain(ImageState(pixels=img), [first])
    assert np.array_equal(out.mask, one.mask | region_mask(H, W, Region(**ELLIPSE)))
    assert np.array_equal(out.pixels[~out.mask], img[~out.mask])


def test_run_chain_refuses_a_sets_op_that_loses_the_incoming_mask() -> None:
    img = sample_image(H, W)
    incoming = region_mask(H, W, Region(**RECT))
    before = ImageState(pixels=img, mask=incoming)
    opdef = OPS.get("inpaint")
    bad = before.replace(mask=region_mask(H, W, Region(**ELLIPSE)))  # replaced, not OR-ed
    with pytest.raises(OpError, match="declares mask 'sets' but lost part"):
        _check_mask_step(opdef, before, bad)
    good = _run(img, {"op": "inpaint", "region": ELLIPSE}, mask=incoming)
    assert np.array_equal(good.mask, incoming | bad.mask)


@pytest.mark.parametrize(
    "spec",
    [
        {"op": "copy_move", "dst_top": 1, "dst_left": 2, "angle": 15.0},
        {"op": "inpaint", "method": "ns"},
        {"op": "retouch", "effect": "noise", "sigma": 20.0, "seed": 1},
    ],
    ids=lambda s: s["op"],
)
def test_feathered_ops_leave_every_pixel_outside_the_mask_alone(spec: dict) -> None:
    img = sample_image(H, W)
    region = {**ELLIPSE, "shape": "blob", "harmonics": [[0.2, 30]], "feather": 4}
    soft = _run(img, {**spec, "region": region})
    hard = _run(img, {**spec, "region": {**region, "feather": 0}})
    assert np.array_equal(soft.mask, hard.mask)
    assert np.array_equal(soft.pixels[~soft.mask], img[~soft.mask])
    rim = soft.mask & (feather_alpha(soft.mask, 4) < 1)
    assert rim.any() and not np.array_equal(soft.pixels[rim], hard.pixels[rim])
