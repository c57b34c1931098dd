"""Masks follow the pixels to disk (issue 14): a variant whose final ``ImageState`` carries a
``mask`` gets it as a single-channel 1-bit PNG the size of the output, under ``masks/`` with the
variant's own path (``variants/A/B/C.jpg`` -> ``masks/A/B/C.png``); a copy-move's copied-from
region (``state.meta["source_mask"]``) goes beside it as ``C_source.png`` when it has the
output's size (``run_chain`` moves it with every geometric op; one at another size would be
in other coordinates, so it is left out)."""

from __future__ import annotations

import hashlib
import io
from pathlib import PurePosixPath
from typing import Any

import numpy as np
from PIL import Image

from ..core.errors import OpError
from ..ops.masks import as_mask

__all__ = [
    "MASKS_ROOT",
    "MASK_COLUMNS",
    "mask_png",
    "mask_path",
    "mask_files",
    "read_mask_png",
]

MASKS_ROOT = "masks"
MASK_COLUMNS = ("mask_path", "mask_sha256", "mask_fraction", "source_mask_path")


def mask_png(mask: np.ndarray) -> bytes:
    """``mask`` (bool HxW) as the bytes of a 1-bit PNG (mode ``1``: white marks the region)."""
    arr = np.ascontiguousarray(as_mask(mask, None, "mask"))
    buf = io.BytesIO()
    Image.fromarray(arr).convert("1").save(buf, "PNG")  # bool -> mode 1 without dithering
    return buf.getvalue()


def read_mask_png(data: bytes) -> np.ndarray:
    """The bool HxW mask a :func:`mask_png` file holds."""
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("L")) > 0


def mask_path(variant_path: str, suffix: str = "") -> str:
    """Where the mask of the variant at ``variant_path`` (relative to OUT) lives: the same path
    under ``masks/`` in place of the first folder, as a PNG, with ``suffix`` before ``.png``."""
    parts = PurePosixPath(variant_path).parts
    rest = parts[1:] if len(parts) > 1 else parts
    rel = PurePosixPath(MASKS_ROOT, *rest)
    return str(rel.with_name(rel.stem + suffix + ".png"))


def _checked(mask: Any, size_hw: tuple[int, int], variant: str, what: str) -> np.ndarray:
    arr = as_mask(mask, None, f"variant {variant}: {what}")
    if arr.shape != tuple(size_hw):
        raise OpError(
            f"variant {variant}: {what} is {arr.shape[0]}x{arr.shape[1]} but the output is "
            f"{size_hw[0]}x{size_hw[1]}; a geometric op must map the mask with its pixels"
        )
    return arr


def mask_files(
    variant_path: str, final: Any, size_hw: tuple[int, int], variant: str = ""
) -> tuple[dict, dict[str, bytes]]:
    """(the mask columns of a row, ``{path relative to OUT: PNG bytes}`` to write).

    Args:
        variant_path: the variant's path relative to OUT.
        final: the chain's final ``ImageState`` (``mask``, ``meta["source_mask"]``).
        size_hw: the output's (height, width); every mask must have it.
        variant: a name for error messages.

    Raises:
        OpError: a mask that is not a bool/integer HxW array, or a ``mask`` not the size of the
            output (a source mask of another size is left out: see the module doc).
    """
    cols: dict = dict.fromkeys(MASK_COLUMNS)
    files: dict[str, bytes] = {}
    if final.mask is not None:
        arr = _checked(final.mask, size_hw, variant, "mask")
        blob = mask_png(arr)
        cols["mask_path"] = mask_path(variant_path)
        cols["mask_sha256"] = hashlib.sha256(blob).hexdigest()
        cols["mask_fraction"] = float(arr.mean()) if arr.size else 0.0
        files[cols["mask_path"]] = blob
    source_mask = (final.meta or {}).get("source_mask")
    if source_mask is not None:
        arr = as_mask(source_mask, None, f'variant {variant}: meta["source_mask"]')
        # run_chain moves meta["source_mask"] with geometric ops; one still at another size is
        # in other coordinates than the output, so it is not written (source_mask_path null).
        if arr.shape == tuple(size_hw):
            cols["source_mask_path"] = mask_path(variant_path, "_source")
            files[cols["source_mask_path"]] = mask_png(arr)
    return cols, files
