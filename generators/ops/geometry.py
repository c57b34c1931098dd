"""Geometry ops: flip, rotate, affine, perspective and pixelate.

Every op here moves pixels, so its mask is ``geometric``: the bool mask goes through the same
transform by nearest neighbour (see :mod:`.geometry_warp`). A ``flip`` and a rotation by a
multiple of 90 degrees (``fit: expand`` or ``crop``, or a square image) are exact
transpositions, the same for every backend: the JPEG grids move with them (exactly). Anything
that interpolates drops the grids and the region (``grids=()``, ``region=None``: the manifest's
``prior_grid`` is then empty). A transform that is the identity leaves the state as it is.

Angles are degrees, positive counter-clockwise on screen (as Pillow and OpenCV). Matrices are
the forward map in centred pixel coordinates (origin at the image centre, x right, y down).
"""

from __future__ import annotations

import math
from dataclasses import field

import numpy as np

from ..backends import get_backend, register_kernel
from ..core.errors import OpError
from ..core.records import record, spec
from ._base import ImageState, OpDef, register_op
from .geometry_warp import (
    INTERPOLATIONS,
    inscribed_size,
    is_identity,
    quarter_turns,
    rot90_grid,
    translation,
    warp_mask,
    warp_opencv,
    warp_pillow,
)

__all__ = [
    "FLIP_DIRECTIONS",
    "ROTATE_FITS",
    "FlipParams",
    "RotateParams",
    "AffineParams",
    "affine_matrix",
    "rotate_geometry",
    "affine_geometry",
    "warp_apply",
]

_FILL = spec(lo=0, hi=255, doc="[r, g, b]; an L image gets its luma")

# ---- flip -------------------------------------------------------------------------------

FLIP_DIRECTIONS = ("horizontal", "vertical")


@record
class FlipParams:
    """``horizontal`` mirrors left-right (columns reversed), ``vertical`` top-bottom."""

    direction: str = field(metadata=spec(choices=FLIP_DIRECTIONS))


@register_kernel
def flip_numpy(img: np.ndarray, p: FlipParams) -> np.ndarray:
    """``img[:, ::-1]`` or ``img[::-1]`` (a copy)."""
    return np.ascontiguousarray(img[:, ::-1] if p.direction == "horizontal" else img[::-1])


def _apply_flip(state: ImageState, p: FlipParams, backend: str) -> ImageState:
    img = state.require_pixels("flip")
    h, w = img.shape[:2]
    kernel = get_backend(backend).kernel("flip")
    # A flip of an axis of length L moves an 8x8 grid phase p to (L - p) mod 8: exact.
    if p.direction == "horizontal":
        grids = tuple((r, (w - c) % 8) for r, c in state.grids)
    else:
        grids = tuple(((h - r) % 8, c) for r, c in state.grids)
    mask = None if state.mask is None else kernel(state.mask, p)
    return state.replace(
        pixels=kernel(img, p),
        data=None,
        fmt=None,
        grids=grids,
        region=None,  # mirrored: no longer the source's coordinates
        lossless_pixels=False,
        mask=mask,
    )


# ---- rotate -----------------------------------------------------------------------------

ROTATE_FITS = ("expand", "crop", "same")


@record
class RotateParams:
    """Rotate by ``angle`` degrees (counter-clockwise) about the centre. ``fit``: ``expand``
    (the whole rotated image, corners filled with ``fill``), ``crop`` (the largest axis-aligned
    rectangle inside the rotated image: no fill pixel), ``same`` (the input size, centred)."""

    angle: float = field(metadata=spec(lo=-360.0, hi=360.0))
    interpolation: str = field(default="bilinear", metadata=spec(choices=INTERPOLATIONS))
    fit: str = field(default="expand", metadata=spec(choices=ROTATE_FITS))
    fill: tuple[int, int, int] = field(default=(0, 0, 0), metadata=_FILL)


def _rotation(angle: float) -> np.ndarray:
    """Forward 2x2 of a counter-clockwise rotation on screen (y down); cos and sin rounded to
    15 decimals as ``Image.rotate`` rounds them (so Pillow's own rotation is reproduced)."""
    a = math.radians(angle)
    c, s = round(math.cos(a), 15), round(math.sin(a), 15)
    return np.array([[c, s], [-s, c]])


