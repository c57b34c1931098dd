"""Manifest rows -> batches of fitted uint8 tiles, decoded in worker processes.

Each item reads the variant's bytes once, checks them against the manifest's sha256 (a file that
fails is reported, like ``degradebench verify`` would, and skipped), decodes and fits it to the
model's input. Items that fail carry an error instead of pixels; the collate function keeps them
apart so one bad file never stops a batch.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from degradebench.generators.ops.jpeg import decode_pillow

from ._fit import fit_image
from ._input_config import InputConfig

__all__ = [
    "VariantDataset", "Batch", "collate", "make_loader", "default_workers", "decode_rgb",
]  # fmt: skip


@dataclass
class Batch:
    """Fitted tiles of the images that decoded, and the errors of those that did not."""

    index: torch.Tensor  # [N] row positions of the images that decoded
    tiles: torch.Tensor  # [T, 3, H, W] uint8, T >= N
    counts: torch.Tensor  # [N] tiles per image
    errors: list[tuple[int, str, str]]  # (row position, stage, message)

    def pin_memory(self) -> Batch:
        """Pin the tiles (the DataLoader calls it when ``pin_memory`` is on)."""
        self.tiles = self.tiles.pin_memory()
        return self


def decode_rgb(data: bytes) -> np.ndarray:
    """A variant file's bytes -> RGB uint8 HxWx3, through the generators' one decoder
    (grey images get their one channel three times, as Pillow's RGB conversion does)."""
    img = decode_pillow(data)  # raises on truncation instead of filling grey
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return img


class VariantDataset(torch.utils.data.Dataset):
    """Variant files under ``root`` (manifest ``path`` column), fitted per ``cfg``."""

    def __init__(
        self,
        root: str | Path,
        paths: list[str],
        sha256: list[str | None] | None,
        cfg: InputConfig,
    ):
        self.root = Path(root)
        self.paths = list(paths)
        self.sha256 = list(sha256) if sha256 is not None else [None] * len(self.paths)
        self.cfg = cfg

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> dict:
        path = self.root / self.paths[i]
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return {"index": i, "tiles": None, "error": ("missing", f"{path}: file not found")}
        except OSError as exc:
            return {"index": i, "tiles": None, "error": ("read", f"{path}: {exc}")}
        want = self.sha256[i]
        if want:
            got = hashlib.sha256(data).hexdigest()
            if got != want:
                msg = f"{path}: sha256 {got[:12]}... differs from the manifest's {want[:12]}..."
                return {"index": i, "tiles": None, "error": ("verify", msg)}
        try:
            img = decode_rgb(data)
        except Exception as exc:  # any decoder failure is this file's problem, not the run's
            return {"index": i, "tiles": None, "error": ("decode", f"{path}: {exc}")}
        tiles = fit_image(img, self.cfg)
        return {"index": i, "tiles": torch.from_numpy(tiles), "error": None}


def collate(items: list[dict]) -> Batch:
    """Items -> one :class:`Batch`; failed items become errors, never stop the batch."""
    ok = [it for it in items if it["tiles"] is not None]
    errors = [(it["index"], *it["error"]) for it in items if it["tiles"] is None]
    if ok:
        tiles = torch.cat([it["tiles"] for it in ok])
    else:
        tiles = torch.empty((0, 3, 1, 1), dtype=torch.uint8)
    return Batch(
        index=torch.tensor([it["index"] for it in ok], dtype=torch.long),
        tiles=tiles,
        counts=torch.tensor([len(it["tiles"]) for it in ok], dtype=torch.long),
        errors=errors,
    )


def default_workers() -> int:
    """Decode workers: all cores but one for the model, at most 8; 0 (in-process) on 1 core."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(0, min(8, n - 1))


# A batch that takes longer than this means a stuck worker: fail instead of waiting for ever.
WORKER_TIMEOUT_S = 600


def make_loader(
    dataset: VariantDataset, *, batch_size: int, workers: int, pin_memory: bool
) -> torch.utils.data.DataLoader:
    """An ordered DataLoader over ``dataset`` with :func:`collate`."""
    kwargs: dict = {}
    if workers > 0:
        # No worker_init_fn: torch's worker loop sets one thread per worker, and a forked worker
        # must not reconfigure other inherited thread pools (cv2.setNumThreads hung in one).
        kwargs = {"prefetch_factor": 4, "timeout": WORKER_TIMEOUT_S}
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        collate_fn=collate,
        pin_memory=pin_memory,
        **kwargs,
    )
