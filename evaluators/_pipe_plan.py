"""How the evaluation pipeline is sized: batches of rows, bytes per batch, decode workers.

- :func:`row_plan`: the row positions of each batch (``range`` objects for consecutive rows,
  so a plan of millions of rows costs nothing; ``fit: full`` groups equal sizes).
- :func:`slot_bytes`: how many bytes of fitted uint8 tiles the largest batch needs, from the
  manifest's ``height`` x ``width`` (vectorised: one pass over the columns).
- :func:`choose_workers`: decode workers from the measured decode rate of one worker and the
  model's forward rate (a pure function, unit-tested), capped at ``cores - 1`` and 16.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ._loader import size_batches

__all__ = ["row_plan", "row_bytes", "slot_bytes", "choose_workers", "MAX_WORKERS", "HEADROOM"]

MAX_WORKERS = 16
HEADROOM = 1.25  # decode capacity over the model's rate: room for slow files and the main loop


def row_plan(manifest: pd.DataFrame, fit: str, batch_size: int) -> list:
    """Row positions per batch: consecutive ``range`` objects, or for ``fit: full`` lists of rows
    of one manifest height x width (:func:`size_batches`)."""
    n = len(manifest)
    if fit != "full":
        return [range(k, min(k + batch_size, n)) for k in range(0, n, batch_size)]
    hs = manifest["height"].tolist() if "height" in manifest else [None] * n
    ws = manifest["width"].tolist() if "width" in manifest else [None] * n
    return size_batches(hs, ws, batch_size)


def _sizes(manifest: pd.DataFrame, col: str) -> np.ndarray:
    if col not in manifest:
        return np.full(len(manifest), np.nan)
    return pd.to_numeric(manifest[col], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def row_bytes(manifest: pd.DataFrame, cfg, unknown: int) -> np.ndarray:
    """Bytes of fitted uint8 tiles per row, from the manifest's sizes (``unknown`` where a size
    is missing). Fixed fits: one input-size tile; ``tile``: the tiles :func:`_fit.tile_origins`
    cuts (``max_tiles`` kept); ``full``: the image itself."""
    th, tw = (int(v) for v in cfg.input_size)
    n = len(manifest)
    if cfg.fit not in ("tile", "full"):
        return np.full(n, 3 * th * tw, dtype=np.int64)
    h, w = _sizes(manifest, "height"), _sizes(manifest, "width")
    known = np.isfinite(h) & np.isfinite(w)
    h, w = np.where(known, h, 0).astype(np.int64), np.where(known, w, 0).astype(np.int64)
    if cfg.fit == "full":
        out = 3 * h * w
    else:  # the tile fit pads to one tile at least, then steps by the stride
        sy, sx = cfg.tile_stride or th, cfg.tile_stride or tw
        count = ((np.maximum(h, th) - th) // sy + 1) * ((np.maximum(w, tw) - tw) // sx + 1)
        if cfg.max_tiles is not None:
            count = np.minimum(count, int(cfg.max_tiles))
        out = 3 * th * tw * count
    return np.where(known, out, int(unknown)).astype(np.int64)


def slot_bytes(plan: list, per_row: np.ndarray) -> int:
    """Bytes the largest batch of ``plan`` needs (at least 1)."""
    if not plan:
        return 1
    if all(isinstance(b, range) and b.step == 1 for b in plan):
        starts = np.array([b.start for b in plan], dtype=np.int64)
        sums = np.add.reduceat(per_row, starts) if len(per_row) else np.zeros(1, np.int64)
        return max(1, int(sums.max()))
    return max(1, max(int(per_row[list(b)].sum()) for b in plan))


def choose_workers(
    decode_img_s: float | None, forward_img_s: float | None, *, cores: int, n_batches: int,
    cap: int = MAX_WORKERS, device_bound: bool = False,
) -> tuple[int, str]:  # fmt: skip
    """(decode worker processes, why) for a run.

    ``decode_img_s``: images per second one worker decodes and fits; ``forward_img_s``: images
    per second the model scores. Enough workers to feed the model with :data:`HEADROOM`, at
    least 1, at most ``cores - 1`` (a core for the model's loop) and ``cap``; 0 (decode in the
    main process) on one core or for a single batch. An unknown rate gives the cap (at most 8,
    the earlier default). ``device_bound`` (the model runs on a GPU, not on these cores): every
    core but one (at most ``cap``), since a worker with no free slot waits and costs nothing.
    """
    limit = min(cores - 1, cap)
    if limit <= 0:
        return 0, "one core: decoding in the main process"
    if n_batches <= 1:
        return 0, "one batch: nothing to overlap, decoding in the main process"
    if limit == 1:
        return 1, "two cores: one decode worker, one core for the model"
    if device_bound:  # idle workers cost nothing: they wait for a free slot of the ring
        return limit, "model on a GPU: every core but one decodes (cores - 1, at most 16)"
    if not decode_img_s or not forward_img_s or decode_img_s <= 0 or forward_img_s <= 0:
        return min(limit, 8), "rates unknown: cores - 1, at most 8"
    need = max(1, math.ceil(HEADROOM * forward_img_s / decode_img_s))
    if need > limit:
        return limit, (f"{need} workers would keep up with the model; capped at {limit} "
                       "(cores - 1, at most 16)")  # fmt: skip
    return need, f"{HEADROOM} x forward rate / decode rate per worker, rounded up"