def _centred_inverse(linear_shift: np.ndarray, in_hw: tuple, out_hw: tuple) -> np.ndarray:
    """3x3 output -> input map of a forward 2x3 ``[A | t]`` about the centres of both images."""
    fwd = np.vstack([linear_shift, [0.0, 0.0, 1.0]])
    to_in = translation(in_hw[1] / 2.0, in_hw[0] / 2.0)
    from_out = translation(-out_hw[1] / 2.0, -out_hw[0] / 2.0)
    return to_in @ np.linalg.inv(fwd) @ from_out


def rotate_geometry(p: RotateParams, h: int, w: int) -> tuple[np.ndarray, tuple[int, int]]:
    """(inverse 3x3 matrix, output (h, w)) of rotation ``p`` on an ``h`` x ``w`` image."""
    rot = _rotation(p.angle)
    if p.fit == "expand":
        c, s = abs(rot[0, 0]), abs(rot[0, 1])
        out = (math.ceil(w * s + h * c - 1e-9), math.ceil(w * c + h * s - 1e-9))
    elif p.fit == "crop":
        out = inscribed_size(h, w, p.angle)
    else:
        out = (h, w)
    return _centred_inverse(np.hstack([rot, [[0.0], [0.0]]]), (h, w), out), out


def _exact_turns(p: RotateParams, h: int, w: int) -> int | None:
    """Quarter turns when the rotation is an exact transposition of the pixels, else None."""
    k = quarter_turns(p.angle)
    if k is None or (p.fit == "same" and k % 2 == 1 and h != w):
        return None
    return k


def _rotate(img: np.ndarray, p: RotateParams, backend: str) -> np.ndarray:
    h, w = img.shape[:2]
    k = _exact_turns(p, h, w)
    if k is not None:
        return np.rot90(img, k).copy()
    inv, out = rotate_geometry(p, h, w)
    if backend == "pillow":
        return warp_pillow(img, inv, out, p.interpolation, p.fill)
    return warp_opencv(img, inv, out, p.interpolation, p.fill, replicate=p.fit == "crop")


@register_kernel
def rotate_pillow(img: np.ndarray, p: RotateParams) -> np.ndarray:
    """``Image.transform(AFFINE)`` through the rotation (quarter turns: ``np.rot90``)."""
    return _rotate(img, p, "pillow")


@register_kernel
def rotate_opencv(img: np.ndarray, p: RotateParams) -> np.ndarray:
    """``cv2.warpAffine`` through the rotation (quarter turns: ``np.rot90``)."""
    return _rotate(img, p, "opencv")


def _apply_rotate(state: ImageState, p: RotateParams, backend: str) -> ImageState:
    img = state.require_pixels("rotate")
    h, w = img.shape[:2]
    k = _exact_turns(p, h, w)
    out = get_backend(backend).kernel("rotate")(img, p)
    if k is not None:  # an exact transposition: the grids move with the pixels
        if k == 0:
            return state
        mask = None if state.mask is None else np.rot90(state.mask, k).copy()
        grids = tuple(rot90_grid(g, k, h, w) for g in state.grids)
        return _moved(state, out, mask, grids)
    inv, size = rotate_geometry(p, h, w)
    return _moved(state, out, None if state.mask is None else warp_mask(state.mask, inv, size))


def _moved(
    state: ImageState,
    pixels: np.ndarray,
    mask: np.ndarray | None,
    grids: tuple[tuple[int, int], ...] = (),
) -> ImageState:
    """The state after a geometric op: new pixels and mask; grids kept only when given."""
    return state.replace(
        pixels=pixels,
        data=None,
        fmt=None,
        grids=grids,
        region=None,
        lossless_pixels=False,
        mask=mask,
    )


# ---- affine -----------------------------------------------------------------------------

Matrix = tuple[float, float, float, float, float, float]


