"""Tone ops: contrast, brightness, saturation, histogram equalization and CLAHE.

Point operations and same-size filters: every pixel stays where it was, so a mask is
``unchanged`` and the JPEG grids and region are kept. Which library ran is an axis we measure:
``contrast``, ``brightness`` and ``saturation`` run Pillow's ``ImageEnhance`` (a blend with a
"degenerate" image, float32, truncated) or OpenCV's ``cv2.addWeighted`` (float32, rounded half
to even); the exact formula of each backend is in ``TONE_FORMULAS`` and is recorded in the
step's ``formula`` (filled by the axes; a step that states one is checked against its backend).
OpenCV gets RGB arrays: these ops treat channels alike except the grey conversion, which uses
``cv2.COLOR_RGB2GRAY`` / ``COLOR_RGB2YCrCb`` / ``COLOR_RGB2Lab`` (RGB order, never BGR).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import field

import numpy as np

from ..backends import get_backend, register_kernel
from ..core.errors import OpError
from ..core.records import record, spec
from ._base import ImageState, OpDef, register_op

__all__ = [
    "TONE_FORMULAS",
    "EQUALIZE_CHANNELS",
    "CLAHE_CHANNELS",
    "ToneParams",
    "EqualizeParams",
    "ClaheParams",
    "tone_formula",
    "pillow_luma",
]

# op -> backend -> the formula that backend computes (written into the chain beside the factor).
TONE_FORMULAS: dict[str, dict[str, str]] = {
    "brightness": {
        "pillow": "out = clip(trunc(float32(factor) * in), 0, 255)  # ImageEnhance.Brightness",
        "opencv": "out = saturate(rint(float32(factor) * in))  # cv2.addWeighted, half to even",
    },
    "contrast": {
        "pillow": (
            "m = floor(mean(L) + 0.5), L = (19595 R + 38470 G + 7471 B + 32768) >> 16; "
            "out = clip(trunc(m + float32(factor) * (in - m)), 0, 255)  # ImageEnhance.Contrast"
        ),
        "opencv": (
            "m = mean(cv2 RGB2GRAY) (float64, not rounded); "
            "out = saturate(rint(fma32(in, float32(factor), float32((1 - factor) * m))))"
            "  # cv2.addWeighted, half to even"
        ),
    },
    "saturation": {
        "pillow": (
            "L = (19595 R + 38470 G + 7471 B + 32768) >> 16 per pixel; "
            "out = clip(trunc(L + float32(factor) * (in - L)), 0, 255)  # ImageEnhance.Color"
        ),
        "opencv": (
            "L = cv2 RGB2GRAY per pixel; "
            "out = saturate(rint(fma32(in, float32(factor), float32(L * float32(1 - factor)))))"
            "  # cv2.addWeighted, half to even"
        ),
    },
}


def tone_formula(op: str, backend: str) -> str:
    """The formula ``backend`` computes for tone op ``op`` (what the chain records)."""
    return TONE_FORMULAS[op][backend]


@record
class ToneParams:
    """``factor`` 1 leaves the image as it is; 0 gives black (brightness), the mean grey
    (contrast) or the grey image (saturation); above 1 enhances. ``formula``: recorded, see
    ``TONE_FORMULAS`` (null: the backend's formula, unstated)."""

    factor: float = field(metadata=spec(lo=0.0, hi=20.0))
    formula: str | None = field(default=None, metadata=spec(doc="recorded; the backend's formula"))


def pillow_luma(img: np.ndarray) -> np.ndarray:
    """Pillow's RGB -> L conversion (ITU-R 601-2 in 16-bit fixed point, rounded half up)."""
    rgb = img.astype(np.int64)
    y = (rgb[..., 0] * 19595 + rgb[..., 1] * 38470 + rgb[..., 2] * 7471 + 0x8000) >> 16
    return y.astype(np.uint8)


def _pillow_enhance(img: np.ndarray, op: str, factor: float) -> np.ndarray:
    from PIL import Image, ImageEnhance

    cls = {"brightness": "Brightness", "contrast": "Contrast", "saturation": "Color"}[op]
    return np.asarray(getattr(ImageEnhance, cls)(Image.fromarray(img)).enhance(factor))


def _cv_gray(img: np.ndarray) -> np.ndarray:
    import cv2

    return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)


