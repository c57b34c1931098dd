"""Document forgery ops: ``text_replace``, ``copy_move_text`` and ``splice_document`` (issue 17).

Each op's name is its ``manipulation`` value (``manifest.targets``: the OpDefs say so). Every
box is concrete, in pixels of the image the op gets, ``(top, left, height, width)``: the
``document_forgery`` planner reads them from the source's layout sidecar (a document's fields,
``generators.documents``) and draws the rest (the field, its new content, the font change, the
digit to copy, the donor); nothing is drawn here.

- ``text_replace``: the field is re-rendered by ``documents.draw_field`` (paper colour behind
  the old text, the new ``content`` on top) in its own font, or in ``family`` / ``size_px`` /
  with ``dx`` extra pixels between characters when the planner changed the font (``font_change``).
- ``copy_move_text``: the ``src`` box (one character or word of a field) is copied exactly to
  (``dst_top``, ``dst_left``) (e.g. a digit pasted over another digit of an amount);
  ``meta["source_mask"]`` holds the copied-from box, as ``copy_move`` does.
- ``splice_document``: the host ``box`` (a field, a signature, a stamp) is filled with the
  paper colour (the per-channel median of the 2-px ring around the box, rounded half up) and
  the ``donor_box`` of another source of the fold (delivered in ``state.meta["donors"]`` as
  for ``splice``) is pasted at the box's top-left, clipped to the image.

Masks (kind ``sets``): the pixels the op changed (output != input in some channel), OR the
incoming mask: exactly the changed pixels of the field before later ops, which geometric ops
then move. A gray (HxW) image is edited as RGB with equal channels and converted back with
Pillow's ``convert("L")``; pixels the edit did not touch are copied from the input unchanged.
A step whose planner found no field (no layout sidecar, no suitable field, no donor) holds a
``note`` and refuses to run: that variant is listed in ``errors.parquet`` with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from ..backends import get_backend, register_kernel
from ..core.errors import OpError
from ..core.records import record, spec
from ._base import ImageState, OpDef, register_op
from .regions import manipulated_state

__all__ = [
    "FONT_CHANGES",
    "TextField",
    "TextReplaceParams",
    "CopyMoveTextParams",
    "SpliceDocumentParams",
    "text_replace_pillow",
    "copy_move_text_numpy",
    "splice_document_numpy",
    "paper_colour",
    "changed_mask",
]

FONT_CHANGES = ("same", "family", "size", "kerning")
Box = tuple[int, int, int, int]  # (top, left, height, width) in pixels


@dataclass(frozen=True)
class ForgeryOpDef(OpDef):
    """An OpDef whose op makes a document doctored (``manifest.targets.is_manipulation``)."""

    manipulation: bool = True


def _check_box(box: Any, what: str) -> None:
    if box is not None and (box[2] < 1 or box[3] < 1):
        raise OpError(f"{what}: (top, left, height, width) needs height and width >= 1, got {box}")


def _refuse(op: str, note: str | None) -> OpError:
    why = note or "the planner found no field for this edit"
    return OpError(f"{op}: nothing to forge: {why}; this variant is not made")


def _fits(box: Box, h: int, w: int, what: str, op: str) -> None:
    top, left, bh, bw = box
    if top + bh > h or left + bw > w:
        raise OpError(
            f"{op}: {what} {list(box)} (top, left, height, width) does not fit the {h}x{w} "
            f"image; the layout sidecar does not match this image (plan on the image it describes)"
        )


def changed_mask(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Bool HxW: True where ``after`` differs from ``before`` in some channel."""
    diff = before != after
    return diff.any(axis=2) if diff.ndim == 3 else diff


def _as_rgb(img: np.ndarray) -> np.ndarray:
    return np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img


def _back(img: np.ndarray, edited_rgb: np.ndarray) -> np.ndarray:
    """``edited_rgb`` in ``img``'s mode; pixels the edit left alone are ``img``'s own."""
    edited = edited_rgb
    if img.ndim == 2:
        edited = np.asarray(Image.fromarray(np.ascontiguousarray(edited_rgb)).convert("L"))
    out = img.copy()
    keep = changed_mask(_as_rgb(img), edited_rgb)
    out[keep] = edited[keep]
    return out


