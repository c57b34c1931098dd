"""Splice: a region of another source (the *donor*) pasted into the host image.

The planner chooses the donor (another source of the host's fold: ``donor: other_label`` or
``any``) and records its ``donor_source_id``; the runner delivers the donor's decoded pixels in
``state.meta["donors"][donor_source_id]`` (read once per host, its sha256 checked against the
one taken at planning). ``donor_source_id`` None means the planner found no suitable donor: the op
raises ``OpError(donor_note)``, so that variant is not made and the reason is recorded.

Geometry (pure arithmetic on the two image sizes, nothing drawn here):

1. ``donor_chain`` runs on the WHOLE donor first (e.g. ``jpeg`` at quality 70: the donor's own
   compression before the paste); when it leaves an encoded file a ``decode`` step is added.
2. The host region's box size comes from ``region`` (a :class:`RelRegion` is sized on the
   shorter side of the host and the prepared donor, so a smaller donor still fits). Its top-left on the host is ``dst_top``/``dst_left`` (px),
   ``dst_y``/``dst_x`` (fractions of the host's free range), or else the region's own position.
3. The donor box of the same size starts at ``donor_top``/``donor_left`` (px) or
   ``donor_y``/``donor_x`` (fractions of the donor's free range). A donor smaller than the box
   is an OpError naming both sizes.
4. ``grid``: ``any`` keeps the position; ``aligned`` / ``shifted`` snap the host position to the
   nearest one inside the host where the donor's 8x8 grid (donor pixel (0, 0) is its JPEG grid
   origin, as after a ``donor_chain`` ending in ``jpeg``) lands on the host's grid at phase
   (0, 0) / ``shift``: ``(top - donor_top) % 8 == shift[0]`` and the same for the columns
   (nearest first, the smaller position on a tie).
5. The region's shape, placed at the host box, cuts the donor box; the paste is blended with the
   region's inward feather. The mask (kind ``sets``) is the region at its snapped place OR the
   incoming mask; pixels outside it never change.

A donor in another colour mode is converted to the host's: gray -> RGB by repeating the channel,
RGB -> gray by Pillow's ``convert("L")`` (ITU-R 601-2 luma).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import field
from typing import Any

import numpy as np
from PIL import Image

from ..backends import get_backend, register_kernel
from ..core.errors import OpError
from ..core.records import record, spec
from ._base import ImageState, OpDef, Step, make_step, register_op, run_chain
from .jpeg import DecodeParams
from .regions import (
    Region,
    RelRegion,
    blend,
    feather_alpha,
    manipulated_state,
    region_mask,
    resolve_region,
)

__all__ = [
    "SpliceParams",
    "SPLICE_GRIDS",
    "DONOR_MODES",
    "splice_opencv",
    "splice_placement",
    "prepared_donor",
    "donor_ids",
]

SPLICE_GRIDS = ("any", "aligned", "shifted")
DONOR_MODES = ("other_label", "any")
_DECODE = Step("decode", "pillow", DecodeParams())  # as the runner decodes a variant


def _pair(a: Any, b: Any) -> str:
    """'both', 'none' or 'one' of two optional values."""
    return "both" if a is not None and b is not None else ("none" if a is b is None else "one")


@record
class SpliceParams:
    """Paste ``region`` of donor ``donor_source_id`` (after ``donor_chain``) into the host.

    Host position: ``dst_top``/``dst_left`` (px) or ``dst_y``/``dst_x`` (fractions of the free
    range), else the region's own; donor box: ``donor_top``/``donor_left`` (px) or
    ``donor_y``/``donor_x`` (fractions); ``grid`` snaps the host position (module doc)."""

    region: Region | RelRegion
    donor_source_id: str | None = None
    donor_top: int | None = field(default=None, metadata=spec(lo=0))
    donor_left: int | None = field(default=None, metadata=spec(lo=0))
    donor_y: float | None = field(default=None, metadata=spec(lo=0.0, hi=1.0))
    donor_x: float | None = field(default=None, metadata=spec(lo=0.0, hi=1.0))
    donor_chain: tuple[Any, ...] = field(
        default=(), metadata=spec(doc="steps run on the whole donor before it is cut")
    )
    grid: str = field(default="any", metadata=spec(choices=SPLICE_GRIDS))
    shift: tuple[int, int] = field(default=(4, 4), metadata=spec(lo=0, hi=7))
    donor: str = field(default="other_label", metadata=spec(choices=DONOR_MODES))
    donor_note: str | None = None
    dst_top: int | None = field(default=None, metadata=spec(lo=0))
    dst_left: int | None = field(default=None, metadata=spec(lo=0))
    dst_y: float | None = field(default=None, metadata=spec(lo=0.0, hi=1.0))
    dst_x: float | None = field(default=None, metadata=spec(lo=0.0, hi=1.0))

    def _check(self) -> None:
        if self.shift == (0, 0):
            raise OpError("shift: (0, 0) is the aligned grid; use grid: aligned, or a shift "
                          "with a row or column phase 1..7, got [0, 0]")  # fmt: skip
        px = _pair(self.donor_top, self.donor_left)
        rel = _pair(self.donor_y, self.donor_x)
        need_one = self.donor_source_id is not None
        if "one" in (px, rel) or (px == rel == "both") or (need_one and px == rel == "none"):
            raise OpError(
                "donor_top: give donor_top and donor_left (px) or donor_y and donor_x "
                f"(fractions) for donor {self.donor_source_id!r}, got donor_top={self.donor_top} "
                f"donor_left={self.donor_left} donor_y={self.donor_y} donor_x={self.donor_x}"
            )
        px, rel = _pair(self.dst_top, self.dst_left), _pair(self.dst_y, self.dst_x)
        if "one" in (px, rel) or px == rel == "both":
            raise OpError(
                "dst_top: give dst_top and dst_left (px), or dst_y and dst_x (fractions), or "
                f"neither (the region's own position), got dst_top={self.dst_top} "
                f"dst_left={self.dst_left} dst_y={self.dst_y} dst_x={self.dst_x}"
            )
        steps = tuple(make_step(s, f"donor_chain[{i}]") for i, s in enumerate(self.donor_chain))
        for i, s in enumerate(steps):
            if s.op == "splice":
                raise OpError(f"donor_chain[{i}]: a donor cannot itself be spliced; remove it")
        object.__setattr__(self, "donor_chain", steps)


def donor_ids(chain: tuple[Step, ...] | list[Step]) -> list[str]:
    """The donor source ids a chain's steps name (``donor_source_id`` params), in order, once."""
    ids: list[str] = []
    for step in chain:
        sid = getattr(step.params, "donor_source_id", None)
        if sid is not None and sid not in ids:
            ids.append(sid)
    return ids


