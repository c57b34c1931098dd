"""Regions for the manipulation ops (copy_move, inpaint, retouch): concrete shapes, 1-bit masks.

A :class:`Region` is fully concrete (the planner draws shapes and positions and writes them here;
nothing is drawn inside an op): a bounding box (``top``, ``left``, ``height``, ``width``) and a
``shape`` inside it: ``rect`` (the box), ``ellipse`` (inscribed), ``polygon`` (``vertices`` as
(y, x) fractions of the box) or ``blob`` (the inscribed ellipse with its radius modulated by
``harmonics``: (amplitude, phase in degrees) for harmonic 2, 3, ..., scaled so its widest point
touches the box; no seed). A pixel belongs to
the region when its centre lies inside the shape (:func:`region_mask`).

``feather`` (px) softens the paste INWARD (:func:`feather_alpha`): the blend weight ramps from the
region's border to 1 at ``feather`` + 1 px inside. The mask stays 1-bit and marks the whole
region, and pixels outside the region are never changed, feathered or not.
"""

from __future__ import annotations

import math
from dataclasses import field

import cv2
import numpy as np

from ..core.errors import OpError
from ..core.records import record, spec
from ._base import ImageState
from .masks import union_mask

__all__ = [
    "REGION_SHAPES",
    "Region",
    "RelRegion",
    "resolve_region",
    "region_mask",
    "check_fits",
    "feather_alpha",
    "blend",
    "manipulated_state",
]

REGION_SHAPES = ("rect", "ellipse", "polygon", "blob")


@record
class Region:
    """A concrete region: its bounding box, the shape inside it and an inward feather (px)."""

    shape: str = field(metadata=spec(choices=REGION_SHAPES))
    top: int = field(metadata=spec(lo=0))
    left: int = field(metadata=spec(lo=0))
    height: int = field(metadata=spec(lo=1))
    width: int = field(metadata=spec(lo=1))
    vertices: tuple[tuple[float, float], ...] | None = field(
        default=None, metadata=spec(doc="polygon only: (y, x) fractions 0..1 of the box")
    )
    harmonics: tuple[tuple[float, float], ...] = field(
        default=(), metadata=spec(doc="blob only: (amplitude, phase degrees) of harmonic 2, 3, ...")
    )
    feather: float = field(default=0.0, metadata=spec(lo=0.0, hi=64.0))

    def _check(self) -> None:
        if self.shape == "polygon":
            if self.vertices is None or len(self.vertices) < 3:
                raise OpError(
                    f"vertices: a polygon needs at least 3 (y, x) vertices, got {self.vertices}"
                )
            bad = [v for v in self.vertices if not (0 <= v[0] <= 1 and 0 <= v[1] <= 1)]
            if bad:
                raise OpError(f"vertices: must be (y, x) fractions 0..1 of the box, got {bad[0]}")
        elif self.vertices is not None:
            raise OpError(f"vertices: only for shape 'polygon', got shape {self.shape!r}")
        if self.harmonics and self.shape != "blob":
            raise OpError(f"harmonics: only for shape 'blob', got shape {self.shape!r}")
        total = sum(abs(a) for a, _ in self.harmonics)
        if total >= 1:
            raise OpError(f"harmonics: the amplitudes must sum to less than 1, got {total:g}")


@record
class RelRegion:
    """A region relative to the image: sides ``size_h`` x ``size_w`` as fractions of the shorter
    image side, top-left at ``y``, ``x`` fractions of the free range (0: top / left edge, 1:
    bottom / right edge, so the box always fits); shape fields as in :class:`Region`."""

    shape: str = field(metadata=spec(choices=REGION_SHAPES))
    y: float = field(metadata=spec(lo=0.0, hi=1.0))
    x: float = field(metadata=spec(lo=0.0, hi=1.0))
    size_h: float = field(metadata=spec(gt=0.0, hi=1.0))
    size_w: float = field(metadata=spec(gt=0.0, hi=1.0))
    vertices: tuple[tuple[float, float], ...] | None = field(
        default=None, metadata=spec(doc="polygon only: (y, x) fractions 0..1 of the box")
    )
    harmonics: tuple[tuple[float, float], ...] = field(
        default=(), metadata=spec(doc="blob only: (amplitude, phase degrees) of harmonic 2, 3, ...")
    )
    feather: float = field(default=0.0, metadata=spec(lo=0.0, hi=64.0))

    def _check(self) -> None:
        self.at(0, 0, 1, 1)  # the shape fields obey Region's rules

    def at(self, top: int, left: int, height: int, width: int) -> Region:
        """This region's shape in the pixel box (``top``, ``left``, ``height``, ``width``)."""
        return Region(
            self.shape, top, left, height, width, self.vertices, self.harmonics, self.feather
        )


