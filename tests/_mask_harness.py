"""Mask bookkeeping checks for ``check_op`` (tests/_harness.py): masks follow the pixels.

``check_mask`` runs an op's sample case again with a region mask in the state and checks that the
op declares how it maps masks (``OpDef.mask``), that the mask changes nothing else (pixels and
bytes equal the unmasked run), that the input mask is untouched, that the output mask is bool and
the output image's size, and that it equals an independent recomputation: the very input mask
for ``unchanged`` ops; for ``geometric`` ops the op's entry in ``MASK_ORACLES``, written here
from first principles (a crop by (dy, dx) is the mask shifted by (dy, dx); a resize samples the
input at the index map of a direct formula, or of the library's own nearest kernel read off
index images; an orientation is numpy's rot90 / transposes); for ``sets`` ops (manipulations)
the op's region rendered by ``region_mask``, OR the incoming mask. A geometric or ``sets`` op
without an oracle fails, naming what to add.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable

import numpy as np
from degradebench.generators.ops import ImageState, OpDef, Step
from degradebench.generators.ops.masks import MASK_KINDS
from degradebench.generators.ops.regions import region_mask
from degradebench.generators.ops.resize import NEAREST_METHODS, resize_image
from PIL import Image

__all__ = [
    "MASK_ORACLES",
    "check_mask",
    "sample_mask",
    "with_mask",
    "shifted",
    "nearest_map",
    "resampled",
    "reoriented",
]


def sample_mask(h: int, w: int) -> np.ndarray:
    """A bool mask with structure at every scale: an off-centre block plus seeded speckles."""
    rng = np.random.default_rng(77)
    m = rng.random((h, w)) < 0.15
    m[h // 5 : h // 2 + 3, w // 3 : w - w // 5] = True
    return m


def _image_size(state: ImageState) -> tuple[int, int]:
    if state.pixels is not None:
        return state.pixels.shape[:2]
    with Image.open(io.BytesIO(state.data)) as im:  # header only
        return im.size[1], im.size[0]


def with_mask(state: ImageState) -> ImageState:
    """``state`` with :func:`sample_mask` the size of its image (pixels, or encoded bytes)."""
    return state.replace(mask=sample_mask(*_image_size(state)))


def shifted(mask: np.ndarray, dy: int, dx: int, size: tuple[int, int]) -> np.ndarray:
    """``mask`` moved up by ``dy`` and left by ``dx`` (a crop at (dy, dx)), ``size`` kept."""
    moved = np.roll(mask, (-dy, -dx), axis=(0, 1))
    return moved[: size[0], : size[1]]


def nearest_map(n_in: int, n_out: int, backend: str | None = None, method: str = "") -> np.ndarray:
    """Input index of each output pixel: the library's own nearest kernel read off an index
    image (``method`` a nearest method), else the pixel-centre formula floor((i + .5) n_in / n_out)."""
    if method in NEAREST_METHODS:
        assert n_in <= 256, "index images hold indices up to 255"
        ramp = np.repeat(np.arange(n_in, dtype=np.uint8)[:, None], 3, axis=1)
        out = resize_image(ramp, (n_out, 3), backend=backend, method=method)
        return out[:, 1].astype(np.int64)
    return np.floor((np.arange(n_out) + 0.5) * n_in / n_out).astype(np.int64)


def resampled(mask: np.ndarray, size: tuple[int, int], backend: str, method: str) -> np.ndarray:
    """``mask`` at ``size`` through :func:`nearest_map` (rows and columns independently)."""
    if tuple(size) == mask.shape:
        return mask
    rows = nearest_map(mask.shape[0], size[0], backend, method)
    cols = nearest_map(mask.shape[1], size[1], backend, method)
    return mask[rows][:, cols]


# EXIF tag -> stored orientation from the upright pixels, in numpy terms.
_NP_UNDO: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: np.fliplr,
    3: lambda m: np.rot90(m, 2),
    4: np.flipud,
    5: lambda m: m.T,
    6: lambda m: np.rot90(m, 1),
    7: lambda m: np.rot90(m, 2).T,
    8: lambda m: np.rot90(m, -1),
}


def reoriented(mask: np.ndarray, tag: int | None) -> np.ndarray:
    """``mask`` in the stored orientation of an image shown upright under EXIF ``tag``."""
    return _NP_UNDO[tag](mask) if tag in _NP_UNDO else mask


def _crop_oracle(before: ImageState, out: ImageState, step: Step) -> np.ndarray:
    assert before.region is not None and out.region is not None, "a crop keeps the region"
    dy, dx = out.region[0] - before.region[0], out.region[1] - before.region[1]
    return shifted(before.mask, dy, dx, out.pixels.shape[:2])


def _resize_oracle(before: ImageState, out: ImageState, step: Step) -> np.ndarray:
    return resampled(before.mask, out.pixels.shape[:2], step.backend, step.params.method)


def _orientation_oracle(before: ImageState, out: ImageState, step: Step) -> np.ndarray:
    if step.params.mode == "apply" or not before.meta.get("exif"):
        return before.mask
    exif = Image.Exif()
    exif.load(before.meta["exif"])
    return reoriented(before.mask, exif.get(0x0112))


def _screenshot_oracle(before: ImageState, out: ImageState, step: Step) -> np.ndarray:
    p = step.params
    size = p.drawn_size(*before.mask.shape)
    m = resampled(before.mask, size, step.backend, p.method).copy()
    top, bottom = p.bars
    m[:top] = False
    if bottom:
        m[max(m.shape[0] - bottom, 0) :] = False
    b = p.border
    framed = np.zeros((size[0] + 2 * b, size[1] + 2 * b), bool)
    framed[b : b + size[0], b : b + size[1]] = m
    return framed


def _region_oracle(before: ImageState, out: ImageState, step: Step) -> np.ndarray:
    return region_mask(*before.mask.shape, step.params.region) | before.mask


def _copy_move_oracle(before: ImageState, out: ImageState, step: Step) -> np.ndarray:
    p = step.params
    assert p.angle == 0 and p.scale == 1, "harness samples paste unrotated (see the op's tests)"
    pasted = dataclasses.replace(p.region, top=p.dst_top, left=p.dst_left)
    return region_mask(*before.mask.shape, pasted) | before.mask


def _splice_oracle(before: ImageState, out: ImageState, step: Step) -> np.ndarray:
    p = step.params
    h, w = before.mask.shape
    top, left = (p.dst_top, p.dst_left) if p.dst_top is not None else (p.region.top, p.region.left)
    if p.grid != "any":  # every position on the grid, the nearest one (smaller on a tie)
        phase = (0, 0) if p.grid == "aligned" else p.shift
        rows = [t for t in range(h - p.region.height + 1) if (t - p.donor_top) % 8 == phase[0]]
        cols = [t for t in range(w - p.region.width + 1) if (t - p.donor_left) % 8 == phase[1]]
        top = min(rows, key=lambda t: (abs(t - top), t))
        left = min(cols, key=lambda t: (abs(t - left), t))
    pasted = dataclasses.replace(p.region, top=top, left=left)
    return region_mask(h, w, pasted) | before.mask


MaskOracle = Callable[[ImageState, ImageState, Step], np.ndarray]

# geometric op -> the output mask, recomputed from (input state, output state, step).
MASK_ORACLES: dict[str, MaskOracle] = {
    "crop": _crop_oracle,
    "center_crop": _crop_oracle,
    "crop_to": _crop_oracle,
    "resize": _resize_oracle,
    "resize_max": _resize_oracle,
    "exif_orientation": _orientation_oracle,
    "screenshot": _screenshot_oracle,
    "copy_move": _copy_move_oracle,
    "inpaint": _region_oracle,
    "retouch": _region_oracle,
    "splice": _splice_oracle,
}


def _same_image(a: ImageState, b: ImageState) -> bool:
    if (a.data, a.fmt, a.grids, a.region, a.passes) != (b.data, b.fmt, b.grids, b.region, b.passes):
        return False
    if (a.pixels is None) != (b.pixels is None):
        return False
    return a.pixels is None or np.array_equal(a.pixels, b.pixels)


def check_mask(
    opdef: OpDef, step: Step, make_state: Callable[[], ImageState], out: ImageState, where: str
) -> None:
    """Run ``step`` on ``make_state()`` with a mask; ``out`` is the unmasked run's output."""
    assert opdef.mask in MASK_KINDS, (
        f"{where}: op declares no mask mapping; set OpDef(mask=...) to one of {MASK_KINDS}"
    )
    before = with_mask(make_state())
    kept = before.mask.copy()
    got = opdef.apply(before, step.params, step.backend)
    assert np.array_equal(before.mask, kept), f"{where}: the input mask changed"
    assert _same_image(got, out), f"{where}: a mask changed the pixels or bytes"
    assert got.mask is not None, f"{where}: the mask was dropped"
    assert got.mask.dtype == np.bool_, f"{where}: mask is {got.mask.dtype}, not bool"
    size = _image_size(got)
    assert got.mask.shape == size, f"{where}: mask {got.mask.shape} on a {size} image"
    if opdef.mask == "unchanged":
        assert got.mask is before.mask, f"{where}: an 'unchanged' op replaced the mask"
        return
    assert opdef.name in MASK_ORACLES, (
        f"{opdef.mask} op {opdef.name!r} has no oracle in tests/_mask_harness.py MASK_ORACLES: add one"
    )
    expected = MASK_ORACLES[opdef.name](before, got, step)
    assert np.array_equal(got.mask, expected), f"{where}: mask differs from the recomputation"
