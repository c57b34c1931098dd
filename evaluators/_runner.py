"""Run a model over manifest rows: batches in, per-variant probabilities out.

Handles the device (auto | cuda | cpu), mixed precision, a forward batch that halves on CUDA
out-of-memory and stays halved, tile averaging, and checks every output (shape, finiteness,
probability rows) so a faulty model stops with a message that names it and the batch.
A localization model's maps are checked, brought to each image's size and scored per image as
each batch arrives (:mod:`._localize`); only the per-image figures are kept.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from degradebench.generators.core.errors import ConfigError, DegradebenchError
from tqdm import tqdm

from ._fit import normalise
from ._loader import MaskSpec, VariantDataset, default_workers, make_loader, size_batches
from ._localize import LocalizeSpec, as_parts, cat_parts, localize_batch
from .models import Model, ModelError

__all__ = ["RunOutput", "run_model", "resolve_device"]


@dataclass
class RunOutput:
    """Per-row results of one model over a manifest (rows that failed are in ``errors``)."""

    rows: np.ndarray  # positions (into the given manifest frame) that produced scores
    probs: np.ndarray  # [N, C] float32
    n_tiles: np.ndarray  # [N]
    errors: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    images_per_s: float = 0.0
    device: str = "cpu"
    batch_size: int = 0
    final_forward_batch: int = 0
    amp: bool = False
    workers: int = 0
    channels_last: bool = False
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # per-row columns (localization)


def resolve_device(device: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without CUDA is an error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda: CUDA is not available here; use --device cpu or auto")
        return torch.device(device)
    if device == "cpu":
        return torch.device("cpu")
    raise ConfigError(f"--device: must be auto, cuda, cuda:N or cpu, got {device!r}")


def _ids(variant_ids: list[str], limit: int = 6) -> str:
    shown = ", ".join(str(v) for v in variant_ids[:limit])
    more = len(variant_ids) - limit
    return shown + (f", ... (+{more} more)" if more > 0 else "")


class _Forward:
    """Forward pass in chunks; on CUDA out-of-memory the chunk halves and stays halved."""

    def __init__(self, model: Model, amp: bool, device: torch.device, localize: bool = False):
        self.model = model
        self.localize = localize
        self.chunk: int | None = None  # None: the whole loader batch in one forward pass
        self.amp = amp
        self.device = device
        self.halvings = 0

    def __call__(self, x: torch.Tensor):
        """Scores ``[N, C]`` (or, for localization, ``{"map": ..., "score": ...}``)."""
        outs = []
        i = 0
        while i < len(x):
            part = x[i : i + self.chunk] if self.chunk else x[i:]
            try:
                if self.amp:
                    dtype = torch.float16 if self.device.type == "cuda" else torch.bfloat16
                    with torch.autocast(self.device.type, dtype=dtype):
                        out = self.model.predict(part)
                else:
                    out = self.model.predict(part)
            except torch.OutOfMemoryError:
                if len(part) == 1:
                    msg = f"model {self.model.name!r}: out of memory even with a batch of 1 image"
                    raise ModelError(msg) from None
                self.chunk = max(1, len(part) // 2)
                self.halvings += 1
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                print(
                    f"degradebench evaluate: out of memory; forward batch halved to {self.chunk}",
                    file=sys.stderr,
                )
                continue
            outs.append(as_parts(out, self.model.name) if self.localize else _scores_of(out))
            i += len(part)
        if self.localize:
            return cat_parts(outs)
        return torch.cat(outs) if outs else torch.empty((0, 0))


def _scores_of(out) -> torch.Tensor:
    if not isinstance(out, torch.Tensor):
        # Some modules return (logits, aux); the first tensor is the scores.
        if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
            out = out[0]
        elif isinstance(out, Mapping):
            keys = sorted(map(str, out))
            raise TypeError(f"returned a dict with keys {keys}, not a tensor (a model returning "
                            "maps needs task: localization in its input config)")  # fmt: skip
        else:
            raise TypeError(f"returned {type(out).__name__}, not a tensor; expected a tensor "
                            "[N, C] of class scores ([N] or [N, 1] for a numeric --target), or, "
                            "with task: localization in the input config, a map [N, 1, h, w] / "
                            "[N, h, w] or {'score': [N], 'map': [N, 1, h, w]}")  # fmt: skip
    return out.float()


def _check_output(
    out: torch.Tensor, n_tiles: int, n_classes: int, model: Model, ids: list[str]
) -> None:
    where = f"model {model.name!r} on a batch of {len(ids)} images (variant ids: {_ids(ids)})"
    if out.ndim != 2 or out.shape[0] != n_tiles:
        msg = (
            f"{where}: returned shape {list(out.shape)}; expected [{n_tiles}, {n_classes}] "
            "(one row of class scores per input image or tile)"
        )
        raise ModelError(msg)
    if out.shape[1] != n_classes:
        msg = (
            f"{where}: output width {out.shape[1]} does not match the number of classes "
            f"{n_classes}; expected [{n_tiles}, {n_classes}]. Set the model's 'classes' in its "
            "input config when it was trained on other labels"
        )
        raise ModelError(msg)
    finite = torch.isfinite(out)
    if not bool(finite.all()):
        bad_rows = (~finite).any(dim=1).nonzero().flatten().tolist()
        msg = (
            f"{where}: returned NaN or infinite scores in {len(bad_rows)} of {n_tiles} rows; "
            "expected finite scores"
        )
        raise ModelError(msg)
    if model.input_config.output == "probabilities":
        sums = out.sum(dim=1)
        if bool((out < -1e-4).any()) or not torch.allclose(sums, torch.ones_like(sums), atol=1e-3):
            msg = (
                f"{where}: input config says output=probabilities but rows are not probability "
                f"vectors (row sums {sums.min().item():.4g}..{sums.max().item():.4g}); expected "
                "non-negative rows summing to 1, or set output=logits"
            )
            raise ModelError(msg)


def _batches(loader, workers: int):
    it = iter(loader)
    while True:
        try:
            yield next(it)
        except StopIteration:
            return
        except RuntimeError as exc:
            if workers and "DataLoader" in str(exc):
                msg = (
                    f"decoding workers failed or stalled ({exc}); rerun with --workers 0 to "
                    "decode in the main process"
                )
                raise DegradebenchError(msg) from exc
            raise


def _to_probs(scores: torch.Tensor, output: str) -> torch.Tensor:
    return torch.softmax(scores, dim=1) if output == "logits" else scores


def _image_probs(out: torch.Tensor, counts: torch.Tensor, cfg) -> torch.Tensor:
    """Per-tile scores -> per-image probabilities (tiles averaged as ``tile_average`` says)."""
    if cfg.fit != "tile" or int(counts.max()) <= 1:
        return _to_probs(out, cfg.output)
    by_prob = cfg.tile_average == "probabilities"
    mean = _tile_mean(_to_probs(out, cfg.output) if by_prob else out, counts)
    return mean if by_prob else _to_probs(mean, cfg.output)


def _tile_mean(vals: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Per-tile rows ``[T, C]`` -> per-image means ``[N, C]`` (image i owns ``counts[i]`` rows)."""
    n = len(counts)
    owner = torch.repeat_interleave(torch.arange(n, device=vals.device), counts)
    summed = torch.zeros((n, vals.shape[1]), device=vals.device).index_add_(0, owner, vals)
    return summed / counts[:, None].float()


