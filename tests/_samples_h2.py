"""Contract samples for the tone and geometry ops and axes (issue 13, H2), and the mask oracles
of the geometric ones, written from first principles (numpy flips/rot90, an inverse map of
pixel centres through a matrix rebuilt here from the recorded parameters)."""

from __future__ import annotations

import math

import numpy as np
from _harness import _gray, _state
from _mask_harness import MASK_ORACLES, resampled
from degradebench.generators.ops import ImageState, Step, make_step

__all__ = ["OP_SAMPLES", "AXIS_SAMPLES", "centre_map_mask"]


def _step(**spec):  # noqa: ANN003, ANN202 - a factory of a step for a backend
    return lambda b: make_step({"backend": b, **spec})


OP_SAMPLES = {
    "brightness": [
        (_state, _step(op="brightness", factor=1.4)),
        (_gray, _step(op="brightness", factor=0.6)),
    ],
    "contrast": [
        (_state, _step(op="contrast", factor=1.7)),
        (_gray, _step(op="contrast", factor=0.5)),
    ],
    "saturation": [
        (_state, _step(op="saturation", factor=0.3)),
        (_state, _step(op="saturation", factor=2.0)),
    ],
    "histogram_equalization": [
        (_state, _step(op="histogram_equalization")),
        (_state, _step(op="histogram_equalization", channel="rgb")),
        (_gray, _step(op="histogram_equalization")),
    ],
    "clahe": [
        (_state, _step(op="clahe", clip_limit=2.0, tiles=[4, 6])),
        (_gray, _step(op="clahe", clip_limit=4.0, channel="ycrcb-y")),
    ],
    "flip": [
        (_state, _step(op="flip", direction="horizontal")),
        (_gray, _step(op="flip", direction="vertical")),
    ],
    "rotate": [
        (_state, _step(op="rotate", angle=17.0)),
        (_state, _step(op="rotate", angle=-30.0, fit="crop", interpolation="bicubic")),
        (_gray, _step(op="rotate", angle=90.0, fill=[255, 0, 255])),
        (_state, _step(op="rotate", angle=12.5, fit="same", interpolation="nearest")),
    ],
    "affine": [
        (_state, _step(op="affine", rotation=4.0, shear=3.0, scale=1.05, translate=[2.0, -1.5])),
        (_gray, _step(op="affine", scale=0.9, interpolation="nearest", fill=[10, 20, 30])),
    ],
    "perspective": [
        (_state, _step(op="perspective", strength=0.1, seed=11)),
        (_gray, _step(op="perspective", strength=0.2, corners=[0.1, 0, 0, 0.2, -0.1, 0, 0, -0.05])),
    ],
    "pixelate": [
        (_state, _step(op="pixelate", factor=4)),
        (_gray, _step(op="pixelate", factor=3, down="bilinear", up="bilinear")),
    ],
}

AXIS_SAMPLES = {
    "brightness": [{"factors": [0.5, 1.5], "backend": "opencv"}],
    "contrast": [{"factors": [0.6, 1.4], "save": "jpeg", "quality": 90}],
    "saturation": [{"factors": [0.0, 2.0]}],
    "histogram_equalization": [{"channels": ["luma", "rgb"], "backend": "opencv"}],
    "clahe": [{"clip_limits": [1.0, 3.0], "tiles": [4, 4]}],
    "flip": [{"directions": ["horizontal", "vertical"]}],
    "rotate": [{"angles": [5, 90], "fit": "crop"}, {"angles": [-10], "backend": "opencv"}],
    "affine": [{"shears": [2, 5]}, {"translates": [[1, 2], [3, 0]], "rotation": 2}],
    "perspective": [{"strengths": [0.05, 0.1]}],
    "pixelate": [{"factors": [2, 4], "backend": "opencv", "down": "bilinear"}],
}


def centre_map_mask(mask: np.ndarray, inv: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
    """For each output pixel, the input pixel containing its centre mapped by ``inv`` (a 3x3
    output -> input map in corner coordinates), False outside: loops, not vectorised."""
    h, w = out_hw
    out = np.zeros((h, w), bool)
    for i in range(h):
        for j in range(w):
            x, y, z = inv @ np.array([j + 0.5, i + 0.5, 1.0])
            c, r = math.floor(x / z), math.floor(y / z)
            if 0 <= r < mask.shape[0] and 0 <= c < mask.shape[1]:
                out[i, j] = mask[r, c]
    return out


def _about_centres(fwd2x3: np.ndarray, in_hw: tuple, out_hw: tuple) -> np.ndarray:
    """Inverse of x_out = c_out + A (x_in - c_in) + t, as a 3x3 output -> input matrix."""
    a, t = fwd2x3[:, :2], fwd2x3[:, 2]
    ainv = np.linalg.inv(a)
    c_in = np.array([in_hw[1] / 2, in_hw[0] / 2])
    c_out = np.array([out_hw[1] / 2, out_hw[0] / 2])
    m = np.eye(3)
    m[:2, :2] = ainv
    m[:2, 2] = c_in - ainv @ (c_out + t)
    return m


def _flip_oracle(before: ImageState, out: ImageState, step: Step) -> np.ndarray:
    return (
        np.fliplr(before.mask) if step.params.direction == "horizontal" else np.flipud(before.mask)
    )


def _rotate_oracle(before: ImageState, out: ImageState, step: Step) -> np.ndarray:
    p = step.params
    if p.angle % 90 == 0 and (
        p.fit != "same" or (p.angle / 90) % 2 == 0 or out.mask.shape[0] == out.mask.shape[1]
    ):
        return np.rot90(before.mask, int(p.angle // 90) % 4)
    a = math.radians(p.angle)
    fwd = np.array([[math.cos(a), math.sin(a), 0.0], [-math.sin(a), math.cos(a), 0.0]])
    size = out.pixels.shape[:2]
    return centre_map_mask(before.mask, _about_centres(fwd, before.mask.shape, size), size)


def _affine_oracle(before: ImageState, out: ImageState, step: Step) -> np.ndarray:
    p = step.params
    a, sh = math.radians(p.rotation), math.tan(math.radians(p.shear))
    rot = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    lin = rot @ np.array([[1.0, sh], [0.0, 1.0]]) * p.scale
    fwd = np.hstack([lin, np.array(p.translate, float)[:, None]])
    size = before.mask.shape
    return centre_map_mask(before.mask, _about_centres(fwd, size, size), size)


def _perspective_oracle(before: ImageState, out: ImageState, step: Step) -> np.ndarray:
    import cv2

    h, w = before.mask.shape
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = src + np.float32(step.params.corners).reshape(4, 2) * np.float32([w, h])
    inv = cv2.getPerspectiveTransform(dst, src).astype(np.float64)  # an independent solver
    return centre_map_mask(before.mask, inv, (h, w))


def _pixelate_oracle(before: ImageState, out: ImageState, step: Step) -> np.ndarray:
    p, (h, w) = step.params, before.mask.shape
    small = (max(1, math.floor(h / p.factor + 0.5)), max(1, math.floor(w / p.factor + 0.5)))
    down = resampled(before.mask, small, step.backend, p.down)
    return resampled(down, (h, w), step.backend, p.up)


for _name, _oracle in {
    "flip": _flip_oracle,
    "rotate": _rotate_oracle,
    "affine": _affine_oracle,
    "perspective": _perspective_oracle,
    "pixelate": _pixelate_oracle,
}.items():
    assert _name not in MASK_ORACLES, f"MASK_ORACLES[{_name!r}] is defined twice"
    MASK_ORACLES[_name] = _oracle
