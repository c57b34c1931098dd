"""Fit one decoded image (RGB uint8 HxWx3) to a model's input: crop, resize, pad or tile.

Pure functions of (image, config); they run in the loader's worker processes and return uint8
CHW tiles so only bytes cross the process boundary. Scaling to floats and mean/std happen on the
model's device (:func:`normalise`).
"""

from __future__ import annotations

import numpy as np
import torch

from ._input_config import InputConfig

__all__ = ["fit_image", "tile_origins", "normalise"]

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


def _resize(img: np.ndarray, h: int, w: int, backend: str, method: str) -> np.ndarray:
    if img.shape[0] == h and img.shape[1] == w:
        return img
    if backend == "pillow":
        from PIL import Image

        resample = {
            "nearest": Image.Resampling.NEAREST,
            "bilinear": Image.Resampling.BILINEAR,
            "bicubic": Image.Resampling.BICUBIC,
            "lanczos": Image.Resampling.LANCZOS,
            "area": Image.Resampling.BOX,
        }[method]
        return np.asarray(Image.fromarray(img).resize((w, h), resample))
    if backend == "opencv":
        import cv2

        interp = {
            "nearest": cv2.INTER_NEAREST,
            "bilinear": cv2.INTER_LINEAR,
            "bicubic": cv2.INTER_CUBIC,
            "lanczos": cv2.INTER_LANCZOS4,
            "area": cv2.INTER_AREA,
        }[method]
        # Resampling is per channel, so RGB order is irrelevant here (no BGR conversion).
        return cv2.resize(img, (w, h), interpolation=interp)
    t = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None]
    if method in ("bilinear", "bicubic"):
        out = torch.nn.functional.interpolate(t, size=(h, w), mode=method, antialias=True)
    else:
        out = torch.nn.functional.interpolate(t.float(), size=(h, w), mode=method)
        out = out.round().clamp(0, 255).to(torch.uint8)
    return out[0].permute(1, 2, 0).contiguous().numpy()


def tile_origins(height: int, width: int, cfg: InputConfig) -> list[tuple[int, int]]:
    """Top-left corners of the tiles ``fit="tile"`` cuts from an image of this size.

    Tiles start at (0, 0) every ``tile_stride`` pixels (default: the tile size, no overlap) and
    never leave the image (a remainder narrower than a tile is dropped); ``max_tiles`` keeps the
    first tiles in row-major order, as the reference model was trained.
    """
    th, tw = cfg.input_size
    stride = cfg.tile_stride
    sy = stride or th
    sx = stride or tw
    ys = list(range(0, max(height - th, 0) + 1, sy))
    xs = list(range(0, max(width - tw, 0) + 1, sx))
    origins = [(y, x) for y in ys for x in xs]
    return origins[: cfg.max_tiles] if cfg.max_tiles is not None else origins


def fit_image(img: np.ndarray, cfg: InputConfig) -> np.ndarray:
    """Return uint8 tiles ``[T, 3, H, W]`` (T = 1 unless ``fit == "tile"``) in channel order."""
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 HxWx3 image, got {img.dtype} {img.shape}")
    h, w = cfg.input_size
    if cfg.fit == "resize":
        tiles = [_resize(img, h, w, cfg.resize_backend, cfg.resize_method)]
    elif cfg.fit == "center_crop":
        img = _pad_to(img, h, w, cfg.pad_mode, centred=True)
        y0 = (img.shape[0] - h) // 2
        x0 = (img.shape[1] - w) // 2
        tiles = [img[y0 : y0 + h, x0 : x0 + w]]
    elif cfg.fit == "pad":
        tiles = [_pad_to(img, h, w, cfg.pad_mode, centred=False)[:h, :w]]
    elif cfg.fit == "tile":
        img = _pad_to(img, h, w, cfg.pad_mode, centred=False)
        tiles = [
            img[y : y + h, x : x + w] for y, x in tile_origins(img.shape[0], img.shape[1], cfg)
        ]
    else:  # InputConfig validates fit; this guards a config built by hand
        raise ValueError(f"fit: must be one of center_crop, resize, pad, tile, got {cfg.fit!r}")
    out = np.stack(tiles).transpose(0, 3, 1, 2)
    if cfg.channel_order == "BGR":
        out = out[:, ::-1]
    return np.ascontiguousarray(out)


def normalise(batch: torch.Tensor, cfg: InputConfig, dtype: torch.dtype = torch.float32):
    """uint8 ``[N, 3, H, W]`` -> float tensor scaled to ``value_range`` with mean/std applied."""
    x = batch.to(dtype) * (cfg.value_range / 255.0)
    mean = torch.tensor(cfg.mean, dtype=dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(cfg.std, dtype=dtype, device=x.device).view(1, 3, 1, 1)
    if any(cfg.mean):
        x = x - mean
    if any(s != 1.0 for s in cfg.std):
        x = x / std
    return x