@register_kernel
def brightness_pillow(img: np.ndarray, p: ToneParams) -> np.ndarray:
    """``ImageEnhance.Brightness(im).enhance(factor)``."""
    return _pillow_enhance(img, "brightness", p.factor)


@register_kernel
def brightness_opencv(img: np.ndarray, p: ToneParams) -> np.ndarray:
    """``cv2.addWeighted(img, factor, img, 0, 0)``."""
    import cv2

    return cv2.addWeighted(img, float(p.factor), img, 0.0, 0.0)


@register_kernel
def contrast_pillow(img: np.ndarray, p: ToneParams) -> np.ndarray:
    """``ImageEnhance.Contrast(im).enhance(factor)``: a blend with the rounded mean luma."""
    return _pillow_enhance(img, "contrast", p.factor)


@register_kernel
def contrast_opencv(img: np.ndarray, p: ToneParams) -> np.ndarray:
    """``cv2.addWeighted(img, factor, img, 0, (1 - factor) * mean luma)``."""
    import cv2

    mean = float(cv2.mean(_cv_gray(img))[0])
    f = float(p.factor)
    return cv2.addWeighted(img, f, img, 0.0, (1.0 - f) * mean)


@register_kernel
def saturation_pillow(img: np.ndarray, p: ToneParams) -> np.ndarray:
    """``ImageEnhance.Color(im).enhance(factor)`` (an L image is returned as it is)."""
    return img.copy() if img.ndim == 2 else _pillow_enhance(img, "saturation", p.factor)


@register_kernel
def saturation_opencv(img: np.ndarray, p: ToneParams) -> np.ndarray:
    """``cv2.addWeighted(img, factor, grey3, 1 - factor, 0)`` (an L image as it is)."""
    import cv2

    if img.ndim == 2:
        return img.copy()
    grey = np.repeat(_cv_gray(img)[..., None], 3, axis=2)
    f = float(p.factor)
    return cv2.addWeighted(img, f, grey, 1.0 - f, 0.0)


# ---- histogram equalization -------------------------------------------------------------

EQUALIZE_CHANNELS = ("luma", "rgb")


@record
class EqualizeParams:
    """``channel: luma`` equalizes the Y of YCbCr (Pillow ``convert('YCbCr')`` / OpenCV
    ``COLOR_RGB2YCrCb``, full-range BT.601) and converts back; ``rgb`` equalizes R, G and B
    each on its own histogram (what ``ImageOps.equalize`` does to an RGB image). An L image
    is equalized as it is, whatever ``channel``."""

    channel: str = field(default="luma", metadata=spec(choices=EQUALIZE_CHANNELS))


def _pillow_equalize_band(band: np.ndarray) -> np.ndarray:
    from PIL import Image, ImageOps

    return np.asarray(ImageOps.equalize(Image.fromarray(band)))


@register_kernel
def histogram_equalization_pillow(img: np.ndarray, p: EqualizeParams) -> np.ndarray:
    """``ImageOps.equalize`` on the L image, on each RGB band, or on Y of ``convert('YCbCr')``."""
    from PIL import Image

    if img.ndim == 2 or p.channel == "rgb":
        return _pillow_equalize_band(img)
    ycc = np.asarray(Image.fromarray(img).convert("YCbCr")).copy()
    ycc[..., 0] = _pillow_equalize_band(ycc[..., 0])
    return np.asarray(Image.fromarray(ycc, "YCbCr").convert("RGB"))


@register_kernel
def histogram_equalization_opencv(img: np.ndarray, p: EqualizeParams) -> np.ndarray:
    """``cv2.equalizeHist`` on the L image, on each RGB channel, or on Y of YCrCb."""
    import cv2

    if img.ndim == 2:
        return cv2.equalizeHist(img)
    if p.channel == "rgb":
        return np.stack([cv2.equalizeHist(np.ascontiguousarray(img[..., c])) for c in range(3)], -1)
    ycc = cv2.cvtColor(img, cv2.COLOR_RGB2YCrCb)
    ycc[..., 0] = cv2.equalizeHist(np.ascontiguousarray(ycc[..., 0]))
    return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)


