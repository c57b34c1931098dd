"""Drawing one document forgery (the ``document_forgery`` axis' planner side): the field(s) from
the source's layout sidecar, the new content, the font change, the characters to copy, the
splice donor and its field; every value drawn from the generator it is given and written into
the step (``ops.doc_forgery``). Planning reads JSON and font metrics, never pixels.

New contents: a date is shifted by 1..30 days (either way) in its own format; text with digits
gets one digit changed (never a leading zero); text without digits gets one letter of a word of
3+ letters changed (same case). A layout mapped onto a scan (the virtual-scanners sidecars)
holds boxes, anchors and font sizes in scan pixels already (``virtual_scanners.map_layout``),
so a forgery on a scan is planned as on a page: a digital edit after the print and scan.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import math
import string
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..ops import Step
from ..ops.doc_forgery import (
    CopyMoveTextParams,
    SpliceDocumentParams,
    TextField,
    TextReplaceParams,
)
from ._base import PlanContext
from ._edits import choose_donor

__all__ = [
    "TEXT_KINDS",
    "REPLACE_KINDS",
    "SPLICE_KINDS",
    "DATE_FORMATS",
    "mutate_content",
    "text_fields",
    "char_box",
    "draw_doc_edit",
]

TEXT_KINDS = ("text", "amount", "date", "name", "address", "table_cell")
REPLACE_KINDS = ("amount", "date", "name", "address", "table_cell")
SPLICE_KINDS = ("signature", "stamp", "amount", "date", "name")
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%B %d, %Y", "%d %b %Y", "%m/%d/%Y")
SIZE_STEPS = (-2, -1, 1, 2)  # font size change (px) of font_change: size
KERNINGS = (-1, 1, 2)  # dx (px) of font_change: kerning
DONOR_TRIES = 8  # splice donors drawn at most, until one has a field of the host's kinds


def _pick(rng: np.random.Generator, options: Sequence[Any]) -> Any:
    return options[int(rng.integers(len(options)))]


def _shift_date(content: str, rng: np.random.Generator) -> str | None:
    for fmt in DATE_FORMATS:
        try:
            day = dt.datetime.strptime(content, fmt).date()
        except ValueError:
            continue
        days = int(rng.integers(1, 31)) * (1 if rng.integers(2) else -1)
        new = (day + dt.timedelta(days=days)).strftime(fmt)
        return new if new != content else None
    return None


def _change_digit(content: str, rng: np.random.Generator) -> str | None:
    at = [i for i, c in enumerate(content) if c.isdigit()]
    if not at:
        return None
    i = _pick(rng, at)
    leading = i == 0 or not content[i - 1].isdigit() and content[i - 1] not in ",."
    choices = [d for d in string.digits if d != content[i] and not (leading and d == "0")]
    return content[:i] + _pick(rng, choices) + content[i + 1 :]


def _change_letter(content: str, rng: np.random.Generator) -> str | None:
    at = [i for i, c in enumerate(content) if c.isascii() and c.isalpha()]
    words = [i for i in at if i > 0 and content[i - 1].isalpha()]  # not a word's first letter
    if not words:
        return None
    i = _pick(rng, words)
    pool = string.ascii_uppercase if content[i].isupper() else string.ascii_lowercase
    return content[:i] + _pick(rng, [c for c in pool if c != content[i]]) + content[i + 1 :]


def mutate_content(kind: str, content: str, rng: np.random.Generator) -> str | None:
    """A new content for a field (module doc), or None when none can be made."""
    if kind == "date":
        new = _shift_date(content, rng)
        if new is not None:
            return new
    return _change_digit(content, rng) or _change_letter(content, rng)


def _usable(f: Mapping) -> bool:
    box = f.get("box") or (0, 0, 0, 0)
    return len(box) == 4 and box[2] > 0 and box[3] > 0


def text_fields(layout: Mapping | None, kinds: Sequence[str]) -> list[dict]:
    """The re-renderable text fields of ``kinds`` (a font, a non-empty box and content)."""
    if not layout:
        return []
    out = []
    for f in layout.get("fields", []):
        if f.get("kind") in kinds and f.get("font") and f.get("content") and _usable(f):
            out.append(copy.deepcopy(dict(f)))
    return out


def _origin(f: Mapping) -> tuple[int, int]:
    """The field's anchor (y, x): recorded, or recovered from its box and content as
    ``documents.draw_field`` does."""
    from ..documents._fonts import text_alpha

    if "origin" in f:
        return int(f["origin"][0]), int(f["origin"][1])
    font = f["font"]
    _, top, left = text_alpha(
        str(f["content"]), font["family"], int(font["size_px"]), (0, 0), f.get("anchor", "ls")
    )
    return int(f["box"][0]) - top, int(f["box"][1]) - left


def char_box(f: Mapping, i: int) -> tuple[int, int, int, int]:
    """(top, left, height, width) of character ``i`` of a text field: its advance in the font
    (from the anchor) and the font's ascent + descent around the baseline."""
    from ..documents import load_font

    font = load_font(f["font"]["family"], int(f["font"]["size_px"]))
    text = str(f["content"])
    oy, ox = _origin(f)
    total = font.getlength(text)
    start = {"ls": 0.0, "rs": -total, "ms": -total / 2}.get(f.get("anchor", "ls"), 0.0)
    x0 = ox + start + font.getlength(text[:i])
    x1 = ox + start + font.getlength(text[: i + 1])
    ascent, descent = font.getmetrics()
    left = int(math.floor(x0))
    return oy - ascent, left, ascent + descent, max(1, int(math.ceil(x1)) - left)


