"""Masks follow the pixels (issue 14, point 3): every op declares how it maps a mask, geometric
ops move it exactly, the others keep it, chains carry it, and a mask changes no output byte."""

from __future__ import annotations

import copy
import dataclasses
import io

import numpy as np
import pytest
import yaml
from _harness import OP_SAMPLES, _state, check_op, sample_image
from _mask_harness import check_mask, nearest_map, reoriented, resampled, sample_mask, shifted
from degradebench.generators.config import default_config_path
from degradebench.generators.core.errors import ConfigError, OpError
from degradebench.generators.ops import OPS, ImageState, OpDef, make_step, register_op, run_chain
from degradebench.generators.ops.masks import MASK_KINDS, as_mask, nearest_indices, resample_mask
from degradebench.generators.ops.resize import BACKENDS, methods_for, resize_image, resize_step
from degradebench.generators.ops.skip import source_file_meta
from degradebench.generators.presets import journey_chain, parse_presets
from PIL import Image

SHIPPED_PRESETS = yaml.safe_load(default_config_path().read_text())["presets"]


def _masked(h: int = 48, w: int = 64) -> ImageState:
    return ImageState(pixels=sample_image(h, w), mask=sample_mask(h, w), meta={"keep": ()})


def _decoded_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as im:
        return im.size[1], im.size[0]


# --- declarations ---------------------------------------------------------------------------


def test_every_registered_op_declares_how_it_maps_a_mask() -> None:
    undeclared = [n for n in OPS.names() if OPS.get(n).mask not in MASK_KINDS]
    assert not undeclared, f"ops without OpDef(mask=...): {undeclared}"
    geometric = {n for n in OPS.names() if OPS.get(n).mask == "geometric"}
    assert geometric >= {"crop", "center_crop", "crop_to", "resize", "resize_max"}
    assert geometric >= {"exif_orientation", "screenshot"}
    assert OPS.get("jpeg").mask == OPS.get("decode").mask == "unchanged"


def test_a_mask_kind_outside_the_list_is_refused() -> None:
    opdef = OPS.get("gamma")
    with pytest.raises(ConfigError, match="mask must be one of unchanged, geometric, sets, got 'warp'"):
        register_op(dataclasses.replace(opdef, name="warped-gamma", mask="warp"))
    assert "warped-gamma" not in OPS


def _plug(monkeypatch, mask: str | None, apply) -> None:  # noqa: ANN001
    gamma = OPS.get("gamma")
    opdef = OpDef("plug", gamma.params_cls, ("numpy",), apply, mask=mask)
    monkeypatch.setitem(OPS._items, "plug", opdef)
    step = dataclasses.replace(make_step({"op": "gamma", "gamma": 1.0}), op="plug")
    monkeypatch.setitem(OP_SAMPLES, "plug", [(_state, lambda b: step)])


def _crop_pixels_only(state: ImageState, p, backend: str) -> ImageState:  # noqa: ANN001
    return state.replace(pixels=state.pixels[2:, 3:].copy(), region=None, grids=())


def _flip_mask(state: ImageState, p, backend: str) -> ImageState:  # noqa: ANN001
    return state if state.mask is None else state.replace(mask=~state.mask)


def _keep(state: ImageState, p, backend: str) -> ImageState:  # noqa: ANN001
    return state.replace(pixels=state.pixels.copy())


@pytest.mark.parametrize(
    ("mask", "apply", "message", "error"),
    [
        (None, _keep, "declares no mask mapping", "declares no mask mapping"),
        ("geometric", _crop_pixels_only, "mask \\(40, 56\\) on a \\(38, 53\\)", "left a"),
        ("unchanged", _flip_mask, "replaced the mask", "replaced the mask"),
    ],
)
def test_the_contract_and_run_chain_catch_an_op_that_breaks_its_mask_rule(
    monkeypatch, mask, apply, message: str, error: str
) -> None:
    _plug(monkeypatch, mask, apply)
    with pytest.raises(AssertionError, match=message):
        check_op("plug")
    step = OP_SAMPLES["plug"][0][1]("numpy")
    with pytest.raises(OpError, match=error):
        run_chain(_state().replace(mask=sample_mask(40, 56)), [step])
    run_chain(_state(), [step])  # without a mask nothing is checked: as before


def test_the_mask_input_is_checked_and_integers_become_bool() -> None:
    state = ImageState(pixels=sample_image(), mask=sample_mask(40, 56).astype(np.uint8) * 255)
    out = run_chain(state, [make_step({"op": "gamma", "gamma": 1.2})])
    assert out.mask.dtype == np.bool_ and np.array_equal(out.mask, sample_mask(40, 56))
    with pytest.raises(OpError, match="is 40x55 but the pixels are 40x56"):
        run_chain(ImageState(pixels=sample_image(), mask=np.zeros((40, 55), bool)), [])
    with pytest.raises(OpError, match="bool or uint8 HxW array"):
        as_mask(np.zeros((4, 4, 3), np.uint8))


# --- geometric ops against independent recomputations ---------------------------------------


