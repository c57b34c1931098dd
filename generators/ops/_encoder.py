"""What the modern-codec ops (avif, heic, jxl, jpeg2000) share: a Pillow ``save`` into bytes,
the kept metadata each format can carry, and the state after an encoder."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from ..core.errors import OpError
from ._base import ImageState
from .jpeg import pil_image
from .metadata import encoder_metadata_kwargs

__all__ = ["pillow_save", "kept_metadata", "encoded_state"]


def pillow_save(img: np.ndarray, fmt: str, *, rgb: bool = False, **kwargs: Any) -> bytes:
    """``Image.save(buf, fmt, **kwargs)``; ``rgb``: convert L to RGB first (formats without a
    grey mode), explicitly rather than inside the plugin."""
    im = pil_image(img)
    if rgb and im.mode == "L":
        im = im.convert("RGB")
    buf = io.BytesIO()
    im.save(buf, fmt, **kwargs)
    return buf.getvalue()


def kept_metadata(
    state: ImageState, backend: str, op: str, can_write: tuple[str, ...]
) -> dict[str, Any]:
    """Pillow ``save`` keywords for the metadata the chain keeps (``encoder_metadata_kwargs``);
    OpError naming the kind when the format's writer cannot carry it."""
    kwargs = encoder_metadata_kwargs(state, backend, op)
    cannot = sorted(set(kwargs) - set(can_write))
    if cannot:
        kinds = ", ".join("icc" if k == "icc_profile" else k for k in cannot)
        raise OpError(
            f"op {op!r}: its writer cannot carry the kept metadata ({kinds}); add "
            f"strip_metadata with kinds [{kinds}] before the {op} step"
        )
    return kwargs


def encoded_state(state: ImageState, img: np.ndarray, data: bytes, fmt: str, exact: bool):
    """The state after an encoder: the bytes and format; the pixels kept only when ``exact``
    (lossless: the file decodes to exactly ``img``), else a ``decode`` step brings them back.
    Grids, region and the last JPEG quality stay as they were (a non-JPEG codec adds no grid)."""
    return state.replace(pixels=img if exact else None, data=data, fmt=fmt, lossless_pixels=exact)
