"""The resize op and axis, the gamma and centre-crop ops: each backend's output is pinned
against a direct call of that library with the recorded parameters, byte for byte."""

from __future__ import annotations

import hashlib
import json

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import photo
from degradebench.generators.config import parse_config
from degradebench.generators.core.errors import ConfigError, OpError
from degradebench.generators.ops import OPS, ImageState, make_step, run_chain
from degradebench.generators.ops.gamma import GammaParams, gamma_lut
from degradebench.generators.ops.resize import (
    BACKENDS,
    ResizeParams,
    antialias_options,
    dtype_options,
    methods_for,
    output_size,
    resize_step,
)
from degradebench.generators.plan import plan_source
from PIL import Image
from skimage.transform import resize as sk_resize

IMG = np.ascontiguousarray(
    photo("astronaut", 96, 40, 60)[:, :90]
)  # 96x90: odd sizes catch rounding slips
_PIL = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "area": Image.Resampling.BOX,
    "lanczos": Image.Resampling.LANCZOS,
}
_CV = {
    "nearest": cv2.INTER_NEAREST,
    "nearest-exact": cv2.INTER_NEAREST_EXACT,
    "bilinear": cv2.INTER_LINEAR,
    "bicubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA,
    "lanczos": cv2.INTER_LANCZOS4,
}


def _run(step, img=IMG):
    return run_chain(ImageState(img), [step]).pixels


def _to_u8(y, dtype, rounding):
    y = np.asarray(y, np.float32)
    if dtype == "float32-unit":
        y = y * np.float32(255)
    y = np.rint(y) if rounding == "round" else np.trunc(y)
    return np.clip(y, 0, 255).astype(np.uint8)


def _src(dtype):
    f = IMG.astype(np.float32)
    return f / np.float32(255) if dtype == "float32-unit" else (IMG if dtype == "uint8" else f)


def _direct(backend: str, p: ResizeParams, h: int, w: int) -> np.ndarray:
    """The library called by hand with the parameters the chain recorded."""
    src = _src(p.dtype)
    if backend == "pillow":
        if p.dtype == "uint8":
            return np.asarray(Image.fromarray(IMG).resize((w, h), _PIL[p.method]))
        chans = [
            np.asarray(
                Image.fromarray(np.ascontiguousarray(src[..., c]), "F").resize(
                    (w, h), _PIL[p.method]
                )
            )
            for c in range(3)
        ]
        return _to_u8(np.stack(chans, -1), p.dtype, p.rounding)
    if backend == "opencv":
        out = cv2.resize(src, (w, h), interpolation=_CV[p.method])
        return out if p.dtype == "uint8" else _to_u8(out, p.dtype, p.rounding)
    if backend == "torch":
        t = torch.from_numpy(np.array(src)).permute(2, 0, 1)[None].contiguous()
        kw = {"align_corners": False} if p.method in ("bilinear", "bicubic") else {}
        if p.method in ("bilinear", "bicubic", "lanczos"):
            kw["antialias"] = p.antialias
        out = F.interpolate(t, size=(h, w), mode=p.method, **kw)[0].permute(1, 2, 0).numpy()
        return out if p.dtype == "uint8" else _to_u8(out, p.dtype, p.rounding)
    order = {"nearest": 0, "bilinear": 1, "bicubic": 3}[p.method]
    out = sk_resize(
        src,
        (h, w, 3),
        order=order,
        mode="reflect",
        cval=0,
        clip=True,
        preserve_range=True,
        anti_aliasing=p.antialias,
    )
    return _to_u8(out, p.dtype, p.rounding)


def _combos():
    for b in BACKENDS:
        for m in methods_for(b):
            for aa in antialias_options(b, m):
                for dt in dtype_options(b, m):
                    yield b, m, aa, dt


@pytest.mark.parametrize("scale", [0.5, 0.8, 1.5])
@pytest.mark.parametrize(("backend", "method", "antialias", "dtype"), list(_combos()))
def test_each_backend_equals_a_direct_library_call(backend, method, antialias, dtype, scale):
    step = resize_step(backend, method, scale=scale, antialias=antialias, dtype=dtype)
    p = step.params
    assert (p.method, p.antialias, p.dtype) == (method, antialias, dtype)
    assert p.version  # the library version is in the chain
    h, w = output_size(*IMG.shape[:2], p)
    assert (h, w) == (int(96 * scale + 0.5), int(90 * scale + 0.5))
    out = _run(step)
    assert out.dtype == np.uint8 and out.shape == (h, w, 3)
    assert np.array_equal(out, _direct(backend, p, h, w))


