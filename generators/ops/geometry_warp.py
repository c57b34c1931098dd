"""The warp engine of the geometry ops: one inverse matrix, applied by Pillow or OpenCV.

Coordinates are *corner* coordinates, x right and y down: pixel (row i, col j) covers
[j, j + 1) x [i, i + 1) and its centre is (j + 0.5, i + 0.5). An op builds a 3x3 matrix ``inv``
mapping an output point to the input point it samples (affine or projective), and the output
size; the library only interpolates:

- ``pillow``: ``Image.transform(size, AFFINE | PERSPECTIVE, data=inv, resample, fillcolor)``
  (Pillow samples at output pixel centres in these very coordinates). A sample point outside
  the input gets the fill colour (a hard edge); one inside interpolates with edge pixels
  repeated.
- ``opencv``: ``cv2.warpAffine`` / ``cv2.warpPerspective`` with ``WARP_INVERSE_MAP`` and the
  same matrix moved to OpenCV's pixel-centre indices (``T(-0.5) @ inv @ T(+0.5)``);
  ``BORDER_CONSTANT`` with the fill colour (which blends into edge pixels: a soft edge), or
  ``BORDER_REPLICATE`` where no output pixel may show fill (``fit: crop``).

OpenCV gets the RGB array as it is (the fill colour is given in the array's own channel order):
geometry never looks at colour. A mask is mapped by :func:`warp_mask`: each output pixel takes
the input pixel under its centre's sample point (floor in corner coordinates), False outside.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "INTERPOLATIONS",
    "translation",
    "is_identity",
    "warp_pillow",
    "warp_opencv",
    "warp_mask",
    "fill_value",
    "quarter_turns",
    "rot90_grid",
    "inscribed_size",
    "homography",
]

INTERPOLATIONS = ("nearest", "bilinear", "bicubic")


def translation(dx: float, dy: float) -> np.ndarray:
    """The 3x3 matrix of a translation by (``dx``, ``dy``)."""
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def is_identity(inv: np.ndarray, in_hw: tuple[int, int], out_hw: tuple[int, int]) -> bool:
    """True when ``inv`` maps every output pixel onto itself (the op is a no-op)."""
    return tuple(in_hw) == tuple(out_hw) and bool(np.allclose(inv, np.eye(3), rtol=0, atol=1e-12))


def fill_value(fill: tuple[int, int, int], img: np.ndarray) -> tuple[int, ...] | int:
    """``fill`` for ``img``: the RGB triple, or its Pillow luma for an L image."""
    if img.ndim == 3:
        return tuple(int(v) for v in fill)
    r, g, b = (int(v) for v in fill)
    return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16


def _affine(inv: np.ndarray) -> bool:
    return bool(inv[2, 0] == 0 and inv[2, 1] == 0 and inv[2, 2] == 1)


def warp_pillow(
    img: np.ndarray,
    inv: np.ndarray,
    out_hw: tuple[int, int],
    interpolation: str,
    fill: tuple[int, int, int],
) -> np.ndarray:
    """``img`` resampled by Pillow through ``inv`` (output -> input, corner coordinates)."""
    from PIL import Image

    resample = {
        "nearest": Image.Resampling.NEAREST,
        "bilinear": Image.Resampling.BILINEAR,
        "bicubic": Image.Resampling.BICUBIC,
    }[interpolation]
    h, w = out_hw
    if _affine(inv):
        method, data = Image.Transform.AFFINE, tuple(float(v) for v in inv[:2].ravel())
    else:
        norm = inv / inv[2, 2]
        method, data = Image.Transform.PERSPECTIVE, tuple(float(v) for v in norm.ravel()[:8])
    out = Image.fromarray(img).transform(
        (w, h), method, data=data, resample=resample, fillcolor=fill_value(fill, img)
    )
    return np.asarray(out)


def warp_opencv(
    img: np.ndarray,
    inv: np.ndarray,
    out_hw: tuple[int, int],
    interpolation: str,
    fill: tuple[int, int, int],
    replicate: bool = False,
) -> np.ndarray:
    """``img`` resampled by OpenCV through ``inv`` (converted to pixel-centre indices)."""
    import cv2

    flags = {
        "nearest": cv2.INTER_NEAREST,
        "bilinear": cv2.INTER_LINEAR,
        "bicubic": cv2.INTER_CUBIC,
    }[interpolation] | cv2.WARP_INVERSE_MAP
    m = translation(-0.5, -0.5) @ inv @ translation(0.5, 0.5)
    h, w = out_hw
    border = cv2.BORDER_REPLICATE if replicate else cv2.BORDER_CONSTANT
    value = fill_value(fill, img)
    value = tuple(value) if isinstance(value, tuple) else (value, value, value)
    if _affine(inv):
        out = cv2.warpAffine(img, m[:2], (w, h), flags=flags, borderMode=border, borderValue=value)
    else:
        out = cv2.warpPerspective(img, m, (w, h), flags=flags, borderMode=border, borderValue=value)
    return out


def warp_mask(mask: np.ndarray, inv: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
    """The bool mask of the output: the input pixel under each output centre's sample point
    (float64, floor in corner coordinates); False where the point falls outside the input."""
    h, w = out_hw
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    z = inv[2, 0] * xs + inv[2, 1] * ys + inv[2, 2]
    x = (inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]) / z
    y = (inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]) / z
    col, row = np.floor(x), np.floor(y)
    inside = (col >= 0) & (col < mask.shape[1]) & (row >= 0) & (row < mask.shape[0])
    out = np.zeros((h, w), dtype=bool)
    out[inside] = mask[row[inside].astype(np.int64), col[inside].astype(np.int64)]
    return out


def quarter_turns(angle: float) -> int | None:
    """``angle`` (degrees, counter-clockwise) as a number of quarter turns 0..3, or None."""
    turns = angle / 90.0
    return int(turns) % 4 if float(turns).is_integer() else None


def rot90_grid(grid: tuple[int, int], k: int, h: int, w: int) -> tuple[int, int]:
    """Phase of an 8x8 grid of an ``h`` x ``w`` image after ``k`` counter-clockwise quarter
    turns (``np.rot90``): a point (r, c) goes to (w - c, r) per turn."""
    r, c = grid
    for _ in range(k):
        r, c, h, w = (w - c) % 8, r, w, h
    return r, c


def inscribed_size(h: int, w: int, angle: float) -> tuple[int, int]:
    """(height, width) of the largest axis-aligned rectangle inside an ``h`` x ``w`` image
    rotated by ``angle`` degrees, centred, rounded down to whole pixels (at least 1 x 1)."""
    a = math.radians(angle)
    s, c = abs(math.sin(a)), abs(math.cos(a))
    longer, shorter = max(w, h), min(w, h)
    if shorter <= 2.0 * s * c * longer or abs(s - c) < 1e-10:
        half = 0.5 * shorter  # two corners touch the longer sides: a half-constrained case
        wr, hr = (half / s, half / c) if w >= h else (half / c, half / s)
    else:
        cos2 = c * c - s * s
        wr, hr = (w * c - h * s) / cos2, (h * c - w * s) / cos2
    return max(1, math.floor(hr + 1e-9)), max(1, math.floor(wr + 1e-9))


def homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 3x3 projective matrix mapping the 4 points ``src`` onto ``dst`` (each 4x2, x y)."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(src, dst):
        rows.append([x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y])
        rows.append([0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y])
        rhs.extend([u, v])
    h = np.linalg.solve(np.array(rows, dtype=np.float64), np.array(rhs, dtype=np.float64))
    return np.append(h, 1.0).reshape(3, 3)
