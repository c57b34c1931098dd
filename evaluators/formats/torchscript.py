"""Format ``torchscript``: a ``torch.jit.save`` archive (input config as ``input_config.json``)."""

from __future__ import annotations

import json
import warnings

import torch

from .base import Loaded, ModelError, ModelFormat

__all__ = ["FORMAT", "load"]


def load(spec: str) -> Loaded:
    """``torch.jit.load`` on CPU, with the archive's ``input_config.json`` when it has one."""
    extra = {"input_config.json": ""}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is deprecated
            module = torch.jit.load(spec, map_location="cpu", _extra_files=extra)
    except Exception as exc:
        raise ModelError(f"model {spec!r}: torch.jit.load failed: {exc}") from exc
    cfg = json.loads(extra["input_config.json"]) if extra["input_config.json"] else None
    return module, cfg, {}


FORMAT = ModelFormat(load)  # named by the file's stem
