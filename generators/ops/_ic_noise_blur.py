"""ImageNet-C noise and blur corruptions, as imagecorruptions 1.1.2 computes them.

Each function takes the image as float64 RGB in 0..255 (HxWx3), the severity's published values
and a random generator ``rng`` (a seeded ``numpy.random.Generator``; anything with the same
``normal``/``poisson``/``uniform``/``integers``/``random`` methods works: the comparison feeds
numpy's legacy ``RandomState`` to reproduce the peer's draws). Each draw is the peer's draw, in
the peer's order and shape; each returns float values in 0..255 (clipped, not yet rounded).
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

__all__ = [
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "defocus_blur",
    "glass_blur",
    "glass_shuffle",
    "motion_blur",
    "motion_kernel_blur",
    "zoom_blur",
    "clipped_zoom",
    "sk_gaussian",
]


def gaussian_noise(x: np.ndarray, v: dict, rng: Any) -> np.ndarray:
    """``clip(x/255 + N(0, scale), 0, 1) * 255``, one draw per sample."""
    x = x / 255.0
    return np.clip(x + rng.normal(0.0, v["scale"], size=x.shape), 0, 1) * 255


def shot_noise(x: np.ndarray, v: dict, rng: Any) -> np.ndarray:
    """``clip(Poisson(x/255 * photons) / photons, 0, 1) * 255``."""
    c = v["photons"]
    return np.clip(rng.poisson(x / 255.0 * c) / float(c), 0, 1) * 255


def impulse_noise(x: np.ndarray, v: dict, rng: Any) -> np.ndarray:
    """Salt and pepper per sample (scikit-image ``random_noise(mode='s&p')`` since 0.19): each
    sample is hit with probability ``amount``, a hit is white or black with probability 1/2."""
    hit = rng.random(x.shape) <= v["amount"]
    salt = rng.random(x.shape) <= 0.5
    out = x / 255.0
    out[hit & salt] = 1.0
    out[hit & ~salt] = 0.0
    return np.clip(out, 0, 1) * 255


def _disk(radius: float, alias_blur: float) -> np.ndarray:
    """The peer's anti-aliased disk kernel (float32, 17x17 up to radius 8)."""
    if radius <= 8:
        grid = np.arange(-8, 8 + 1)
        ksize = (3, 3)
    else:
        grid = np.arange(-radius, radius + 1)
        ksize = (5, 5)
    xx, yy = np.meshgrid(grid, grid)
    disk = np.array((xx**2 + yy**2) <= radius**2, dtype=np.float32)
    disk /= np.sum(disk)
    return cv2.GaussianBlur(disk, ksize=ksize, sigmaX=alias_blur)


def defocus_blur(x: np.ndarray, v: dict, rng: Any) -> np.ndarray:
    """The disk kernel by OpenCV ``filter2D`` per channel (border BORDER_REFLECT_101)."""
    kernel = _disk(v["radius"], v["alias_blur"])
    x = x / 255.0
    channels = [cv2.filter2D(np.ascontiguousarray(x[..., d]), -1, kernel) for d in range(3)]
    return np.clip(np.stack(channels, axis=-1), 0, 1) * 255


def sk_gaussian(x: np.ndarray, sigma: float) -> np.ndarray:
    """scikit-image ``gaussian(x, sigma, channel_axis=-1)``: per channel, mode 'nearest',
    truncate 4."""
    from scipy import ndimage  # here: importing it costs every process that loads the ops 0.2 s

    return ndimage.gaussian_filter(x, sigma=(sigma, sigma, 0), mode="nearest", truncate=4.0)


def glass_shuffle(h: int, w: int, delta: int, iterations: int, rng: Any) -> np.ndarray:
    """The peer's pixel "swaps" as a flat source index per pixel (HxW).

    The peer writes ``x[h, w], x[h2, w2] = x[h2, w2], x[h, w]`` on numpy views, which copies
    ``x[h2, w2]`` into ``x[h, w]`` and leaves ``x[h2, w2]`` as it was: a sequential copy, rows
    from the bottom, columns from the right, offsets drawn in [-delta, delta). Vectorised per
    row: a copy from the same row further right reads that pixel's new value (resolved by
    pointer jumping), any other source reads the current one.
    """
    idx = np.arange(h * w).reshape(h, w)
    rows = np.arange(h - delta, delta, -1)
    cols = np.arange(w - delta, delta, -1)
    if not len(rows) or not len(cols):
        return idx
    order = np.arange(len(cols))
    for _ in range(iterations):
        draws = rng.integers(-delta, delta, size=(len(rows), len(cols), 2))
        for k, row in enumerate(rows):
            dx, dy = draws[k, :, 0], draws[k, :, 1]
            values = idx[row + dy, cols + dx]
            chained = (dy == 0) & (dx > 0) & (cols + dx <= cols[0])
            ptr = np.where(chained, order - dx, order)
            while True:
                nxt = ptr[ptr]
                if np.array_equal(nxt, ptr):
                    break
                ptr = nxt
            idx[row, cols] = values[ptr]
    return idx


