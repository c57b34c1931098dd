"""Work that does not wait for the model: started in a background thread, taken when needed.

A 200,000-variant ``evaluate`` on a GPU spends seconds outside the model's loop: the
interpreter's and the model file's imports, CUDA's start, the manifest's read and hash, the
bootstrap's weights. None of them needs the others, so the CLI starts reading (and hashing) the
manifest and starting CUDA before it loads the model (:func:`prefetch_input`,
:func:`warm_cuda`), and ``evaluate`` draws the bootstrap weights while a GPU runs the model
(:class:`EarlyBootstrap`). Each is a :class:`Background` whose result, or exception, is taken
once; a result that does not fit (another manifest or folds, other sources) is not used and the
work is done again in line, so the numbers never depend on what was prefetched.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pandas as pd

from . import metrics as M
from ._manifest_in import ManifestInput, read_input
from ._reuse import manifest_sha256

__all__ = ["Background", "prefetch_input", "take_input", "warm_cuda", "EarlyBootstrap"]


class Background:
    """``fn(*args, **kwargs)`` in a daemon thread; :meth:`result` waits for it and returns its
    value or raises its exception."""

    def __init__(self, fn, *args: Any, **kwargs: Any):
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn, args, kwargs), daemon=True,
                                        name=f"degradebench-{getattr(fn, '__name__', 'work')}")  # fmt: skip
        self._thread.start()

    def _run(self, fn, args, kwargs) -> None:
        try:
            self._value = fn(*args, **kwargs)
        except BaseException as exc:  # handed to whoever takes the result
            self._error = exc

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


_INPUTS: dict[tuple[str, str], Background] = {}


def _input_key(manifest: str | Path, folds) -> tuple[str, str]:
    return str(Path(manifest).resolve()), json.dumps(folds, default=str)


def _read_and_hash(manifest: str | Path, folds) -> tuple[ManifestInput, pd.DataFrame, str]:
    mi, full = read_input(manifest, folds)
    return mi, full, manifest_sha256(full)


def prefetch_input(manifest: str | Path, folds=None) -> None:
    """Start reading ``manifest`` for evaluation (and hashing it for the results key) in the
    background; the ``evaluate`` call that follows with the same manifest and folds takes it."""
    _INPUTS[_input_key(manifest, folds)] = Background(_read_and_hash, manifest, folds)


def take_input(manifest: str | Path, folds) -> tuple[ManifestInput, pd.DataFrame, str | None]:
    """(manifest input, full frame, the full frame's hash or None): prefetched when
    :func:`prefetch_input` was called with the same manifest and folds, else read now. A
    prefetch's errors are raised here, where reading the manifest would have raised them."""
    pending = _INPUTS.pop(_input_key(manifest, folds), None)
    if pending is not None:
        return pending.result()
    mi, full = read_input(manifest, folds)
    return mi, full, None


def _cuda_start(device: str) -> None:
    import torch
    import torch.nn.functional as F

    if not torch.cuda.is_available():
        return
    dev = torch.device("cuda" if device == "auto" else device)
    x = torch.zeros((2, 3, 16, 16), device=dev)
    w = torch.zeros((4, 3, 3, 3), device=dev)
    F.conv2d(x, w)  # loads cuDNN
    with torch.autocast("cuda", dtype=torch.float16):
        F.conv2d(x, w)
        x.flatten(1) @ torch.zeros((768, 4), device=dev)  # cuBLAS's handle
    torch.cuda.synchronize(dev)


def warm_cuda(device: str) -> Background | None:
    """Start CUDA (context, cuDNN, cuBLAS) in the background when ``device`` may be a GPU;
    nothing on ``cpu``. Failures are left for the run itself to report."""
    if device == "cpu":
        return None
    return Background(_cuda_start, device)


class EarlyBootstrap:
    """The bootstrap weights (:class:`metrics.Bootstrap`) drawn in the background from the
    manifest's sources while the model runs; :meth:`get` returns them for the predictions'
    sources when those are the same (every source scored), else draws them again."""

    def __init__(self, source_ids, n_boot: int, seed: int):
        self.n_boot, self.seed = int(n_boot), int(seed)
        self._pending = (Background(M.Bootstrap, source_ids, n_boot=self.n_boot, seed=self.seed)
                         if self.n_boot > 0 else None)  # fmt: skip

    def get(self, source_ids) -> M.Bootstrap:
        if self._pending is not None:
            try:
                boot = self._pending.result()
            except Exception:  # drawn again below, where its error would show
                boot = None
            if boot is not None and boot.sources.equals(M.Bootstrap.unique_sources(source_ids)):
                return boot
        return M.Bootstrap(source_ids, n_boot=self.n_boot, seed=self.seed)