def test_chain_records_backend_version_method_antialias_and_dtype():
    import PIL

    step = resize_step("pillow", "bicubic", scale=0.5)
    js = step.to_json()
    assert js["backend"] == "pillow"
    assert js["params"]["version"] == PIL.__version__
    assert js["params"]["method"] == "bicubic"
    assert js["params"]["antialias"] is True  # what Pillow really does, not a wish
    assert js["params"]["dtype"] == "uint8" and js["params"]["rounding"] is None
    # round trip through the manifest's JSON form
    again = make_step(json.loads(json.dumps(js)))
    assert again == step
    sk = resize_step("skimage", "bilinear", scale=0.5)
    assert sk.params.dtype == "float32-unit" and sk.params.rounding == "round"
    assert sk.params.antialias is True  # skimage's anti_aliasing default on downscale
    assert resize_step("torch", "bicubic", scale=0.5).params.antialias is False


def test_pillow_and_opencv_bicubic_differ_on_downscale():
    fur = photo("chelsea", 128, 30, 90)  # texture: where antialiasing matters
    a = _run(resize_step("pillow", "bicubic", scale=0.5), fur)
    b = _run(resize_step("opencv", "bicubic", scale=0.5), fur)
    d = np.abs(a.astype(int) - b)
    mse = float((d.astype(float) ** 2).mean())
    psnr = 10 * np.log10(255**2 / mse)
    assert d.max() > 20 and d.any(axis=2).mean() > 0.5 and psnr < 40
    # torch with antialias reproduces Pillow's antialiased kernel (to within one grey level)
    c = _run(resize_step("torch", "bicubic", scale=0.5, antialias=True), fur)
    assert np.abs(a.astype(int) - c).max() <= 1


def test_nearest_integer_upscale_agrees_across_backends():
    outs = {}
    for b in BACKENDS:
        outs[b] = _run(resize_step(b, "nearest", scale=2.0))
    for b in ("opencv", "torch"):
        outs[b + "/exact"] = _run(resize_step(b, "nearest-exact", scale=2.0))
    expected = IMG.repeat(2, axis=0).repeat(2, axis=1)  # pixel replication
    for name, out in outs.items():
        assert np.array_equal(out, expected), name


def test_nearest_downscale_has_two_conventions():
    """x0.5: Pillow, skimage and the *-exact modes sample pixel centres (odd rows/cols);
    OpenCV INTER_NEAREST and torch 'nearest' take the top-left neighbour (even rows/cols)."""
    centre = IMG[1::2, 1::2]
    top_left = IMG[0::2, 0::2]
    for b in ("pillow", "skimage"):
        assert np.array_equal(_run(resize_step(b, "nearest", scale=0.5)), centre), b
    for b in ("opencv", "torch"):
        assert np.array_equal(_run(resize_step(b, "nearest-exact", scale=0.5)), centre), b
        assert np.array_equal(_run(resize_step(b, "nearest", scale=0.5)), top_left), b


def test_float_path_differs_from_uint8_where_rounding_says_it_must():
    """A horizontal-only x2 linear resize has exact outputs (3a + b) / 4: the uint8 path rounds
    half up (fixed point), the float path's ``round`` is half to even, ``truncate`` floors.
    So they must differ exactly at the .5 values with an even floor, resp. at fractions >= .5."""
    x = IMG.astype(float)
    left = np.concatenate([x[:, :1], x[:, :-1]], 1)  # replicated borders
    right = np.concatenate([x[:, 1:], x[:, -1:]], 1)
    exact = np.empty((96, 180, 3))
    exact[:, 0::2] = 0.75 * x + 0.25 * left
    exact[:, 1::2] = 0.75 * x + 0.25 * right
    frac = exact - np.floor(exact)
    assert 0.1 < (frac == 0.5).mean() < 0.5  # the fixture exercises the rule
    for backend in ("pillow", "opencv"):

        def run(backend=backend, **kw):
            step = resize_step(backend, "bilinear", mode="exact", size=(96, 180), **kw)
            return _run(step).astype(float)

        u8 = run()
        rnd = run(dtype="float32-255")
        trunc = run(dtype="float32-255", rounding="truncate")
        unit = run(dtype="float32-unit")
        assert np.array_equal(u8, np.floor(exact + 0.5)), backend
        assert np.array_equal(rnd != u8, (frac == 0.5) & (np.floor(exact) % 2 == 0)), backend
        assert np.array_equal(trunc != u8, frac >= 0.5), backend
        assert np.abs(unit - rnd).max() <= 1, backend
    # Without arithmetic (nearest) the float trip is lossless, rounded or truncated.
    u8 = _run(resize_step("opencv", "nearest", scale=2.0))
    for dt in ("float32-unit", "float32-255"):
        for r in ("round", "truncate"):
            out = _run(resize_step("opencv", "nearest", scale=2.0, dtype=dt, rounding=r))
            assert np.array_equal(out, u8), (dt, r)


