"""What every model format shares: the error type, the loader signature, factory results."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from degradebench.generators.core.errors import DegradebenchError

from .._input_config import InputConfig

__all__ = ["ModelError", "Loaded", "ModelFormat", "file_stem", "split_factory_result"]

# A format's loader: ``load(spec) -> (module or predict callable, declared input config or None,
# details for run.json)``.
Loaded = tuple[Any, Any, dict]


class ModelError(DegradebenchError):
    """A model that cannot be loaded, or that misbehaves on a batch (raises, NaN, wrong shape)."""


def file_stem(spec: str) -> str:
    """A model file's name without its suffix: the default model name of a file format."""
    return Path(spec).stem or Path(spec).name


def _no_code_file(spec: str) -> str | None:
    return None


@dataclass(frozen=True)
class ModelFormat:
    """A registered model format: its loader (calling the format calls it), the model name a
    spec gives by default, and the source file (if any) the model depends on besides its
    weights (hashed into the results key so an edited factory is evaluated again)."""

    load: Callable[[str], Loaded]
    default_name: Callable[[str], str] = file_stem
    code_file: Callable[[str], str | None] = _no_code_file

    def __call__(self, spec: str) -> Loaded:
        """``load(spec)``."""
        return self.load(spec)


def split_factory_result(result: Any, spec: str) -> tuple[Any, Mapping | None]:
    """A factory's return value -> (module or callable, declared input config or None)."""
    cfg = None
    if isinstance(result, tuple) and len(result) == 2:
        result, cfg = result
    if not isinstance(result, torch.nn.Module) and not callable(result):
        msg = (
            f"model {spec!r}: the factory returned {type(result).__name__}; expected a "
            "torch.nn.Module or (module, input_config dict)"
        )
        raise ModelError(msg)
    if cfg is None:
        cfg = getattr(result, "input_config", None)
    if cfg is not None and not isinstance(cfg, (Mapping, InputConfig)):
        msg = f"model {spec!r}: input config must be a mapping, got {type(cfg).__name__}"
        raise ModelError(msg)
    return result, cfg
