"""Where an 8x8 JPEG grid sits in decoded pixels (blockiness over the 64 candidate phases)."""

from __future__ import annotations

import numpy as np

__all__ = ["blockiness_phase", "blockiness_scores"]

# Orthonormal 8-point DCT-II matrix: row u holds basis function u.
_N8 = np.arange(8)
_DCT8 = np.sqrt(2 / 8) * np.cos((2 * _N8[None, :] + 1) * _N8[:, None] * np.pi / 16)
_DCT8[0] /= np.sqrt(2)
_BLOCKINESS_MAX_SIDE = 512  # larger images: a central 512x512 window, cut at multiples of 8


def _luma(pixels: np.ndarray) -> np.ndarray:
    arr = np.asarray(pixels)
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        rgb = arr[..., :3].astype(np.float64)
        return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114  # JFIF Y
    if arr.ndim == 2:
        return arr.astype(np.float64)
    msg = f"pixels must be HxW or HxWx3 (RGB), got shape {arr.shape}"
    raise ValueError(msg)


def blockiness_scores(pixels: np.ndarray, max_side: int = _BLOCKINESS_MAX_SIDE) -> np.ndarray:
    """Score each of the 64 candidate 8x8 grid phases (row, col) of a decoded image.

    For phase (r, c) the luma is cut into 8x8 blocks whose top-left corners sit at rows = r
    and columns = c (mod 8); the score is the fraction of AC coefficients of those blocks'
    orthonormal DCT with magnitude below 1. On the grid a JPEG used, the coefficients its
    quantizer zeroed come back as near-zero (only rounding noise), so the true phase scores
    highest; a never-compressed image gives flat, uninformative scores.

    Args:
        pixels: uint8 (or float) HxW gray or HxWx3 RGB array, at least 16x16.
        max_side: larger images are scored on a central window of this size (cut at
            multiples of 8, so phases are unchanged).

    Returns:
        8x8 float array indexed [row phase, col phase].
    """
    y = _luma(pixels)
    h, w = y.shape
    if h < 16 or w < 16:
        msg = f"blockiness needs an image of at least 16x16 pixels, got {w}x{h}"
        raise ValueError(msg)
    # A window starting at multiples of 8 keeps every phase unchanged.
    side = max(16, int(max_side))
    if h > side:
        top = (h - side) // 16 * 8
        y = y[top : top + side]
    if w > side:
        left = (w - side) // 16 * 8
        y = y[:, left : left + side]
    h, w = y.shape
    nr, nc = (h - 7) // 8, (w - 7) // 8  # blocks per phase: the same count for all 64 phases
    scores = np.empty((8, 8))
    for r in range(8):
        rows = y[r : r + 8 * nr].reshape(nr, 8, w).transpose(1, 0, 2).reshape(8, -1)
        vert = (_DCT8 @ rows).reshape(8, nr, w)  # vertical DCT of each block column
        for c in range(8):
            coef = vert[:, :, c : c + 8 * nc].reshape(-1, 8) @ _DCT8.T
            small = np.abs(coef).reshape(8, nr, nc, 8) < 1.0
            n_small = small.sum() - small[0, :, :, 0].sum()  # AC coefficients only
            scores[r, c] = n_small / (nr * nc * 63)
    return scores


def blockiness_phase(pixels: np.ndarray) -> tuple[int, int]:
    """Estimate the (row, col) phase of the 8x8 JPEG grid in decoded pixels.

    The phase is the index mod 8 of the first row/column of a block: an image decoded from a
    JPEG as-is gives (0, 0); cropping r rows and c columns off its top/left gives
    ((8 - r) % 8, (8 - c) % 8). Reliable for JPEG quality <= 95 on natural photographs of
    128 px and up (see `blockiness_scores` for the method); meaningless for images that were
    never JPEG-compressed or were resampled after it.

    Args:
        pixels: uint8 (or float) HxW gray or HxWx3 RGB array, at least 16x16.
    """
    scores = blockiness_scores(pixels)
    r, c = np.unravel_index(int(np.argmax(scores)), scores.shape)
    return int(r), int(c)
