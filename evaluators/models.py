"""Model plug-ins: one small interface (``predict(batch) -> scores`` plus an input config).

``load_model(spec)`` accepts:

- a built-in name (``reference``: the shipped camera-model classifier; ``reference-localizer``:
  a splice localizer built on its weights; ``dummy``: a tiny model for smoke tests);
- ``package.module:function`` or ``path/to/file.py:function``: a factory returning a
  ``torch.nn.Module``, or ``(module, input_config_dict)``, or a module with an ``input_config``
  attribute;
- a file recognised by its content, whatever its suffix: a TorchScript archive
  (``torch.jit.save``), a ``torch.export`` program (``torch.export.save``, ``.pt2``), or an ONNX
  model (needs the ``onnx`` extra: ``pip install degradebench[onnx]``). A TorchScript/export
  archive may carry its input config as the extra file ``input_config.json``; an ONNX model as
  the metadata property ``input_config`` (JSON).

Each format is one module of :mod:`.formats`, registered in ``MODEL_FORMATS``.

Models without a declared config get :data:`DEFAULT_INPUT_CONFIG`: RGB floats in [0, 1], no
normalisation, centre crop 256 (reflection-padded when smaller), logits out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from ._input_config import DEFAULT_INPUT_CONFIG, InputConfig, resolve_input_config
from .formats import BUILTIN_MODELS, MODEL_FORMATS, classify_spec, format_of, sniff_model_file
from .formats.base import ModelError

__all__ = [
    "Model",
    "ModelError",
    "load_model",
    "sniff_model_file",
    "BUILTIN_MODELS",
    "MODEL_FORMATS",
    "MODEL_LOADERS",
    "model_from_module",
]

MODEL_LOADERS = MODEL_FORMATS  # the earlier name of the format registry


@dataclass
class Model:
    """A loaded model: ``predict`` maps a float batch ``[N, 3, H, W]`` to scores ``[N, C]``."""

    name: str
    spec: str
    kind: str
    input_config: InputConfig
    predict_fn: Callable[[torch.Tensor], torch.Tensor]
    module: torch.nn.Module | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    details: dict[str, Any] = field(default_factory=dict)

    def to(self, device: torch.device | str) -> Model:
        """Move the model (module or predict callable) to ``device``."""
        device = torch.device(device)
        if self.module is not None:
            self.module.to(device)
        if hasattr(self.predict_fn, "to_device"):
            self.predict_fn.to_device(device)  # type: ignore[attr-defined]
        self.device = device
        return self

    @torch.inference_mode()
    def predict(self, batch: torch.Tensor) -> torch.Tensor:
        """Scores ``[N, C]`` for a normalised float batch ``[N, 3, H, W]``."""
        return self.predict_fn(batch)

    def with_input_config(self, cfg: InputConfig) -> Model:
        """A copy with another input config."""
        return replace(self, input_config=cfg)


def _eval_mode(module: torch.nn.Module) -> None:
    try:
        module.eval()
    except NotImplementedError:  # torch.export modules are already in inference form
        pass


def _module_predict(module: torch.nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    def predict(x: torch.Tensor) -> torch.Tensor:
        return module(x)

    return predict


def load_model(
    spec: str,
    *,
    name: str | None = None,
    input_config: Mapping[str, Any] | None = None,
    overrides: list[tuple[str, Mapping[str, Any]]] | None = None,
) -> Model:
    """Load a model from its spec string (see the module docstring).

    Args:
        spec: built-in name, ``pkg.mod:fn``, ``file.py:fn`` or a model file path.
        name: how results name the model (default: derived from the spec).
        input_config: fields that replace the model's declared config (e.g. from a YAML file).
        overrides: further ``(origin, fields)`` layers applied in order (e.g. ``--set``).

    Raises:
        ModelError: the spec cannot be resolved or the model cannot be loaded.
        ConfigError: an input-config field is invalid.
    """
    spec = str(spec)
    kind = classify_spec(spec)
    fmt = format_of(kind)
    obj, declared, details = fmt.load(spec)
    layers: list[tuple[str, Mapping[str, Any] | None]] = []
    if input_config:
        layers.append(("--input-config", input_config))
    layers.extend(overrides or [])
    cfg = resolve_input_config(declared, *layers)
    if isinstance(obj, torch.nn.Module):
        _eval_mode(obj)
        module: torch.nn.Module | None = obj
        predict = _module_predict(obj)
    else:
        module, predict = None, obj
    details["declared_input_config"] = (
        declared.to_dict() if isinstance(declared, InputConfig) else declared
    )
    details["uses_default_input_config"] = declared is None
    return Model(
        name=name or fmt.default_name(spec),
        spec=spec,
        kind=kind,
        input_config=cfg,
        predict_fn=predict,
        module=module,
        details=details,
    )


def model_from_module(
    module: torch.nn.Module, *, name: str, input_config: Mapping[str, Any] | None = None
) -> Model:
    """Wrap an in-memory module (for library use and tests) with its input config."""
    cfg = resolve_input_config(input_config) if input_config else DEFAULT_INPUT_CONFIG
    _eval_mode(module)
    return Model(
        name=name,
        spec=f"<in-memory {type(module).__name__}>",
        kind="module",
        input_config=cfg,
        predict_fn=_module_predict(module),
        module=module,
    )