# ---- CLAHE ------------------------------------------------------------------------------

CLAHE_CHANNELS = ("lab-l", "ycrcb-y")


@record
class ClaheParams:
    """OpenCV ``createCLAHE(clipLimit=clip_limit, tileGridSize=(cols, rows))`` on one channel:
    ``lab-l`` the L of ``COLOR_RGB2Lab`` (8-bit: L scaled to 0..255), ``ycrcb-y`` the Y of
    ``COLOR_RGB2YCrCb``; the other channels are kept and converted back. An L image is
    processed as it is."""

    clip_limit: float = field(metadata=spec(gt=0.0, hi=1000.0))
    tiles: tuple[int, int] = field(default=(8, 8), metadata=spec(lo=1, hi=256, doc="[rows, cols]"))
    channel: str = field(default="lab-l", metadata=spec(choices=CLAHE_CHANNELS))


@register_kernel
def clahe_opencv(img: np.ndarray, p: ClaheParams) -> np.ndarray:
    """Contrast-limited adaptive histogram equalization on ``p.channel``."""
    import cv2

    rows, cols = p.tiles
    clahe = cv2.createCLAHE(clipLimit=float(p.clip_limit), tileGridSize=(cols, rows))
    if img.ndim == 2:
        return clahe.apply(img)
    to, back = {
        "lab-l": (cv2.COLOR_RGB2Lab, cv2.COLOR_Lab2RGB),
        "ycrcb-y": (cv2.COLOR_RGB2YCrCb, cv2.COLOR_YCrCb2RGB),
    }[p.channel]
    conv = cv2.cvtColor(img, to)
    conv[..., 0] = clahe.apply(np.ascontiguousarray(conv[..., 0]))
    return cv2.cvtColor(conv, back)


# ---- the ops ----------------------------------------------------------------------------


def _with_formula(op: str, p: ToneParams, backend: str) -> ToneParams:
    """``OpDef.concrete`` of a tone op: ``p`` with its backend's formula stated."""
    return p if p.formula is not None else dataclasses.replace(p, formula=tone_formula(op, backend))


def _tone_apply(op: str):  # noqa: ANN202 - the apply function of one tone op
    def apply(state: ImageState, p: object, backend: str) -> ImageState:
        img = state.require_pixels(op)
        stated = getattr(p, "formula", None)
        if stated is not None and stated != TONE_FORMULAS[op][backend]:
            raise OpError(
                f"{op}.formula: backend {backend!r} computes {TONE_FORMULAS[op][backend]!r}, "
                f"the step states {stated!r}; drop formula or name the backend that computes it"
            )
        out = get_backend(backend).kernel(op)(img, p)
        # Same-size pixel op: positions (region, grids, mask) stay where they were.
        return state.replace(pixels=out, data=None, fmt=None, lossless_pixels=False)

    return apply


for _op, _doc in (
    ("brightness", "brightness factor (0 black, 1 unchanged), Pillow ImageEnhance or cv2"),
    ("contrast", "contrast factor around the mean luma, Pillow ImageEnhance or cv2"),
    ("saturation", "saturation factor against the luma image, Pillow ImageEnhance.Color or cv2"),
):
    register_op(
        OpDef(
            _op,
            ToneParams,
            ("pillow", "opencv"),
            _tone_apply(_op),
            mask="unchanged",
            doc=_doc,
            concrete=functools.partial(_with_formula, _op),
        )
    )

register_op(
    OpDef(
        "histogram_equalization",
        EqualizeParams,
        ("pillow", "opencv"),
        _tone_apply("histogram_equalization"),
        mask="unchanged",
        doc="histogram equalization on luma or each RGB channel (ImageOps.equalize, cv2.equalizeHist)",
    )
)
register_op(
    OpDef(
        "clahe",
        ClaheParams,
        ("opencv",),
        _tone_apply("clahe"),
        mask="unchanged",
        doc="CLAHE (clip limit, tiles) on the L of Lab or Y of YCrCb, OpenCV",
    )
)
