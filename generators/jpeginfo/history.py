"""Was a lossless image a JPEG once? A blind estimate of an earlier 8x8 grid from the pixels.

Decompressed JPEGs saved as PNG (e.g. scikit-image's ``chelsea.png`` and ``grass.png``) carry the
grid of their JPEG pass: on that phase far more block-DCT AC coefficients are near zero than on
the 63 others (:func:`~.grid.blockiness_scores`). On never-compressed images the 64 scores are
flat. The estimate is confident when the best phase stands out from the median of the others
both relatively (``confidence``) and against their spread (``separation``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .grid import blockiness_scores

__all__ = ["JpegHistory", "jpeg_history", "MIN_CONFIDENCE", "MIN_SEPARATION"]

# Measured on a 256 px window of scikit-image's samples and synthetic images: never-compressed
# photographs and noise give confidence <= 0.07 and separation <= 3; chelsea 0.24 / 17, grass
# 0.84 / 59, a Pillow JPEG at quality 98 decoded and shifted 0.25 / 15.
MIN_CONFIDENCE = 0.05
MIN_SEPARATION = 6.0
WINDOW = 256  # central window judged (cut at multiples of 8): ~4x faster than 512


@dataclass(frozen=True)
class JpegHistory:
    """An estimated earlier JPEG grid.

    Attributes:
        phase: (row, col) of the grid in the pixels, as ``blockiness_phase`` gives it.
        confidence: 1 - (median score of the other phases) / (best score), 0..1.
        separation: (best - median of the others) / their standard deviation.
    """

    phase: tuple[int, int]
    confidence: float
    separation: float

    @property
    def confident(self) -> bool:
        """True when the phase stands out enough to count as a JPEG pass."""
        return self.confidence >= MIN_CONFIDENCE and self.separation >= MIN_SEPARATION

    def to_json(self) -> dict:
        """The manifest's ``source_jpeg_history`` record (an estimate, never a fact)."""
        return {
            "phase": list(self.phase),
            "confidence": round(self.confidence, 4),
            "separation": round(self.separation, 2),
            "method": "blockiness",
            "estimate": True,
        }


# Below 40 px a phase has fewer than ~16 blocks, and noise alone looked confident in 6 of 1000
# random 16-20 px images: too small to judge.
MIN_SIDE = 40


def jpeg_history(pixels: np.ndarray) -> JpegHistory | None:
    """Estimate an earlier JPEG grid in ``pixels`` (uint8 HxW or HxWx3); None when the image is
    smaller than MIN_SIDE on a side or flat (no texture to judge). Check ``.confident`` before
    using it."""
    arr = np.asarray(pixels)
    if arr.ndim < 2 or min(arr.shape[:2]) < MIN_SIDE:
        return None
    scores = blockiness_scores(arr, max_side=WINDOW)
    best = int(np.argmax(scores))
    top = float(scores.flat[best])
    others = np.delete(scores.ravel(), best)
    med = float(np.median(others))
    if top <= 0:
        return None
    spread = float(others.std())
    separation = (top - med) / spread if spread > 0 else 0.0
    r, c = divmod(best, 8)
    return JpegHistory((r, c), 1.0 - med / top, separation)