def prepared_donor(donor: np.ndarray, chain: tuple[Step, ...]) -> np.ndarray:
    """``donor`` after ``chain`` (a decode added when the chain leaves an encoded file)."""
    if not chain:
        return donor
    state = run_chain(ImageState(pixels=donor, meta={"keep": ()}), chain)
    if state.data is not None:
        state = run_chain(state, (_DECODE,))
    return state.require_pixels("splice donor_chain")


def _matched(donor: np.ndarray, host: np.ndarray) -> np.ndarray:
    """``donor`` in the host's colour mode (gray <-> RGB; module doc)."""
    if donor.ndim == host.ndim:
        return donor
    if host.ndim == 3:
        return np.repeat(donor[..., None], 3, axis=2)
    return np.asarray(Image.fromarray(donor).convert("L"))


def _snap(t: int, d: int, phase: int, hi: int, what: str, grid: str) -> int:
    """The position nearest ``t`` in 0..``hi`` with ``(pos - d) % 8 == phase`` (smaller on a tie).

    Raises:
        OpError: no such position (the free range is under 8 px).
    """
    lo = t - ((t - d - phase) % 8)
    found = [x for x in (lo, lo + 8) if 0 <= x <= hi]
    if not found:
        raise OpError(
            f"splice: grid={grid}: no host {what} in 0..{hi} with ({what} - donor_{what}) % 8 "
            f"== {phase} (donor_{what}={d}); the host's free range is under 8 px, use a smaller "
            f"region or grid: any"
        )
    return min(found, key=lambda x: (abs(x - t), x))


