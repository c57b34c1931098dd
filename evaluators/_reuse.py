"""What a result set depends on (its key), so that rerunning ``evaluate`` reuses what is there.

The key holds the model spec and kind, a hash of its weights (the module's tensors, or the model
file's bytes; plus the factory file's bytes for ``file.py:function``), the input config and
classes, a hash of the manifest's rows, and the settings that change the numbers (folds, top-k,
bootstrap, seed, break points, baseline, amp, channels-last, device, hash checking,
``save_maps``, ``no_score_px``, ``fpr``, ``axes``, and ``target`` when it is not ``label`` and
the model is not a localization model). The manifest's hash covers the truth of a forensic
run too (``manipulated``, ``manipulation``, the mask paths and their sha256). It is stored
in ``run.json`` (``key`` and ``key_sha256``); an ``evaluate`` with the same key on a complete
RESULTS folder returns the files that are there. A model whose weights cannot be hashed (a plain
callable) is never reused.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .formats import MODEL_FORMATS, format_of
from .models import Model
from .results import RESULT_FILES, TABLES, read_run

__all__ = ["weights_sha256", "manifest_sha256", "results_key", "key_sha256", "reusable"]

_MANIFEST_KEY_COLUMNS = ("variant_id", "source_id", "suite", "dataset", "label", "fold", "axis",
                         "level", "level_value", "path", "sha256", "manipulated", "manipulation",
                         "mask_path", "mask_sha256")  # fmt: skip


def _file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def weights_sha256(model: Model) -> str | None:
    """sha256 over the model file's bytes (TorchScript, export, ONNX: the graph is in the file)
    and the module's named tensors (name, dtype, shape, bytes); None when neither exists (then
    results are never reused)."""
    h = hashlib.sha256()
    found = False
    if Path(model.spec).is_file():
        h.update(_file_sha256(model.spec).encode())
        found = True
    if model.module is not None:
        h.update(type(model.module).__qualname__.encode())
        for name, t in model.module.state_dict().items():
            arr = t.detach().cpu().contiguous()
            h.update(f"{name}|{arr.dtype}|{tuple(arr.shape)}".encode())
            if arr.numel():
                h.update(arr.reshape(-1).view(torch.uint8).numpy().tobytes())
        found = True
    return h.hexdigest() if found else None


def _class_files(module: torch.nn.Module) -> set[str]:
    """The source files of every class the module is built from (its submodules and their
    bases): an edit there changes what forward computes, whatever the weights."""
    files: set[str] = set()
    for sub in module.modules():
        for cls in type(sub).__mro__:
            try:
                path = inspect.getsourcefile(cls)
            except (TypeError, OSError):  # builtins, classes made at run time
                continue
            if path:
                files.add(path)
    return files


def _code_sha256(model: Model) -> str | None:
    """The hash of the source the model depends on besides its weights: the factory's file the
    format names and the files of the module's classes (so editing a helper module that
    defines a layer re-evaluates)."""
    target = format_of(model.kind).code_file(model.spec) if model.kind in MODEL_FORMATS else None
    files = {target} if target else set()
    if model.module is not None and model.kind not in ("torchscript", "export"):
        files |= _class_files(model.module)
    files = {f for f in files if Path(f).is_file()}
    if not files:
        return None
    h = hashlib.sha256()
    for f in sorted(files):
        h.update(f"{f}|{_file_sha256(f)}".encode())
    return h.hexdigest()


def _sorted_order(df: pd.DataFrame, cols: list[str]) -> np.ndarray:
    """The row order of ``df.sort_values(cols, kind="stable")``: by the first column alone when
    its values are distinct (variant ids are: ties, the only thing later columns decide, cannot
    happen), which costs a fraction of sorting on every column."""
    first = df[cols[0]]
    by = cols[:1] if first.is_unique else cols
    return df.reset_index(drop=True).sort_values(by, kind="stable").index.to_numpy()


def manifest_sha256(manifest: pd.DataFrame) -> str:
    """A hash of the manifest rows evaluation depends on (order-free): sha256 of the rows'
    hashes (``hash_pandas_object`` of the key columns as strings) in sorted row order. A row's
    hash depends on that row only, so the rows are hashed where they are and their hashes put
    in order (the same value as hashing a sorted copy of the frame, without making one)."""
    cols = [c for c in _MANIFEST_KEY_COLUMNS if c in manifest]
    df = manifest[cols].astype(str)
    hashed = pd.util.hash_pandas_object(df, index=False).to_numpy(dtype=np.uint64)
    if len(df) and cols:
        hashed = hashed[_sorted_order(df, cols)]
    return hashlib.sha256(hashed.tobytes() + json.dumps(cols).encode()).hexdigest()


def results_key(model: Model, classes: list[str], manifest: pd.DataFrame, settings: dict,
                manifest_sha: str | None = None) -> dict:  # fmt: skip
    """Everything the results depend on (see the module docstring); ``manifest_sha``: the
    frame's :func:`manifest_sha256` when it was computed already (a prefetch)."""
    return {
        "model_name": model.name,
        "model_spec": model.spec,
        "model_kind": model.kind,
        "weights_sha256": weights_sha256(model),
        "code_sha256": _code_sha256(model),
        "input_config": model.input_config.to_dict(),
        "classes": list(classes),
        "manifest_sha256": manifest_sha or manifest_sha256(manifest),
        "settings": settings,
    }


def key_sha256(key: dict) -> str:
    """The key's own hash (what ``run.json`` compares)."""
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


def reusable(out: Path, key: dict) -> bool:
    """Whether ``out`` holds a complete result set made with exactly this key."""
    if key.get("weights_sha256") is None:
        return False
    run = read_run(out)
    if not run or run.get("key_sha256") != key_sha256(key):
        return False
    return all((Path(out) / RESULT_FILES[t]).is_file() for t in TABLES)