def _ref_resample(img: np.ndarray, h: int, w: int, kernel, support: int) -> np.ndarray:
    """A float64 reference of un-antialiased separable resampling with half-pixel centres and
    replicated borders (what OpenCV INTER_LINEAR / INTER_CUBIC compute)."""

    def axis(n_in, n_out):
        x = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
        x0 = np.floor(x).astype(int)
        taps = np.arange(-support + 1, support + 1)
        idx = x0[:, None] + taps[None]
        wts = kernel(x[:, None] - idx)
        m = np.zeros((n_out, n_in))
        for i in range(n_out):
            for j, wt in zip(np.clip(idx[i], 0, n_in - 1), wts[i]):
                m[i, j] += wt
        return m

    my, mx = axis(img.shape[0], h), axis(img.shape[1], w)
    return np.einsum("ij,jkc,lk->ilc", my, img.astype(np.float64), mx)


def _linear(t):
    return np.clip(1 - np.abs(t), 0, None)


def _cubic(t, a=-0.75):
    t = np.abs(t)
    return np.where(
        t <= 1,
        (a + 2) * t**3 - (a + 3) * t**2 + 1,
        np.where(t < 2, a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a, 0.0),
    )


@pytest.mark.parametrize(
    ("method", "kernel", "support", "tol"),
    [
        ("bilinear", _linear, 1, 1),
        ("bicubic", _cubic, 2, 1),
    ],
)
@pytest.mark.parametrize("scale", [0.5, 0.8, 1.5])
def test_opencv_pinned_by_tolerance_to_a_float64_reference(method, kernel, support, tol, scale):
    """OpenCV's uint8 kernels are SIMD-dispatched fixed point: pinned by tolerance, not hash."""
    out = _run(resize_step("opencv", method, scale=scale))
    ref = _ref_resample(IMG, *out.shape[:2], kernel, support)
    assert np.abs(out.astype(float) - np.clip(np.rint(ref), 0, 255)).max() <= tol
    f = _run(resize_step("opencv", method, scale=scale, dtype="float32-255"))
    assert np.abs(f.astype(float) - np.clip(np.rint(ref), 0, 255)).max() <= 1


# Pillow's integer paths are plain C without CPU dispatch: their bytes are portable for a given
# Pillow version. Re-pin when Pillow's major version changes.
PILLOW_GOLDEN = {
    "13": {
        "bilinear": "9f7731c523efbd6d73e9fb253df9889810fe1d481ca5903960ab0d9eb90d88c0",
        "bicubic": "258528ce0f362e39b3116126127ea7c3a15ae9edfa4948f4ba3b366e5b5d3810",
        "lanczos": "1080a8037aa9914f9ae0b8a4e3d14ba4ba1e5d651a7654aabc6396febeb2e585",
    }
}


def test_pillow_integer_paths_pinned_by_hash():
    import PIL

    major = PIL.__version__.split(".")[0]
    if major not in PILLOW_GOLDEN:
        pytest.skip(f"hashes pinned for Pillow {sorted(PILLOW_GOLDEN)}; this is {PIL.__version__}")
    for method, digest in PILLOW_GOLDEN[major].items():
        out = _run(resize_step("pillow", method, scale=0.5))
        got = hashlib.sha256(np.ascontiguousarray(out).tobytes()).hexdigest()
        assert got == digest, f"pillow {method} x0.5: {got}"


def test_target_size_modes():
    h, w = 96, 90
    P = ResizeParams
    assert output_size(h, w, P("bilinear", mode="exact", size=(50, 40))) == (50, 40)
    assert output_size(h, w, P("bilinear", mode="shorter", side=45)) == (48, 45)
    assert output_size(h, w, P("bilinear", mode="longer", side=48)) == (48, 45)
    assert output_size(h, w, P("bilinear", mode="fit-inside", size=(60, 60))) == (60, 56)
    assert output_size(h, w, P("bilinear", scale=0.8)) == (77, 72)
    assert output_size(h, w, P("bilinear", mode="longer", side=200, only_downscale=True)) == (h, w)
    # only_downscale leaves a small image untouched (grids and region kept)
    state = ImageState(IMG, grids=((0, 0),))
    step = resize_step("pillow", "lanczos", mode="longer", side=200, only_downscale=True)
    assert run_chain(state, [step]) is state
    with pytest.raises(OpError, match="needs 'side'"):
        P("bilinear", mode="shorter")
    with pytest.raises(OpError, match="does not take 'scale'"):
        P("bilinear", mode="exact", size=(4, 4), scale=0.5)


