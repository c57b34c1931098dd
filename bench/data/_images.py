"""The image kinds training code hands over: numpy arrays, PIL images and uint8 tensors, to the
project's one in-memory type (uint8 HxWx3 RGB or HxW gray numpy) and back to the kind given.

Tensors follow torchvision's layout: ``CxHxW`` (C = 1 or 3) or ``HxW``, dtype uint8.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from degradebench.generators.core.errors import ConfigError

__all__ = ["ImageKind", "to_pixels", "from_pixels", "mask_to_array", "mask_like"]


@dataclass(frozen=True)
class ImageKind:
    """What came in: ``numpy``, ``pil`` or ``tensor`` (and a tensor's channel axis: 1xHxW)."""

    kind: str
    channel_axis: bool = False  # tensor given as 1xHxW (gray with a channel axis)


def _is_tensor(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "permute")


def _is_pil(x: Any) -> bool:
    return type(x).__module__.startswith("PIL.") and hasattr(x, "convert")


def _tensor_pixels(t: Any, what: str) -> tuple[ImageKind, np.ndarray]:
    import torch

    if t.dtype != torch.uint8:
        raise ConfigError(
            f"{what}: a tensor must be uint8, got {t.dtype} of shape {tuple(t.shape)}; convert it "
            "with (x * 255).round().clamp(0, 255).to(torch.uint8) or pass a numpy array"
        )
    arr = t.detach().cpu().numpy()
    if arr.ndim == 2:
        return ImageKind("tensor"), arr
    if arr.ndim == 3 and arr.shape[0] in (1, 3):
        if arr.shape[0] == 1:
            return ImageKind("tensor", channel_axis=True), arr[0]
        return ImageKind("tensor"), np.ascontiguousarray(arr.transpose(1, 2, 0))
    raise ConfigError(
        f"{what}: a tensor must be CxHxW with C = 1 or 3 (torchvision's layout) or HxW, got shape "
        f"{tuple(arr.shape)}; for HxWxC pass tensor.permute(2, 0, 1) or a numpy array"
    )


def to_pixels(image: Any, what: str = "image") -> tuple[ImageKind, np.ndarray]:
    """(the kind given, uint8 HxWx3 or HxW numpy pixels).

    PIL images in mode RGB or L are taken as they are, other modes converted to RGB (as the
    generators' decoder converts files). Numpy arrays must be uint8 HxWx3 or HxW.

    Raises:
        ConfigError: another type, dtype or shape, naming what was given and how to convert it.
    """
    if _is_tensor(image):
        return _tensor_pixels(image, what)
    if _is_pil(image):
        im = image if image.mode in ("RGB", "L") else image.convert("RGB")
        return ImageKind("pil"), np.asarray(im)
    if not isinstance(image, np.ndarray):
        raise ConfigError(
            f"{what}: must be a numpy array, a PIL image or a uint8 torch tensor, got "
            f"{type(image).__name__}; decode files with PIL.Image.open(path) first"
        )
    if (
        image.dtype != np.uint8
        or image.ndim not in (2, 3)
        or (image.ndim == 3 and image.shape[2] != 3)
    ):
        raise ConfigError(
            f"{what}: must be a uint8 HxWx3 (RGB) or HxW (gray) array, got {image.dtype} of shape "
            f"{image.shape}; convert it with np.asarray(img, dtype=np.uint8)"
        )
    return ImageKind("numpy"), image


def from_pixels(kind: ImageKind, pixels: np.ndarray) -> Any:
    """``pixels`` (uint8 HxWx3 or HxW) as the kind that was given."""
    if kind.kind == "pil":
        from PIL import Image

        return Image.fromarray(np.ascontiguousarray(pixels))
    if kind.kind == "tensor":
        import torch

        arr = pixels.transpose(2, 0, 1) if pixels.ndim == 3 else pixels
        if kind.channel_axis and arr.ndim == 2:
            arr = arr[None]
        return torch.from_numpy(np.ascontiguousarray(arr))
    return pixels


def mask_to_array(mask: Any) -> tuple[bool, np.ndarray]:
    """(given as a tensor, the mask as a numpy array; a 1xHxW tensor loses its channel axis)."""
    if _is_tensor(mask):
        arr = mask.detach().cpu().numpy()
        return True, arr[0] if arr.ndim == 3 and arr.shape[0] == 1 else arr
    if _is_pil(mask):
        return False, np.asarray(mask.convert("L"))
    return False, np.asarray(mask)


def mask_like(as_tensor: bool, mask: np.ndarray) -> Any:
    """The bool HxW mask as a numpy array, or a bool tensor when a tensor was given."""
    if as_tensor:
        import torch

        return torch.from_numpy(np.ascontiguousarray(mask))
    return mask
