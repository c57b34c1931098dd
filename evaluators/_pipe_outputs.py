"""Model outputs kept on the device, checked and copied back a chunk at a time.

Shapes are checked as each batch returns (they are known without waiting for the device).
What needs the values (finite scores, probability rows, finite regression values) is reduced on
the device to one flag per batch; the flags and the per-image results of a chunk of batches go
to the host in one asynchronous copy, and are looked at one chunk later, when the copy is long
done: the loop never waits for the device per batch. A batch whose flag is up is checked again
in full (its raw output is kept until its chunk is checked), so the error names its variant ids
exactly as a per-batch check would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from .models import Model, ModelError

__all__ = ["Outputs", "ids_text", "check_shape", "check_values", "image_probs", "tile_mean",
           "regression_values"]  # fmt: skip

CHUNK_ROWS = 32768  # images per host copy (and per check of the deferred flags)
_ROW_ATOL = 1e-3 + 1e-5  # torch.allclose(sums, 1, atol=1e-3) with its default rtol=1e-5


def ids_text(variant_ids: list[str], limit: int = 6) -> str:
    shown = ", ".join(str(v) for v in variant_ids[:limit])
    more = len(variant_ids) - limit
    return shown + (f", ... (+{more} more)" if more > 0 else "")


def _where(model: Model, ids: list[str]) -> str:
    return f"model {model.name!r} on a batch of {len(ids)} images (variant ids: {ids_text(ids)})"


def check_shape(out: torch.Tensor, n_tiles: int, n_classes: int, model: Model,
                ids: Callable[[], list[str]]) -> None:  # fmt: skip
    """Scores ``[n_tiles, n_classes]`` or a ModelError naming the batch (no device wait)."""
    if out.ndim != 2 or out.shape[0] != n_tiles:
        msg = (f"{_where(model, ids())}: returned shape {list(out.shape)}; expected "
               f"[{n_tiles}, {n_classes}] (one row of class scores per input image or tile)")  # fmt: skip
        raise ModelError(msg)
    if out.shape[1] != n_classes:
        msg = (
            f"{_where(model, ids())}: output width {out.shape[1]} does not match the number of "
            f"classes {n_classes}; expected [{n_tiles}, {n_classes}]. Set the model's 'classes' "
            "in its input config when it was trained on other labels"
        )
        raise ModelError(msg)


def bad_flag(out: torch.Tensor, output: str) -> torch.Tensor:
    """A 0-dim bool on the device: the scores are not finite, or not probability rows."""
    bad = ~torch.isfinite(out).all()
    if output == "probabilities":
        rows = (out.sum(dim=1) - 1.0).abs() > _ROW_ATOL
        bad = bad | (out < -1e-4).any() | rows.any()
    return bad


def check_values(out: torch.Tensor, model: Model, ids: list[str]) -> None:
    """Finite scores (and probability rows for ``output: probabilities``), else a ModelError."""
    n_tiles = len(out)
    finite = torch.isfinite(out)
    if not bool(finite.all()):
        bad_rows = (~finite).any(dim=1).nonzero().flatten().tolist()
        raise ModelError(f"{_where(model, ids)}: returned NaN or infinite scores in "
                         f"{len(bad_rows)} of {n_tiles} rows; expected finite scores")  # fmt: skip
    if model.input_config.output == "probabilities":
        sums = out.sum(dim=1)
        if bool((out < -1e-4).any()) or not torch.allclose(sums, torch.ones_like(sums), atol=1e-3):
            msg = (
                f"{_where(model, ids)}: input config says output=probabilities but rows are not "
                f"probability vectors (row sums {sums.min().item():.4g}..{sums.max().item():.4g});"
                " expected non-negative rows summing to 1, or set output=logits"
            )
            raise ModelError(msg)


def _to_probs(scores: torch.Tensor, output: str) -> torch.Tensor:
    return torch.softmax(scores, dim=1) if output == "logits" else scores


def tile_mean(vals: torch.Tensor, counts: np.ndarray) -> torch.Tensor:
    """Per-tile rows ``[T, C]`` -> per-image means ``[N, C]`` (image i owns ``counts[i]`` rows);
    the owners are built on the host, so the device is never asked for a size."""
    n = len(counts)
    owner = torch.from_numpy(np.repeat(np.arange(n), counts)).to(vals.device, non_blocking=True)
    div = torch.from_numpy(np.asarray(counts, dtype=np.int64)).to(vals.device, non_blocking=True)
    summed = torch.zeros((n, vals.shape[1]), device=vals.device).index_add_(0, owner, vals)
    return summed / div[:, None].float()


def image_probs(out: torch.Tensor, counts: np.ndarray, cfg) -> torch.Tensor:
    """Per-tile scores -> per-image probabilities (tiles averaged as ``tile_average`` says)."""
    if cfg.fit != "tile" or int(counts.max()) <= 1:
        return _to_probs(out, cfg.output)
    by_prob = cfg.tile_average == "probabilities"
    mean = tile_mean(_to_probs(out, cfg.output) if by_prob else out, counts)
    return mean if by_prob else _to_probs(mean, cfg.output)


def regression_values(out: torch.Tensor, counts: np.ndarray, model: Model,
                      ids: Callable[[], list[str]]) -> torch.Tensor:  # fmt: skip
    """A regression model's ``[N]`` or ``[N, 1]`` output -> ``[images, 1]`` (tiles averaged);
    the shape is checked here, finiteness by the caller's deferred flag."""
    n_in = int(counts.sum())
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2 or out.shape != (n_in, 1):
        names = ids()
        msg = (f"model {model.name!r} on a batch of {len(names)} images (variant ids: "
               f"{ids_text(names)}): returned shape {list(out.shape)}; a regression target "
               f"expects [{n_in}] or [{n_in}, 1] (one number per input image or tile)")  # fmt: skip
        raise ModelError(msg)
    return tile_mean(out.float(), counts)


