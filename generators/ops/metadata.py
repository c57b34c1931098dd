"""Metadata (EXIF, ICC, XMP): what a chain keeps or strips, and what encoders write.

The source's metadata rides along in ``ImageState.meta`` (``exif``/``icc``/``xmp`` bytes) and
``meta["keep"]`` says which kinds the next encoder writes. By default nothing is kept: every
output is stripped, as the major platforms do. ``keep_metadata`` / ``strip_metadata`` change
that. Kept EXIF is written with orientation reset to 1, because the pixels were already turned
upright when the source was loaded.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import field
from typing import Any

from PIL import Image

from ..backends import get_backend
from ..core.errors import OpError
from ..core.records import record, spec
from ._base import ImageState, OpDef, register_op

__all__ = ["KINDS", "MetadataParams", "read_source_metadata", "encoder_metadata_kwargs"]

KINDS = ("exif", "icc", "xmp")


@record
class MetadataParams:
    """The metadata kinds (``exif``, ``icc``, ``xmp``) a keep/strip step applies to."""

    kinds: tuple[str, ...] = field(default=KINDS, metadata=spec(choices=KINDS, nonempty=True))


def read_source_metadata(data: bytes) -> dict[str, Any]:
    """EXIF/ICC/XMP bytes and the EXIF camera make/model of an encoded image (header only)."""
    out: dict[str, Any] = {"exif": None, "icc": None, "xmp": None, "make": None, "model": None}
    try:
        # Best effort, and silent: corrupt EXIF only warns ("Corrupt EXIF data") on stderr.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                info = im.info
                out["exif"] = info.get("exif") or None
                out["icc"] = info.get("icc_profile") or None
                xmp = info.get("xmp")
                out["xmp"] = (xmp.encode() if isinstance(xmp, str) else xmp) or None
                exif = im.getexif()
                out["make"] = str(exif.get(0x010F)).strip("\x00 ") if exif.get(0x010F) else None
                out["model"] = str(exif.get(0x0110)).strip("\x00 ") if exif.get(0x0110) else None
    except Exception:  # noqa: BLE001 - metadata is best effort; decoding errors are reported elsewhere
        pass
    return out


def encoder_metadata_kwargs(state: ImageState, backend: str, op: str) -> dict[str, Any]:
    """Pillow ``save`` keyword arguments for the metadata the chain keeps."""
    keep = state.meta.get("keep", ())
    kwargs: dict[str, Any] = {}
    if not keep:
        return kwargs
    if not get_backend(backend).writes_metadata:
        raise OpError(
            f"op {op!r}: backend {backend!r} cannot write metadata; use backend pillow "
            f"or strip_metadata before it"
        )
    if "exif" in keep and state.meta.get("exif"):
        exif = Image.Exif()
        exif.load(state.meta["exif"])
        if 0x0112 in exif:
            exif[0x0112] = 1  # pixels are upright already
        kwargs["exif"] = exif.tobytes()
    if "icc" in keep and state.meta.get("icc"):
        kwargs["icc_profile"] = state.meta["icc"]
    if "xmp" in keep and state.meta.get("xmp"):
        kwargs["xmp"] = state.meta["xmp"]
    return kwargs


def _apply_keep(state: ImageState, p: MetadataParams, backend: str) -> ImageState:
    keep = tuple(k for k in KINDS if k in set(state.meta.get("keep", ())) | set(p.kinds))
    return state.replace(meta={**state.meta, "keep": keep})


def _apply_strip(state: ImageState, p: MetadataParams, backend: str) -> ImageState:
    keep = tuple(k for k in state.meta.get("keep", ()) if k not in p.kinds)
    return state.replace(meta={**state.meta, "keep": keep})


register_op(
    OpDef(
        "keep_metadata",
        MetadataParams,
        ("pillow",),
        _apply_keep,
        mask="unchanged",
        doc="write the source's EXIF/ICC/XMP (listed kinds) in the following encodes",
    )
)
register_op(
    OpDef(
        "strip_metadata",
        MetadataParams,
        ("pillow",),
        _apply_strip,
        mask="unchanged",
        doc="drop EXIF/ICC/XMP (listed kinds) from the following encodes (the default)",
    )
)
