"""Tiny document windows with their layouts, for the document forgery tests (issue 17, D3)."""

from __future__ import annotations

import copy
import functools
from typing import Any

import numpy as np

__all__ = ["doc_window"]


@functools.cache
def _page(kind: str, seed: int) -> Any:
    from degradebench.generators.documents import render_document

    return render_document(kind, seed, dpi=150)


def doc_window(
    kind: str, seed: int, name: str, size: tuple[int, int] = (64, 160)
) -> tuple[np.ndarray, dict]:
    """A ``size`` window of a rendered page around field ``name`` and its layout (the fields
    wholly inside it, boxes and origins shifted); read-only pixels."""
    page = _page(kind, seed)
    f = next(f for f in page.layout["fields"] if f["name"] == name)
    h, w = page.image.shape[:2]
    top = min(max(f["box"][0] - 20, 0), h - size[0])
    left = min(max(f["box"][1] - 20, 0), w - size[1])
    img = page.image[top : top + size[0], left : left + size[1]].copy()
    img.setflags(write=False)
    fields = []
    for g in page.layout["fields"]:
        t, le, bh, bw = g["box"]
        if bh and t >= top and le >= left and t + bh <= top + size[0] and le + bw <= left + size[1]:
            g = copy.deepcopy(g)
            g["box"] = [t - top, le - left, bh, bw]
            if "origin" in g:
                g["origin"] = [g["origin"][0] - top, g["origin"][1] - left]
            fields.append(g)
    layout = {**page.layout, "size": list(size), "fields": fields}
    return img, layout