@pytest.mark.parametrize(("dy", "dx"), [(0, 0), (0, 1), (3, 5), (7, 7), (8, 13)])
def test_a_crop_by_dy_dx_shifts_the_mask_by_dy_dx(dy: int, dx: int) -> None:
    before = _masked()
    out = run_chain(before, [make_step({"op": "crop", "top": dy, "left": dx, "height": 30})])
    assert out.mask.shape == out.pixels.shape[:2] == (30, 64 - dx)
    for i, j in [(0, 0), (29, 63 - dx), (11, 17), (5, 40 - dx)]:
        assert out.mask[i, j] == before.mask[i + dy, j + dx]
    assert np.array_equal(out.mask, shifted(before.mask, dy, dx, (30, 64 - dx)))


def test_nearest_indices_is_the_pixel_centre_nearest_neighbour() -> None:
    for n_in in (1, 7, 40, 56, 255):
        for n_out in (1, 3, 17, 31, 64, 97, 300):
            want = np.floor((np.arange(n_out) + 0.5) * n_in / n_out).astype(int)
            assert np.array_equal(nearest_indices(n_in, n_out), want), (n_in, n_out)
    assert nearest_indices(4, 2).tolist() == [1, 3]  # an exact tie rounds half up
    assert nearest_indices(2, 4).tolist() == [0, 0, 1, 1]


_METHODS = ("nearest", "nearest-exact", "bilinear", "area")


@pytest.mark.parametrize(
    ("backend", "method"), [(b, m) for b in BACKENDS for m in methods_for(b) if m in _METHODS]
)
@pytest.mark.parametrize("size", [(30, 41), (61, 97), (48, 32)])
def test_a_resize_maps_the_mask_by_nearest_neighbour(
    backend: str, method: str, size: tuple[int, int]
) -> None:
    before = _masked()
    out = run_chain(before, [resize_step(backend, method, mode="exact", size=size)])
    assert out.mask.shape == out.pixels.shape[:2] == size
    assert np.array_equal(out.mask, resampled(before.mask, size, backend, method))
    if method in ("bilinear", "area"):
        rows = np.floor((np.arange(size[0]) + 0.5) * 48 / size[0]).astype(int)
        cols = np.floor((np.arange(size[1]) + 0.5) * 64 / size[1]).astype(int)
        assert np.array_equal(out.mask, before.mask[np.ix_(rows, cols)])


def test_a_nearest_resize_takes_each_librarys_own_neighbour() -> None:
    # OpenCV INTER_NEAREST and torch 'nearest' take floor(i * in / out): not the centre rule.
    for backend in ("opencv", "torch"):
        if backend in BACKENDS:
            assert nearest_map(64, 32, backend, "nearest").tolist() == list(range(0, 64, 2))
            assert nearest_map(32, 64, backend, "nearest").tolist() == [i // 2 for i in range(64)]
    assert nearest_map(64, 32, "pillow", "nearest").tolist() == list(range(1, 64, 2))


def _mask_image(mask: np.ndarray) -> np.ndarray:
    return np.repeat((mask.astype(np.uint8) * 255)[..., None], 3, axis=2)


def _follows_pixels(state: ImageState, step) -> None:  # noqa: ANN001
    """Run ``step`` on pixels that are the mask itself: pixels that only move or get copied must
    come out as the mask does."""
    out = run_chain(state.replace(pixels=_mask_image(state.mask)), [step])
    assert np.array_equal(out.mask, out.pixels[..., 0] >= 128), step


@pytest.mark.parametrize("backend", BACKENDS)
def test_masks_follow_pixels_that_are_only_moved_or_copied(backend: str) -> None:
    state = _masked()
    for method in ("nearest", "nearest-exact"):
        if method in methods_for(backend):
            for size in ((30, 41), (77, 90)):
                _follows_pixels(state, resize_step(backend, method, mode="exact", size=size))
    shot = {"op": "screenshot", "backend": backend, "method": "nearest", "scale": 0.7}
    shot.update(bars=[4, 3], bar_color=[0, 0, 0], border=5, border_color=[0, 0, 0])
    _follows_pixels(state, make_step(shot))
    if backend == "pillow":
        crops = [
            {"op": "crop", "top": 5, "left": 3},
            {"op": "center_crop", "height": 31, "width": 33},
            {"op": "crop_to", "aspect": "1:1", "anchor": "bottom-right"},
        ]
        for spec in crops:
            _follows_pixels(state, make_step(spec))


def _stored_state(tag: int, mask: np.ndarray) -> ImageState:
    pixels = sample_image(*mask.shape)
    e = Image.Exif()
    e[0x0112] = tag
    meta = source_file_meta(b"", {"format": None}, pixels)
    return ImageState(pixels=pixels, mask=mask, meta={**meta, "exif": e.tobytes()})


@pytest.mark.parametrize("tag", range(1, 9))
def test_exif_orientation_transposes_the_mask_as_numpy_does(tag: int) -> None:
    state = _stored_state(tag, sample_mask(24, 40))
    out = run_chain(state, [make_step({"op": "exif_orientation", "mode": "ignore"})])
    assert np.array_equal(out.mask, reoriented(state.mask, tag))
    assert out.mask.shape == out.pixels.shape[:2]
    # the pixels moved as the mask did (channel 0 of the transposed image)
    assert np.array_equal(out.pixels[..., 0], reoriented(state.pixels[..., 0], tag))
    kept = run_chain(state, [make_step({"op": "exif_orientation", "mode": "apply"})])
    assert kept.mask is state.mask


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["screenshot", "resize_max"])
def test_scaled_and_framed_masks_match_the_oracle(backend: str, name: str) -> None:
    if name == "screenshot":
        spec = {"method": "bilinear", "scale": 1.3, "bars": [5, 2], "border": 4}
    else:
        spec = {"method": "bilinear", "max_side": 45}
    step = make_step({"op": name, "backend": backend, **spec})
    opdef = OPS.get(name)
    out = opdef.apply(_state(), step.params, backend)
    check_mask(opdef, step, _state, out, f"{name} {backend}")


