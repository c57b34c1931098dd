"""Colour-filter-array sampling and three demosaicing algorithms (pure functions on float32).

Patterns name the 2x2 tile row by row: ``"RGGB"`` has red at (0, 0), blue at (1, 1).
Every algorithm keeps the sampled value at the sampled site and interpolates the other two
colours, each in its own way: that interpolation is the periodic trace a forensic model learns.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["CFA_PATTERNS", "DEMOSAIC", "cfa_masks", "mosaic", "demosaic"]

CFA_PATTERNS = ("RGGB", "BGGR", "GRBG", "GBRG")
DEMOSAIC = ("bilinear", "malvar", "edge")

_BORDER = cv2.BORDER_REFLECT_101  # mirrors about the edge pixel: keeps the 2x2 CFA parity


def cfa_masks(pattern: str, h: int, w: int) -> np.ndarray:
    """Boolean ``3 x h x w`` masks: where the sensor samples R, G and B."""
    masks = np.zeros((3, h, w), bool)
    for k, ch in enumerate(pattern):
        dy, dx = divmod(k, 2)
        masks["RGB".index(ch), dy::2, dx::2] = True
    return masks


def mosaic(rgb: np.ndarray, pattern: str) -> np.ndarray:
    """Sample ``h x w x 3`` linear RGB through the CFA: an ``h x w`` raw mosaic."""
    h, w = rgb.shape[:2]
    raw = np.empty((h, w), np.float32)
    for k, ch in enumerate(pattern):
        dy, dx = divmod(k, 2)
        raw[dy::2, dx::2] = rgb[dy::2, dx::2, "RGB".index(ch)]
    return raw


def _conv(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return cv2.filter2D(x, cv2.CV_32F, kernel.astype(np.float32), borderType=_BORDER)


def _bilinear(raw: np.ndarray, masks: np.ndarray) -> np.ndarray:
    k_g = np.array([[0, 1, 0], [1, 4, 1], [0, 1, 0]], np.float32) / 4
    k_rb = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float32) / 4
    out = np.empty(raw.shape + (3,), np.float32)
    for c in range(3):
        out[..., c] = _conv(raw * masks[c], k_g if c == 1 else k_rb)
    return out


# Malvar, He, Cutler (ICASSP 2004): gradient-corrected linear interpolation, 5x5 kernels / 8.
_MHC_G_AT_RB = (
    np.array(
        [[0, 0, -1, 0, 0], [0, 0, 2, 0, 0], [-1, 2, 4, 2, -1], [0, 0, 2, 0, 0], [0, 0, -1, 0, 0]]
    )
    / 8
)
_MHC_RB_AT_G_ROW = (
    np.array(  # the colour's samples are left/right of the green site
        [
            [0, 0, 0.5, 0, 0],
            [0, -1, 0, -1, 0],
            [-1, 4, 5, 4, -1],
            [0, -1, 0, -1, 0],
            [0, 0, 0.5, 0, 0],
        ]
    )
    / 8
)
_MHC_RB_AT_G_COL = _MHC_RB_AT_G_ROW.T
_MHC_RB_AT_BR = (
    np.array(
        [
            [0, 0, -1.5, 0, 0],
            [0, 2, 0, 2, 0],
            [-1.5, 0, 6, 0, -1.5],
            [0, 2, 0, 2, 0],
            [0, 0, -1.5, 0, 0],
        ]
    )
    / 8
)


def _malvar(raw: np.ndarray, masks: np.ndarray) -> np.ndarray:
    g_at_rb = _conv(raw, _MHC_G_AT_RB)
    at_g_row = _conv(raw, _MHC_RB_AT_G_ROW)
    at_g_col = _conv(raw, _MHC_RB_AT_G_COL)
    at_other = _conv(raw, _MHC_RB_AT_BR)
    r_m, g_m, b_m = masks
    # Rows that hold red samples (the green sites there have red left/right).
    red_rows = r_m.any(axis=1)[:, None]
    out = np.empty(raw.shape + (3,), np.float32)
    out[..., 1] = np.where(g_m, raw, g_at_rb)
    for c, own in ((0, r_m), (2, b_m)):
        own_rows = red_rows if c == 0 else ~red_rows
        at_g = np.where(own_rows, at_g_row, at_g_col)
        out[..., c] = np.where(own, raw, np.where(g_m, at_g, at_other))
    return out


def _shift(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """``x[y + dy, x + dx]`` with mirrored borders (parity-preserving)."""
    p = 2
    xp = cv2.copyMakeBorder(x, p, p, p, p, _BORDER)
    h, w = x.shape
    return xp[p + dy : p + dy + h, p + dx : p + dx + w]


def _edge(raw: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Hamilton-Adams: green along the smoother direction, then colour differences bilinearly."""
    r_m, g_m, b_m = masks
    gl, gr, gu, gd = _shift(raw, 0, -1), _shift(raw, 0, 1), _shift(raw, -1, 0), _shift(raw, 1, 0)
    cl2, cr2, cu2, cd2 = (
        _shift(raw, 0, -2),
        _shift(raw, 0, 2),
        _shift(raw, -2, 0),
        _shift(raw, 2, 0),
    )
    lap_h = 2 * raw - cl2 - cr2
    lap_v = 2 * raw - cu2 - cd2
    d_h = np.abs(gl - gr) + np.abs(lap_h)
    d_v = np.abs(gu - gd) + np.abs(lap_v)
    g_h = (gl + gr) / 2 + lap_h / 4
    g_v = (gu + gd) / 2 + lap_v / 4
    g_est = np.where(d_h < d_v, g_h, np.where(d_v < d_h, g_v, (g_h + g_v) / 2))
    green = np.where(g_m, raw, g_est).astype(np.float32)
    k_rb = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float32) / 4
    out = np.empty(raw.shape + (3,), np.float32)
    out[..., 1] = green
    for c, own in ((0, r_m), (2, b_m)):
        diff = _conv((raw - green) * own, k_rb)
        out[..., c] = np.where(own, raw, green + diff)
    return out


_ALGORITHMS = {"bilinear": _bilinear, "malvar": _malvar, "edge": _edge}


def demosaic(raw: np.ndarray, pattern: str, algorithm: str) -> np.ndarray:
    """Interpolate an ``h x w`` mosaic to ``h x w x 3`` (float32, same scale as ``raw``)."""
    if pattern not in CFA_PATTERNS:
        raise ValueError(f"cfa pattern: must be one of {', '.join(CFA_PATTERNS)}, got {pattern!r}")
    if algorithm not in _ALGORITHMS:
        raise ValueError(f"demosaic: must be one of {', '.join(DEMOSAIC)}, got {algorithm!r}")
    raw = np.ascontiguousarray(raw, dtype=np.float32)
    masks = cfa_masks(pattern, *raw.shape)
    return _ALGORITHMS[algorithm](raw, masks)
