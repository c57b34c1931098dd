"""Linear and rank filters of one size: ``gaussian_blur``, ``median_filter`` and ``box_blur``,
each on Pillow (``ImageFilter``) or OpenCV; the border rule is a recorded parameter.

Borders (``BORDERS``): OpenCV honours every rule named here (``reflect101`` = its default
BORDER_REFLECT_101, ``dcb|abcd|cba``); Pillow's filters always repeat the edge pixel
(``replicate``) and refuse any other. A null ``border`` (or Gaussian ``ksize``) means "the
backend's own rule"; :func:`resolve_filter` (used by every axis, and :func:`filter_step`) fills
it so the chain in the manifest holds the concrete value. OpenCV filters work per channel, so
RGB needs no BGR conversion. A filter keeps pixels in place: grids, region and mask are kept.
``motion_blur`` and ``unsharp_mask`` live in :mod:`.filters_sharp`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import field

import cv2
import numpy as np
from PIL import Image, ImageFilter

from ..backends import get_backend, register_kernel
from ..core.errors import ConfigError, OpError
from ..core.records import record, spec
from ._base import ImageState, OpDef, Step, make_step, register_op

__all__ = [
    "BORDERS",
    "BACKEND_BORDER",
    "GaussianBlurParams",
    "MedianFilterParams",
    "BoxBlurParams",
    "opencv_ksize",
    "opencv_sigma",
    "border_for",
    "cv_border",
    "FILTER_OPS",
    "resolve_filter",
    "resolve_step",
    "filter_step",
    "pillow_filter",
    "pixel_apply",
    "gaussian_blur_opencv",
    "gaussian_blur_pillow",
    "median_filter_opencv",
    "median_filter_pillow",
    "box_blur_opencv",
    "box_blur_pillow",
]

# border rule -> (OpenCV flag, numpy.pad mode); 'constant' pads with 0.
BORDERS = {
    "reflect101": (cv2.BORDER_REFLECT_101, "reflect"),
    "reflect": (cv2.BORDER_REFLECT, "symmetric"),
    "replicate": (cv2.BORDER_REPLICATE, "edge"),
    "constant": (cv2.BORDER_CONSTANT, "constant"),
}
# The filter ops whose nulls mean "the backend's rule" (see resolve_filter).
FILTER_OPS = ("gaussian_blur", "median_filter", "box_blur", "motion_blur", "unsharp_mask")
# The rule each backend uses when not told (Pillow has no other).
BACKEND_BORDER = {"opencv": "reflect101", "numpy": "reflect101", "pillow": "replicate"}
_BORDER = spec(choices=tuple(BORDERS), doc="null: the backend's own rule (filled by the axes)")


def opencv_ksize(sigma: float) -> int:
    """OpenCV's kernel size for ``ksize=0`` on uint8 images: ``cvRound(sigma * 3 * 2 + 1) | 1``
    (cvRound rounds half to even, as Python's ``round``)."""
    return int(round(float(sigma) * 3 * 2 + 1)) | 1


def opencv_sigma(ksize: int) -> float:
    """OpenCV's sigma for ``sigma=0``: ``0.3 * ((ksize - 1) * 0.5 - 1) + 0.8``."""
    return 0.3 * ((int(ksize) - 1) * 0.5 - 1) + 0.8


def _odd(name: str, op: str, value: int | None) -> None:
    if value is not None and value % 2 == 0:
        raise OpError(f"{op} {name}: must be odd (3, 5, 7, ...), got {value}; use {value + 1}")


@record
class GaussianBlurParams:
    """A Gaussian of standard deviation ``sigma`` px over a ``ksize`` x ``ksize`` kernel.

    Give ``sigma``, ``ksize`` or both. ``ksize`` alone fills ``sigma`` by OpenCV's rule
    (:func:`opencv_sigma`), passed explicitly, so the kernel is the true Gaussian of that
    sigma (OpenCV's fixed 3/5/7 tables for ``sigma=0`` are not used). ``sigma`` alone: OpenCV
    takes :func:`opencv_ksize` (filled by the axes); Pillow's ``GaussianBlur(radius=sigma)``
    (three extended box passes) has no kernel size and refuses one."""

    sigma: float | None = field(default=None, metadata=spec(gt=0.0, hi=100.0))
    ksize: int | None = field(default=None, metadata=spec(lo=1, hi=255, doc="odd"))
    border: str | None = field(default=None, metadata=_BORDER)

    def _check(self) -> None:
        if self.sigma is None and self.ksize is None:
            raise OpError(
                "gaussian_blur: give sigma (px, e.g. 1.5) or an odd ksize (e.g. 5), or both; "
                "got neither"
            )
        _odd("ksize", "gaussian_blur", self.ksize)
        if self.sigma is None:
            object.__setattr__(self, "sigma", opencv_sigma(self.ksize))  # concrete in the chain


@record
class MedianFilterParams:
    """The median of each ``size`` x ``size`` window, per channel (both backends repeat the edge
    pixel: OpenCV ``medianBlur`` has no other border, Pillow ``MedianFilter`` neither)."""

    size: int = field(metadata=spec(lo=3, hi=255, doc="odd"))
    border: str = field(default="replicate", metadata=spec(choices=("replicate",)))

    def _check(self) -> None:
        _odd("size", "median_filter", self.size)


@record
class BoxBlurParams:
    """The mean of each ``size`` x ``size`` window: OpenCV ``blur(ksize=(size, size))``, Pillow
    ``BoxBlur(radius=(size - 1) / 2)`` (a horizontal then a vertical pass, rounded between)."""

    size: int = field(metadata=spec(lo=3, hi=255, doc="odd"))
    border: str | None = field(default=None, metadata=_BORDER)

    def _check(self) -> None:
        _odd("size", "box_blur", self.size)


def border_for(op: str, backend: str, border: str | None) -> str:
    """The border rule a backend runs: ``border``, or the backend's own when null.

    Raises:
        OpError: Pillow asked for another rule than ``replicate``.
    """
    rule = border or BACKEND_BORDER[backend]
    if backend == "pillow" and rule != "replicate":
        raise OpError(
            f"border: {op} on Pillow always repeats the edge pixel ('replicate'), got "
            f"{rule!r}; use border: replicate (or null), or backend: opencv for {rule!r}"
        )
    return rule


def cv_border(op: str, backend: str, border: str | None) -> int:
    """The OpenCV border flag for ``border`` (null: the backend's own rule)."""
    return BORDERS[border_for(op, backend, border)][0]


def resolve_filter(op: str, backend: str, params: object) -> object:
    """``params`` with every null a backend fills made concrete: ``border`` (the backend's own
    rule) and, for an OpenCV ``gaussian_blur``, ``ksize`` (:func:`opencv_ksize`).

    Raises:
        ConfigError: a combination the backend cannot run (Pillow with a ksize or a border
            other than replicate), naming the fix.
    """
    changes: dict = {}
    try:
        if hasattr(params, "border"):
            rule = border_for(op, backend, params.border)
            if rule != params.border:
                changes["border"] = rule
        if op == "gaussian_blur":
            _gaussian_ksize(backend, params)
            if backend == "opencv" and params.ksize is None:
                changes["ksize"] = opencv_ksize(params.sigma)
    except OpError as exc:
        raise ConfigError(str(exc)) from None
    return dataclasses.replace(params, **changes) if changes else params


def concrete_filter(op: str, params: object, backend: str) -> object:
    """``OpDef.concrete`` of filter ``op``: :func:`resolve_filter` (its errors as OpError, which
    ``presets.concrete_step`` prefixes with the step's path)."""
    try:
        return resolve_filter(op, backend, params)
    except ConfigError as exc:
        raise OpError(str(exc)) from None


def resolve_step(step: Step, path: str = "step") -> Step:
    """``step`` with its backend's rules filled in when it is a filter op (``FILTER_OPS``,
    :func:`resolve_filter`); any other step as it is. The shared ladder planner calls it.

    Raises:
        ConfigError: ``path.field: ...`` for a combination the backend cannot run.
    """
    if step.op not in FILTER_OPS:
        return step
    try:
        params = resolve_filter(step.op, step.backend, step.params)
    except ConfigError as exc:
        raise ConfigError(f"{path}.{exc}") from None
    return step if params is step.params else dataclasses.replace(step, params=params)


def filter_step(op: str, backend: str, **params: object) -> Step:
    """A Step of filter ``op`` on ``backend`` with the backend's rules filled in
    (:func:`resolve_filter`)."""
    return resolve_step(make_step({"op": op, "backend": backend, **params}, op), op)


def _gaussian_ksize(backend: str, p: GaussianBlurParams) -> int | None:
    """The kernel size ``backend`` uses (None for Pillow, which refuses a given one)."""
    if backend == "pillow":
        if p.ksize is not None:
            raise OpError(
                f"ksize: gaussian_blur on Pillow (GaussianBlur(radius=sigma)) has no kernel size, "
                f"got ksize {p.ksize}; give sigma alone, or use backend: opencv"
            )
        return None
    return p.ksize if p.ksize is not None else opencv_ksize(p.sigma)


def pillow_filter(img: np.ndarray, flt: ImageFilter.Filter) -> np.ndarray:
    """``flt`` applied by Pillow to an RGB or L uint8 array; a new array."""
    return np.asarray(Image.fromarray(img).filter(flt)).copy()


@register_kernel
def gaussian_blur_opencv(img: np.ndarray, p: GaussianBlurParams) -> np.ndarray:
    """``cv2.GaussianBlur(img, (k, k), sigma, sigma, border)``, ``k`` by :func:`opencv_ksize`
    when null."""
    k = _gaussian_ksize("opencv", p)
    flag = cv_border("gaussian_blur", "opencv", p.border)
    return cv2.GaussianBlur(img, (k, k), float(p.sigma), sigmaY=float(p.sigma), borderType=flag)


@register_kernel
def gaussian_blur_pillow(img: np.ndarray, p: GaussianBlurParams) -> np.ndarray:
    """``ImageFilter.GaussianBlur(radius=sigma)`` (no ksize; edge pixels repeated)."""
    _gaussian_ksize("pillow", p)
    border_for("gaussian_blur", "pillow", p.border)
    return pillow_filter(img, ImageFilter.GaussianBlur(radius=float(p.sigma)))


@register_kernel
def median_filter_opencv(img: np.ndarray, p: MedianFilterParams) -> np.ndarray:
    """``cv2.medianBlur(img, size)`` (edge pixels repeated)."""
    return cv2.medianBlur(np.ascontiguousarray(img), int(p.size))


@register_kernel
def median_filter_pillow(img: np.ndarray, p: MedianFilterParams) -> np.ndarray:
    """``ImageFilter.MedianFilter(size)`` (edge pixels repeated)."""
    return pillow_filter(img, ImageFilter.MedianFilter(int(p.size)))


@register_kernel
def box_blur_opencv(img: np.ndarray, p: BoxBlurParams) -> np.ndarray:
    """``cv2.blur(img, (size, size), borderType=border)``."""
    flag = cv_border("box_blur", "opencv", p.border)
    return cv2.blur(img, (int(p.size), int(p.size)), borderType=flag)


@register_kernel
def box_blur_pillow(img: np.ndarray, p: BoxBlurParams) -> np.ndarray:
    """``ImageFilter.BoxBlur(radius=(size - 1) // 2)`` (edge pixels repeated)."""
    border_for("box_blur", "pillow", p.border)
    return pillow_filter(img, ImageFilter.BoxBlur((int(p.size) - 1) // 2))


def pixel_apply(op: str) -> Callable[[ImageState, object, str], ImageState]:
    """The state transition of a same-size pixel op: new pixels from ``<op>_<backend>``; the
    region, the earlier JPEG grids and a mask stay as they were (pixels keep their places)."""

    def apply(state: ImageState, p: object, backend: str) -> ImageState:
        img = state.require_pixels(op)
        return state.replace(
            pixels=get_backend(backend).kernel(op)(img, p),
            data=None,
            fmt=None,
            lossless_pixels=False,
        )

    return apply


for _name, _cls, _backends, _doc in (
    (
        "gaussian_blur",
        GaussianBlurParams,
        ("opencv", "pillow"),
        "Gaussian blur: sigma and/or odd ksize (OpenCV's kernel rule recorded), border recorded",
    ),
    (
        "median_filter",
        MedianFilterParams,
        ("opencv", "pillow"),
        "median filter over an odd size x size window (edge pixels repeated)",
    ),
    (
        "box_blur",
        BoxBlurParams,
        ("opencv", "pillow"),
        "box (mean) blur over an odd size x size window, border recorded",
    ),
):
    register_op(
        OpDef(
            _name,
            _cls,
            _backends,
            pixel_apply(_name),
            mask="unchanged",
            doc=_doc,
            concrete=functools.partial(concrete_filter, _name),
        )
    )