# --- chains --------------------------------------------------------------------------------


def _whatsapp(max_side: int | None = None) -> tuple:
    raw = copy.deepcopy(SHIPPED_PRESETS["whatsapp-like"])
    if max_side is not None:
        for spec in raw["chain"]:
            if spec["op"] == "resize_max":
                spec["max_side"] = max_side
    preset = parse_presets({"whatsapp-like": raw})["whatsapp-like"]
    return journey_chain({"whatsapp-like": preset.steps}, ["whatsapp-like"] * 2)


def _region(h: int, w: int) -> np.ndarray:
    """A manipulated-looking region: an ellipse cut by the crop's top-left corner."""
    y, x = np.mgrid[0:h, 0:w]
    return ((y - 6) / 30.0) ** 2 + ((x - 20) / 45.0) ** 2 <= 1.0


@pytest.mark.parametrize("hop_side", [None, 64])
def test_jpeg_crop_resize_and_two_whatsapp_hops_keep_what_is_left_of_the_region(
    hop_side: int | None,
) -> None:
    h, w = 96, 128
    mask = _region(h, w)
    head = [
        make_step({"op": "jpeg", "quality": 90}),
        make_step({"op": "decode"}),
        make_step({"op": "crop", "top": 3, "left": 5}),  # off the 8x8 grid
        resize_step("opencv", "bilinear", scale=0.75),
    ]
    chain = head + list(_whatsapp(hop_side))
    plain = run_chain(ImageState(pixels=sample_image(h, w), meta={"keep": ()}), chain)
    out = run_chain(ImageState(pixels=sample_image(h, w), mask=mask, meta={"keep": ()}), chain)
    assert out.data == plain.data and out.fmt == "jpeg"  # a mask changes no byte
    final = _decoded_size(out.data)
    cut = shifted(mask, 3, 5, (93, 123))
    after_resize = resampled(cut, (70, 92), "opencv", "bilinear")
    want = resampled(after_resize, final, "pillow", "bilinear")
    assert final == ((70, 92) if hop_side is None else (49, 64))
    assert out.mask.shape == final and np.array_equal(out.mask, want)
    assert 0 < out.mask.mean() < mask.mean()  # part of the region was cut off
    assert mask[:3].any() and out.mask[0].any()  # the region reached the cut edge


def test_a_skip_rule_passes_the_mask_through_with_the_file() -> None:
    chain = [
        make_step({"op": "jpeg", "quality": 90}),
        make_step({"op": "skip_if_small", "max_side": 4096}),
        make_step({"op": "decode"}),
        resize_step("pillow", "bilinear", scale=0.5),  # skipped: the file passes through
        make_step({"op": "jpeg", "quality": 70}),
    ]
    state = _masked()
    out = run_chain(state, chain)
    assert out.mask is not None and np.array_equal(out.mask, state.mask)
    assert _decoded_size(out.data) == out.mask.shape


def test_a_state_without_a_mask_gives_the_same_bytes_and_no_mask() -> None:
    chain = [
        make_step({"op": "crop", "top": 1, "left": 2}),
        make_step({"op": "exif_orientation"}),
        resize_step("pillow", "bicubic", scale=0.6),
        make_step({"op": "screenshot", "backend": "pillow", "method": "bilinear", "scale": 1.5}),
        make_step({"op": "png"}),
    ]
    plain = run_chain(ImageState(pixels=sample_image()), chain)
    masked = run_chain(ImageState(pixels=sample_image(), mask=sample_mask(40, 56)), chain)
    assert plain.mask is None and plain.data == masked.data
    assert masked.mask.shape == _decoded_size(masked.data)


def test_resample_mask_keeps_the_same_size_and_none() -> None:
    m = sample_mask(9, 11)
    assert resample_mask(m, (9, 11)) is m and resample_mask(None, (3, 3)) is None
    assert np.array_equal(resample_mask(m, (18, 22)), np.repeat(np.repeat(m, 2, 0), 2, 1))
    pil = resize_image(m.astype(np.uint8) * 255, (18, 22), backend="pillow", method="nearest")
    assert np.array_equal(resample_mask(m, (18, 22)), pil >= 128)
