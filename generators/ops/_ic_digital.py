"""ImageNet-C digital corruptions (brightness, contrast, elastic_transform, pixelate,
jpeg_compression), as imagecorruptions 1.1.2 computes them.

Same conventions as ``_ic_noise_blur``: float64 RGB 0..255 in (the values of a uint8 image),
the severity's values, an ``rng`` (drawn from by ``elastic_transform`` only); float 0..255 out.
Brightness goes through scikit-image's HSV formulas, written out here so no float step differs.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

__all__ = [
    "brightness",
    "contrast",
    "elastic_transform",
    "pixelate",
    "jpeg_compression",
    "rgb2hsv",
    "hsv2rgb",
]


def rgb2hsv(arr: np.ndarray) -> np.ndarray:
    """scikit-image's ``rgb2hsv`` (float64 in 0..1), step by step."""
    out = np.empty_like(arr)
    out_v = arr.max(-1)
    delta = np.ptp(arr, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out_s = delta / out_v
        out_s[delta == 0.0] = 0.0
        for ch, offset, (a, b) in ((0, 0.0, (1, 2)), (1, 2.0, (2, 0)), (2, 4.0, (0, 1))):
            idx = arr[..., ch] == out_v
            out[idx, 0] = offset + (arr[idx, a] - arr[idx, b]) / delta[idx]
        out_h = (out[..., 0] / 6.0) % 1.0
        out_h[delta == 0.0] = 0.0
    out[..., 0] = out_h
    out[..., 1] = out_s
    out[..., 2] = out_v
    out[np.isnan(out)] = 0
    return out


def hsv2rgb(arr: np.ndarray) -> np.ndarray:
    """scikit-image's ``hsv2rgb`` (float64 in 0..1), step by step."""
    hi = np.floor(arr[..., 0] * 6)
    f = arr[..., 0] * 6 - hi
    p = arr[..., 2] * (1 - arr[..., 1])
    q = arr[..., 2] * (1 - f * arr[..., 1])
    t = arr[..., 2] * (1 - (1 - f) * arr[..., 1])
    v = arr[..., 2]
    hi = np.stack([hi, hi, hi], axis=-1).astype(np.uint8) % 6
    choices = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    return np.choose(hi, np.stack([np.stack(c, axis=-1) for c in choices]))


def brightness(x: np.ndarray, v: dict, rng: Any) -> np.ndarray:
    """Add ``shift`` to the HSV value channel (clipped to 1), back to RGB."""
    hsv = rgb2hsv(x / 255.0)
    hsv[:, :, 2] = np.clip(hsv[:, :, 2] + v["shift"], 0, 1)
    return np.clip(hsv2rgb(hsv), 0, 1) * 255


def contrast(x: np.ndarray, v: dict, rng: Any) -> np.ndarray:
    """``(x - mean) * factor + mean`` with the per-channel mean of the image."""
    x = x / 255.0
    means = np.mean(x, axis=(0, 1), keepdims=True)
    return np.clip((x - means) * v["factor"] + means, 0, 1) * 255


def elastic_transform(x: np.ndarray, v: dict, rng: Any) -> np.ndarray:
    """Smooth random displacements: uniform noise in +-``max_shift`` * height (dx drawn first,
    then dy), Gaussian-smoothed with sigma ``sigma`` * (height, width) (reflect, truncate 3),
    times ``alpha``; bilinear resampling with reflected borders."""
    from scipy import ndimage  # here: importing it costs every process that loads the ops 0.2 s

    image = x.astype(np.float32) / 255.0
    shape = image.shape
    sigma = np.array(shape[:2]) * v["sigma"]
    max_d = shape[0] * v["max_shift"]
    fields = []
    for _ in range(2):
        noise = rng.uniform(-max_d, max_d, size=shape[:2])
        smooth = ndimage.gaussian_filter(noise, sigma, mode="reflect", truncate=3)
        fields.append((smooth * v["alpha"]).astype(np.float32)[..., np.newaxis])
    dx, dy = fields
    xx, yy, zz = np.meshgrid(np.arange(shape[1]), np.arange(shape[0]), np.arange(shape[2]))
    coords = (np.reshape(yy + dy, (-1, 1)), np.reshape(xx + dx, (-1, 1)), np.reshape(zz, (-1, 1)))
    warped = ndimage.map_coordinates(image, coords, order=1, mode="reflect").reshape(shape)
    return np.clip(warped, 0, 1) * 255


def pixelate(x: np.ndarray, v: dict, rng: Any) -> np.ndarray:
    """Pillow BOX down to ``int(side * factor)``, then NEAREST back up to the original size."""
    h, w = x.shape[:2]
    im = Image.fromarray(np.uint8(x))
    small = im.resize((int(w * v["factor"]), int(h * v["factor"])), Image.Resampling.BOX)
    return np.asarray(small.resize((w, h), Image.Resampling.NEAREST), dtype=np.float64)


def jpeg_compression(x: np.ndarray, v: dict, rng: Any) -> np.ndarray:
    """Pillow JPEG at ``quality`` (its default 4:2:0 subsampling), decoded by Pillow."""
    buf = io.BytesIO()
    Image.fromarray(np.uint8(x)).save(buf, "JPEG", quality=int(v["quality"]))
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float64)
