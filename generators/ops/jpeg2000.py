"""JPEG 2000 output through Pillow's OpenJPEG: one quality layer at a target PSNR or a rate."""

from __future__ import annotations

from dataclasses import field

import numpy as np

from ..backends import get_backend, register_kernel
from ..core.errors import OpError
from ..core.records import record, spec
from ._base import ImageState, OpDef, register_op
from ._encoder import encoded_state, kept_metadata, pillow_save

__all__ = ["Jpeg2000Params", "PROGRESSIONS", "jpeg2000_pillow"]

PROGRESSIONS = ("LRCP", "RLCP", "RPCL", "PCRL", "CPRL")


@record
class Jpeg2000Params:
    """One quality layer: ``quality`` is the target PSNR in dB (``quality_mode: dB``) or the
    compression ratio (``quality_mode: rates``, 20 = 20:1), Pillow's ``quality_layers``;
    ``irreversible``: the 9/7 wavelet (lossy) rather than the 5/3; ``num_resolutions``: wavelet
    levels + 1 (OpenJPEG's default 6; both sides must be >= 2 ** (num_resolutions - 1));
    ``mct``: the colour transform on RGB (Pillow's default is off); ``progression`` order.
    Written in a JP2 container."""

    quality: float = field(default=40.0, metadata=spec(gt=0.0, hi=1000.0))
    quality_mode: str = field(default="dB", metadata=spec(choices=("dB", "rates")))
    irreversible: bool = True
    num_resolutions: int = field(default=6, metadata=spec(lo=1, hi=32))
    mct: bool = True
    progression: str = field(default="LRCP", metadata=spec(choices=PROGRESSIONS))


@register_kernel
def jpeg2000_pillow(img: np.ndarray, p: Jpeg2000Params) -> bytes:
    """``Image.save(buf, "JPEG2000", quality_mode, quality_layers=[quality], irreversible,
    num_resolutions, mct (RGB only), progression)``."""
    side = 2 ** (p.num_resolutions - 1)
    h, w = img.shape[:2]
    if min(h, w) < side:
        raise OpError(
            f"jpeg2000: num_resolutions {p.num_resolutions} needs both sides >= {side} px, got "
            f"{w}x{h}; lower num_resolutions to {max(1, min(h, w).bit_length())} or less"
        )
    return pillow_save(
        img,
        "JPEG2000",
        quality_mode=p.quality_mode,
        quality_layers=[p.quality],
        irreversible=p.irreversible,
        num_resolutions=p.num_resolutions,
        mct=int(p.mct and img.ndim == 3),
        progression=p.progression,
    )


def _apply_jpeg2000(state: ImageState, p: Jpeg2000Params, backend: str) -> ImageState:
    img = state.require_pixels("jpeg2000")
    kept_metadata(state, backend, "jpeg2000", ())  # Pillow's JPEG 2000 writer keeps none
    data = get_backend(backend).kernel("jpeg2000")(img, p)
    return encoded_state(state, img, data, "jpeg2000", exact=False)


register_op(
    OpDef(
        "jpeg2000",
        Jpeg2000Params,
        ("pillow",),
        _apply_jpeg2000,
        encoder="jpeg2000",
        mask="unchanged",
        doc="encode as JPEG 2000 (OpenJPEG through Pillow): target PSNR (dB) or rate",
    )
)
