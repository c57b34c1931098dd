"""Resampling by a named library: Pillow, OpenCV, torch ``F.interpolate`` or scikit-image.

Which library ran is itself the thing we measure, so the backend, its version, the method, the
antialias flag and the dtype path (uint8 direct, or float32 in 0..1 / 0..255 then rounded or
truncated and clipped back) are all explicit parameters written into the chain.

What each library can do lives on its backend object (``generators.backends``: ``ResizeSupport``);
the kernels are ``resize_<backend>`` in :mod:`.resize_kernels`; the record and the target-size
rule in :mod:`.resize_params`. Resampling breaks the pixel correspondence with the source: the
state's JPEG grids are dropped and its region becomes None; a mask is resampled by nearest
neighbour (:func:`resized_mask`). :func:`resize_image` is the one
resize for code outside chains (e.g. fitting a model's input).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import numpy as np

from ..backends import ResizeSupport, backend_names, get_backend
from ..core.errors import ConfigError, OpError
from ..core.messages import short_repr
from ._base import ImageState, OpDef, Step, register_op
from .masks import resample_mask
from .resize_kernels import (
    from_float,
    resize_opencv,
    resize_pillow,
    resize_skimage,
    resize_torch,
    to_float,
)
from .resize_params import (
    DTYPE_PATHS,
    FLOAT_PATHS,
    METHODS,
    ROUNDINGS,
    SIZE_MODES,
    ResizeParams,
    output_size,
)

__all__ = [
    "ResizeParams",
    "BACKENDS",
    "METHODS",
    "NEAREST_METHODS",
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
    "output_size",
    "resize_step",
    "resize_image",
    "resized_mask",
    "resolve",
    "resize_pillow",
    "resize_opencv",
    "resize_torch",
    "resize_skimage",
    "to_float",
    "from_float",
]

# The libraries the resize op runs on, in the order listings show them: the registered backends
# that say what their resampler can do (pillow, opencv, torch, skimage).
BACKENDS = backend_names(lambda b: b.resize is not None)


def _support(backend: str) -> ResizeSupport:
    support = get_backend(backend).resize if backend in BACKENDS else None
    if support is None:
        raise ConfigError(f"backend: must be one of {', '.join(BACKENDS)}, got {short_repr(backend)}")
    return support


def methods_for(backend: str) -> tuple[str, ...]:
    """The resampling methods ``backend`` has in this installation."""
    return _support(backend).available()


def antialias_options(backend: str, method: str) -> tuple[bool, ...]:
    """The antialias values a library can honour for a method (what it really does, not a wish)."""
    return _support(backend).antialias_options(method)


def dtype_options(backend: str, method: str) -> tuple[str, ...]:
    """The dtype paths a library has for a method, its native one first."""
    return _support(backend).dtype_options(method)


def default_antialias(backend: str, method: str) -> bool:
    """What the library does when not told: Pillow always antialiases, OpenCV and torch
    (``antialias=False``) do not, scikit-image does on downscale (``anti_aliasing=None``)."""
    return _support(backend).default_antialias(method)


def native_dtype(backend: str, method: str) -> str:
    """The library's own path: uint8 where it has an integer kernel, else float32 in 0..1."""
    return dtype_options(backend, method)[0]


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
        return "backend", f"must be one of {', '.join(BACKENDS)}, got {short_repr(backend)}"
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


class _Kernels(Mapping):
    """``KERNELS[backend]``: the backend object's ``resize`` kernel (a view, not a second table)."""

    def __getitem__(self, backend: str) -> Callable[[np.ndarray, ResizeParams], np.ndarray]:
        return get_backend(_known(backend)).kernel("resize")

    def __iter__(self):  # noqa: ANN204
        return iter(BACKENDS)

    def __len__(self) -> int:
        return len(BACKENDS)


def _known(backend: str) -> str:
    _support(backend)
    return backend


KERNELS: Mapping[str, Callable[[np.ndarray, ResizeParams], np.ndarray]] = _Kernels()


def resolve(backend: str, p: ResizeParams) -> ResizeParams:
    """Fill null antialias/dtype/version with the library's defaults (and check the combination)."""
    check_combo(backend, p.method, p.antialias, p.dtype)
    changes: dict = {}
    if p.antialias is None:
        changes["antialias"] = default_antialias(backend, p.method)
    if p.dtype is None:
        changes["dtype"] = native_dtype(backend, p.method)
    if p.version is None:
        changes["version"] = get_backend(backend).version()
    if not changes:
        return p
    if "dtype" in changes and changes["dtype"] in FLOAT_PATHS and p.rounding is None:
        changes["rounding"] = "round"
    return dataclasses.replace(p, **changes)


def resize_step(backend: str, method: str, **params: object) -> Step:
    """A resize Step with every parameter concrete (library defaults and version filled in)."""
    return Step("resize", backend, resolve(backend, ResizeParams(method=method, **params)))


def resize_image(
    img: np.ndarray,
    size_hw: tuple[int, int],
    *,
    backend: str,
    method: str,
    antialias: bool | None = None,
) -> np.ndarray:
    """Resize a uint8 HxW or HxWxC image to exactly ``size_hw`` = (height, width).

    Runs the very kernel the ``resize`` op runs and records (``resize_<backend>``), on the
    library's native dtype path; ``antialias=None`` means the library's default. Use it wherever
    the project resizes outside a chain (e.g. fitting a model's input) so that "fed by Pillow
    bicubic" is the same code as the resize axis.

    Raises:
        ConfigError: a combination the library cannot do, naming what it supports.
        OpError: an image that is not uint8.
    """
    h, w = (int(v) for v in size_hw)
    p = resolve(
        backend, ResizeParams(method=method, mode="exact", size=(h, w), antialias=antialias)
    )
    if img.dtype != np.uint8:
        raise OpError(f"resize_image: expects a uint8 image, got {img.dtype}")
    return KERNELS[backend](img, p)


NEAREST_METHODS = ("nearest", "nearest-exact")


def resized_mask(
    mask: np.ndarray | None, size_hw: tuple[int, int], backend: str, p: ResizeParams
) -> np.ndarray | None:
    """The mask of pixels that ``backend`` resized with concrete ``p`` to ``size_hw``.

    A nearest method copies pixels, each library by its own rule (OpenCV's and torch's
    ``nearest`` take the top-left neighbour): the mask goes through that very kernel, so it marks
    exactly the pixels copied from the region. Interpolating methods blend neighbours around
    pixel centres, which all four libraries place alike: the mask takes the exact pixel-centre
    nearest neighbour (:func:`.masks.resample_mask`), whatever the library.
    """
    if mask is None or mask.shape == tuple(size_hw):
        return mask
    if p.method in NEAREST_METHODS:
        out = KERNELS[backend](mask.astype(np.uint8) * np.uint8(255), p)
        return out.reshape(out.shape[:2]) >= 128
    return resample_mask(mask, size_hw)


def _apply_resize(state: ImageState, p: ResizeParams, backend: str) -> ImageState:
    img = state.require_pixels("resize")
    try:
        p = resolve(backend, p)
    except ConfigError as exc:
        raise OpError(str(exc)) from None
    installed = get_backend(backend).version()
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
        mask=resized_mask(state.mask, out.shape[:2], backend, p),
    )


register_op(
    OpDef(
        "resize",
        ResizeParams,
        BACKENDS,
        _apply_resize,
        mask="geometric",
        doc="resample by scale or target size with a named library, method, antialias and dtype path",
    )
)