def check_regression(out: torch.Tensor, model: Model, ids: list[str]) -> None:
    if not bool(torch.isfinite(out).all()):
        raise ModelError(f"model {model.name!r} on variant ids {ids_text(ids)}: returned NaN or "
                         "infinite values; expected finite numbers")  # fmt: skip


@dataclass
class _Pending:
    index: np.ndarray
    counts: np.ndarray
    vals: torch.Tensor  # per-image results on the device
    raw: torch.Tensor  # the model's output, for the full check of a flagged batch
    bad: torch.Tensor  # 0-dim bool on the device


@dataclass
class _Chunk:
    batches: list[_Pending]
    vals: torch.Tensor  # on the host (filled asynchronously until ``event`` is done)
    flags: torch.Tensor
    event: object = None


@dataclass
class Outputs:
    """Per-image results in the order the batches came, back in manifest order at the end."""

    model: Model
    regression: bool = False
    ids_of: Callable[[np.ndarray], list[str]] = lambda idx: [str(i) for i in idx]
    chunk_rows: int | None = None  # None: CHUNK_ROWS
    rows: list = field(default_factory=list)
    probs: list = field(default_factory=list)
    tiles: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    open: list = field(default_factory=list)
    copying: _Chunk | None = None
    n_open: int = 0

    def add(self, index: np.ndarray, counts: np.ndarray, vals: torch.Tensor, raw: torch.Tensor,
            bad: torch.Tensor) -> None:  # fmt: skip
        """One batch's results (still on the device; checked later)."""
        self.open.append(_Pending(index, counts, vals, raw, bad))
        self.n_open += len(index)
        if self.n_open >= (self.chunk_rows or CHUNK_ROWS):
            self.flush()

    def add_columns(self, index: np.ndarray, counts: np.ndarray, cols: dict) -> None:
        """One batch of localization columns (already checked, on the host)."""
        self.rows.append(index)
        self.tiles.append(counts)
        for k, v in cols.items():
            self.extra.setdefault(k, []).extend(v)
        self.probs.append(np.zeros((len(index), 0), dtype=np.float32))

    def flush(self) -> None:
        """Start the copy of the open chunk; finish (check) the chunk copied before it."""
        if self.open:
            vals = torch.cat([p.vals for p in self.open]).float()
            flags = torch.stack([p.bad for p in self.open])
            chunk = _Chunk(self.open, vals.to("cpu", non_blocking=True),
                           flags.to("cpu", non_blocking=True))  # fmt: skip
            if vals.device.type == "cuda":
                chunk.event = torch.cuda.Event()
                chunk.event.record()
            self.open, self.n_open = [], 0
        else:
            chunk = None
        if self.copying is not None:
            self._finish(self.copying)
        self.copying = chunk

    def _finish(self, chunk: _Chunk) -> None:
        if chunk.event is not None:
            chunk.event.synchronize()
        flags = chunk.flags.numpy()
        if flags.any():
            p = chunk.batches[int(np.argmax(flags))]
            ids = self.ids_of(p.index)
            if self.regression:
                check_regression(p.raw, self.model, ids)
            else:
                check_values(p.raw, self.model, ids)
            raise ModelError(f"{_where(self.model, ids)}: returned values that failed a check")
        self.probs.append(chunk.vals.numpy().astype(np.float32, copy=False))
        for p in chunk.batches:
            self.rows.append(p.index)
            self.tiles.append(p.counts)

    def arrays(self, n_classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
        """(rows, probs, tiles per image, extra columns), sorted by row position."""
        self.flush()
        self.flush()
        if not self.rows:
            return (np.zeros(0, dtype=np.int64), np.zeros((0, n_classes), dtype=np.float32),
                    np.zeros(0, dtype=np.int64), {})  # fmt: skip
        rows = np.concatenate(self.rows)
        order = np.argsort(rows, kind="stable")
        extra = {k: np.asarray(v, dtype=object if k == "map_path" else np.float64)[order]
                 for k, v in self.extra.items()}  # fmt: skip
        return (rows[order], np.concatenate(self.probs)[order],
                np.concatenate(self.tiles)[order], extra)  # fmt: skip
