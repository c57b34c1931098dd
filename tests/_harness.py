"""Contract checks run over every registered op and axis (like torchvision's ``check_kernel``).

``check_op(name)`` runs each backend of an op on a small sample input (``OP_SAMPLES``: the step
to run and the state it needs, e.g. JPEG bytes for a decoder, a source file for a skip rule) and
checks that the input is untouched, the output is deterministic, the step's params are recorded
and round-trip through JSON, the output follows the dtype/shape rules (uint8 HxWx3 or HxW
pixels, bytes after an encoder), that an op which moves pixels moves the JPEG grids and the
region with them, and that a mask follows the pixels as the op declares (tests/_mask_harness.py).
``check_axis(name)`` plans an axis (``AXIS_SAMPLES``) for two sources and checks
that planning is deterministic, variant names and seeds are unique, and every step of every
chain is a registered op on one of its backends that round-trips through JSON.

A new op or axis without a sample here fails the contract test, naming what to add.
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _mask_harness import check_mask
from degradebench.generators.axes import AXES, PlanContext
from degradebench.generators.core.provenance import derive_seed
from degradebench.generators.core.records import from_mapping
from degradebench.generators.ops import OPS, ImageState, Step, canonical_chain, make_step, run_chain
from degradebench.generators.ops.codec import bundled_implementation, wrapper_version
from degradebench.generators.ops.resize import resize_step
from degradebench.generators.ops.skip import source_file_meta
from PIL import Image, ImageCms

__all__ = ["OP_SAMPLES", "AXIS_SAMPLES", "check_op", "check_axis", "sample_image"]

GRID = (3, 5)  # an earlier JPEG grid at a non-zero phase, so a moved grid is visible


def sample_image(h: int = 40, w: int = 56) -> np.ndarray:
    """A small RGB uint8 image with structure (a gradient plus seeded noise)."""
    rng = np.random.default_rng(1234)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 4, y * 5, (x + y) * 2], axis=-1) % 256
    return np.clip(base + rng.integers(-20, 21, (h, w, 3)), 0, 255).astype(np.uint8)


def _state(**meta: Any) -> ImageState:
    return ImageState(pixels=sample_image(), grids=(GRID,), passes=1, meta=meta)


def _gray(**meta: Any) -> ImageState:
    """A grayscale (HxW) input: ops keep L images L unless their format cannot."""
    return ImageState(pixels=sample_image()[..., 1].copy(), grids=(GRID,), passes=1, meta=meta)


def _encoded(fmt: str = "jpeg") -> ImageState:
    """The state right after an encoder: bytes, no pixels."""
    step = make_step({"op": fmt, "quality": 90} if fmt == "jpeg" else {"op": fmt})
    return run_chain(_state(), [step])


def _exif(orientation: int) -> bytes:
    e = Image.Exif()
    e[0x0112] = orientation
    e[0x010F] = "degradebench"
    return e.tobytes()


def _icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _source_state() -> ImageState:
    """Untouched source pixels with the source file (a small JPEG) in meta, as the runner sets."""
    buf = io.BytesIO()
    Image.fromarray(sample_image()).save(buf, "JPEG", quality=85)
    data = buf.getvalue()
    with Image.open(io.BytesIO(data)) as im:
        pixels = np.asarray(im.convert("RGB"))
    meta = source_file_meta(data, {"format": "JPEG"}, pixels)
    return ImageState(pixels=pixels, grids=(), meta={**meta, "exif": _exif(6)})


def _impl(backend: str) -> str:
    return "libjpeg-6b" if backend == "jpeglib" else bundled_implementation(backend)


def _codec(backend: str, **params: Any) -> Step:
    spec = {"implementation": _impl(backend), "version": wrapper_version(backend), **params}
    return make_step({"op": "jpeg_codec", "backend": backend, **spec})


Case = tuple[Callable[[], ImageState], Callable[[str], Step]]

# Regions for the manipulation ops (copy_move, inpaint, retouch), on the 40x56 sample image.
_RECT = {"shape": "rect", "top": 4, "left": 5, "height": 12, "width": 15}
_ELLIPSE = {"shape": "ellipse", "top": 20, "left": 30, "height": 17, "width": 22}
_POLYGON = {
    "shape": "polygon",
    "top": 6,
    "left": 20,
    "height": 25,
    "width": 30,
    "vertices": [[0, 0.5], [1, 1], [0.7, 0]],
}
_BLOB = {
    "shape": "blob",
    "top": 10,
    "left": 8,
    "height": 24,
    "width": 30,
    "harmonics": [[0.3, 20], [0.2, 0]],
    "feather": 1.5,
}

# A splice donor (another image, larger than the sample regions), read-only as delivered.
_DONOR = sample_image(48, 64)[::-1, ::-1].copy()
_DONOR.setflags(write=False)

# op name -> cases: (input state factory, step factory for a backend).
OP_SAMPLES: dict[str, list[Case]] = {
    "center_crop": [
        (_state, lambda b: make_step({"op": "center_crop", "height": 21, "width": 30}))
    ],
    "color": [
        (lambda: _state(icc=_icc()), lambda b: make_step({"op": "color", "backend": b})),
        (
            lambda: _state(icc=_icc()),
            lambda b: make_step({"op": "color", "backend": b, "mode": "drop-icc"}),
        ),
    ],
    "copy_move": [
        (
            _state,
            lambda b: make_step(
                {"op": "copy_move", "region": _RECT, "dst_top": 20, "dst_left": 30}
            ),
        ),
        (
            _gray,
            lambda b: make_step(
                {
                    "op": "copy_move",
                    "region": {**_ELLIPSE, "feather": 2},
                    "dst_top": 9,
                    "dst_left": 2,
                }
            ),
        ),
    ],
    "crop": [
        (_state, lambda b: make_step({"op": "crop", "top": 3, "left": 6, "height": 20})),
        (_gray, lambda b: make_step({"op": "crop", "top": 1, "left": 0})),
    ],
    "crop_to": [
        (_state, lambda b: make_step({"op": "crop_to", "aspect": "1:1"})),
        (
            _state,
            lambda b: make_step({"op": "crop_to", "size": [16, 24], "anchor": "bottom-right"}),
        ),
    ],
    "decode": [
        (_encoded, lambda b: make_step({"op": "decode", "backend": b})),
        (lambda: _encoded("png"), lambda b: make_step({"op": "decode", "backend": b})),
    ],
    "exif_orientation": [
        (lambda: _state(exif=_exif(6)), lambda b: make_step({"op": "exif_orientation"})),
        (_source_state, lambda b: make_step({"op": "exif_orientation", "mode": "ignore"})),
    ],
    "gamma": [
        (_state, lambda b: make_step({"op": "gamma", "gamma": 0.7, "rounding": "truncate"})),
        (_gray, lambda b: make_step({"op": "gamma", "gamma": 1.5})),
    ],
    "inpaint": [
        (_state, lambda b: make_step({"op": "inpaint", "region": _RECT})),
        (
            _gray,
            lambda b: make_step({"op": "inpaint", "region": _POLYGON, "method": "ns", "radius": 5}),
        ),
    ],
    "jpeg": [
        (_state, lambda b: make_step({"op": "jpeg", "backend": b, "quality": 75})),
        (_gray, lambda b: make_step({"op": "jpeg", "backend": b, "quality": 60})),
        (
            _state,
            lambda b: make_step(
                {"op": "jpeg", "backend": b, "quality": 90, "subsampling": "4:4:4"}
            ),
        ),
    ],
    "jpeg_codec": [(_state, lambda b: _codec(b, quality=80))],
    "jpeg_decode": [
        (
            lambda: run_chain(_state(), [_codec("pillow", quality=80)]),
            lambda b: make_step(
                {
                    "op": "jpeg_decode",
                    "backend": b,
                    "implementation": _impl(b),
                    "version": wrapper_version(b),
                }
            ),
        )
    ],
    "keep_metadata": [
        (lambda: _state(exif=_exif(1)), lambda b: make_step({"op": "keep_metadata"}))
    ],
    "splice": [
        (
            lambda: _state(donors={"d1": _DONOR}),
            lambda b: make_step(
                {
                    "op": "splice",
                    "region": _RECT,
                    "donor_source_id": "d1",
                    "donor_top": 9,
                    "donor_left": 3,
                }
            ),
        ),
        (
            lambda: _gray(donors={"d1": _DONOR}),
            lambda b: make_step(
                {
                    "op": "splice",
                    "region": {**_ELLIPSE, "feather": 2},
                    "donor_source_id": "d1",
                    "donor_top": 5,
                    "donor_left": 11,
                    "dst_top": 9,
                    "dst_left": 2,
                    "donor_chain": [{"op": "jpeg", "quality": 70}],
                    "grid": "shifted",
                    "shift": [3, 6],
                }
            ),
        ),
    ],
    "strip_metadata": [
        (
            lambda: _state(exif=_exif(1), keep=("exif",)),
            lambda b: make_step({"op": "strip_metadata", "kinds": ["exif"]}),
        )
    ],
    "png": [
        (_state, lambda b: make_step({"op": "png", "backend": b})),
        (_gray, lambda b: make_step({"op": "png", "backend": b, "compress_level": 9})),
    ],
    "resize": [
        (_state, lambda b: resize_step(b, "bilinear", scale=0.5)),
        (_gray, lambda b: resize_step(b, "nearest", mode="exact", size=(31, 17))),
    ],
    "resize_max": [
        (
            _state,
            lambda b: make_step(
                {"op": "resize_max", "backend": b, "max_side": 30, "method": "bilinear"}
            ),
        )
    ],
    "retouch": [
        (
            _state,
            lambda b: make_step(
                {"op": "retouch", "region": _BLOB, "effect": "noise", "sigma": 9, "seed": 3}
            ),
        ),
        (
            _gray,
            lambda b: make_step(
                {"op": "retouch", "region": _ELLIPSE, "effect": "median", "ksize": 5}
            ),
        ),
    ],
    "screenshot": [
        (
            _state,
            lambda b: make_step(
                {"op": "screenshot", "backend": b, "method": "bilinear", "scale": 0.75}
            ),
        ),
        (
            _state,
            lambda b: make_step(
                {"op": "screenshot", "backend": b, "method": "nearest", "scale": 1.0, "border": 3}
            ),
        ),
    ],
    "skip_if_small": [
        (_source_state, lambda b: make_step({"op": "skip_if_small", "max_side": 4096})),
        (_source_state, lambda b: make_step({"op": "skip_if_small", "max_side": 8})),
        (_encoded, lambda b: make_step({"op": "skip_if_small", "max_bytes": 10})),
    ],
    "webp": [
        (_state, lambda b: make_step({"op": "webp", "backend": b, "quality": 70})),
        (_state, lambda b: make_step({"op": "webp", "backend": b, "lossless": True})),
    ],
}


def _snapshot(state: ImageState) -> tuple:
    pixels = None if state.pixels is None else state.pixels.copy()
    return pixels, state.data, dict(state.meta), state.grids, state.region, state.passes


def _same_output(a: ImageState, b: ImageState) -> bool:
    if (a.data, a.fmt, a.grids, a.region, a.passes) != (b.data, b.fmt, b.grids, b.region, b.passes):
        return False
    if (a.pixels is None) != (b.pixels is None):
        return False
    return a.pixels is None or np.array_equal(a.pixels, b.pixels)


def _check_round_trip(step: Step, where: str) -> None:
    plain = step.to_json()
    assert set(plain) >= {"op", "backend", "params"}, where
    fields = {f.name for f in dataclasses.fields(step.params)}
    assert set(plain["params"]) == fields, f"{where}: params not all recorded"
    back = make_step(json.loads(json.dumps(plain)))
    assert back == step, f"{where}: JSON round trip changed the step: {plain}"
    assert canonical_chain([back]) == canonical_chain([step]), where


def _check_output(out: ImageState, encoder: str | None, where: str) -> None:
    if encoder is not None and out.passthrough is None:
        assert isinstance(out.data, bytes) and out.data, f"{where}: an encoder must write bytes"
        assert out.fmt == encoder, f"{where}: wrote {out.fmt}, declared {encoder}"
        return
    if out.pixels is None:
        assert isinstance(out.data, bytes), f"{where}: neither pixels nor bytes"
        return
    px = out.pixels
    assert px.dtype == np.uint8, f"{where}: pixels are {px.dtype}, not uint8"
    assert px.ndim == 2 or (px.ndim == 3 and px.shape[2] == 3), f"{where}: shape {px.shape}"


def _check_grid(before: ImageState, out: ImageState, where: str) -> None:
    """Where the op keeps the pixel correspondence, the region and grids move together, and a
    moved region is a pure cut of the input pixels."""
    if out.region is None or before.region is None or out.pixels is None or before.pixels is None:
        return
    top, left = out.region[0] - before.region[0], out.region[1] - before.region[1]
    expected = tuple(((r - top) % 8, (c - left) % 8) for r, c in before.grids)
    expected += ((0, 0),) * (out.passes - before.passes)  # a JPEG round trip inside the op
    assert out.grids == expected, f"{where}: region moved by {(top, left)}, grids {out.grids}"
    if (top, left) != (0, 0):
        h, w = out.pixels.shape[:2]
        window = before.pixels[top : top + h, left : left + w]
        assert np.array_equal(out.pixels, window), f"{where}: a moved region must be a pure cut"


def check_op(name: str) -> int:
    """Run every sample case of op ``name`` on every backend; returns how many runs were checked."""
    opdef = OPS.get(name)
    assert name in OP_SAMPLES, f"op {name!r} has no sample in tests/_harness.py OP_SAMPLES: add one"
    runs = 0
    for i, (make_state, make) in enumerate(OP_SAMPLES[name]):
        for backend in opdef.backends:
            where = f"{name}[{i}] backend={backend}"
            step = make(backend)
            assert step.op == name and step.backend == backend, where
            _check_round_trip(step, where)
            state = make_state()
            before = _snapshot(state)
            out = opdef.apply(state, step.params, step.backend)
            after = _snapshot(state)
            assert (before[0] is None and after[0] is None) or np.array_equal(
                before[0], after[0]
            ), f"{where}: the input pixels changed"
            assert before[1:] == after[1:], f"{where}: the input state changed"
            again = opdef.apply(make_state(), step.params, step.backend)
            assert _same_output(out, again), f"{where}: not deterministic"
            _check_output(out, opdef.encoder, where)
            _check_grid(state, out, where)
            check_mask(opdef, step, make_state, out, where)
            runs += 1
    return runs


# axis type -> params mappings (as in datasets.yaml). Social presets come from the shipped config.
AXIS_SAMPLES: dict[str, list[dict[str, Any]]] = {
    "clean": [{}, {"save": "jpeg", "quality": 95, "center_crop": [16, 16]}],
    "codec": [
        {"qualities": [75, 90], "encoders": ["pillow", "opencv"], "decoders": ["pillow"]},
        {"qualities": [80], "encoders": ["libjpeg-6b"], "decoders": ["libjpeg-9e/ifast/nofancy"]},
    ],
    "crop": [
        {"offsets": [[0, 0], [1, 2], [7, 7]], "save": "jpeg", "quality": 90},
        {"offsets": "all", "sample": 5, "size": [32, 32]},
    ],
    "double_jpeg": [
        {"q1": [60, 80], "q2": [90], "shifts": [[0, 0], [4, 4]], "random_shifts": 2},
        {"q1": [90], "q2": [90], "include_equal": True, "shifts": [], "random_shifts": 3},
    ],
    "gamma": [{"gammas": [0.5, 2.0], "save": "jpeg", "quality": 90}],
    "jpeg": [{"qualities": [95, 50], "backend": "opencv"}],
    "manipulate": [
        {"ops": ["copy_move", "inpaint", "retouch"], "per_op": 2, "feather": 2},
        {"ops": ["retouch"], "shapes": ["blob"], "twin": False, "then": [{"op": "jpeg", "quality": 90}]},
        {"ops": ["splice", "copy_move"], "ladder": {
            "none": [], "quality=80": [{"op": "jpeg", "quality": 80}],
            "hops=2": {"preset": "whatsapp-like", "hops": 2},
            "q80+screenshot": {"then": [{"op": "jpeg", "quality": 80}], "preset": "screenshot"}}},
        {"ops": ["splice"], "donor_chain": [{"op": "jpeg", "quality": 70}], "ladder": {
            "aligned": {"grid": "aligned", "then": [{"op": "jpeg", "quality": 90}]},
            "shifted": {"grid": "shifted", "then": [{"op": "jpeg", "quality": 90}]}}},
    ],
    "resize": [
        {
            "backends": ["pillow", "opencv", "torch", "skimage"],
            "methods": ["bilinear"],
            "scales": [0.5, 2.0],
            "dtypes": ["float32-unit", "float32-255"],
        },
        {"backends": ["pillow"], "methods": ["lanczos"], "mode": "exact", "sizes": [[20, 30]]},
    ],
    "social": [
        {"presets": ["whatsapp-like", "facebook-like"], "mode": "random", "journeys": 3},
        {"presets": ["whatsapp-like", "facebook-like"], "hops": [1, 2]},
        {"presets": ["whatsapp-like", "screenshot"], "mode": "sequence", "hops": [1, 2]},
    ],
}


def _axis_params(name: str, mapping: dict[str, Any]) -> Any:
    params = from_mapping(AXES.get(name).params_cls, mapping, f"axes.{name}")
    if hasattr(params, "bind_presets"):
        from degradebench.generators.config import load_config

        params = params.bind_presets(load_config().presets, f"axes.{name}")
    return params


def _plan(name: str, params: Any, source_id: str, seed: int = 0) -> list:
    def rng_for(var: str) -> np.random.Generator:
        return np.random.default_rng(derive_seed(seed, source_id, f"{name}/{var}"))

    def shared_rng(var: str) -> np.random.Generator:  # as plan_source seeds shared draws
        return np.random.default_rng(derive_seed(seed, source_id, var))

    return AXES.get(name).plan(params, PlanContext(source_id, rng_for, shared_rng=shared_rng))


def _fingerprint(levels: list) -> list[tuple]:
    return [
        (
            lv.level,
            lv.level_value,
            json.dumps(lv.axis_params, sort_keys=True),
            lv.slot,
            canonical_chain(lv.chain),
        )  # fmt: skip
        for lv in levels
    ]


def check_axis(name: str) -> int:
    """Plan every sample of axis ``name`` for two sources; returns how many levels were checked."""
    assert name in AXIS_SAMPLES, f"axis {name!r} has no sample in tests/_harness.py AXIS_SAMPLES"
    checked = 0
    for mapping in AXIS_SAMPLES[name]:
        params = _axis_params(name, mapping)
        for source_id in ("0123456789abcdef", "fedcba9876543210"):
            checked += _check_levels(name, params, source_id)
    return checked


def _check_levels(name: str, params: Any, source_id: str) -> int:
    levels = _plan(name, params, source_id)
    assert levels, f"{name}: no levels planned"
    assert _fingerprint(levels) == _fingerprint(_plan(name, params, source_id)), (
        f"{name}: planning is not deterministic for a seed"
    )
    names = [lv.name for lv in levels]
    assert len(set(names)) == len(names), f"{name}: variant names repeat: {names}"
    slots = [lv.slot for lv in levels]
    assert len(set(slots)) == len(slots), f"{name}: slots (seeds) repeat: {slots}"
    chains = [canonical_chain(lv.chain) for lv in levels]
    own = [c for c, lv in zip(chains, levels) if not lv.repeats_chain]
    assert len(set(own)) == len(own), f"{name}: two levels give the same chain"
    for c, lv in zip(chains, levels):  # a flagged level repeats an earlier level's chain
        assert not lv.repeats_chain or c in chains[: levels.index(lv)], f"{name}: {lv.name}"
    for lv in levels:
        json.dumps(lv.axis_params)  # JSON-able
        assert lv.level and isinstance(lv.level, str), f"{name}: empty level"
        assert lv.chain and OPS.get(lv.chain[-1].op).encoder, f"{name}: no final encoder"
        for step in lv.chain:
            assert step.backend in OPS.get(step.op).backends, f"{name}: {step}"
            _check_round_trip(step, f"{name}/{lv.level}/{step.op}")
    return len(levels)


def _merge_samples() -> None:
    """Samples of an op family may live in their own ``tests/_samples_*.py`` (``OP_SAMPLES`` and
    ``AXIS_SAMPLES`` dicts there, in this file's format); they join the dicts above, no name twice."""
    import importlib

    for path in sorted(Path(__file__).parent.glob("_samples_*.py")):
        module = importlib.import_module(path.stem)
        for mine, theirs in ((OP_SAMPLES, "OP_SAMPLES"), (AXIS_SAMPLES, "AXIS_SAMPLES")):
            for name, cases in getattr(module, theirs, {}).items():
                assert name not in mine, f"{path.name}: {theirs}[{name!r}] is defined twice"
                mine[name] = cases


_merge_samples()
