"""JPEG XL output through pillow-jxl-plugin (libjxl): lossy at a quality, or lossless.

Needs the optional ``pillow-jxl-plugin`` (``pip install "degradebench[codecs]"``); importing
this module registers its Pillow plugin when installed, so every reader opens JPEG XL files.
"""

from __future__ import annotations

from dataclasses import field

import numpy as np

from ..backends import get_backend, register_kernel
from ..core.errors import OpError
from ..core.plugins import register_plugins, require_plugin
from ..core.records import record, spec
from ._base import ImageState, OpDef, register_op
from ._encoder import encoded_state, kept_metadata, pillow_save

__all__ = ["JxlParams", "jxl_distance", "jxl_pillow"]

register_plugins()


def jxl_distance(quality: float) -> float:
    """libjxl's ``JxlEncoderDistanceFromQuality`` (what the plugin's ``quality`` sets): the
    butteraugli distance, 0 (lossless) at 100, 1.0 at 90, 6.4 at 30."""
    if quality >= 100:
        return 0.0
    if quality >= 30:
        return round(0.1 + (100 - quality) * 0.09, 9)
    return round(53.0 / 3000.0 * quality * quality - 23.0 / 20.0 * quality + 25.0, 9)


@record
class JxlParams:
    """``quality`` 0..99 for lossy (libjxl maps it to a butteraugli distance; the plugin's
    default 90), 100 with ``lossless`` (modular, no XYB: the file decodes to the exact pixels);
    ``effort`` 1 (fast) .. 9 (slow), libjxl's default 7; ``decoding_speed`` 0..4 (0: the
    densest file). Lossy files are XYB-encoded (``use_original_profile`` off). ``distance`` is
    recorded: the butteraugli distance libjxl derives from ``quality`` (:func:`jxl_distance`)."""

    quality: int = field(default=90, metadata=spec(lo=0, hi=100))
    lossless: bool = False
    effort: int = field(default=7, metadata=spec(lo=1, hi=9))
    decoding_speed: int = field(default=0, metadata=spec(lo=0, hi=4))
    distance: float | None = field(default=None, metadata=spec(doc="recorded; from quality"))

    def _check(self) -> None:
        expected = jxl_distance(self.quality)
        if self.distance is None:
            object.__setattr__(self, "distance", expected)  # concrete in the chain
        elif abs(self.distance - expected) > 1e-9:
            raise OpError(
                f"distance: quality {self.quality} means distance {expected:g} "
                f"(libjxl's JxlEncoderDistanceFromQuality), got {self.distance!r}; drop distance"
            )
        if self.lossless and self.quality != 100:
            raise OpError(
                f"quality: a lossless JPEG XL ignores quality, got {self.quality}; set quality "
                f"100 with lossless true, or lossless false"
            )
        if not self.lossless and self.quality == 100:
            raise OpError(
                "quality: 100 means distance 0, which libjxl encodes only losslessly; set "
                "lossless true, or a quality of 0..99"
            )


@register_kernel
def jxl_pillow(img: np.ndarray, p: JxlParams, **metadata: bytes) -> bytes:
    """``Image.save(buf, "JXL", quality, lossless, effort, decoding_speed)`` (pillow-jxl)."""
    require_plugin("jxl", "op 'jxl'")
    return pillow_save(
        img,
        "JXL",
        quality=p.quality,
        lossless=p.lossless,
        effort=p.effort,
        decoding_speed=p.decoding_speed,
        use_original_profile=p.lossless,
        **metadata,
    )


def _apply_jxl(state: ImageState, p: JxlParams, backend: str) -> ImageState:
    img = state.require_pixels("jxl")
    meta = kept_metadata(state, backend, "jxl", ("exif", "xmp"))
    data = get_backend(backend).kernel("jxl")(img, p, **meta)
    return encoded_state(state, img, data, "jxl", exact=p.lossless)


register_op(
    OpDef(
        "jxl",
        JxlParams,
        ("pillow",),
        _apply_jxl,
        encoder="jxl",
        mask="unchanged",
        doc="encode as JPEG XL (libjxl through pillow-jxl-plugin): quality 0..99, or lossless",
    )
)