@record
class TextField:
    """One text field of a layout sidecar (``generators.documents``): its name, kind, content,
    ink ``box`` (top, left, height, width), font ``family`` and ``size_px``, ``anchor`` and the
    anchor point ``origin`` (y, x; None: recovered from the box) and its ``ink`` colour."""

    name: str
    kind: str
    content: str
    box: tuple[int, int, int, int] = field(metadata=spec(lo=0))
    family: str
    size_px: int = field(metadata=spec(lo=4, hi=400))
    anchor: str = "ls"
    origin: tuple[int, int] | None = None
    ink: tuple[int, int, int] | None = field(default=None, metadata=spec(lo=0, hi=255))

    def _check(self) -> None:
        _check_box(self.box, f"field {self.name!r} box")

    @classmethod
    def from_layout(cls, f: Mapping[str, Any]) -> TextField:
        """From a layout field dict (``font: {family, size_px}``; extra keys ignored)."""
        return cls(
            str(f["name"]),
            str(f["kind"]),
            str(f["content"]),
            tuple(int(v) for v in f["box"]),
            str(f["font"]["family"]),
            int(f["font"]["size_px"]),
            str(f.get("anchor", "ls")),
            None if f.get("origin") is None else tuple(int(v) for v in f["origin"]),
            None if f.get("ink") is None else tuple(int(v) for v in f["ink"]),
        )

    def as_layout(self) -> dict:
        """The layout field dict ``documents.draw_field`` takes."""
        d = {
            "name": self.name,
            "kind": self.kind,
            "content": self.content,
            "box": list(self.box),
            "font": {"family": self.family, "size_px": self.size_px},
            "anchor": self.anchor,
        }
        if self.origin is not None:
            d["origin"] = list(self.origin)
        if self.ink is not None:
            d["ink"] = list(self.ink)
        return d


@record
class TextReplaceParams:
    """Re-render ``target`` (a layout text field) with ``content``; ``family``, ``size_px``
    and ``dx`` (extra px between characters) override its font when not None/0."""

    target: TextField | None = None
    content: str = ""
    family: str | None = None
    size_px: int | None = field(default=None, metadata=spec(lo=4, hi=400))
    dx: int = field(default=0, metadata=spec(lo=-4, hi=8))
    font_change: str = field(default="same", metadata=spec(choices=FONT_CHANGES))
    note: str | None = None


@register_kernel
def text_replace_pillow(img: np.ndarray, p: TextReplaceParams) -> tuple[np.ndarray, np.ndarray]:
    """(output, changed mask): the field re-rendered by ``documents.draw_field``."""
    from ..documents import draw_field  # function-level: fonts load only for documents

    _fits(p.target.box, *img.shape[:2], f"field {p.target.name!r} box", "text_replace")
    target = p.target.as_layout()
    try:
        edited, _ = draw_field(
            _as_rgb(img), target, p.content, font=p.family, size_px=p.size_px, dx=p.dx
        )
    except (ValueError, FileNotFoundError) as exc:
        raise OpError(f"text_replace: field {p.target.name!r}: {exc}") from None
    out = _back(img, np.asarray(edited, dtype=np.uint8))
    return out, changed_mask(img, out)


def _apply_text_replace(state: ImageState, p: TextReplaceParams, backend: str) -> ImageState:
    img = state.require_pixels("text_replace")
    if p.target is None:
        raise _refuse("text_replace", p.note)
    pixels, mask = get_backend(backend).kernel("text_replace")(img, p)
    return manipulated_state(state, pixels, mask)


@record
class CopyMoveTextParams:
    """Copy the ``src`` box (top, left, height, width) to (``dst_top``, ``dst_left``);
    ``src_field``/``dst_field``/``text``/``replaced`` record what the planner picked."""

    src: tuple[int, int, int, int] | None = field(default=None, metadata=spec(lo=0))
    dst_top: int | None = field(default=None, metadata=spec(lo=0))
    dst_left: int | None = field(default=None, metadata=spec(lo=0))
    src_field: str | None = None
    dst_field: str | None = None
    text: str | None = None
    replaced: str | None = None
    note: str | None = None

    def _check(self) -> None:
        _check_box(self.src, "src")
        given = (self.src is not None, self.dst_top is not None, self.dst_left is not None)
        if any(given) and not all(given):
            raise OpError(
                f"src: give src, dst_top and dst_left together (or none, with a note), got "
                f"src={self.src} dst_top={self.dst_top} dst_left={self.dst_left}"
            )


