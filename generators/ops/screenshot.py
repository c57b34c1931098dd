"""A screenshot-like rendering: the image as a screen shows it, captured back as pixels.

The image is drawn at a display scale factor (``scale``: device pixels per image pixel, e.g. 1.5
for a laptop at 150 %), shrunk to fit a viewport when one is given (``fit: [h, w]``, as a
browser or viewer does; with ``fit`` alone it is drawn as large as fits), with a named resampling
library and method (the ``resize`` op's kernels). Opaque UI bars can overlay its top and bottom
rows and a solid border can frame it. The capture is RGB. Follow it with a ``png`` step, as
screenshot tools save PNG.

The drawn size is ``floor(side * f + 0.5)`` (at least 1) with ``f = min(scale, fit_h / h,
fit_w / w)`` over the given terms. Drawing at the image's own size does not resample: earlier
JPEG grids survive, moved by the border; any other size drops them, as resampling does. A border
or an overlay breaks the pixel correspondence with the source (region None, no PSNR). A mask
is scaled as the ``resize`` op scales it, cleared under the bars and framed by the border.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import field

import numpy as np

from ..core.errors import ConfigError, OpError
from ..core.records import record, spec
from ._base import OPS, ImageState, OpDef, register_op
from .masks import pad_mask
from .resize import BACKENDS, DTYPE_PATHS, METHODS, ROUNDINGS, ResizeParams, resolve

__all__ = ["ScreenshotParams", "frame", "frame_mask"]


@record
class ScreenshotParams:
    """``scale`` and/or ``fit`` (see the module docstring). ``bars``: [top, bottom] rows
    overlaid in ``bar_color``; ``border``: pixels of ``border_color`` added on every side."""

    method: str = field(metadata=spec(choices=METHODS))
    scale: float | None = field(default=None, metadata=spec(lo=0.01, hi=16.0))
    fit: tuple[int, int] | None = field(default=None, metadata=spec(lo=1, doc="viewport [h, w]"))
    bars: tuple[int, int] = field(default=(0, 0), metadata=spec(lo=0, doc="[top, bottom] rows"))
    bar_color: tuple[int, int, int] = field(default=(0, 0, 0), metadata=spec(lo=0, hi=255))
    border: int = field(default=0, metadata=spec(lo=0))
    border_color: tuple[int, int, int] = field(default=(255, 255, 255), metadata=spec(lo=0, hi=255))
    antialias: bool | None = None
    dtype: str | None = field(default=None, metadata=spec(choices=DTYPE_PATHS))
    rounding: str | None = field(default=None, metadata=spec(choices=ROUNDINGS))
    version: str | None = None

    def _check(self) -> None:
        if self.scale is None and self.fit is None:
            raise OpError("screenshot: give scale, fit or both (scale, shrunk to fit)")
        r = self.resize_params()
        object.__setattr__(self, "rounding", r.rounding)  # float paths: concrete in the chain

    def resize_params(self, size: tuple[int, int] = (1, 1)) -> ResizeParams:
        """The ``resize`` record that draws the image at ``size`` ([h, w])."""
        return ResizeParams(
            method=self.method,
            mode="exact",
            size=tuple(size),
            antialias=self.antialias,
            dtype=self.dtype,
            rounding=self.rounding,
            version=self.version,
        )

    def drawn_size(self, h: int, w: int) -> tuple[int, int]:
        """The size the image is drawn at on screen."""
        f = float(self.scale) if self.scale is not None else float("inf")
        fh, fw = self.fit if self.fit is not None else (math.inf, math.inf)
        f = min(f, fh / h, fw / w)
        return (
            max(1, min(fh, math.floor(h * f + 0.5))),
            max(1, min(fw, math.floor(w * f + 0.5))),
        )

    def concrete(self, backend: str) -> ScreenshotParams:
        """Library defaults and version filled in (raises ConfigError for an impossible combo)."""
        r = resolve(backend, self.resize_params())
        return dataclasses.replace(
            self, antialias=r.antialias, dtype=r.dtype, rounding=r.rounding, version=r.version
        )


def frame(img: np.ndarray, p: ScreenshotParams) -> np.ndarray:
    """Overlay the bars and add the border on an RGB image (a new array; ``img`` untouched)."""
    top, bottom = p.bars
    h = img.shape[0]
    if top or bottom:
        img = img.copy()
        img[: min(top, h)] = p.bar_color
        if bottom:
            img[max(h - bottom, 0) :] = p.bar_color
    if p.border:
        b = p.border
        out = np.empty((img.shape[0] + 2 * b, img.shape[1] + 2 * b, 3), np.uint8)
        out[...] = p.border_color
        out[b:-b, b:-b] = img
        img = out
    return img


def frame_mask(mask: np.ndarray | None, p: ScreenshotParams) -> np.ndarray | None:
    """The mask of :func:`frame`'s output: False under the bars (they cover the region) and in
    the border; None stays None, and an unframed mask is the very array."""
    top, bottom = p.bars
    if mask is None or not (top or bottom or p.border):
        return mask
    if top or bottom:
        h = mask.shape[0]
        mask = mask.copy()
        mask[: min(top, h)] = False
        if bottom:
            mask[max(h - bottom, 0) :] = False
    return pad_mask(mask, p.border)


def _rgb(img: np.ndarray) -> np.ndarray:
    return np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img


def _apply_screenshot(state: ImageState, p: ScreenshotParams, backend: str) -> ImageState:
    img = state.require_pixels("screenshot")
    size = p.drawn_size(*img.shape[:2])
    if size != img.shape[:2]:
        try:
            state = OPS.get("resize").apply(state, p.resize_params(size), backend)
        except ConfigError as exc:
            raise OpError(str(exc)) from None
    scaled = _rgb(state.pixels)
    out = frame(scaled, p)
    framed = out is not scaled
    return state.replace(
        pixels=out,
        data=None,
        fmt=None,
        grids=tuple(((r + p.border) % 8, (c + p.border) % 8) for r, c in state.grids),
        region=None if framed or state.region is None else state.region,
        lossless_pixels=False,
        mask=frame_mask(state.mask, p),  # the resize op scaled it with the pixels
    )


register_op(
    OpDef(
        "screenshot",
        ScreenshotParams,
        BACKENDS,
        _apply_screenshot,
        mask="geometric",
        doc=(
            "render at a display scale (shrunk to fit a viewport) with a named resampler, overlay "
            "bars / add a border, capture RGB; follow with png"
        ),
    )
)
