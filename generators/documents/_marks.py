"""Seeded graphic marks: a handwritten-like signature stroke, an ink stamp, a company logo.

Each returns an 8-bit coverage array (the caller composites it in one colour) drawn at a
supersampled scale and box-reduced, so edges are antialiased yet exactly reproducible. Every
random choice comes from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from ._fonts import load_font

__all__ = ["signature", "stamp", "logo", "redraw"]

_SS = 4  # supersampling factor (2 for the stamp, whose rotation already antialiases)
_SS_STAMP = 2


def _catmull_rom(points: np.ndarray, per_segment: int) -> np.ndarray:
    """A centripetal-free (uniform) Catmull-Rom spline through ``points`` (N x 2)."""
    p = np.vstack([points[:1], points, points[-1:]])
    t = np.linspace(0.0, 1.0, per_segment, endpoint=False)[:, None]
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        out.append(
            0.5
            * (
                2 * p1
                + (-p0 + p2) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3
            )
        )
    out.append(points[-1:])
    return np.vstack(out)


def _resample(curve: np.ndarray, step: float) -> np.ndarray:
    """Points every ``step`` pixels of arc length along the polyline ``curve``."""
    seg = np.hypot(*np.diff(curve, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    at = np.arange(0.0, s[-1], step)
    return np.stack([np.interp(at, s, curve[:, 0]), np.interp(at, s, curve[:, 1])], axis=1)


def _stroke(draw: ImageDraw.ImageDraw, curve: np.ndarray, radius: np.ndarray) -> None:
    for (x, y), r in zip(curve, radius, strict=True):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)


def _smooth_noise(rng: np.random.Generator, n: int, knots: int, lo: float, hi: float):
    """``n`` values varying smoothly between lo and hi (linear interpolation of random knots)."""
    k = rng.uniform(lo, hi, size=knots)
    return np.interp(np.linspace(0, knots - 1, n), np.arange(knots), k)


def _word(rng: np.random.Generator, x0: float, width: float, base: float, H: float, capital: bool):
    """One cursive word: a prolate cycloid (loops where the pen runs back) whose letter
    heights and loop widths vary smoothly, the first letter taller for a capital."""
    k = int(rng.integers(3, 7))
    t = np.linspace(0.0, 2 * np.pi * k, 60 * k)
    a = width / (2 * np.pi * k)
    loop = _smooth_noise(rng, t.size, k + 1, 0.5, 1.7) * a
    tall = _smooth_noise(rng, t.size, k + 1, 0.12, 0.42) * H
    if capital:
        tall = tall * np.where(t < 2 * np.pi, 1.9, 1.0)
    x = x0 + a * t - loop * np.sin(t)
    y = base - tall * (1 - np.cos(t)) / 2
    return np.stack([x, y], axis=1)


def signature(seed: int, width_px: int, height_px: int) -> tuple[np.ndarray, dict]:
    """A handwritten-like name: one or two cursive words (seeded loops), slanted, with an
    optional underline flourish, drawn with a pen whose width varies like pressure."""
    rng = np.random.default_rng(seed)
    W, H = width_px * _SS, height_px * _SS
    words = int(rng.integers(1, 3))
    base = H * 0.78
    split = float(rng.uniform(0.3, 0.45)) if words == 2 else 0.86
    parts = [_word(rng, 0.04 * W, split * W, base, H, True)]
    if words == 2:
        parts.append(_word(rng, (split + 0.10) * W, (0.82 - split) * W, base, H, True))
    flourish = bool(rng.random() < 0.5)
    if flourish:  # an underline sweeping back under the name
        end = parts[-1][-1]
        parts.append(_catmull_rom(np.array([end, [0.95 * W, 0.80 * H], [0.5 * W, 0.95 * H],
                                            [0.08 * W, 0.90 * H]]), 40))  # fmt: skip
    slant = float(rng.uniform(0.15, 0.45))
    pen = max(0.8, height_px * 0.03) * _SS
    canvas = Image.new("L", (W, H), 0)
    draw = ImageDraw.Draw(canvas)
    for part in parts:
        part = part.copy()
        part[:, 0] += slant * (base - part[:, 1]) - slant * 0.5 * H * 0.3
        curve = _resample(part, pen * 0.3)
        _stroke(draw, curve, pen * _smooth_noise(rng, len(curve), 6, 0.45, 1.0))
    alpha = np.asarray(canvas.reduce(_SS))
    params = {"width_px": width_px, "height_px": height_px, "words": words, "flourish": flourish}
    return alpha, {"mark": "signature", "seed": seed, **params}


def _fitted(text: str, size: int, width: float):
    """The bold font at ``size`` or smaller so that ``text`` is at most ``width`` wide."""
    size = max(4, size)
    font = load_font("sans-bold", size)
    while size > 4 and font.getlength(text) > width:
        size -= max(1, size // 12)
        font = load_font("sans-bold", max(4, size))
    return font


def stamp(seed: int, text: str, sub: str, diameter_px: int) -> tuple[np.ndarray, dict]:
    """A rotated round or rectangular ink stamp with ``text`` and a second line ``sub``,
    its ink faded unevenly."""
    rng = np.random.default_rng(seed)
    D = diameter_px * _SS_STAMP
    round_ = bool(rng.random() < 0.5)
    angle = float(np.round(rng.uniform(-18.0, 18.0), 2))
    wide = D if round_ else int(D * 1.6)
    canvas = Image.new("L", (wide, D), 0)
    draw = ImageDraw.Draw(canvas)
    ring = max(_SS_STAMP, D // 28)
    if round_:
        draw.ellipse((0, 0, wide - 1, D - 1), outline=255, width=ring)
        draw.ellipse((3 * ring, 3 * ring, wide - 1 - 3 * ring, D - 1 - 3 * ring), outline=255,
                     width=max(1, ring // 2))  # fmt: skip
    else:
        draw.rounded_rectangle((0, 0, wide - 1, D - 1), radius=D // 8, outline=255, width=ring)
    big = _fitted(text, int(D * (0.20 if round_ else 0.28)), (0.62 if round_ else 0.8) * wide)
    small = _fitted(sub, int(D * 0.10), 0.6 * wide - 6 * ring)
    draw.text((wide // 2, D // 2), text, fill=255, font=big, anchor="ms")
    draw.text((wide // 2, int(D * 0.72)), sub, fill=255, font=small, anchor="ms")
    canvas = canvas.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    alpha = np.asarray(canvas.reduce(_SS_STAMP)).astype(np.float64)
    h, w = alpha.shape
    coarse = Image.fromarray((rng.uniform(0.45, 1.0, (6, 6)) * 255).astype(np.uint8))
    fade = np.asarray(coarse.resize((w, h), Image.Resampling.BILINEAR)) / 255.0
    fade = fade * rng.uniform(0.8, 1.0, (h, w))
    alpha = np.floor(alpha * fade * 0.9 + 0.5).astype(np.uint8)
    shape = "round" if round_ else "rect"
    params = {"text": text, "sub": sub, "diameter_px": diameter_px, "shape": shape, "angle": angle}
    return alpha, {"mark": "stamp", "seed": seed, **params}


def logo(seed: int, initials: str, size_px: int) -> tuple[np.ndarray, dict]:
    """A filled geometric shape with the company's initials cut out of it."""
    rng = np.random.default_rng(seed)
    S = size_px * _SS
    shape = ("circle", "square", "diamond", "triangle", "hexagon")[int(rng.integers(5))]
    canvas = Image.new("L", (S, S), 0)
    draw = ImageDraw.Draw(canvas)
    if shape == "circle":
        draw.ellipse((0, 0, S - 1, S - 1), fill=255)
    elif shape == "square":
        draw.rounded_rectangle((0, 0, S - 1, S - 1), radius=S // 6, fill=255)
    elif shape == "diamond":
        draw.polygon([(S / 2, 0), (S - 1, S / 2), (S / 2, S - 1), (0, S / 2)], fill=255)
    elif shape == "triangle":
        draw.polygon([(S / 2, 0), (S - 1, S - 1), (0, S - 1)], fill=255)
    else:
        draw.regular_polygon((S / 2, S / 2, S / 2 - 1), 6, fill=255)
    font = load_font("sans-bold", max(4, int(S * (0.30 if shape == "triangle" else 0.40))))
    y = int(S * (0.80 if shape == "triangle" else 0.64))
    draw.text((S // 2, y), initials, fill=0, font=font, anchor="ms")
    params = {"initials": initials, "size_px": size_px, "shape": shape}
    return np.asarray(canvas.reduce(_SS)).copy(), {"mark": "logo", "seed": seed, **params}


def redraw(params: dict) -> np.ndarray:
    """The coverage of a recorded mark (a field's ``mark`` dict), drawn again from its seed."""
    kind = params.get("mark")
    if kind == "signature":
        return signature(params["seed"], params["width_px"], params["height_px"])[0]
    if kind == "stamp":
        return stamp(params["seed"], params["text"], params["sub"], params["diameter_px"])[0]
    if kind == "logo":
        return logo(params["seed"], params["initials"], params["size_px"])[0]
    raise ValueError(
        f"mark {kind!r} is not one of signature, stamp, logo; cannot redraw {params!r}"
    )
