"""Fit one decoded image (RGB uint8 HxWx3) to a model's input: crop, resize, pad, tile or full.

Fit modes are registered by name in :data:`FIT_MODES` (``fit(img, cfg) -> list of HxWx3 tiles``).
They are pure functions of (image, config); they run in the loader's worker processes and return
uint8 CHW tiles so only bytes cross the process boundary. Resizing runs the generators' recorded
kernels (:func:`degradebench.generators.ops.resize.resize_image`): "the model was fed by Pillow
bicubic" is the same code as the resize axis. Scaling to floats and mean/std happen on the
model's device (:func:`normalise`, also used by the reference model's ``tile_batch``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
from degradebench.generators.core.registry import Registry
from degradebench.generators.ops.resize import resize_image

if TYPE_CHECKING:
    from ._input_config import InputConfig

__all__ = ["FIT_MODES", "fit_image", "tile_origins", "crop_offset", "normalise"]

FitFn = Callable[[np.ndarray, "InputConfig"], list[np.ndarray]]
FIT_MODES: Registry[FitFn] = Registry("fit mode")
_NP_PAD = {"reflect": "reflect", "symmetric": "symmetric", "edge": "edge", "constant": "constant"}


def _pad_to(img: np.ndarray, h: int, w: int, mode: str, centred: bool) -> np.ndarray:
    ph, pw = max(0, h - img.shape[0]), max(0, w - img.shape[1])
    if not ph and not pw:
        return img
    if centred:
        pads = ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0))
    else:
        pads = ((0, ph), (0, pw), (0, 0))
    if mode == "reflect" and (img.shape[0] < 2 or img.shape[1] < 2):
        mode = "edge"  # reflection needs two pixels along the padded axis
    return np.pad(img, pads, mode=_NP_PAD[mode])


def tile_origins(height: int, width: int, cfg: InputConfig) -> list[tuple[int, int]]:
    """Top-left corners of the tiles ``fit="tile"`` cuts from an image of this size.

    Tiles start at (0, 0) every ``tile_stride`` pixels (default: the tile size, no overlap) and
    never leave the image (a remainder narrower than a tile is dropped); ``max_tiles`` keeps the
    first tiles in row-major order, as the reference model was trained.
    """
    th, tw = cfg.input_size
    sy = cfg.tile_stride or th
    sx = cfg.tile_stride or tw
    ys = list(range(0, max(height - th, 0) + 1, sy))
    xs = list(range(0, max(width - tw, 0) + 1, sx))
    origins = [(y, x) for y in ys for x in xs]
    return origins[: cfg.max_tiles] if cfg.max_tiles is not None else origins


def crop_offset(height: int, width: int, cfg: InputConfig) -> tuple[int, int]:
    """Where ``fit="center_crop"``'s input starts in the image's coordinates: negative when the
    image was padded (the input's row 0 is ``-offset`` rows above the image's)."""
    h, w = cfg.input_size
    ph, pw = max(0, h - height), max(0, w - width)
    y0 = (height + ph - h) // 2 - ph // 2
    x0 = (width + pw - w) // 2 - pw // 2
    return y0, x0


@FIT_MODES.register("center_crop")
def _fit_center_crop(img: np.ndarray, cfg: InputConfig) -> list[np.ndarray]:
    """Centre crop; a smaller image is padded with ``pad_mode`` first (centred)."""
    h, w = cfg.input_size
    img = _pad_to(img, h, w, cfg.pad_mode, centred=True)
    y0 = (img.shape[0] - h) // 2
    x0 = (img.shape[1] - w) // 2
    return [img[y0 : y0 + h, x0 : x0 + w]]


@FIT_MODES.register("resize")
def _fit_resize(img: np.ndarray, cfg: InputConfig) -> list[np.ndarray]:
    """Resample to exactly the input size with the resize axis's kernel of that library."""
    h, w = cfg.input_size
    if img.shape[:2] == (h, w):
        return [img]
    out = resize_image(img, (h, w), backend=cfg.resize_backend, method=cfg.resize_method,
                       antialias=cfg.resize_antialias)  # fmt: skip
    return [out]


@FIT_MODES.register("pad")
def _fit_pad(img: np.ndarray, cfg: InputConfig) -> list[np.ndarray]:
    """Anchor top-left; pad bottom/right, crop bottom/right (keeps the JPEG grid and CFA phase)."""
    h, w = cfg.input_size
    return [_pad_to(img, h, w, cfg.pad_mode, centred=False)[:h, :w]]


@FIT_MODES.register("tile")
def _fit_tile(img: np.ndarray, cfg: InputConfig) -> list[np.ndarray]:
    """Patches of the input size from the top-left corner (see :func:`tile_origins`)."""
    h, w = cfg.input_size
    img = _pad_to(img, h, w, cfg.pad_mode, centred=False)
    return [img[y : y + h, x : x + w] for y, x in tile_origins(img.shape[0], img.shape[1], cfg)]


@FIT_MODES.register("full")
def _fit_full(img: np.ndarray, cfg: InputConfig) -> list[np.ndarray]:
    """The decoded image as it is (``input_size`` ignored; the loader batches equal sizes)."""
    return [img]


def fit_image(img: np.ndarray, cfg: InputConfig) -> np.ndarray:
    """Return uint8 tiles ``[T, 3, H, W]`` (T = 1 unless ``fit == "tile"``) in channel order
    (``H, W``: the input size, or the image's own for ``fit == "full"``)."""
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 HxWx3 image, got {img.dtype} {img.shape}")
    tiles = FIT_MODES.get(cfg.fit)(img, cfg)
    out = np.stack(tiles).transpose(0, 3, 1, 2)
    if cfg.channel_order == "BGR":
        out = out[:, ::-1]
    return np.ascontiguousarray(out)


def normalise(batch: torch.Tensor, cfg: InputConfig, dtype: torch.dtype = torch.float32):
    """uint8 ``[N, 3, H, W]`` -> floats in ``value_range`` units (x / 255 for 1.0, raw 0..255 for
    255.0), then ``(x - mean) / std`` in those units. The one normalisation of the project."""
    # A division, as the reference model was trained: x / 255.0 exactly for value_range 1.0.
    x = batch.to(dtype) / (255.0 / cfg.value_range)
    if any(cfg.mean):
        x = x - torch.tensor(cfg.mean, dtype=dtype, device=x.device).view(1, 3, 1, 1)
    if any(s != 1.0 for s in cfg.std):
        x = x / torch.tensor(cfg.std, dtype=dtype, device=x.device).view(1, 3, 1, 1)
    return x
