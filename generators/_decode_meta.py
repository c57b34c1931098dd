"""Header facts of the decode policy: which metadata kinds a file carries, EXIF text tags."""

from __future__ import annotations

from typing import Any

from PIL import Image

from .jpeginfo import JpegProbe

__all__ = ["metadata_kinds", "text_tag"]

# Make, Model, DateTime, Orientation, Exif IFD, GPS IFD: camera metadata, not TIFF structure.
_TIFF_EXIF_TAGS = (0x010F, 0x0110, 0x0132, 0x0112, 0x8769, 0x8825)


def text_tag(exif: Any, tag: int) -> str | None:
    """EXIF tag ``tag`` as stripped text (None when absent or empty)."""
    value = exif.get(tag)
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    text = str(value).replace("\x00", "").strip()
    return text or None


def metadata_kinds(im: Image.Image, exif: Any, probe: JpegProbe | None) -> list[str]:
    """The metadata kinds present: exif, icc, xmp, iptc, comment, text."""
    info = im.info
    kinds = []
    if (probe is not None and probe.has_exif) or "exif" in info:
        kinds.append("exif")
    elif im.format == "TIFF" and any(tag in exif for tag in _TIFF_EXIF_TAGS):
        kinds.append("exif")  # a TIFF's getexif() also holds its structural tags: look deeper
    if info.get("icc_profile"):
        kinds.append("icc")
    if "xmp" in info or "XML:com.adobe.xmp" in info:
        kinds.append("xmp")
    if "photoshop" in info:
        kinds.append("iptc")
    if info.get("comment"):
        kinds.append("comment")
    if getattr(im, "text", None):  # PNG tEXt/iTXt/zTXt chunks
        kinds.append("text")
    return kinds