def splice_placement(
    host_hw: tuple[int, int], donor_hw: tuple[int, int], p: SpliceParams
) -> tuple[Region, int, int]:
    """(the host region at its final, grid-snapped place, donor_top, donor_left) for a host and
    a (prepared) donor of these sizes: the arithmetic of the module doc, steps 2-4.

    Raises:
        OpError: the region, or the donor box, does not fit; no grid position exists.
    """
    h, w = host_hw
    dh, dw = donor_hw
    if isinstance(p.region, RelRegion):  # sized on the shorter side of host AND donor
        fit = resolve_region(p.region, min(h, dh), min(w, dw))
        bh, bw = fit.height, fit.width
        top0, left0 = math.floor(p.region.y * (h - bh)), math.floor(p.region.x * (w - bw))
        region = dataclasses.replace(fit, top=top0, left=left0)
    else:
        region = p.region
    bh, bw = region.height, region.width
    if p.dst_top is not None:
        top, left = p.dst_top, p.dst_left
    elif p.dst_y is not None:
        top, left = math.floor(p.dst_y * max(0, h - bh)), math.floor(p.dst_x * max(0, w - bw))
    else:
        top, left = region.top, region.left
    if top + bh > h or left + bw > w:
        raise OpError(
            f"splice: the {bh}x{bw} region at top={top} left={left} does not fit the host of "
            f"{h}x{w}; move it or use a smaller region"
        )
    if dh < bh or dw < bw:
        raise OpError(
            f"splice: donor {p.donor_source_id!r} is {dh}x{dw} (after donor_chain), smaller "
            f"than the {bh}x{bw} region; use a smaller region or a larger donor"
        )
    if p.donor_top is not None:
        dtop, dleft = p.donor_top, p.donor_left
    else:
        dtop, dleft = math.floor(p.donor_y * (dh - bh)), math.floor(p.donor_x * (dw - bw))
    if dtop + bh > dh or dleft + bw > dw:
        raise OpError(
            f"splice: the {bh}x{bw} donor box at donor_top={dtop} donor_left={dleft} does not "
            f"fit donor {p.donor_source_id!r} of {dh}x{dw}; move it or use a smaller region"
        )
    if p.grid != "any":
        ph = (0, 0) if p.grid == "aligned" else p.shift
        top = _snap(top, dtop, ph[0], h - bh, "top", p.grid)
        left = _snap(left, dleft, ph[1], w - bw, "left", p.grid)
    return dataclasses.replace(region, top=top, left=left), dtop, dleft


@register_kernel
def splice_opencv(
    host: np.ndarray, donor: np.ndarray, p: SpliceParams
) -> tuple[np.ndarray, np.ndarray]:
    """(output pixels, pasted mask) for ``host`` and the donor's decoded pixels (before
    ``donor_chain``, which runs here); new arrays, the inputs untouched.

    Raises:
        OpError: sizes that do not fit, or no position on the requested grid.
    """
    donor = _matched(prepared_donor(donor, p.donor_chain), host)
    region, dtop, dleft = splice_placement(host.shape[:2], donor.shape[:2], p)
    bh, bw = region.height, region.width
    mask = region_mask(*host.shape[:2], region)
    window = (slice(region.top, region.top + bh), slice(region.left, region.left + bw))
    patch = donor[dtop : dtop + bh, dleft : dleft + bw]
    out = host.copy()
    out[window] = blend(host[window], patch, feather_alpha(mask[window], region.feather))
    return out, mask


def _donor_pixels(state: ImageState, p: SpliceParams) -> np.ndarray:
    """The planned donor's pixels from ``state.meta["donors"]``, or an OpError saying why not."""
    sid = p.donor_source_id
    if sid is None:
        note = p.donor_note or "the planner found no donor for this host"
        raise OpError(f"splice: no donor: {note}; this variant is not made")
    donors = state.meta.get("donors") or {}
    if sid in donors:
        return donors[sid]
    failed = (state.meta.get("donor_errors") or {}).get(sid)
    if failed:
        raise OpError(f"splice: donor {sid!r}: {failed}")
    have = ", ".join(sorted(donors)) or "none"
    raise OpError(
        f"splice: donor {sid!r} was not delivered with the image (donors present: {have}); "
        f"generate delivers the donors its plans name; in memory pass "
        f"donors={{{sid!r}: array or path}} to apply_chain / variants"
    )


def _apply_splice(state: ImageState, p: SpliceParams, backend: str) -> ImageState:
    img = state.require_pixels("splice")
    donor = _donor_pixels(state, p)
    pixels, mask = get_backend(backend).kernel("splice")(img, donor, p)
    return manipulated_state(state, pixels, mask)


register_op(
    OpDef(
        "splice",
        SpliceParams,
        ("opencv",),
        _apply_splice,
        mask="sets",
        doc="paste a region of a donor source (after donor_chain, grid-snapped); mask = pasted",
    )
)
