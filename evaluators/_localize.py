"""Localization outputs (issue 14 point 5): a model's maps checked, brought to each image's size
and scored against its mask right away, one batch at a time (maps are never all in memory).

A localization model (input config ``task: localization``) returns a map tensor ``[N, 1, h, w]``
or ``[N, h, w]`` at any resolution, or a dict ``{"score": [N] or [N, 1], "map": [N, 1, h, w]}``
(N: the images or tiles it was given). ``output: logits`` -> a sigmoid is applied to the map and
the score; ``probabilities`` -> used as they are, checked in [0, 1]. Each image's map is brought to
the image's size as its fit says:

- ``full`` / ``resize``: bilinear resize (the project's one resize, :func:`metrics.fit_map`);
- ``pad``: scaled to ``input_size``, then the top-left image area cut (the rest of the image 0);
- ``center_crop``: scaled to ``input_size`` and placed at the crop offset (outside it 0);
- ``tile``: each tile's map scaled to the tile size and placed at the tile's origin (the mean
  where tiles overlap, 0 where no tile reaches); the tile scores averaged as ``tile_average``
  says.

The image-size map is then quantised to 8 bits (``rint(255 m)``, exactly what ``--save-maps``
writes; the 0.5 threshold is unchanged by it) and scored with
:func:`metrics.localization_scores`; ``map_score`` is its maximum.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from ._fit import crop_offset, tile_origins
from .formats.base import ModelError
from .metrics.forensic_pixel import fit_map, localization_scores

__all__ = ["LocalizeSpec", "PIXEL_COLUMNS", "LOCALIZATION_COLUMNS", "as_parts", "cat_parts",
           "localize_batch", "image_map"]  # fmt: skip

PIXEL_COLUMNS = ("pixel_f1", "pixel_mcc", "pixel_f1_best", "pixel_mcc_best", "pixel_iou",
                 "pixel_auc")  # fmt: skip
# Per-image columns a localization run produces (in predictions order, see results.py).
LOCALIZATION_COLUMNS = ("score", "map_score", *PIXEL_COLUMNS, "map_path")
_TOL = 1e-4  # probabilities a hair outside [0, 1] (float rounding) are clipped, not refused


@dataclass
class LocalizeSpec:
    """How a localization run scores: the no-score band and where maps go.

    ``sink(variant_id, map_u8)`` receives every image-size 8-bit map and returns its
    ``map_path`` (relative to RESULTS) when it saved it for the predictions, else None.
    """

    no_score_px: int = 0
    sink: Callable[[str, np.ndarray], str | None] | None = None


def as_parts(out: object, model_name: str) -> dict[str, torch.Tensor]:
    """One forward chunk's output -> ``{"map": ..., "score": ...}`` float tensors (unchecked)."""
    if isinstance(out, torch.Tensor):
        return {"map": out.float()}
    if isinstance(out, Mapping) and isinstance(out.get("map"), torch.Tensor):
        parts = {"map": out["map"].float()}
        score = out.get("score")
        if isinstance(score, torch.Tensor):
            parts["score"] = score.float()
        elif score is not None:
            raise ModelError(f"model {model_name!r}: returned 'score' as {type(score).__name__}; "
                             "expected a tensor [N] or [N, 1]")  # fmt: skip
        return parts
    what = f"a dict with keys {sorted(map(str, out))}" if isinstance(out, Mapping) else (
        type(out).__name__)  # fmt: skip
    raise ModelError(f"model {model_name!r}: returned {what}; a localization model (task: "
                     "localization) returns a map tensor [N, 1, h, w] or [N, h, w], or "
                     "{'score': [N], 'map': [N, 1, h, w]}")  # fmt: skip


