"""Task targets derived from the recipe (issue 14): what a forensic model may be asked to predict,
computed from the chain that ran, its final ``ImageState`` and the decoded source; never from
what a suite's name suggests.

Definitions (the README quotes them):

- ``manipulated``: some step of the chain is a manipulation op (:func:`is_manipulation`);
  ``manipulation``: the first such op's name, else ``"none"``.
- ``double_compressed``: the output's pixels went through two or more JPEG passes. The count is
  ``jpeg_passes``: the source's own pass (a JPEG file, or a lossless file with a confident
  ``source_jpeg_history``), plus every JPEG encode of the chain that ran (not skipped), the
  output's own encode included when the output is a JPEG. A lossless output (PNG, WebP
  lossless) adds no pass: a PNG made from one JPEG pass is single-compressed.
- ``aligned``: null when fewer than two passes; else whether the last two JPEG grids coincide in
  the output's pixels. For a JPEG output they are the output's own grid (phase (0, 0)) and the
  last earlier one (``prior_grid[-1]``); for a lossless output the last two of ``prior_grid``.
  False when a resampling step destroyed the earlier grid (it is then on no 8x8 lattice).
- ``primary_quality``: the IJG quality of the first JPEG compression in the pixels' history: a
  JPEG source's estimated IJG quality (null for non-IJG tables), a lossless source with a
  confident JPEG history: null (unknown); else the chain's first JPEG pass that ran (null for
  mozjpeg's non-IJG tables); null without any JPEG pass.
- ``hops``: the number of platform-preset hops (encoder steps a preset contributed, skipped
  ones included: the platform saw the file); ``platform``: the last preset's name, else null.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..jpeginfo import estimate_quality
from ..ops import OPS

__all__ = ["MANIPULATION_OPS", "TARGET_COLUMNS", "is_manipulation", "target_columns"]

# Ops whose step makes an image doctored. An op may also say so itself with a truthy
# ``manipulation`` attribute on its OpDef (for ops added outside this list).
MANIPULATION_OPS: frozenset[str] = frozenset({"splice", "copy_move", "inpaint", "retouch"})

TARGET_COLUMNS = (
    "manipulated",
    "manipulation",
    "double_compressed",
    "aligned",
    "primary_quality",
    "hops",
    "platform",
)


def is_manipulation(op: str) -> bool:
    """True when ``op`` is a manipulation op (listed in ``MANIPULATION_OPS`` or declared so by a
    truthy ``manipulation`` attribute of its registered OpDef)."""
    if op in MANIPULATION_OPS:
        return True
    opdef = OPS.get(op) if op in OPS else None
    return bool(getattr(opdef, "manipulation", False))


def _encoder(op: str) -> str | None:
    return OPS.get(op).encoder if op in OPS else None


def _aligned(final: Any) -> bool | None:
    if final.passes < 2:
        return None
    grids = list(final.grids)
    if final.fmt == "jpeg":
        grids.append((0, 0))  # the output's own grid, in its own pixels
    return len(grids) >= 2 and tuple(grids[-1]) == tuple(grids[-2])


def _first_chain_quality(chain: Sequence[Any], skipped: Sequence[bool]) -> int | None:
    """The IJG quality of the chain's first JPEG pass that ran (None: none, or not IJG)."""
    flags = list(skipped) + [False] * (len(chain) - len(skipped))
    for step, skip in zip(chain, flags):
        if skip or _encoder(step.op) != "jpeg":
            continue
        if getattr(step.params, "is_mozjpeg", False):
            return None
        quality = getattr(step.params, "quality", None)
        return int(quality) if quality is not None else None
    return None


def _primary_quality(chain: Sequence[Any], skipped: Sequence[bool], source: Any) -> int | None:
    if getattr(source, "is_jpeg", False):
        probe = getattr(source, "jpeg_probe", None)
        return estimate_quality(probe) if probe is not None else None
    if getattr(source, "jpeg_history", None):
        return None  # an earlier JPEG pass of unknown quality
    return _first_chain_quality(chain, skipped)


def target_columns(
    chain: Sequence[Any], final: Any, source: Any, skipped: Sequence[bool] = ()
) -> dict:
    """The target columns of one variant (``TARGET_COLUMNS``; definitions in the module doc).

    Args:
        chain: the planned steps (``Step`` records, load step excluded).
        final: the chain's final ``ImageState``; ``source``: the ``DecodedSource``.
        skipped: per step, whether it did not run (after a skip rule that fired).
    """
    manip = next((s.op for s in chain if is_manipulation(s.op)), None)
    presets = [s.preset for s in chain if s.preset is not None and _encoder(s.op) is not None]
    return {
        "manipulated": manip is not None,
        "manipulation": manip or "none",
        "double_compressed": final.passes >= 2,
        "aligned": _aligned(final),
        "primary_quality": _primary_quality(chain, skipped, source),
        "hops": len(presets),
        "platform": presets[-1] if presets else None,
    }