@record
class AffineParams:
    """A small affine warp about the centre, output the input's size: ``matrix`` (recorded,
    derived) = [a, b, tx, c, d, ty], the forward map in centred pixel coordinates, equal to
    rotation(``rotation``) @ shear_x(``shear``) @ ``scale``, then ``translate`` [x, y] pixels.
    A stated ``matrix`` must equal the derived one (12 decimals)."""

    rotation: float = field(default=0.0, metadata=spec(lo=-180.0, hi=180.0, doc="degrees, ccw"))
    shear: float = field(default=0.0, metadata=spec(lo=-60.0, hi=60.0, doc="degrees, along x"))
    scale: float = field(default=1.0, metadata=spec(gt=0.0, hi=10.0))
    translate: tuple[float, float] = field(default=(0.0, 0.0), metadata=spec(doc="[x, y] px"))
    interpolation: str = field(default="bilinear", metadata=spec(choices=INTERPOLATIONS))
    fill: tuple[int, int, int] = field(default=(0, 0, 0), metadata=_FILL)
    matrix: Matrix | None = field(default=None, metadata=spec(doc="recorded; derived"))

    def _check(self) -> None:
        derived = affine_matrix(self.rotation, self.shear, self.scale, self.translate)
        if self.matrix is None:
            object.__setattr__(self, "matrix", derived)
        elif not np.allclose(self.matrix, derived, rtol=0, atol=5e-12):
            raise OpError(
                f"matrix: rotation {self.rotation:g}, shear {self.shear:g}, scale "
                f"{self.scale:g}, translate {list(self.translate)} give {list(derived)}, got "
                f"{list(self.matrix)}; drop matrix (it is derived) or fix the components"
            )
        else:
            object.__setattr__(self, "matrix", derived)


def affine_matrix(
    rotation: float, shear: float, scale: float, translate: tuple[float, float]
) -> Matrix:
    """[a, b, tx, c, d, ty]: rotation @ shear_x @ scale then translate, rounded to 12 decimals."""
    lin = _rotation(rotation) @ np.array([[1.0, math.tan(math.radians(shear))], [0.0, 1.0]])
    lin = lin * scale
    vals = (lin[0, 0], lin[0, 1], translate[0], lin[1, 0], lin[1, 1], translate[1])
    return tuple(round(float(v), 12) + 0.0 for v in vals)  # + 0.0: no -0.0 in the chain


def affine_geometry(p: AffineParams, h: int, w: int) -> tuple[np.ndarray, tuple[int, int]]:
    """(inverse 3x3 matrix, output (h, w)) of affine ``p`` on an ``h`` x ``w`` image."""
    return _centred_inverse(np.array(p.matrix).reshape(2, 3), (h, w), (h, w)), (h, w)


@register_kernel
def affine_pillow(img: np.ndarray, p: AffineParams) -> np.ndarray:
    """``Image.transform(AFFINE)`` through the inverse of ``p.matrix``."""
    inv, out = affine_geometry(p, *img.shape[:2])
    return warp_pillow(img, inv, out, p.interpolation, p.fill)


@register_kernel
def affine_opencv(img: np.ndarray, p: AffineParams) -> np.ndarray:
    """``cv2.warpAffine(WARP_INVERSE_MAP, BORDER_CONSTANT)`` through the same matrix."""
    inv, out = affine_geometry(p, *img.shape[:2])
    return warp_opencv(img, inv, out, p.interpolation, p.fill)


def warp_apply(op: str, geometry):  # noqa: ANN001, ANN202 - apply of a warp op
    def apply(state: ImageState, p: object, backend: str) -> ImageState:
        img = state.require_pixels(op)
        inv, size = geometry(p, *img.shape[:2])
        if is_identity(inv, img.shape[:2], size):
            return state  # nothing moves: pixels, grids and region as they were
        out = get_backend(backend).kernel(op)(img, p)
        mask = None if state.mask is None else warp_mask(state.mask, inv, size)
        return _moved(state, out, mask)

    return apply


register_op(
    OpDef(
        "flip",
        FlipParams,
        ("numpy",),
        _apply_flip,
        mask="geometric",
        doc="mirror horizontally or vertically; exact, the JPEG grid phase moves with it",
    )
)
register_op(
    OpDef(
        "rotate",
        RotateParams,
        ("pillow", "opencv"),
        _apply_rotate,
        mask="geometric",
        doc="rotate by an angle (expand, crop to the largest inscribed rectangle, or same size)",
    )
)
register_op(
    OpDef(
        "affine",
        AffineParams,
        ("pillow", "opencv"),
        warp_apply("affine", affine_geometry),
        mask="geometric",
        doc="small affine warp (rotation, shear, scale, translate), forward matrix recorded",
    )
)