def _text_replace(layout: Mapping | None, rng: np.random.Generator, p: Any, note: str) -> Step:
    fields = text_fields(layout, p.kinds)
    if not fields:
        return Step("text_replace", "pillow", TextReplaceParams(note=note))
    f = _pick(rng, fields)
    new = mutate_content(f["kind"], f["content"], rng)
    if new is None:
        why = f"field {f['name']!r} ({f['content']!r}) has no digit or letter to change"
        return Step("text_replace", "pillow", TextReplaceParams(note=why))
    change = _pick(rng, p.font_changes)
    family = size = None
    dx = 0
    if change == "family":
        from ..documents import FONT_FAMILIES

        family = _pick(rng, [x for x in FONT_FAMILIES if x != f["font"]["family"]])
    elif change == "size":
        size = max(4, int(f["font"]["size_px"]) + int(_pick(rng, SIZE_STEPS)))
    elif change == "kerning":
        dx = int(_pick(rng, KERNINGS))
    params = TextReplaceParams(TextField.from_layout(f), new, family, size, dx, change)
    return Step("text_replace", "pillow", params)


def _fits(box: Sequence[int], size: Sequence[int] | None) -> bool:
    if box[0] < 0 or box[1] < 0:
        return False
    return size is None or (box[0] + box[2] <= size[0] and box[1] + box[3] <= size[1])


