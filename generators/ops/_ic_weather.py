"""ImageNet-C weather corruptions (snow, frost, fog), as imagecorruptions 1.1.2 computes them.

Same conventions as ``_ic_noise_blur``: float64 RGB 0..255 in, the severity's values, an ``rng``
whose draws are the peer's draws in the peer's order; float 0..255 out. ``frost`` is the one
that differs: the peer blends one of five bundled photographs of frost, we blend a procedural
frost texture matched to their colour statistics (see :func:`frost_texture`).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ._ic_noise_blur import clipped_zoom, motion_kernel_blur

__all__ = ["plasma_fractal", "fog", "snow", "frost", "frost_texture", "FROST_MEAN", "FROST_STD"]

# Mean RGB and standard deviation of the five frost photographs imagecorruptions draws from
# (frost1-frost5; its randint(5) never picks frost6), each image weighted once.
FROST_MEAN = (145.9, 167.2, 178.9)
FROST_STD = 27.0


def plasma_fractal(mapsize: int, wibbledecay: float, rng: Any) -> np.ndarray:
    """Diamond-square height map, ``mapsize`` (a power of two) square, scaled to 0..1."""
    if mapsize & (mapsize - 1):
        raise ValueError(f"plasma_fractal: mapsize must be a power of two, got {mapsize}")
    maparray = np.zeros((mapsize, mapsize), dtype=np.float64)
    stepsize = mapsize
    wibble = 100.0

    def wibbledmean(array: np.ndarray) -> np.ndarray:
        return array / 4 + wibble * rng.uniform(-wibble, wibble, array.shape)

    while stepsize >= 2:
        half = stepsize // 2
        corners = maparray[0:mapsize:stepsize, 0:mapsize:stepsize]
        squares = corners + np.roll(corners, shift=-1, axis=0)
        squares += np.roll(squares, shift=-1, axis=1)
        maparray[half:mapsize:stepsize, half:mapsize:stepsize] = wibbledmean(squares)
        dr = maparray[half:mapsize:stepsize, half:mapsize:stepsize]
        ul = maparray[0:mapsize:stepsize, 0:mapsize:stepsize]
        lt = (dr + np.roll(dr, 1, axis=0)) + (ul + np.roll(ul, -1, axis=1))
        maparray[0:mapsize:stepsize, half:mapsize:stepsize] = wibbledmean(lt)
        tt = (dr + np.roll(dr, 1, axis=1)) + (ul + np.roll(ul, -1, axis=0))
        maparray[half:mapsize:stepsize, 0:mapsize:stepsize] = wibbledmean(tt)
        stepsize //= 2
        wibble /= wibbledecay
    maparray -= maparray.min()
    return maparray / maparray.max()


def _next_power_of_2(n: int) -> int:
    return 1 if n == 0 else 2 ** (n - 1).bit_length()


def fog(x: np.ndarray, v: dict, rng: Any) -> np.ndarray:
    """Add ``strength`` times a plasma fractal (side: the next power of two of the longer side),
    then rescale so the image's old maximum stays the maximum."""
    h, w = x.shape[:2]
    c0 = v["strength"]
    x = x / 255.0
    max_val = x.max()
    size = _next_power_of_2(int(max(x.shape)))
    x = x + c0 * plasma_fractal(size, v["wibbledecay"], rng)[:h, :w][..., np.newaxis]
    return np.clip(x * max_val / (max_val + c0), 0, 1) * 255


def snow(x: np.ndarray, v: dict, rng: Any) -> np.ndarray:
    """A thresholded, zoomed Gaussian field, motion-blurred at an angle drawn in [-135, -45),
    added twice (and rotated 180 degrees) to the image lifted towards its grey level."""
    x = (x / 255.0).astype(np.float32)
    h, w = x.shape[:2]
    layer = rng.normal(v["loc"], v["scale"], size=(h, w))
    layer = clipped_zoom(layer[..., np.newaxis], v["zoom"])
    layer[layer < v["threshold"]] = 0
    layer = np.clip(layer.squeeze(), 0, 1)
    angle = rng.uniform(-135, -45)
    layer = motion_kernel_blur(layer, int(v["radius"]), v["sigma"], angle)
    layer = (np.round(layer * 255).astype(np.uint8) / 255.0)[..., np.newaxis][:h, :w, :]
    grey = cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).reshape(h, w, 1)
    b = v["blend"]
    x = b * x + (1 - b) * np.maximum(x, grey * 1.5 + 0.5)
    return np.clip(x + layer + np.rot90(layer, k=2), 0, 1) * 255


def _crystals(h: int, w: int, scale: float, rng: Any) -> np.ndarray:
    """Ice needles with side branches at +-60 degrees, anti-aliased lines on a float canvas."""
    canvas = np.zeros((h, w), dtype=np.uint8)
    n = max(1, int(h * w / (1600.0 * scale * scale)))
    starts = rng.uniform(0, 1, size=(n, 2)) * (w, h)
    angles = rng.uniform(0, np.pi, size=n)
    lengths = rng.uniform(10, 45, size=n) * scale
    shades = rng.uniform(90, 255, size=n)
    for (x0, y0), a, length, shade in zip(starts, angles, lengths, shades):
        tip = (x0 + length * np.cos(a), y0 + length * np.sin(a))
        cv2.line(canvas, (int(x0), int(y0)), (int(tip[0]), int(tip[1])), int(shade), 1, cv2.LINE_AA)
        for t, side in ((0.35, 1), (0.55, -1), (0.75, 1)):
            bx, by = x0 + t * (tip[0] - x0), y0 + t * (tip[1] - y0)
            ba, bl = a + side * np.pi / 3, length * (1 - t) * 0.6
            end = (int(bx + bl * np.cos(ba)), int(by + bl * np.sin(ba)))
            cv2.line(canvas, (int(bx), int(by)), end, int(shade * 0.8), 1, cv2.LINE_AA)
    return canvas.astype(np.float64) / 255.0


def frost_texture(h: int, w: int, rng: Any) -> np.ndarray:
    """A procedural frost layer (HxWx3 float 0..255): a plasma-fractal haze plus blurred ice
    needles, normalised to the peer's frost photographs' mean colour (``FROST_MEAN``) and
    spread (``FROST_STD``). Feature sizes are in pixels up to a 500 px side and grow with the
    image beyond it, as the peer scales its photographs to cover the image."""
    scale = max(1.0, max(h, w) / 500.0)
    haze = plasma_fractal(_next_power_of_2(max(h, w)), 1.6, rng)[:h, :w]
    needles = _crystals(h, w, scale, rng)
    needles = cv2.GaussianBlur(needles, (0, 0), 0.6 * scale)
    t = 0.55 * haze + 0.45 * needles / max(float(needles.max()), 1e-9)
    t = (t - t.mean()) / max(float(t.std()), 1e-9)
    out = np.asarray(FROST_MEAN)[None, None, :] + FROST_STD * t[..., None]
    return np.clip(out, 0, 255)


def frost(x: np.ndarray, v: dict, rng: Any) -> np.ndarray:
    """``clip(image_weight * x + frost_weight * frost_texture, 0, 255)``."""
    layer = frost_texture(x.shape[0], x.shape[1], rng)
    return np.clip(v["image_weight"] * x + v["frost_weight"] * layer, 0, 255)
