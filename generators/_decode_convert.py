"""Pixel conversions of the decode policy: any supported Pillow mode to uint8 L or RGB."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from ._decode_errors import fail

__all__ = ["to_uint8", "bit_depth"]

_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}
_TO_RGB_MODES = {"CMYK", "YCbCr", "LAB", "HSV", "RGBX"}
_ALPHA_NOTE = {
    "composite-white": "alpha composited over white",
    "dropped": "alpha dropped (fully opaque)",
}


def bit_depth(im: Image.Image, data: bytes) -> int:
    if im.format == "PNG" and len(data) > 24:
        return int(data[24])  # IHDR bit depth
    if im.format == "TIFF":
        bits = getattr(im, "tag_v2", {}).get(258)
        if bits:
            return int(bits[0] if isinstance(bits, tuple) else bits)
    return {"1": 1, "I;16": 16, "I;16L": 16, "I;16B": 16, "I;16N": 16, "I": 32, "F": 32}.get(
        im.mode, 8
    )


def _composite_white(arr: np.ndarray) -> tuple[np.ndarray, str]:
    """Composite an ...xA uint8 array over white; drop an all-opaque alpha."""
    colour, alpha = arr[..., :-1], arr[..., -1:]
    if alpha.min() == 255:
        return colour, "dropped"
    a = alpha.astype(np.uint32)
    out = (colour.astype(np.uint32) * a + 255 * (255 - a) + 127) // 255
    return out.astype(np.uint8), "composite-white"


def to_uint8(im: Image.Image, params: dict[str, Any], conversions: list[str], path: str):
    """Convert any supported Pillow mode to a uint8 L or RGB array (see the module policy)."""
    mode = im.mode
    if mode == "F":
        msg = (
            "mode F (32-bit float) has no defined display range; "
            "convert it to an 8- or 16-bit integer image first"
        )
        raise fail(path, "unsupported_mode", msg)
    if mode in _SIXTEEN_BIT_MODES:
        v = np.asarray(im).astype(np.int64)
        clipped = int(np.count_nonzero((v < 0) | (v > 65535)))
        v = np.clip(v, 0, 65535)
        conversions.append(f"{mode}->L: round(v*255/65535)")
        if clipped:
            params["clipped_pixels"] = clipped
        return ((v + 128) // 257).astype(np.uint8)  # exact rounding: v/257 never ends in .5
    has_key = "transparency" in im.info and mode in ("L", "RGB", "P")
    if mode == "1":
        conversions.append("1->L")
        return np.array(im.convert("L"))
    if mode in ("LA", "La") or (mode == "L" and has_key):
        if mode != "LA":
            conversions.append(f"{mode}->LA" + (" (transparency key)" if has_key else ""))
        out, params["alpha"] = _composite_white(np.array(im.convert("LA")))
        conversions.append(f"LA->L: {_ALPHA_NOTE[params['alpha']]}")
        return out[..., 0]
    if mode in ("RGBA", "RGBa", "PA") or (mode in ("RGB", "P") and has_key):
        if mode != "RGBA":
            conversions.append(f"{mode}->RGBA" + (" (transparency key)" if has_key else ""))
        out, params["alpha"] = _composite_white(np.array(im.convert("RGBA")))
        conversions.append(f"RGBA->RGB: {_ALPHA_NOTE[params['alpha']]}")
        return out
    if mode == "P":
        conversions.append("P->RGB")
        return np.array(im.convert("RGB"))
    if mode in _TO_RGB_MODES:
        note = " (pillow, no ICC)" if mode == "CMYK" else " (pillow)"
        conversions.append(f"{mode}->RGB{note}")
        return np.array(im.convert("RGB"))
    if mode in ("L", "RGB"):
        return np.array(im)
    msg = f"mode {mode} has no defined conversion to 8-bit L or RGB"
    raise fail(path, "unsupported_mode", msg)
