"""The shared scene pool: linear-light RGB radiance maps that every virtual camera photographs.

Two kinds, mixed by ``photo_fraction``: the dead-leaves model (occluding discs with a power-law
size distribution, each with its own colour and texture, then shading and optional defocus) and
crops of the photographs bundled with scikit-image, rescaled by an area filter so that the
original camera's own traces do not survive into the scene.
"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np

__all__ = ["render_scene", "PHOTOS", "TEXTURES", "scene_kind"]

# Colour photographs bundled with scikit-image (no download needed).
PHOTOS = (
    "astronaut.png",
    "chelsea.png",
    "coffee.png",
    "motorcycle_left.png",
    "rocket.jpg",
    "hubble_deep_field.jpg",
    "ihc.png",
)
# Greyscale textures bundled with scikit-image, used to texture dead leaves.
TEXTURES = ("brick.png", "grass.png", "gravel.png", "moon.png", "coins.png", "camera.png")


@functools.cache
def _skimage_image(name: str) -> np.ndarray:
    import skimage
    from PIL import Image

    path = Path(skimage.__file__).parent / "data" / name
    with Image.open(path) as im:
        arr = np.asarray(im.convert("RGB" if name in PHOTOS else "L"))
    arr.setflags(write=False)
    return arr


def _srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def scene_kind(rng: np.random.Generator, photo_fraction: float) -> str:
    """Draw the kind of one scene (``"photo"`` or ``"leaves"``)."""
    return "photo" if rng.random() < photo_fraction else "leaves"


def _photo_scene(rng: np.random.Generator, side: int) -> tuple[np.ndarray, dict]:
    name = PHOTOS[int(rng.integers(len(PHOTOS)))]
    img = _skimage_image(name)
    h, w = img.shape[:2]
    short = min(h, w)
    crop = int(rng.integers(max(side // 2, short // 3), short + 1))
    y0 = int(rng.integers(0, h - crop + 1))
    x0 = int(rng.integers(0, w - crop + 1))
    patch = img[y0 : y0 + crop, x0 : x0 + crop]
    interp = cv2.INTER_AREA if crop >= side else cv2.INTER_CUBIC
    patch = cv2.resize(patch, (side, side), interpolation=interp)
    rot = int(rng.integers(4))
    flip = bool(rng.integers(2))
    patch = np.rot90(patch, rot)
    if flip:
        patch = patch[:, ::-1]
    lin = _srgb_to_linear(patch.astype(np.float32) / 255.0)
    # A crop of an already-processed photo: soften it a little so its old JPEG blocks and
    # demosaicing do not carry through (they are shared by all cameras, but add clutter).
    lin = cv2.GaussianBlur(lin, (0, 0), 0.6, borderType=cv2.BORDER_REFLECT_101)
    info = {"kind": "photo", "photo": name, "crop": [y0, x0, crop], "rot90": rot, "flip": flip}
    return np.ascontiguousarray(lin, dtype=np.float32), info


def _texture(rng: np.random.Generator, side: int) -> np.ndarray:
    """A zero-mean texture field in about [-1, 1] from a bundled texture or 1/f noise."""
    pick = int(rng.integers(len(TEXTURES) + 2))
    if pick < len(TEXTURES):
        tex = _skimage_image(TEXTURES[pick]).astype(np.float32) / 255.0
        scale = rng.uniform(0.5, 2.0)
        h, w = tex.shape
        crop = int(min(h, w, max(16, round(side / scale))))
        y0 = int(rng.integers(0, h - crop + 1))
        x0 = int(rng.integers(0, w - crop + 1))
        tex = cv2.resize(
            tex[y0 : y0 + crop, x0 : x0 + crop],
            (side, side),
            interpolation=cv2.INTER_AREA if crop >= side else cv2.INTER_LINEAR,
        )
    elif pick == len(TEXTURES):
        # 1/f^beta noise: natural-image-like spectrum.
        beta = rng.uniform(1.0, 2.0)
        fy = np.fft.fftfreq(side)[:, None]
        fx = np.fft.rfftfreq(side)[None, :]
        f = np.sqrt(fx * fx + fy * fy)
        f[0, 0] = 1.0
        spec = (rng.standard_normal(f.shape) + 1j * rng.standard_normal(f.shape)) / f**beta
        spec[0, 0] = 0
        tex = np.fft.irfft2(spec, s=(side, side)).astype(np.float32)
    else:
        # Oriented stripes (fabric, blinds): strong edges for demosaicing to get wrong.
        theta = rng.uniform(0, np.pi)
        period = rng.uniform(3.0, 24.0)
        yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
        phase = (xx * np.cos(theta) + yy * np.sin(theta)) * (2 * np.pi / period)
        tex = np.sin(phase) if rng.random() < 0.5 else np.sign(np.sin(phase))
    tex = tex - tex.mean()
    peak = np.abs(tex).max()
    return (tex / peak if peak > 0 else tex).astype(np.float32)


def _leaves_scene(rng: np.random.Generator, side: int) -> tuple[np.ndarray, dict]:
    img = np.zeros((side, side, 3), np.float32)
    free = np.ones((side, side), bool)  # not yet covered by a nearer leaf
    textures = [_texture(rng, side) for _ in range(6)]
    rmin, rmax = max(3.0, side / 48), side / 3
    n_max = 4000
    # Radii with density ~ r^-3 between rmin and rmax (scale invariance of natural images).
    u = rng.random(n_max)
    radii = 1.0 / np.sqrt(u / rmax**2 + (1 - u) / rmin**2)
    centers = rng.uniform(-rmax / 2, side + rmax / 2, size=(n_max, 2))
    colors = rng.uniform(0.02, 0.95, size=(n_max, 3)).astype(np.float32) ** 1.6
    tex_ids = rng.integers(-1, len(textures), size=n_max)
    tex_amp = rng.uniform(0.1, 0.7, size=n_max)
    square = rng.random(n_max) < 0.25
    aspect = rng.uniform(0.5, 1.5, size=n_max)
    # Painted front to back: each leaf fills only what nearer leaves left free.
    n_used, left = 0, free.size
    for i in range(n_max):
        if left <= free.size // 500:
            break
        n_used += 1
        r, ry = radii[i], radii[i] * aspect[i]
        cy, cx = centers[i]
        y0, y1 = max(0, int(cy - ry)), min(side, int(cy + ry) + 1)
        x0, x1 = max(0, int(cx - r)), min(side, int(cx + r) + 1)
        if y0 >= y1 or x0 >= x1:
            continue
        yy = (np.arange(y0, y1, dtype=np.float32)[:, None] - cy) / ry
        xx = (np.arange(x0, x1, dtype=np.float32)[None, :] - cx) / r
        inside = (np.abs(yy) <= 1) & (np.abs(xx) <= 1) if square[i] else yy * yy + xx * xx <= 1
        mask = inside & free[y0:y1, x0:x1]
        if not mask.any():
            continue
        if tex_ids[i] >= 0:
            t = textures[tex_ids[i]][y0:y1, x0:x1][mask]
            img[y0:y1, x0:x1][mask] = colors[i] * (1 + tex_amp[i] * t[:, None])
        else:
            img[y0:y1, x0:x1][mask] = colors[i]
        free[y0:y1, x0:x1] &= ~mask
        left -= int(mask.sum())
    img[free] = rng.uniform(0.05, 0.6, size=3).astype(np.float32)  # far background
    # Smooth illumination gradient and, sometimes, defocus.
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32) / side
    gy, gx = rng.uniform(-0.5, 0.5, size=2)
    shade = np.clip(1 + gy * (yy - 0.5) + gx * (xx - 0.5), 0.3, None)
    img *= shade[..., None]
    blur = float(rng.choice([0.0, 0.0, 0.7, 1.5]))
    if blur > 0:
        img = cv2.GaussianBlur(img, (0, 0), blur, borderType=cv2.BORDER_REFLECT_101)
    np.clip(img, 0.0, 1.0, out=img)
    info = {"kind": "leaves", "leaves": n_used, "defocus_sigma": blur}
    return img, info


def render_scene(
    rng: np.random.Generator, side: int, photo_fraction: float
) -> tuple[np.ndarray, dict]:
    """One scene: ``side x side x 3`` float32 linear radiance in [0, 1], plus what was drawn."""
    if scene_kind(rng, photo_fraction) == "photo":
        return _photo_scene(rng, side)
    return _leaves_scene(rng, side)
