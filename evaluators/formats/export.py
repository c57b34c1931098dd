"""Format ``export``: a ``torch.export.save`` program (``.pt2``, recognised by content)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import torch

from .base import Loaded, ModelError, ModelFormat

__all__ = ["FORMAT", "load"]


def load(spec: str) -> Loaded:
    """``torch.export.load`` from the file's bytes, with its ``input_config.json`` extra file."""
    extra = {"input_config.json": ""}
    try:
        # From a buffer: torch.export.load insists on the .pt2 suffix for paths; we go by content.
        program = torch.export.load(io.BytesIO(Path(spec).read_bytes()), extra_files=extra)
    except Exception as exc:
        raise ModelError(f"model {spec!r}: torch.export.load failed: {exc}") from exc
    cfg = json.loads(extra["input_config.json"]) if extra["input_config.json"] else None
    return program.module(), cfg, {}


FORMAT = ModelFormat(load)  # named by the file's stem
