"""Resampling by a named library: Pillow, OpenCV, torch ``F.interpolate`` or scikit-image.

Which library ran is itself the thing we measure, so the backend, its version, the method, the
antialias flag and the dtype path (uint8 direct, or float32 in 0..1 / 0..255 then rounded or
truncated and clipped back) are all explicit parameters written into the chain.

Every backend is given the same explicit output size (``output_size``), never a scale factor:
libraries that take a factor map coordinates with ``1/factor`` instead of ``in/out``, which
would add a size-rounding difference on top of the kernel difference we want to isolate.
Resampling breaks the pixel correspondence with the source: the state's JPEG grids are dropped
and its region becomes None.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field

import numpy as np

from ..core.errors import ConfigError, OpError
from ..core.records import spec
from ._base import ImageState, OpDef, Step, register_op

__all__ = [
    "ResizeParams",
    "BACKENDS",
    "METHODS",
    "DTYPE_PATHS",
    "ROUNDINGS",
    "SIZE_MODES",
    "check_combo",
    "combo_problem",
    "methods_for",
    "antialias_options",
    "dtype_options",
    "KERNELS",
    "supported",
    "default_antialias",
    "native_dtype",
    "library_version",
    "output_size",
    "resize_step",
    "resolve",
    "resize_pillow",
    "resize_opencv",
    "resize_torch",
    "resize_skimage",
    "to_float",
    "from_float",
]

BACKENDS = ("pillow", "opencv", "torch", "skimage")
METHODS = ("nearest", "nearest-exact", "bilinear", "bicubic", "area", "lanczos")
DTYPE_PATHS = ("uint8", "float32-unit", "float32-255")
ROUNDINGS = ("round", "truncate")
SIZE_MODES = ("scale", "exact", "shorter", "longer", "fit-inside")
_FLOAT_PATHS = ("float32-unit", "float32-255")

# What each library has. 'nearest' is each library's own nearest convention: Pillow and
# scikit-image sample pixel centres, OpenCV INTER_NEAREST and torch 'nearest' take the top-left
# neighbour (floor); 'nearest-exact' is OpenCV's / torch's centre-sampling variant.
_METHODS = {
    "pillow": ("nearest", "bilinear", "bicubic", "area", "lanczos"),
    "opencv": ("nearest", "nearest-exact", "bilinear", "bicubic", "area", "lanczos"),
    "torch": ("nearest", "nearest-exact", "bilinear", "bicubic", "area", "lanczos"),
    "skimage": ("nearest", "bilinear", "bicubic"),
}


@functools.lru_cache(maxsize=1)
def _torch_has_lanczos() -> bool:
    """torch grew ``mode='lanczos'`` (antialias only) in recent releases; older ones lack it."""
    import torch
    import torch.nn.functional as F

    try:
        F.interpolate(torch.zeros(1, 1, 4, 4), size=(2, 2), mode="lanczos", antialias=True)
    except (ValueError, RuntimeError, NotImplementedError):
        return False
    return True


def methods_for(backend: str) -> tuple[str, ...]:
    methods = _METHODS[backend]
    if backend == "torch" and not _torch_has_lanczos():
        methods = tuple(m for m in methods if m != "lanczos")
    return methods


def antialias_options(backend: str, method: str) -> tuple[bool, ...]:
    """The antialias values a library can honour for a method (what it really does, not a wish)."""
    if method in ("nearest", "nearest-exact"):
        return (False,)
    if backend == "pillow":
        return (True,)  # Pillow widens every filter by the downscale factor; no switch
    if backend == "opencv":
        return (False,)  # OpenCV never widens its kernels (INTER_AREA is its box average)
    if backend == "torch":
        if method == "area":
            return (False,)  # adaptive average pooling; the flag does not apply
        if method == "lanczos":
            return (True,)  # torch: "Lanczos mode requires antialias=True"
        return (False, True)
    return (False, True)  # skimage: Gaussian prefilter (anti_aliasing=) on downscale


def dtype_options(backend: str, method: str) -> tuple[str, ...]:
    if backend == "skimage":
        return _FLOAT_PATHS  # skimage converts to float whatever it is given
    if backend == "torch" and method == "area":
        return _FLOAT_PATHS  # adaptive_avg_pool2d is not implemented for uint8
    return DTYPE_PATHS


def supported(backend: str) -> str:
    """Human-readable list of what a backend supports (for error messages and the docs)."""
    parts = []
    for m in methods_for(backend):
        aa = "/".join("on" if a else "off" for a in antialias_options(backend, m))
        parts.append(f"{m} (antialias {aa}; dtype {', '.join(dtype_options(backend, m))})")
    return f"{backend} supports: " + "; ".join(parts)


def combo_problem(
    backend: str, method: str, antialias: bool | None, dtype: str | None
) -> tuple[str, str] | None:
    """``(field, message)`` when a library cannot do this combination, else None."""
    if backend not in BACKENDS:
        return "backend", f"must be one of {', '.join(BACKENDS)}, got {backend!r}"
    if method not in methods_for(backend):
        return "method", f"{backend} has no method {method!r}; {supported(backend)}"
    if antialias is not None and antialias not in antialias_options(backend, method):
        aa = str(antialias).lower()
        return "antialias", f"{backend} {method} cannot do antialias={aa}; {supported(backend)}"
    if dtype is not None and dtype not in dtype_options(backend, method):
        return "dtype", f"{backend} {method} has no dtype path {dtype!r}; {supported(backend)}"
    return None


def check_combo(backend: str, method: str, antialias: bool | None, dtype: str | None) -> None:
    """Raise ConfigError (listing what is supported) when a library cannot do this combination."""
    problem = combo_problem(backend, method, antialias, dtype)
    if problem is not None:
        raise ConfigError(f"{problem[0]}: {problem[1]}")


def default_antialias(backend: str, method: str) -> bool:
    """What the library does when not told: Pillow always antialiases, OpenCV and torch
    (``antialias=False``) do not, scikit-image does on downscale (``anti_aliasing=None``)."""
    opts = antialias_options(backend, method)
    if backend == "torch" and len(opts) == 2:
        return False
    return opts[-1]


def native_dtype(backend: str, method: str) -> str:
    """The library's own path: uint8 where it has an integer kernel, else float32 in 0..1."""
    return dtype_options(backend, method)[0]


