"""The resize kernels, one per library, registered on their backends as ``resize_<backend>``.

Each takes a uint8 HxW or HxWxC image and a :class:`ResizeParams` with every field concrete
(``resize.resolve`` fills in the library defaults) and returns uint8. The dtype path is explicit:
``uint8`` resizes the integers directly; ``float32-unit`` / ``float32-255`` convert with
:func:`to_float`, resize, and come back with :func:`from_float` (rounded or truncated, clipped).
"""

from __future__ import annotations

import numpy as np

from ..backends import register_kernel
from ..core.errors import OpError
from .resize_params import FLOAT_PATHS, ResizeParams, output_size

__all__ = [
    "to_float",
    "from_float",
    "resize_pillow",
    "resize_opencv",
    "resize_torch",
    "resize_skimage",
]


def to_float(img: np.ndarray, dtype: str) -> np.ndarray:
    """uint8 -> float32: ``x / 255`` (float32-unit) or ``x`` (float32-255)."""
    f = img.astype(np.float32)
    return f / np.float32(255.0) if dtype == "float32-unit" else f


def from_float(y: np.ndarray, dtype: str, rounding: str) -> np.ndarray:
    """float -> uint8: ``clip(R(y * 255), 0, 255)`` (unit) or ``clip(R(y), 0, 255)``, with
    R = ``numpy.rint`` (half to even) for ``round`` and ``numpy.trunc`` for ``truncate``."""
    y = np.asarray(y, dtype=np.float32)
    if dtype == "float32-unit":
        y = y * np.float32(255.0)
    y = np.rint(y) if rounding == "round" else np.trunc(y)
    return np.clip(y, 0, 255).astype(np.uint8)


def _pil_filter(method: str) -> int:
    from PIL import Image

    return {
        "nearest": Image.Resampling.NEAREST,
        "bilinear": Image.Resampling.BILINEAR,
        "bicubic": Image.Resampling.BICUBIC,
        "area": Image.Resampling.BOX,
        "lanczos": Image.Resampling.LANCZOS,
    }[method]


def _resize_pillow_uint8(img: np.ndarray, hw: tuple[int, int], method: str) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(img).resize((hw[1], hw[0]), _pil_filter(method)))


def _resize_pillow_float(f: np.ndarray, hw: tuple[int, int], method: str) -> np.ndarray:
    from PIL import Image

    chans = [f] if f.ndim == 2 else [f[..., c] for c in range(f.shape[2])]
    # Pillow's float path: one mode-'F' (float32) image per channel, resized with double kernels.
    out = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(c), mode="F").resize(
                (hw[1], hw[0]), _pil_filter(method)
            )
        )
        for c in chans
    ]
    return out[0] if f.ndim == 2 else np.stack(out, axis=-1)


@register_kernel
def resize_pillow(img: np.ndarray, p: ResizeParams) -> np.ndarray:
    """``Image.resize((w, h), filter)`` on the uint8 image, or per channel in mode 'F'."""
    hw = output_size(img.shape[0], img.shape[1], p)
    dtype = p.dtype or "uint8"
    if dtype == "uint8":
        return _resize_pillow_uint8(img, hw, p.method)
    return from_float(_resize_pillow_float(to_float(img, dtype), hw, p.method), dtype, p.rounding)


_CV_INTER = {
    "nearest": "INTER_NEAREST",
    "nearest-exact": "INTER_NEAREST_EXACT",
    "bilinear": "INTER_LINEAR",
    "bicubic": "INTER_CUBIC",
    "area": "INTER_AREA",
    "lanczos": "INTER_LANCZOS4",
}


@register_kernel
def resize_opencv(img: np.ndarray, p: ResizeParams) -> np.ndarray:
    """``cv2.resize(img, (w, h), interpolation=INTER_*)``. Resizing is per channel, so the RGB
    order needs no BGR conversion here (nothing is encoded or decoded)."""
    import cv2

    hw = output_size(img.shape[0], img.shape[1], p)
    inter = getattr(cv2, _CV_INTER[p.method])
    dtype = p.dtype or "uint8"
    src = img if dtype == "uint8" else to_float(img, dtype)
    out = cv2.resize(src, (hw[1], hw[0]), interpolation=inter)
    if out.ndim == 2 and img.ndim == 3:  # cv2 drops a single trailing channel
        out = out[..., None]
    return out if dtype == "uint8" else from_float(out, dtype, p.rounding)


@register_kernel
def resize_torch(img: np.ndarray, p: ResizeParams) -> np.ndarray:
    """``F.interpolate(x[None], size=(h, w), mode=..., antialias=...)`` on an NCHW tensor
    (uint8 or float32), with ``align_corners=False`` for bilinear/bicubic."""
    import torch
    import torch.nn.functional as F

    hw = output_size(img.shape[0], img.shape[1], p)
    dtype = p.dtype or "uint8"
    src = np.ascontiguousarray(img) if dtype == "uint8" else to_float(img, dtype)
    t = torch.from_numpy(np.array(src, copy=True) if not src.flags.writeable else src)
    t = t[None, None] if img.ndim == 2 else t.permute(2, 0, 1)[None].contiguous()
    kw: dict = {"size": hw, "mode": p.method}
    if p.method in ("bilinear", "bicubic"):
        kw["align_corners"] = False
    if p.method in ("bilinear", "bicubic", "lanczos"):
        kw["antialias"] = bool(p.antialias)
    with torch.inference_mode():
        y = F.interpolate(t, **kw)
    out = y[0, 0].numpy() if img.ndim == 2 else y[0].permute(1, 2, 0).numpy()
    return np.ascontiguousarray(out) if dtype == "uint8" else from_float(out, dtype, p.rounding)


_SK_ORDER = {"nearest": 0, "bilinear": 1, "bicubic": 3}


@register_kernel
def resize_skimage(img: np.ndarray, p: ResizeParams) -> np.ndarray:
    """``skimage.transform.resize(f, (h, w[, c]), order=0|1|3, mode='reflect', clip=True,
    preserve_range=True, anti_aliasing=...)`` on float32 (order 3 is a cubic spline, not Keys)."""
    from skimage.transform import resize

    hw = output_size(img.shape[0], img.shape[1], p)
    dtype = p.dtype
    if dtype not in FLOAT_PATHS:
        raise OpError(f"dtype: skimage resizes floats only; use one of {', '.join(FLOAT_PATHS)}")
    f = to_float(img, dtype)
    out = resize(
        f,
        hw + f.shape[2:],
        order=_SK_ORDER[p.method],
        mode="reflect",
        cval=0.0,
        clip=True,
        preserve_range=True,
        anti_aliasing=bool(p.antialias),
    )
    return from_float(out, dtype, p.rounding)
