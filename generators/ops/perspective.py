"""``perspective``: a projective warp that moves the four corners of the image.

The corner displacements are data, not a wish: ``corners`` holds, for the top-left, top-right,
bottom-right and bottom-left corners, (dx, dy) as fractions of the width and height (x right,
y down). The planner draws them: it gives a ``seed`` and ``strength`` and the record fills
``corners`` from ``numpy.random.default_rng(seed)`` (each magnitude uniform in [0, strength],
pointing inwards, rounded to 6 decimals), so the chain holds the concrete corners. The output
keeps the input size; uncovered pixels get ``fill``. Mask ``geometric`` (nearest through the
same matrix), grids dropped, region None (see :mod:`.geometry_warp`).
"""

from __future__ import annotations

from dataclasses import field

import numpy as np

from ..backends import register_kernel
from ..core.errors import OpError
from ..core.records import record, spec
from ._base import OpDef, register_op
from .geometry import warp_apply
from .geometry_warp import INTERPOLATIONS, homography, warp_opencv, warp_pillow

__all__ = ["PerspectiveParams", "draw_corners", "perspective_geometry"]

# Inward direction of each corner (top-left, top-right, bottom-right, bottom-left), x then y.
_INWARD = np.array([1, 1, -1, 1, -1, -1, 1, -1], dtype=np.float64)

Corners = tuple[float, float, float, float, float, float, float, float]


def draw_corners(strength: float, seed: int) -> Corners:
    """The 8 corner displacements ``perspective`` draws for ``seed``: magnitudes uniform in
    [0, ``strength``] from ``default_rng(seed)``, inwards, rounded to 6 decimals."""
    u = np.random.default_rng(seed).uniform(0.0, strength, 8)
    return tuple(round(float(v), 6) + 0.0 for v in u * _INWARD)


@record
class PerspectiveParams:
    """``strength``: the largest corner displacement, a fraction of the width / height.
    ``corners``: [dx, dy] x 4 (top-left, top-right, bottom-right, bottom-left) fractions, each
    within +-strength; null: drawn from ``seed`` (which the planner draws)."""

    strength: float = field(metadata=spec(lo=0.0, hi=0.45))
    seed: int | None = field(default=None, metadata=spec(lo=0, hi=2**63 - 1))
    corners: Corners | None = field(default=None, metadata=spec(lo=-0.45, hi=0.45))
    interpolation: str = field(default="bilinear", metadata=spec(choices=INTERPOLATIONS))
    fill: tuple[int, int, int] = field(default=(0, 0, 0), metadata=spec(lo=0, hi=255))

    def _check(self) -> None:
        if self.corners is None:
            if self.seed is None:
                raise OpError(
                    "corners: perspective needs its corner displacements or a seed to draw them; "
                    "give seed: <int> (axes draw one per level) or corners: [dx, dy] x 4"
                )
            object.__setattr__(self, "corners", draw_corners(self.strength, self.seed))
            return
        too_far = [v for v in self.corners if abs(v) > self.strength + 1e-12]
        if too_far:
            raise OpError(
                f"corners: {too_far} exceed strength {self.strength:g}; raise strength or "
                f"move the corners less"
            )
        if self.seed is not None and tuple(self.corners) != draw_corners(self.strength, self.seed):
            raise OpError(
                f"corners: seed {self.seed} draws {list(draw_corners(self.strength, self.seed))}"
                f", got {list(self.corners)}; drop corners (they are drawn) or drop the seed"
            )


def perspective_geometry(
    p: PerspectiveParams, h: int, w: int
) -> tuple[np.ndarray, tuple[int, int]]:
    """(inverse 3x3 matrix, output (h, w)): the output corners are the input corners moved by
    ``p.corners`` (times w, h); the matrix maps them back onto the input corners."""
    src = np.array([[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]])
    dst = src + np.array(p.corners, dtype=np.float64).reshape(4, 2) * np.array([w, h])
    return homography(dst, src), (h, w)


@register_kernel
def perspective_pillow(img: np.ndarray, p: PerspectiveParams) -> np.ndarray:
    """``Image.transform(PERSPECTIVE)`` through the inverse homography."""
    inv, out = perspective_geometry(p, *img.shape[:2])
    return warp_pillow(img, inv, out, p.interpolation, p.fill)


@register_kernel
def perspective_opencv(img: np.ndarray, p: PerspectiveParams) -> np.ndarray:
    """``cv2.warpPerspective(WARP_INVERSE_MAP, BORDER_CONSTANT)`` through the same matrix."""
    inv, out = perspective_geometry(p, *img.shape[:2])
    return warp_opencv(img, inv, out, p.interpolation, p.fill)


register_op(
    OpDef(
        "perspective",
        PerspectiveParams,
        ("pillow", "opencv"),
        warp_apply("perspective", perspective_geometry),
        mask="geometric",
        doc="projective warp moving the 4 corners by drawn fractions (seeded, corners recorded)",
    )
)