def library_version(backend: str) -> str:
    if backend == "pillow":
        import PIL

        return PIL.__version__
    if backend == "opencv":
        import cv2

        return cv2.__version__
    if backend == "torch":
        import torch

        return torch.__version__
    if backend == "skimage":
        import skimage

        return skimage.__version__
    raise ConfigError(f"backend: must be one of {', '.join(BACKENDS)}, got {backend!r}")


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


@dataclass(frozen=True)
class ResizeParams:
    """How to resize. ``mode`` picks the target: ``scale`` (both sides times ``scale``),
    ``exact`` (``size`` = [h, w]), ``shorter`` / ``longer`` (that side becomes ``side``, aspect
    kept), ``fit-inside`` (largest size within ``size`` = [h, w], aspect kept).

    ``antialias``/``dtype`` null mean "the library's default" (:func:`resize_step` and the axes
    fill in the concrete value); ``version`` is the library version the step was planned with.
    """

    method: str = field(metadata=spec(choices=METHODS))
    mode: str = field(default="scale", metadata=spec(choices=SIZE_MODES))
    scale: float | None = field(default=None, metadata=spec(lo=1e-3, hi=100.0))
    size: tuple[int, int] | None = field(default=None, metadata=spec(lo=1, doc="[h, w]"))
    side: int | None = field(default=None, metadata=spec(lo=1))
    only_downscale: bool = False  # leave images already within the target untouched
    antialias: bool | None = None
    dtype: str | None = field(default=None, metadata=spec(choices=DTYPE_PATHS))
    rounding: str | None = field(
        default=None, metadata=spec(choices=ROUNDINGS, doc="float paths only; null for uint8")
    )
    version: str | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise OpError(f"method: must be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.mode not in SIZE_MODES:
            raise OpError(f"mode: must be one of {', '.join(SIZE_MODES)}, got {self.mode!r}")
        need = {"scale": "scale", "exact": "size", "fit-inside": "size"}.get(self.mode, "side")
        for name in ("scale", "size", "side"):
            given = getattr(self, name) is not None
            if given != (name == need):
                verb = "needs" if name == need else "does not take"
                raise OpError(f"{name}: mode {self.mode!r} {verb} {name!r}")
        if self.scale is not None and (
            isinstance(self.scale, bool)
            or not isinstance(self.scale, (int, float))
            or not math.isfinite(self.scale)
            or self.scale <= 0
        ):
            raise OpError(f"scale: must be a number > 0, got {self.scale!r}")
        if self.size is not None and (
            len(self.size) != 2 or not all(_is_int(v) and v >= 1 for v in self.size)
        ):
            raise OpError(f"size: must be [h, w] with integers >= 1, got {self.size!r}")
        if self.side is not None and (not _is_int(self.side) or self.side < 1):
            raise OpError(f"side: must be an integer >= 1, got {self.side!r}")
        if self.dtype is not None and self.dtype not in DTYPE_PATHS:
            raise OpError(f"dtype: must be one of {', '.join(DTYPE_PATHS)}, got {self.dtype!r}")
        if self.dtype in _FLOAT_PATHS and self.rounding is None:
            object.__setattr__(self, "rounding", "round")  # concrete in the chain
        if self.rounding is not None:
            if self.dtype not in _FLOAT_PATHS:
                raise OpError(
                    f"rounding: only float dtype paths round back to uint8 (dtype is "
                    f"{self.dtype!r}); leave rounding null"
                )
            if self.rounding not in ROUNDINGS:
                raise OpError(
                    f"rounding: must be one of {', '.join(ROUNDINGS)}, got {self.rounding!r}"
                )


def _half_up(x: float) -> int:
    return max(1, int(math.floor(x + 0.5)))


def output_size(h: int, w: int, p: ResizeParams) -> tuple[int, int]:
    """Target (height, width): each computed side is ``floor(x + 0.5)``, at least 1.

    ``only_downscale``: a target larger than the image on either side leaves it as it is.
    """
    if p.mode == "scale":
        out = (_half_up(h * p.scale), _half_up(w * p.scale))
    elif p.mode == "exact":
        out = (p.size[0], p.size[1])
    elif p.mode in ("shorter", "longer"):
        ref = min(h, w) if p.mode == "shorter" else max(h, w)
        f = p.side / ref
        out = (p.side, _half_up(w * f)) if ref == h else (_half_up(h * f), p.side)
    else:  # fit-inside
        f = min(p.size[0] / h, p.size[1] / w)
        out = (min(p.size[0], _half_up(h * f)), min(p.size[1], _half_up(w * f)))
    if p.only_downscale and (out[0] > h or out[1] > w):
        return h, w
    return out


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


# ----------------------------------------------------------------------------- kernels


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


def resize_skimage(img: np.ndarray, p: ResizeParams) -> np.ndarray:
    """``skimage.transform.resize(f, (h, w[, c]), order=0|1|3, mode='reflect', clip=True,
    preserve_range=True, anti_aliasing=...)`` on float32 (order 3 is a cubic spline, not Keys)."""
    from skimage.transform import resize

    hw = output_size(img.shape[0], img.shape[1], p)
    dtype = p.dtype
    if dtype not in _FLOAT_PATHS:
        raise OpError(f"dtype: skimage resizes floats only; use one of {', '.join(_FLOAT_PATHS)}")
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


KERNELS = {
    "pillow": resize_pillow,
    "opencv": resize_opencv,
    "torch": resize_torch,
    "skimage": resize_skimage,
}


def resolve(backend: str, p: ResizeParams) -> ResizeParams:
    """Fill null antialias/dtype/version with the library's defaults (and check the combination)."""
    check_combo(backend, p.method, p.antialias, p.dtype)
    changes: dict = {}
    if p.antialias is None:
        changes["antialias"] = default_antialias(backend, p.method)
    if p.dtype is None:
        changes["dtype"] = native_dtype(backend, p.method)
    if p.version is None:
        changes["version"] = library_version(backend)
    if not changes:
        return p
    if "dtype" in changes and changes["dtype"] in _FLOAT_PATHS and p.rounding is None:
        changes["rounding"] = "round"
    return dataclasses.replace(p, **changes)


def resize_step(backend: str, method: str, **params: object) -> Step:
    """A resize Step with every parameter concrete (library defaults and version filled in)."""
    return Step("resize", backend, resolve(backend, ResizeParams(method=method, **params)))


def _apply_resize(state: ImageState, p: ResizeParams, backend: str) -> ImageState:
    img = state.require_pixels("resize")
    try:
        p = resolve(backend, p)
    except ConfigError as exc:
        raise OpError(str(exc)) from None
    installed = library_version(backend)
    if p.version != installed:
        raise OpError(
            f"resize: the chain was planned with {backend} {p.version} but {installed} is "
            f"installed; its pixels would not be what the manifest says"
        )
    h, w = img.shape[:2]
    if p.only_downscale and output_size(h, w, p) == (h, w):
        return state  # already within the target: untouched, grids and region kept
    out = KERNELS[backend](img, p)
    return state.replace(
        pixels=out,
        data=None,
        fmt=None,
        grids=(),  # resampling destroys earlier JPEG grids
        region=None,  # and the pixel correspondence with the source
        lossless_pixels=False,
    )


register_op(
    OpDef(
        "resize",
        ResizeParams,
        BACKENDS,
        _apply_resize,
        doc="resample by scale or target size with a named library, method, antialias and dtype path",
    )
)