def _regression_values(out: torch.Tensor, counts: torch.Tensor, model: Model,
                       ids: list[str]) -> torch.Tensor:  # fmt: skip
    """A regression model's ``[N]`` or ``[N, 1]`` output -> ``[images, 1]`` (tiles averaged)."""
    n_in = int(counts.sum())
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2 or out.shape != (n_in, 1):
        msg = (f"model {model.name!r} on a batch of {len(ids)} images (variant ids: {_ids(ids)}): "
               f"returned shape {list(out.shape)}; a regression target expects [{n_in}] or "
               f"[{n_in}, 1] (one number per input image or tile)")  # fmt: skip
        raise ModelError(msg)
    if not bool(torch.isfinite(out).all()):
        raise ModelError(f"model {model.name!r} on variant ids {_ids(ids)}: returned NaN or "
                         "infinite values; expected finite numbers")  # fmt: skip
    return _tile_mean(out, counts)


def _score(batch, model: Model, forward: _Forward, dev, n_classes: int, ids: list[str],
           channels_last: bool, regression: bool = False,
           localize: LocalizeSpec | None = None):  # fmt: skip
    """One loader batch -> per-image probabilities (localization: the per-image columns of
    :mod:`._localize`), every failure named with the batch's ids."""
    cfg = model.input_config
    n = len(batch.index)
    x = normalise(batch.tiles.to(dev, non_blocking=True), cfg)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    try:
        out = forward(x)
    except ModelError as exc:
        if "variant ids" in str(exc):
            raise
        # e.g. out of memory at one image: say which images
        raise ModelError(f"{exc} (a batch of {n} images, variant ids: {_ids(ids)})") from exc
    except Exception as exc:
        want = (f"a map [{len(x)}, 1, h, w] or {{'score', 'map'}}" if localize is not None
                else f"scores [{len(x)}, {n_classes}]")  # fmt: skip
        msg = (
            f"model {model.name!r} raised {type(exc).__name__}: {exc} on a batch of "
            f"{n} images (variant ids: {_ids(ids)}); expected input "
            f"[{len(x)}, 3, {x.shape[2]}, {x.shape[3]}] float -> {want}"
        )
        raise ModelError(msg) from exc
    if localize is not None:
        return localize_batch(out, batch, model, ids, localize)
    if regression:
        return _regression_values(out, batch.counts.to(out.device), model, ids)
    _check_output(out, len(x), n_classes, model, ids)
    return _image_probs(out, batch.counts.to(out.device), cfg)