def glass_blur(x: np.ndarray, v: dict, rng: Any) -> np.ndarray:
    """Gaussian blur (truncated to uint8), local pixel copies, Gaussian blur again."""
    sigma, delta, iterations = v["sigma"], int(v["max_delta"]), int(v["iterations"])
    blurred = np.uint8(sk_gaussian(x / 255.0, sigma) * 255)
    h, w = blurred.shape[:2]
    src = glass_shuffle(h, w, delta, iterations, rng)
    shuffled = blurred.reshape(h * w, -1)[src.ravel()].reshape(blurred.shape)
    return np.clip(sk_gaussian(shuffled / 255.0, sigma), 0, 1) * 255


def _shift(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """The peer's shift: roll by (dy, dx), the rolled-in border filled by the edge row/column."""
    if dx < 0:
        shifted = np.roll(image, shift=image.shape[1] + dx, axis=1)
        shifted[:, dx:] = shifted[:, dx - 1 : dx]
    elif dx > 0:
        shifted = np.roll(image, shift=dx, axis=1)
        shifted[:, :dx] = shifted[:, dx : dx + 1]
    else:
        shifted = image
    if dy < 0:
        shifted = np.roll(shifted, shift=image.shape[0] + dy, axis=0)
        shifted[dy:, :] = shifted[dy - 1 : dy, :]
    elif dy > 0:
        shifted = np.roll(shifted, shift=dy, axis=0)
        shifted[:dy, :] = shifted[dy : dy + 1, :]
    return shifted


def motion_kernel_blur(x: np.ndarray, radius: int, sigma: float, angle: float) -> np.ndarray:
    """imagecorruptions' numpy motion blur (its stand-in for ImageMagick's): ``2 radius + 1``
    shifted copies along ``angle`` weighted by a one-sided Gaussian of ``sigma``."""
    width = radius * 2 + 1
    k = np.exp(-(np.arange(width) ** 2) / (2 * sigma**2)) / (np.sqrt(2 * np.pi) * sigma)
    kernel = k / np.sum(k)
    point = (width * np.sin(np.deg2rad(angle)), width * np.cos(np.deg2rad(angle)))
    hypot = math.hypot(point[0], point[1])
    blurred = np.zeros_like(x, dtype=np.float32)
    for i in range(width):
        dy = -math.ceil(((i * point[0]) / hypot) - 0.5)
        dx = -math.ceil(((i * point[1]) / hypot) - 0.5)
        if np.abs(dy) >= x.shape[0] or np.abs(dx) >= x.shape[1]:
            break  # the motion left the image
        blurred = blurred + kernel[i] * _shift(x, dx, dy)
    return blurred


def motion_blur(x: np.ndarray, v: dict, rng: Any) -> np.ndarray:
    """The motion kernel at an angle drawn uniformly in [-45, 45) degrees."""
    angle = rng.uniform(-45, 45)
    return np.clip(motion_kernel_blur(x, int(v["radius"]), v["sigma"], angle), 0, 255)


def clipped_zoom(img: np.ndarray, factor: float) -> np.ndarray:
    """The centre ``1/factor`` of ``img`` zoomed by ``factor`` (scipy, linear, per channel);
    not trimmed: the caller keeps the top-left HxW as the peer does."""
    ch0 = int(np.ceil(img.shape[0] / float(factor)))
    top0 = (img.shape[0] - ch0) // 2
    ch1 = int(np.ceil(img.shape[1] / float(factor)))
    top1 = (img.shape[1] - ch1) // 2
    from scipy import ndimage

    return ndimage.zoom(img[top0 : top0 + ch0, top1 : top1 + ch1], (factor, factor, 1), order=1)


def zoom_factors(v: dict) -> np.ndarray:
    """``np.arange(1, stop, step)``, exactly the peer's ladder (its float arange included)."""
    return np.arange(1, v["stop"], v["step"])


def zoom_blur(x: np.ndarray, v: dict, rng: Any) -> np.ndarray:
    """The mean of the image and its centre zoomed by each factor (float32 as the peer)."""
    factors = zoom_factors(v)
    x = (x / 255.0).astype(np.float32)
    out = np.zeros_like(x)
    h, w = x.shape[:2]
    for factor in factors:
        layer = clipped_zoom(x, factor)[:h, :w, :]
        out[: layer.shape[0], : layer.shape[1]] += layer
    return np.clip((x + out) / (len(factors) + 1), 0, 1) * 255