def cat_parts(parts: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The chunks of one batch joined (a key missing from one chunk is dropped)."""
    if not parts:
        return {"map": torch.empty((0, 1, 1, 1))}
    keys = [k for k in parts[0] if all(k in p for p in parts)]
    return {k: torch.cat([p[k] for p in parts]) for k in keys}


def _ids(variant_ids: list[str], limit: int = 6) -> str:
    shown = ", ".join(str(v) for v in variant_ids[:limit])
    more = len(variant_ids) - limit
    return shown + (f", ... (+{more} more)" if more > 0 else "")


def _in_unit(t: torch.Tensor, what: str, where: str) -> torch.Tensor:
    lo, hi = float(t.min()), float(t.max())
    if lo < -_TOL or hi > 1 + _TOL:
        raise ModelError(f"{where}: input config says output=probabilities but the {what} spans "
                         f"{lo:.4g}..{hi:.4g}; expected values in [0, 1], or set "
                         "output=logits (a sigmoid is then applied)")  # fmt: skip
    return t.clamp(0.0, 1.0)


def _checked(parts: dict[str, torch.Tensor], n_in: int, output: str, where: str):
    """(map [n_in, h, w], score [n_in] or None), checked, in [0, 1]."""
    m = parts["map"]
    expected = (f"expected [{n_in}, 1, h, w] or [{n_in}, h, w] (one map per input image or tile, "
                f"any h, w), or {{'score': [{n_in}], 'map': [{n_in}, 1, h, w]}}")  # fmt: skip
    if m.ndim == 4 and m.shape[1] == 1:
        m = m[:, 0]
    if m.ndim != 3 or m.shape[0] != n_in or min(m.shape[1:], default=0) < 1:
        raise ModelError(f"{where}: returned map shape {list(parts['map'].shape)}; {expected}")
    s = parts.get("score")
    if s is not None:
        if s.ndim == 2 and s.shape[1] == 1:
            s = s[:, 0]
        if s.ndim != 1 or s.shape[0] != n_in:
            raise ModelError(f"{where}: returned score shape {list(parts['score'].shape)}; "
                             f"expected [{n_in}] or [{n_in}, 1] (one score per input)")  # fmt: skip
    for what, t in (("map", m), ("score", s)):
        if t is not None and not bool(torch.isfinite(t).all()):
            raise ModelError(f"{where}: returned NaN or infinite values in its {what}; expected "
                             "finite numbers")  # fmt: skip
    if output == "logits":
        return torch.sigmoid(m), (torch.sigmoid(s) if s is not None else None)
    return _in_unit(m, "map", where), (_in_unit(s, "score", where) if s is not None else None)


def _placed(tile: np.ndarray, size_hw: tuple[int, int], origin: tuple[int, int],
            input_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(values, coverage) HxW: ``tile`` scaled to ``input_hw`` with its (0, 0) at ``origin``
    of an image of ``size_hw``; the parts outside the image are cut."""
    h, w = size_hw
    vals = np.zeros((h, w))
    cover = np.zeros((h, w))
    t = fit_map(tile, input_hw)
    y0, x0 = origin
    ys, xs = max(0, y0), max(0, x0)
    ye, xe = min(h, y0 + input_hw[0]), min(w, x0 + input_hw[1])
    if ye > ys and xe > xs:
        vals[ys:ye, xs:xe] = t[ys - y0 : ye - y0, xs - x0 : xe - x0]
        cover[ys:ye, xs:xe] = 1.0
    return vals, cover


def image_map(tiles: np.ndarray, size_hw: tuple[int, int], cfg) -> np.ndarray:
    """One image's maps (``[T, h, w]`` in [0, 1]) -> its 8-bit map at ``size_hw`` (module doc)."""
    h, w = (int(v) for v in size_hw)
    input_hw = tuple(int(v) for v in cfg.input_size)
    if cfg.fit in ("full", "resize"):
        m = fit_map(tiles[0], (h, w))
    elif cfg.fit == "pad":
        m = _placed(tiles[0], (h, w), (0, 0), input_hw)[0]
    elif cfg.fit == "center_crop":
        y0, x0 = crop_offset(h, w, cfg)
        m = _placed(tiles[0], (h, w), (y0, x0), input_hw)[0]
    else:  # tile: origins over the image padded bottom/right to one tile at least
        origins = tile_origins(max(h, input_hw[0]), max(w, input_hw[1]), cfg)
        total, cover = np.zeros((h, w)), np.zeros((h, w))
        for t, origin in zip(tiles, origins):
            v, c = _placed(t, (h, w), origin, input_hw)
            total += v
            cover += c
        m = np.divide(total, cover, out=np.zeros((h, w)), where=cover > 0)
    return np.rint(np.clip(m, 0.0, 1.0) * 255.0).astype(np.uint8)


def _image_scores(s: torch.Tensor | None, counts: torch.Tensor, cfg, output: str,
                  raw: torch.Tensor | None) -> np.ndarray:  # fmt: skip
    """Per-input scores -> per-image scores (tiles averaged as ``tile_average`` says)."""
    n = len(counts)
    if s is None:
        return np.full(n, np.nan)
    if cfg.fit != "tile" or int(counts.max()) <= 1:
        return s.double().cpu().numpy()
    owner = torch.repeat_interleave(torch.arange(n), counts.cpu())
    if cfg.tile_average == "scores" and output == "logits" and raw is not None:
        mean = torch.zeros(n, dtype=torch.float64).index_add_(0, owner, raw.double().cpu())
        return torch.sigmoid(mean / counts.double().cpu()).numpy()
    mean = torch.zeros(n, dtype=torch.float64).index_add_(0, owner, s.double().cpu())
    return (mean / counts.double().cpu()).numpy()


def _raw_score(parts: dict[str, torch.Tensor]) -> torch.Tensor | None:
    s = parts.get("score")
    return s[:, 0] if s is not None and s.ndim == 2 else s


def localize_batch(parts: dict[str, torch.Tensor], batch, model, ids: list[str],
                   spec: LocalizeSpec) -> dict[str, list]:  # fmt: skip
    """One batch's outputs -> the per-image columns of :data:`LOCALIZATION_COLUMNS`."""
    cfg = model.input_config
    where = f"model {model.name!r} on a batch of {len(ids)} images (variant ids: {_ids(ids)})"
    n_in = int(batch.counts.sum())
    maps, scores = _checked(parts, n_in, cfg.output, where)
    maps = maps.double().cpu().numpy()
    image_scores = _image_scores(scores, batch.counts, cfg, cfg.output, _raw_score(parts))
    cols: dict[str, list] = {c: [] for c in LOCALIZATION_COLUMNS}
    start = 0
    for i, k in enumerate(batch.counts.tolist()):
        q = image_map(maps[start : start + k], batch.sizes[i], cfg)
        start += k
        mask = batch.masks[i]
        if mask is not None:
            px = localization_scores(q, mask, no_score_px=spec.no_score_px)
        else:
            px = dict.fromkeys(PIXEL_COLUMNS, float("nan"))
        for c in PIXEL_COLUMNS:
            cols[c].append(px[c])
        cols["score"].append(float(image_scores[i]))
        cols["map_score"].append(float(q.max()) / 255.0)
        cols["map_path"].append(spec.sink(ids[i], q) if spec.sink is not None else None)
    return cols