def _dataset(model: Model, manifest: pd.DataFrame, root, check_hash: bool,
             localize: LocalizeSpec | None) -> VariantDataset:  # fmt: skip
    sha = manifest["sha256"].tolist() if check_hash and "sha256" in manifest else None
    masks = None
    if localize is not None:
        paths = manifest["mask_path"].tolist() if "mask_path" in manifest else [None] * len(manifest)
        mask_sha = (manifest["mask_sha256"].tolist()
                    if check_hash and "mask_sha256" in manifest else None)  # fmt: skip
        masks = MaskSpec(paths, mask_sha)
    return VariantDataset(root, manifest["path"].tolist(), sha, model.input_config, masks)


def _batch_plan(manifest: pd.DataFrame, model: Model, batch_size: int) -> list[list[int]] | None:
    """``fit: full``: batches of rows of one size (the manifest's height x width)."""
    if model.input_config.fit != "full":
        return None
    n = len(manifest)
    hs = manifest["height"].tolist() if "height" in manifest else [None] * n
    ws = manifest["width"].tolist() if "width" in manifest else [None] * n
    return size_batches(hs, ws, batch_size)


@dataclass
class _Collected:
    """What the batches produced, put back in manifest order at the end."""

    rows: list = field(default_factory=list)
    probs: list = field(default_factory=list)
    tiles: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def add(self, batch, out) -> None:
        self.rows.append(batch.index.numpy())
        self.tiles.append(batch.counts.numpy())
        if isinstance(out, dict):  # localization columns
            for k, v in out.items():
                self.extra.setdefault(k, []).extend(v)
            self.probs.append(np.zeros((len(batch.index), 0), dtype=np.float32))
        else:
            self.probs.append(out.cpu().numpy().astype(np.float32))

    def arrays(self, n_classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
        if not self.rows:
            return (np.zeros(0, dtype=np.int64), np.zeros((0, n_classes), dtype=np.float32),
                    np.zeros(0, dtype=np.int64), {})  # fmt: skip
        rows = np.concatenate(self.rows)
        order = np.argsort(rows, kind="stable")
        extra = {k: np.asarray(v, dtype=object if k == "map_path" else np.float64)[order]
                 for k, v in self.extra.items()}  # fmt: skip
        return (rows[order], np.concatenate(self.probs)[order],
                np.concatenate(self.tiles)[order], extra)  # fmt: skip


def run_model(
    model: Model,
    manifest: pd.DataFrame,
    root,
    *,
    n_classes: int,
    device: str = "auto",
    batch_size: int = 32,
    workers: int | None = None,
    amp: bool = False,
    check_hash: bool = True,
    progress: bool = True,
    channels_last: bool = False,
    regression: bool = False,
    localize: LocalizeSpec | None = None,
) -> RunOutput:
    """Score every manifest row with ``model``; failures per file land in ``errors``.

    With ``regression`` the model returns one number per image (``[N]`` or ``[N, 1]``) and
    ``probs`` holds it as ``[N, 1]`` (no softmax). With ``localize`` (a localization model) the
    loader reads each variant's mask, and ``extra`` holds the per-image columns of
    :data:`._localize.LOCALIZATION_COLUMNS` (``probs`` is ``[N, 0]``). Rows come back in manifest
    order.

    Raises:
        ModelError: the model raised, returned NaN/inf, or the wrong shape.
    """
    dev = resolve_device(device)
    model.to(dev)
    if channels_last and model.module is not None:
        # NHWC convolutions: about 1.6x faster on CPU; scores differ from NCHW by float rounding.
        model.module.to(memory_format=torch.channels_last)
    if workers is None:
        workers = default_workers()
    ds = _dataset(model, manifest, root, check_hash, localize)
    loader = make_loader(ds, batch_size=batch_size, workers=workers, pin_memory=dev.type == "cuda",
                         batches=_batch_plan(manifest, model, batch_size))  # fmt: skip
    forward = _Forward(model, amp, dev, localize=localize is not None)
    variant_ids = manifest["variant_id"].astype(str).tolist()
    paths = manifest["path"].tolist()
    got = _Collected()
    errors: list[dict] = []
    bar = tqdm(total=len(ds), unit="img", desc=f"evaluate {model.name}", disable=not progress,
               file=sys.stderr, dynamic_ncols=True)  # fmt: skip
    t0 = time.perf_counter()
    try:
        for batch in _batches(loader, workers):
            errors += [{"variant_id": variant_ids[pos], "path": paths[pos], "stage": stage,
                        "message": message} for pos, stage, message in batch.errors]  # fmt: skip
            if len(batch.index):
                ids = [variant_ids[i] for i in batch.index.tolist()]
                got.add(batch, _score(batch, model, forward, dev, n_classes, ids, channels_last,
                                      regression, localize))  # fmt: skip
            bar.update(len(batch.index) + len(batch.errors))
    finally:
        bar.close()
    seconds = time.perf_counter() - t0
    rows, probs, n_tiles, extra = got.arrays(n_classes)
    return RunOutput(
        rows=rows,
        probs=probs,
        n_tiles=n_tiles,
        errors=errors,
        seconds=seconds,
        images_per_s=len(rows) / seconds if seconds > 0 else float("nan"),
        device=str(dev),
        batch_size=batch_size,
        final_forward_batch=forward.chunk or batch_size,
        amp=amp,
        workers=workers,
        channels_last=channels_last,
        extra=extra,
    )