@register_kernel
def copy_move_text_numpy(
    img: np.ndarray, p: CopyMoveTextParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(output, changed mask, copied-from box mask): an exact copy of the ``src`` box."""
    h, w = img.shape[:2]
    top, left, bh, bw = p.src
    _fits(p.src, h, w, "src", "copy_move_text")
    _fits((p.dst_top, p.dst_left, bh, bw), h, w, "destination", "copy_move_text")
    out = img.copy()
    out[p.dst_top : p.dst_top + bh, p.dst_left : p.dst_left + bw] = img[
        top : top + bh, left : left + bw
    ]
    src = np.zeros((h, w), bool)
    src[top : top + bh, left : left + bw] = True
    return out, changed_mask(img, out), src


def _apply_copy_move_text(state: ImageState, p: CopyMoveTextParams, backend: str) -> ImageState:
    img = state.require_pixels("copy_move_text")
    if p.src is None:
        raise _refuse("copy_move_text", p.note)
    pixels, mask, src = get_backend(backend).kernel("copy_move_text")(img, p)
    return manipulated_state(state, pixels, mask, source_mask=src)


@record
class SpliceDocumentParams:
    """Fill the host ``box`` with paper colour and paste ``donor_box`` of source
    ``donor_source_id`` at its top-left; ``host_field``/``donor_field``/``kind``: the pick."""

    donor_source_id: str | None = None
    box: tuple[int, int, int, int] | None = field(default=None, metadata=spec(lo=0))
    donor_box: tuple[int, int, int, int] | None = field(default=None, metadata=spec(lo=0))
    host_field: str | None = None
    donor_field: str | None = None
    kind: str | None = None
    donor_note: str | None = None

    def _check(self) -> None:
        _check_box(self.box, "box")
        _check_box(self.donor_box, "donor_box")
        if self.donor_source_id is not None and (self.box is None or self.donor_box is None):
            raise OpError(
                f"box: a splice from donor {self.donor_source_id!r} needs box and donor_box, "
                f"got box={self.box} donor_box={self.donor_box}"
            )


def paper_colour(img: np.ndarray, box: Box) -> np.ndarray:
    """Per-channel median of the 2-px ring around ``box`` (clipped to the image), rounded half
    up (uint8, one value per channel); the box's own median when no ring pixel exists."""
    top, left, bh, bw = box
    h, w = img.shape[:2]
    t0, l0 = max(top - 2, 0), max(left - 2, 0)
    t1, l1 = min(top + bh + 2, h), min(left + bw + 2, w)
    ring = np.ones((t1 - t0, l1 - l0), bool)
    ring[top - t0 : top - t0 + bh, left - l0 : left - l0 + bw] = False
    window = img[t0:t1, l0:l1]
    pixels = window[ring] if ring.any() else window.reshape(-1, *img.shape[2:])
    med = np.median(pixels.astype(np.float64), axis=0)
    return np.clip(np.floor(med + 0.5), 0, 255).astype(np.uint8)


def _donor(state: ImageState, p: SpliceDocumentParams, host: np.ndarray) -> np.ndarray:
    sid = p.donor_source_id
    donors = state.meta.get("donors") or {}
    if sid not in donors:
        failed = (state.meta.get("donor_errors") or {}).get(sid)
        have = ", ".join(sorted(donors)) or "none"
        raise OpError(
            f"splice_document: donor {sid!r} "
            + (f"failed: {failed}" if failed else f"was not delivered (donors present: {have})")
            + f"; in memory pass donors={{{sid!r}: array or path}} to apply_chain / variants"
        )
    donor = np.asarray(donors[sid])
    if donor.ndim == host.ndim:
        return donor
    if host.ndim == 3:
        return np.repeat(donor[..., None], 3, axis=2)
    return np.asarray(Image.fromarray(donor).convert("L"))


@register_kernel
def splice_document_numpy(
    host: np.ndarray, donor: np.ndarray, p: SpliceDocumentParams
) -> tuple[np.ndarray, np.ndarray]:
    """(output, changed mask): the host box erased to paper, the donor box pasted there."""
    h, w = host.shape[:2]
    _fits(p.box, h, w, "box", "splice_document")
    dh, dw = donor.shape[:2]
    _fits(p.donor_box, dh, dw, f"donor_box of donor {p.donor_source_id!r}", "splice_document")
    top, left, bh, bw = p.box
    dtop, dleft, dbh, dbw = p.donor_box
    out = host.copy()
    out[top : top + bh, left : left + bw] = paper_colour(host, p.box)
    ph, pw = min(dbh, h - top), min(dbw, w - left)  # clipped to the host image
    out[top : top + ph, left : left + pw] = donor[dtop : dtop + ph, dleft : dleft + pw]
    return out, changed_mask(host, out)


def _apply_splice_document(state: ImageState, p: SpliceDocumentParams, backend: str) -> ImageState:
    img = state.require_pixels("splice_document")
    if p.donor_source_id is None:
        raise _refuse("splice_document", p.donor_note)
    donor = _donor(state, p, img)
    pixels, mask = get_backend(backend).kernel("splice_document")(img, donor, p)
    return manipulated_state(state, pixels, mask)


register_op(
    ForgeryOpDef(
        "text_replace",
        TextReplaceParams,
        ("pillow",),
        _apply_text_replace,
        mask="sets",
        doc="re-render a document field with new content (same or changed font); mask = changed",
    )
)
register_op(
    ForgeryOpDef(
        "copy_move_text",
        CopyMoveTextParams,
        ("numpy",),
        _apply_copy_move_text,
        mask="sets",
        doc="copy a character/word box of a document elsewhere on the page; mask = changed",
    )
)
register_op(
    ForgeryOpDef(
        "splice_document",
        SpliceDocumentParams,
        ("numpy",),
        _apply_splice_document,
        mask="sets",
        doc="a field or signature of another document pasted over a field; mask = changed",
    )
)