def test_resampling_drops_grids_and_region_gamma_and_crop_keep_them():
    state = ImageState(IMG, grids=((0, 0),), passes=1)
    out = run_chain(state, [resize_step("pillow", "bilinear", scale=1.5)])
    assert out.grids == () and out.region is None and out.passes == 1
    g = run_chain(state, [make_step({"op": "gamma", "gamma": 0.8})])
    assert g.grids == ((0, 0),) and g.region == (0, 0)
    c = run_chain(state, [make_step({"op": "center_crop", "height": 64, "width": 63})])
    # top = (96 - 64) // 2 = 16, left = (90 - 63) // 2 = 13
    assert np.array_equal(c.pixels, IMG[16:80, 13:76])
    assert c.region == (16, 13) and c.grids == (((0 - 16) % 8, (0 - 13) % 8),)
    with pytest.raises(OpError, match="does not fit"):
        run_chain(state, [make_step({"op": "center_crop", "height": 512, "width": 512})])


def test_gamma_formula_is_recorded_and_exact():
    step = make_step({"op": "gamma", "gamma": 1.2})
    assert step.to_json()["params"]["formula"] == "out = floor(255 * (in / 255) ** gamma + 0.5)"
    x = np.arange(256)
    expected = np.floor(255 * (x / 255) ** 1.2 + 0.5).astype(np.uint8)
    assert np.array_equal(gamma_lut(step.params), expected)
    out = run_chain(ImageState(IMG), [step]).pixels
    assert np.array_equal(out, expected[IMG])
    assert make_step(json.loads(json.dumps(step.to_json()))) == step
    with pytest.raises(OpError, match="formula"):
        GammaParams(gamma=1.2, rounding="truncate", formula="out = something else")
    with pytest.raises(OpError, match="gamma: must be a number > 0"):
        GammaParams(gamma=0)


def test_version_mismatch_is_refused():
    step = resize_step("pillow", "bilinear", scale=0.5)
    import dataclasses

    old = dataclasses.replace(step, params=dataclasses.replace(step.params, version="1.0.0"))
    with pytest.raises(OpError, match="planned with pillow 1.0.0"):
        _run(old)


@pytest.mark.parametrize(
    ("body", "msg"),
    [
        (
            "backends: [skimage]\n        methods: [lanczos]\n        scales: [0.5]",
            r"axes\.r\.methods: skimage has no method 'lanczos'; skimage supports: nearest",
        ),
        (
            "backends: [pillow]\n        methods: [bicubic]\n        antialias: [false]\n        scales: [0.5]",
            r"axes\.r\.antialias: pillow bicubic cannot do antialias=false; pillow supports",
        ),
        (
            "backends: [torch]\n        methods: [area]\n        dtypes: [uint8]\n        scales: [0.5]",
            r"axes\.r\.dtypes: torch area has no dtype path 'uint8'",
        ),
        (
            "backends: [pillow]\n        mode: shorter\n        scales: [0.5]",
            r"axes\.r\.sides: mode 'shorter' needs",
        ),
    ],
)
def test_unsupported_combination_is_a_config_error_listing_what_is_supported(body, msg):
    text = f"version: 1\nsuites:\n  s:\n    axes:\n      r:\n        type: resize\n        {body}\n"
    with pytest.raises(ConfigError, match=msg):
        parse_config(text)


def test_resize_axis_levels_and_params():
    text = """
version: 1
suites:
  s:
    axes:
      r:
        type: resize
        backends: [pillow, opencv]
        methods: [bicubic]
        dtypes: [uint8, float32-unit]
        scales: [0.5, 2.0]
        center_crop: [32, 32]
"""
    cfg = parse_config(text)
    plans = [p for p in plan_source(cfg.suite("s"), "x") if p.axis == "r"]
    labels = [p.level for p in plans]
    assert labels[:2] == ["pillow,uint8,x0.5", "pillow,uint8,x2"]
    assert len(labels) == 8 and len(set(labels)) == 8
    p0 = plans[0]
    assert p0.level_value == 0.5
    assert p0.axis_params["backend"] == "pillow" and p0.axis_params["version"]
    assert [s.op for s in p0.chain] == ["resize", "center_crop", "png"]


def test_every_new_op_is_pure_and_deterministic():
    steps = [
        resize_step("torch", "bicubic", scale=0.8, antialias=True),
        resize_step("skimage", "bicubic", scale=1.5),
        make_step({"op": "gamma", "gamma": 0.8}),
        make_step({"op": "center_crop", "height": 50, "width": 50}),
    ]
    for step in steps:
        assert step.op in OPS
        before = IMG.copy()
        a = _run(step)
        b = _run(step)
        assert np.array_equal(IMG, before) and np.array_equal(a, b)
    gray = IMG[..., 0].copy()
    for b in BACKENDS:
        out = run_chain(ImageState(gray), [resize_step(b, "bilinear", scale=0.5)]).pixels
        assert out.shape == (48, 45) and out.dtype == np.uint8, b
