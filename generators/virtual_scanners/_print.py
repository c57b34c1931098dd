"""The virtual printer: colour separation, halftoning, dot gain, toner banding, paper feed.

``print_page`` turns a digital page (uint8 RGB at the printer's grid, ``print_dpi``) into the
reflectance of the printed sheet (float32 RGB at the same grid). Only the paper tint and the
banding phase are drawn per print, from ``np.random.default_rng([seed, TAG_PRINT])``.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np
from PIL import Image

from ..core.errors import ConfigError
from ._devices import INKS, TAG_PRINT, Printer

__all__ = ["print_page", "screen_thresholds", "separate", "PAPER_RGB"]

# Mean paper reflectance; each print's sheet is drawn around it (shared by all printers).
PAPER_RGB = (0.93, 0.93, 0.91)
_LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)


@functools.lru_cache(maxsize=1)
def _spot_cdf() -> tuple[np.ndarray, np.ndarray]:
    """The distribution of the round-dot spot function over one cell: it makes the screen's
    thresholds uniform, so a coverage ``c`` inks a fraction ``c`` of the cell."""
    g = (np.arange(256) + 0.5) / 256
    u, v = np.meshgrid(g, g)
    spot = np.sort((0.5 * (np.cos(2 * np.pi * u) + np.cos(2 * np.pi * v))).ravel())
    return spot, np.linspace(0.0, 1.0, spot.size)


def screen_thresholds(shape: tuple[int, int], period_px: float, angle_deg: float) -> np.ndarray:
    """Clustered-dot threshold map (float32 in [0, 1]) of a screen with cells ``period_px`` wide
    rotated by ``angle_deg``, anchored at the page origin: ink where coverage > threshold."""
    h, w = shape
    a = np.deg2rad(angle_deg)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    u = (x * np.cos(a) + y * np.sin(a)) / period_px
    v = (-x * np.sin(a) + y * np.cos(a)) / period_px
    spot = 0.5 * (np.cos(2 * np.pi * u) + np.cos(2 * np.pi * v))
    sorted_spot, cdf = _spot_cdf()
    # Dot centres (spot = 1) ink first: threshold = share of the cell with a higher spot value.
    return (1.0 - np.interp(spot, sorted_spot, cdf)).astype(np.float32)


def separate(page: np.ndarray, colour: bool) -> dict[str, np.ndarray]:
    """Coverage (float32 0..1) of each ink: full grey-component replacement (neutral greys are
    black toner only); a monochrome printer inks the luma."""
    rgb = page.astype(np.float32) / 255.0
    if not colour:
        return {"k": 1.0 - rgb @ _LUMA}
    cmy = 1.0 - rgb
    k = cmy.min(axis=2)
    return {"c": cmy[..., 0] - k, "m": cmy[..., 1] - k, "y": cmy[..., 2] - k, "k": k}


def _halftone(cover: np.ndarray, printer: Printer, ink: str, dpi: int) -> np.ndarray:
    if printer.halftone == "error_diffusion":
        grey = np.round((1.0 - cover) * 255.0).astype(np.uint8)
        bits = np.asarray(Image.fromarray(grey, "L").convert("1"))  # Floyd-Steinberg
        return (~bits).astype(np.float32)
    angles = printer.screen_angles() or {}
    thresholds = screen_thresholds(cover.shape, dpi / float(printer.lpi), angles[ink])
    return (cover > thresholds).astype(np.float32)


def _feed_matrix(printer: Printer, shape: tuple[int, int]) -> np.ndarray:
    """Page pixel -> sheet pixel (3x3): the feed's scale error and obliquity about the centre."""
    h, w = shape
    sy, sx = printer.scale
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    m = np.array([[sx, printer.shear, 0.0], [0.0, sy, 0.0], [0.0, 0.0, 1.0]])
    m[0, 2] = cx - sx * cx - printer.shear * cy
    m[1, 2] = cy - sy * cy
    return m


def print_page(
    page: np.ndarray, printer: Printer, *, print_dpi: int, seed: int
) -> tuple[np.ndarray, dict]:
    """Print ``page`` (uint8 HxWx3 RGB rasterized at ``print_dpi``) with ``printer``.

    Returns:
        The sheet's reflectance (float32 HxWx3, 0..1, same grid) and what was drawn or derived:
        ``page_to_sheet`` (3x3), ``paper_rgb``, ``banding_phase``, ``inks``.

    Raises:
        ConfigError: the screen is too fine for the grid (``lpi > print_dpi / 2.5``).
    """
    if page.dtype != np.uint8 or page.ndim != 3 or page.shape[2] != 3:
        raise ConfigError(
            f"print_page: page must be a uint8 HxWx3 RGB array, got {page.dtype} {page.shape}; "
            "convert it with np.asarray(Image.open(path).convert('RGB'))"
        )
    if printer.lpi is not None and printer.lpi > print_dpi / 2.5:
        raise ConfigError(
            f"print_page: {printer.name}'s {printer.lpi} lpi screen needs cells of >= 2.5 dots; "
            f"print_dpi {print_dpi} is too coarse: use print_dpi >= {int(np.ceil(printer.lpi * 2.5))}"
        )
    rng = np.random.default_rng([seed, TAG_PRINT])
    paper = np.clip(np.asarray(PAPER_RGB) + rng.normal(0, 0.01, size=3), 0.8, 0.99)
    phase = float(rng.uniform(0, 2 * np.pi))
    h, w = page.shape[:2]
    cover = separate(page, printer.colour)
    inks = [i for i in INKS if i in cover]
    stack = np.stack([_halftone(cover[i], printer, i, print_dpi) for i in inks], axis=2)
    spread = printer.dot_spread_um * print_dpi / 25400.0
    stack = cv2.GaussianBlur(stack, (0, 0), spread, borderType=cv2.BORDER_REFLECT_101)
    stack = stack.reshape(h, w, len(inks))
    stack = 1.0 - np.power(np.clip(1.0 - stack, 0.0, 1.0), 1.0 + printer.dot_gain)
    feed = _feed_matrix(printer, (h, w))
    stack = cv2.warpAffine(
        stack,
        feed[:2].astype(np.float64),
        (w, h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    ).reshape(h, w, len(inks))
    period = printer.banding_period_mm * print_dpi / 25.4
    rows = np.arange(h, dtype=np.float32)
    band = 1.0 + printer.banding_amplitude * np.sin(2 * np.pi * rows / period + phase)
    stack = np.clip(stack * band[:, None, None], 0.0, 1.0)
    sheet = np.broadcast_to(paper.astype(np.float32), (h, w, 3)).copy()
    toner = dict(zip(INKS, printer.toner))
    for j, ink in enumerate(inks):
        absorb = 1.0 - np.asarray(toner[ink], np.float32)
        sheet *= 1.0 - stack[..., j : j + 1] * absorb
    info = {
        "page_to_sheet": feed.tolist(),
        "paper_rgb": [round(float(x), 5) for x in paper],
        "banding_phase": round(phase, 5),
        "inks": inks,
    }
    return sheet, info