def _copy_move_text(layout: Mapping | None, rng: np.random.Generator, note: str) -> Step:
    """A digit copied over another digit (same font and size) of the page."""
    fields = [f for f in text_fields(layout, TEXT_KINDS) if any(c.isdigit() for c in f["content"])]
    size = (layout or {}).get("size")
    pairs = []  # (dst field, dst index, src field, src index) with different digits
    for dst in fields:
        same = [s for s in fields if s["font"] == dst["font"]]
        for i, c in enumerate(dst["content"]):
            if c.isdigit():
                pairs += [
                    (dst, i, s, j)
                    for s in same
                    for j, d in enumerate(s["content"])
                    if d.isdigit() and d != c
                ]
    if not pairs:
        why = note if not fields else "no two different digits in one font on the page"
        return Step("copy_move_text", "numpy", CopyMoveTextParams(note=why))
    dst, i, src, j = pairs[int(rng.integers(len(pairs)))]
    sbox, dbox = char_box(src, j), char_box(dst, i)
    width = min(sbox[3], dbox[3])
    sbox = (sbox[0], sbox[1], sbox[2], width)
    if not (_fits(sbox, size) and _fits((dbox[0], dbox[1], sbox[2], width), size)):
        why = f"the digit boxes of {src['name']!r} / {dst['name']!r} leave the page"
        return Step("copy_move_text", "numpy", CopyMoveTextParams(note=why))
    params = CopyMoveTextParams(
        sbox, dbox[0], dbox[1], src["name"], dst["name"], src["content"][j], dst["content"][i]
    )
    return Step("copy_move_text", "numpy", params)


def _by_kind(layout: Mapping | None, kinds: Sequence[str]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for f in (layout or {}).get("fields", []):
        if f.get("kind") in kinds and _usable(f):
            out.setdefault(f["kind"], []).append(f)
    return out


def _splice_document(ctx: PlanContext, rng: np.random.Generator, p: Any, note: str) -> Step:
    """A field of another document of the fold pasted over the host's field of that kind."""
    host = _by_kind(ctx.layout, p.splice_kinds)
    if not host:
        return Step("splice_document", "numpy", SpliceDocumentParams(donor_note=note))
    peers, tried = ctx, []
    for _ in range(DONOR_TRIES):  # a donor without a field of the host's kinds: draw again
        donor, why = choose_donor(peers, p.donor, rng)
        if donor is None:
            break
        theirs = _by_kind(ctx.layout_of(donor), p.splice_kinds)
        kinds = sorted(set(host) & set(theirs))
        if kinds:
            break
        tried.append(donor)
        peers = dataclasses.replace(
            ctx, peers=tuple(q for q in ctx.peers if q.source_id not in tried)
        )
    if donor is None or not kinds:
        why = (
            why
            if not tried
            else (
                f"donors {', '.join(tried)} have no field of the kinds {', '.join(sorted(host))} "
                f"(no layout sidecar, or other fields): nothing to splice"
            )
        )
        return Step("splice_document", "numpy", SpliceDocumentParams(donor_note=why))
    kind = _pick(rng, kinds)
    hf, df = _pick(rng, host[kind]), _pick(rng, theirs[kind])
    params = SpliceDocumentParams(
        donor, tuple(hf["box"]), tuple(df["box"]), hf["name"], df["name"], kind, why
    )
    return Step("splice_document", "numpy", params)


_WANTS = {  # what each forgery needs from a layout, for the note when it is missing
    "text_replace": lambda p: f"text field of the kinds {', '.join(p.kinds)} with a font",
    "copy_move_text": lambda p: "text field with a digit and a font",
    "splice_document": lambda p: f"field of the kinds {', '.join(p.splice_kinds)}",
}


def draw_doc_edit(op: str, p: Any, rng: np.random.Generator, ctx: PlanContext) -> Step:
    """The forgery step of ``op`` with every parameter drawn from ``rng`` (``p``: the axis
    params: kinds, font_changes, splice_kinds, donor); a step with a note when the layout
    offers nothing to forge (the op then refuses, and the reason is recorded)."""
    layout = ctx.layout
    note = (
        f"source {ctx.source_id} has no layout sidecar (<image>.json beside the image, as the "
        f"virtual-scanners dataset writes): document_forgery needs a document dataset"
        if layout is None
        else f"source {ctx.source_id}: its layout has no {_WANTS[op](p)} (the page window "
        f"may hold few fields)"
    )
    if op == "text_replace":
        return _text_replace(layout, rng, p, note)
    if op == "copy_move_text":
        return _copy_move_text(layout, rng, note)
    return _splice_document(ctx, rng, p, note)
