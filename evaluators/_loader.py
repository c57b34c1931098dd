"""Manifest rows -> batches of fitted uint8 tiles, decoded in worker processes.

Each item reads the variant's bytes once, checks them against the manifest's sha256 (a file that
fails is reported, like ``degradebench verify`` would, and skipped), decodes and fits it to the
model's input. Items that fail carry an error instead of pixels; the collate function keeps them
apart so one bad file never stops a batch.

For a localization run each item also carries the variant's mask (``mask_path``, checked against
``mask_sha256``; None for an authentic variant) and the decoded image's size. With
``fit: full`` images go to the model at their own size, so :func:`size_batches` groups rows of
the same manifest ``height`` x ``width`` into batches.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from degradebench.generators.manifest import read_mask_png
from degradebench.generators.ops.jpeg import decode_pillow

from ._fit import fit_image
from ._input_config import InputConfig

__all__ = [
    "VariantDataset", "Batch", "collate", "default_workers", "decode_rgb",
    "size_batches", "MaskSpec", "odd_size", "cpu_cores",
]  # fmt: skip


@dataclass
class Batch:
    """Fitted tiles of the images that decoded, and the errors of those that did not."""

    index: torch.Tensor  # [N] row positions of the images that decoded
    tiles: torch.Tensor  # [T, 3, H, W] uint8, T >= N
    counts: torch.Tensor  # [N] tiles per image
    errors: list[tuple[int, str, str]]  # (row position, stage, message)
    masks: list[np.ndarray | None] | None = None  # per decoded image (localization runs)
    sizes: list[tuple[int, int]] | None = None  # per decoded image: (height, width) before fit


def decode_rgb(data: bytes) -> np.ndarray:
    """A variant file's bytes -> RGB uint8 HxWx3, through the generators' one decoder
    (grey images get their one channel three times, as Pillow's RGB conversion does)."""
    img = decode_pillow(data)  # raises on truncation instead of filling grey
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return img


@dataclass
class MaskSpec:
    """The masks of a localization run: per row a path relative to the root (None: authentic)
    and its sha256 (None: not checked)."""

    paths: list[str | None]
    sha256: list[str | None] | None = None


def _present(v: object) -> bool:
    return isinstance(v, str) and bool(v)


def _read_mask(root: Path, rel: str, want: str | None, shape: tuple[int, int]):
    """(bool HxW mask, None) or (None, (stage, message)) for the mask file at ``root / rel``."""
    path = root / rel
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = "file not found" if isinstance(exc, FileNotFoundError) else exc
        return None, ("mask", f"{path}: {reason} (the variant's mask_path); run 'degradebench "
                              f"verify {root}' for the full check, or regenerate the suite into "
                              "that folder to write its masks again")  # fmt: skip
    if want:
        got = hashlib.sha256(data).hexdigest()
        if got != want:
            msg = (f"{path}: sha256 {got[:12]}... differs from the manifest's mask_sha256 "
                   f"{want[:12]}... (the mask or the manifest changed after generation); run "
                   f"'degradebench verify {root}' for the full check, or regenerate the "
                   "suite")  # fmt: skip
            return None, ("verify", msg)
    try:
        mask = read_mask_png(data)
    except Exception as exc:  # a damaged mask is this variant's problem, not the run's
        return None, ("mask", f"{path}: cannot read the mask: {exc}")
    if mask.shape != shape:
        msg = (f"{path}: mask is {mask.shape[0]}x{mask.shape[1]} but the image is "
               f"{shape[0]}x{shape[1]}; regenerate the variant")  # fmt: skip
        return None, ("mask", msg)
    return mask, None


class VariantDataset(torch.utils.data.Dataset):
    """Variant files under ``root`` (manifest ``path`` column), fitted per ``cfg``; with
    ``masks``, each item also carries its mask and image size (localization)."""

    def __init__(
        self,
        root: str | Path,
        paths: list[str],
        sha256: list[str | None] | None,
        cfg: InputConfig,
        masks: MaskSpec | None = None,
    ):
        self.root = Path(root)
        self.paths = list(paths)
        self.sha256 = list(sha256) if sha256 is not None else [None] * len(self.paths)
        self.cfg = cfg
        self.masks = masks

    def __len__(self) -> int:
        return len(self.paths)

    def decoded(self, i: int) -> tuple[np.ndarray | None, dict]:
        """(RGB image, item) of row ``i`` before fitting: the item holds ``index`` and ``error``
        (``(stage, message)`` or None; the image is None then), and for a localization run
        ``mask`` and ``size``. The one read/verify/decode path of the evaluators."""
        path = self.root / self.paths[i]
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None, {"index": i, "tiles": None, "error": ("missing", f"{path}: file not found")}
        except OSError as exc:
            return None, {"index": i, "tiles": None, "error": ("read", f"{path}: {exc}")}
        want = self.sha256[i]
        if want:
            got = hashlib.sha256(data).hexdigest()
            if got != want:
                msg = f"{path}: sha256 {got[:12]}... differs from the manifest's {want[:12]}..."
                return None, {"index": i, "tiles": None, "error": ("verify", msg)}
        try:
            img = decode_rgb(data)
        except Exception as exc:  # any decoder failure is this file's problem, not the run's
            return None, {"index": i, "tiles": None, "error": ("decode", f"{path}: {exc}")}
        item: dict = {"index": i, "tiles": None, "error": None}
        if self.masks is not None:
            item.update(mask=None, size=img.shape[:2])
            if _present(self.masks.paths[i]):
                want = self.masks.sha256[i] if self.masks.sha256 is not None else None
                item["mask"], item["error"] = _read_mask(
                    self.root, self.masks.paths[i], want if _present(want) else None, img.shape[:2]
                )
                if item["error"] is not None:
                    return None, item
        return img, item

    def __getitem__(self, i: int) -> dict:
        img, item = self.decoded(i)
        if img is not None:
            item["tiles"] = torch.from_numpy(fit_image(img, self.cfg))
        return item


def odd_size(index: int, hw: tuple, shape: tuple) -> tuple[int, str, str]:
    """The ``size`` error of an image fitted to ``hw`` in a batch of ``shape`` (``fit: full``)."""
    h, w = hw
    msg = (f"decoded image is {h}x{w} but its batch (the manifest's height x width) is "
           f"{shape[0]}x{shape[1]}; the manifest's width/height are wrong for this file: "
           "regenerate it, or evaluate with another fit than full")  # fmt: skip
    return (index, "size", msg)


def collate(items: list[dict]) -> Batch:
    """Items -> one :class:`Batch`; failed items become errors, never stop the batch (an image
    whose fitted size differs from the batch's first, possible with ``fit: full`` when the
    manifest's size is wrong, is an error of stage ``size``)."""
    ok = [it for it in items if it["tiles"] is not None]
    errors = [(it["index"], *it["error"]) for it in items if it["tiles"] is None]
    if ok:
        shape = tuple(ok[0]["tiles"].shape[-2:])
        errors += [odd_size(it["index"], tuple(it["tiles"].shape[-2:]), shape) for it in ok
                   if tuple(it["tiles"].shape[-2:]) != shape]  # fmt: skip
        ok = [it for it in ok if tuple(it["tiles"].shape[-2:]) == shape]
        tiles = torch.cat([it["tiles"] for it in ok])
    else:
        tiles = torch.empty((0, 3, 1, 1), dtype=torch.uint8)
    with_masks = any("mask" in it for it in ok)
    return Batch(
        index=torch.tensor([it["index"] for it in ok], dtype=torch.long),
        tiles=tiles,
        counts=torch.tensor([len(it["tiles"]) for it in ok], dtype=torch.long),
        errors=errors,
        masks=[it.get("mask") for it in ok] if with_masks else None,
        sizes=[tuple(int(v) for v in it["size"]) for it in ok] if with_masks else None,
    )


def size_batches(heights: list, widths: list, batch_size: int) -> list[list[int]]:
    """Row positions grouped by (height, width), in order of first appearance, cut into batches
    of at most ``batch_size`` (rows without a known size go one per batch)."""
    groups: dict[tuple, list[int]] = {}
    singles: list[list[int]] = []
    for i, (h, w) in enumerate(zip(heights, widths)):
        try:
            key = (int(h), int(w))
        except (TypeError, ValueError):
            singles.append([i])
            continue
        groups.setdefault(key, []).append(i)
    out = [rows[k : k + batch_size] for rows in groups.values()
           for k in range(0, len(rows), batch_size)]  # fmt: skip
    return out + singles


def cpu_cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_workers() -> int:
    """Decode workers: all cores but one for the model, at most 8; 0 (in-process) on 1 core."""
    return max(0, min(8, cpu_cores() - 1))