def resolve_region(region: Region | RelRegion, h: int, w: int) -> Region:
    """``region`` in pixels of an ``h`` x ``w`` image (a Region is returned as it is): sides
    ``floor(size * min(h, w) + 0.5)`` (at least 1), top-left ``floor(y * (h - height))``."""
    if isinstance(region, Region):
        return region
    side = min(h, w)
    bh = min(h, max(1, math.floor(region.size_h * side + 0.5)))
    bw = min(w, max(1, math.floor(region.size_w * side + 0.5)))
    return region.at(math.floor(region.y * (h - bh)), math.floor(region.x * (w - bw)), bh, bw)


def check_fits(region: Region, h: int, w: int, what: str = "region") -> None:
    """OpError unless ``region``'s box lies inside an ``h`` x ``w`` image."""
    if region.top + region.height > h or region.left + region.width > w:
        raise OpError(
            f"{what} top={region.top} left={region.left} height={region.height} "
            f"width={region.width} does not fit an image of {h}x{w}; use a smaller region"
        )


def _polygon_inside(ys: np.ndarray, xs: np.ndarray, pts: list[tuple[float, float]]) -> np.ndarray:
    """Even-odd rule: True where (ys, xs) lies inside the closed polygon ``pts`` ((y, x))."""
    inside = np.zeros(ys.shape, bool)
    for (y0, x0), (y1, x1) in zip(pts, pts[1:] + pts[:1]):
        if y0 == y1:
            continue
        crosses = (y0 > ys) != (y1 > ys)
        x_at = x0 + (ys - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (xs < x_at)
    return inside


def _box_mask(region: Region) -> np.ndarray:
    """The shape inside its own ``height`` x ``width`` box (pixel centres, box coordinates)."""
    h, w = region.height, region.width
    if region.shape == "rect":
        return np.ones((h, w), bool)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
    if region.shape == "polygon":
        pts = [(vy * h, vx * w) for vy, vx in region.vertices]
        return _polygon_inside(ys, xs, pts)
    dy, dx = (ys - h / 2) / (h / 2), (xs - w / 2) / (w / 2)
    rho = np.hypot(dy, dx)
    if region.shape == "ellipse" or not region.harmonics:
        return rho <= 1.0
    # Scaled so the largest radius (over a fine angle grid) touches the box: the blob fills it.
    peak = _blob_radius(np.linspace(-math.pi, math.pi, 3601), region.harmonics).max()
    return rho <= _blob_radius(np.arctan2(dy, dx), region.harmonics) / peak


def _blob_radius(theta: np.ndarray, harmonics: tuple[tuple[float, float], ...]) -> np.ndarray:
    """1 + sum of amp * cos(k theta + phase) over harmonics k = 2, 3, ... (positive: sum < 1)."""
    radius = np.ones_like(theta)
    for k, (amp, phase) in enumerate(harmonics, start=2):
        radius += amp * np.cos(k * theta + math.radians(phase))
    return radius


def region_mask(h: int, w: int, region: Region | RelRegion) -> np.ndarray:
    """The bool ``h`` x ``w`` mask of ``region`` (OpError when its box does not fit)."""
    region = resolve_region(region, h, w)
    check_fits(region, h, w)
    mask = np.zeros((h, w), bool)
    mask[region.top : region.top + region.height, region.left : region.left + region.width] = (
        _box_mask(region)
    )
    return mask


def feather_alpha(mask: np.ndarray, feather: float) -> np.ndarray:
    """Blend weights 0..1 (float64): 0 outside ``mask``, ramping inward to 1 at ``feather`` + 1
    px from its border (feather 0: exactly the mask as 0/1)."""
    if feather <= 0:
        return mask.astype(np.float64)
    # Distance of each region pixel to the nearest pixel outside it (1 on the border).
    padded = np.pad(mask, 1, constant_values=False).astype(np.uint8)
    dist = cv2.distanceTransform(padded, cv2.DIST_L2, 5)[1:-1, 1:-1]
    return np.clip(dist.astype(np.float64) / (feather + 1.0), 0.0, 1.0) * mask


def blend(base: np.ndarray, top: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``base * (1 - alpha) + top * alpha`` rounded half up to uint8 (alpha HxW, 0 keeps ``base``
    exactly, 1 gives ``top`` exactly); a new array."""
    a = alpha if base.ndim == 2 else alpha[..., None]
    mixed = base.astype(np.float64) * (1.0 - a) + top.astype(np.float64) * a
    return np.clip(np.floor(mixed + 0.5), 0, 255).astype(np.uint8)


def manipulated_state(
    state: ImageState, pixels: np.ndarray, mask: np.ndarray, **meta: object
) -> ImageState:
    """The state after a manipulation: new pixels, mask ``mask`` OR the incoming one (mask kind
    ``sets``), ``meta`` added; the region and earlier JPEG grids keep their places."""
    return state.replace(
        pixels=pixels,
        data=None,
        fmt=None,
        lossless_pixels=False,
        mask=union_mask(state.mask, mask),
        meta={**state.meta, **meta} if meta else state.meta,
    )
