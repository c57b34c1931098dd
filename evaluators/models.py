"""Model plug-ins: one small interface (``predict(batch) -> scores`` plus an input config).

``load_model(spec)`` accepts:

- a built-in name (``reference``: the shipped camera-model classifier);
- ``package.module:function`` or ``path/to/file.py:function``: a factory returning a
  ``torch.nn.Module``, or ``(module, input_config_dict)``, or a module with an ``input_config``
  attribute;
- a file recognised by its content, whatever its suffix: a TorchScript archive
  (``torch.jit.save``), a ``torch.export`` program (``torch.export.save``, ``.pt2``), or an ONNX
  model (needs the ``onnx`` extra: ``pip install degradebench[onnx]``). A TorchScript/export
  archive may carry its input config as the extra file ``input_config.json``; an ONNX model as
  the metadata property ``input_config`` (JSON).

Models without a declared config get :data:`DEFAULT_INPUT_CONFIG`: RGB floats in [0, 1], no
normalisation, centre crop 256 (reflection-padded when smaller), logits out.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import sys
import warnings
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from degradebench.generators.core.errors import ConfigError, DegradebenchError
from degradebench.generators.core.messages import suggest
from degradebench.generators.core.registry import Registry, import_target

from ._input_config import DEFAULT_INPUT_CONFIG, InputConfig, resolve_input_config

__all__ = [
    "Model",
    "ModelError",
    "load_model",
    "sniff_model_file",
    "BUILTIN_MODELS",
    "MODEL_LOADERS",
    "model_from_module",
]


class ModelError(DegradebenchError):
    """A model that cannot be loaded, or that misbehaves on a batch (raises, NaN, wrong shape)."""


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
        device = torch.device(device)
        if self.module is not None:
            self.module.to(device)
        if hasattr(self.predict_fn, "to_device"):
            self.predict_fn.to_device(device)  # type: ignore[attr-defined]
        self.device = device
        return self

    @torch.inference_mode()
    def predict(self, batch: torch.Tensor) -> torch.Tensor:
        return self.predict_fn(batch)

    def with_input_config(self, cfg: InputConfig) -> Model:
        return replace(self, input_config=cfg)


# --- loaders --------------------------------------------------------------------------------

MODEL_LOADERS: Registry[Callable[..., tuple[Any, Any, dict]]] = Registry("model loader")
BUILTIN_MODELS: Registry[Callable[[], Any]] = Registry("built-in model")
BUILTIN_MODELS.register("reference", "degradebench.evaluators.reference:load_reference")


def _eval_mode(module: torch.nn.Module) -> None:
    try:
        module.eval()
    except NotImplementedError:  # torch.export modules are already in inference form
        pass


def _module_predict(module: torch.nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    def predict(x: torch.Tensor) -> torch.Tensor:
        return module(x)

    return predict


def _split_factory_result(result: Any, spec: str) -> tuple[Any, Mapping | None]:
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


def _import_file_attr(path: Path, attr: str, spec: str) -> Any:
    mod_name = "degradebench_user_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    if mod_name in sys.modules:
        mod = sys.modules[mod_name]
    else:
        ispec = importlib.util.spec_from_file_location(mod_name, path)
        if ispec is None or ispec.loader is None:
            raise ModelError(f"model {spec!r}: cannot import {path} as a Python file")
        mod = importlib.util.module_from_spec(ispec)
        sys.modules[mod_name] = mod
        try:
            ispec.loader.exec_module(mod)
        except Exception as exc:
            del sys.modules[mod_name]
            raise ModelError(f"model {spec!r}: importing {path} failed: {exc!r}") from exc
    obj = mod
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(mod) if not n.startswith("_")]
            raise ModelError(
                f"model {spec!r}: {path} has no attribute {attr!r}; {suggest(attr, names)}"
                f"available: {', '.join(names[:20])}"
            )
        obj = getattr(obj, part)
    return obj


@MODEL_LOADERS.register("python")
def _load_python(spec: str) -> tuple[Any, Any, dict]:
    target, _, attr = spec.rpartition(":")
    if target.endswith(".py") or os.sep in target or "/" in target:
        path = Path(target)
        if not path.is_file():
            raise ModelError(f"model {spec!r}: Python file {target!r} does not exist")
        factory = _import_file_attr(path, attr, spec)
    else:
        try:
            factory = import_target(f"{target}:{attr}")
        except ConfigError as exc:
            raise ModelError(f"model {exc}") from None
    if not callable(factory):
        raise ModelError(f"model {spec!r}: {attr!r} is not callable ({type(factory).__name__})")
    try:
        result = factory()
    except Exception as exc:
        raise ModelError(f"model {spec!r}: the factory raised {exc!r}") from exc
    module, cfg = _split_factory_result(result, spec)
    return module, cfg, {"factory": spec}


def _zip_names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        return zf.namelist()


def sniff_model_file(path: str | Path) -> str:
    """Say what a model file is from its bytes: ``torchscript``, ``export``, ``onnx``, or raise."""
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(64)
    if head.startswith(b"PK\x03\x04"):
        try:
            names = _zip_names(path)
        except zipfile.BadZipFile as exc:
            raise ModelError(f"model {str(path)!r}: a damaged zip archive: {exc}") from None
        rel = {n.split("/", 1)[1] if "/" in n else n for n in names}
        if "archive_format" in rel or "serialized_exported_program.json" in rel:
            return "export"
        if "constants.pkl" in rel and any(r.startswith("code/") for r in rel):
            return "torchscript"
        if "data.pkl" in rel:
            msg = (
                f"model {str(path)!r}: a torch.save checkpoint (state dict or pickled object), "
                "not a model archive; save it with torch.jit.save or torch.export.save, or give "
                "a Python factory 'path/to/file.py:build' that builds the module and loads it"
            )
            raise ModelError(msg)
        raise ModelError(
            f"model {str(path)!r}: a zip archive that is neither TorchScript nor torch.export"
        )
    # ONNX ModelProto: field 1 (ir_version, varint) comes first in every exporter's output.
    if head[:1] == b"\x08":
        return "onnx"
    msg = (
        f"model {str(path)!r}: unrecognised file (first bytes {head[:8].hex()}); expected a "
        "TorchScript archive, a torch.export .pt2 program or an ONNX model"
    )
    raise ModelError(msg)


@MODEL_LOADERS.register("torchscript")
def _load_torchscript(spec: str) -> tuple[Any, Any, dict]:
    extra = {"input_config.json": ""}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is deprecated
            module = torch.jit.load(spec, map_location="cpu", _extra_files=extra)
    except Exception as exc:
        raise ModelError(f"model {spec!r}: torch.jit.load failed: {exc}") from exc
    cfg = json.loads(extra["input_config.json"]) if extra["input_config.json"] else None
    return module, cfg, {}


@MODEL_LOADERS.register("export")
def _load_export(spec: str) -> tuple[Any, Any, dict]:
    extra = {"input_config.json": ""}
    try:
        # From a buffer: torch.export.load insists on the .pt2 suffix for paths; we go by content.
        program = torch.export.load(io.BytesIO(Path(spec).read_bytes()), extra_files=extra)
    except Exception as exc:
        raise ModelError(f"model {spec!r}: torch.export.load failed: {exc}") from exc
    cfg = json.loads(extra["input_config.json"]) if extra["input_config.json"] else None
    return program.module(), cfg, {}


class _OnnxPredict:
    def __init__(self, path: str):
        import onnxruntime as ort

        self._ort = ort
        self._path = path
        self._providers = ["CPUExecutionProvider"]
        self._session = ort.InferenceSession(path, providers=self._providers)
        self._input = self._session.get_inputs()[0].name

    def to_device(self, device: torch.device) -> None:
        wanted = ["CUDAExecutionProvider", "CPUExecutionProvider"]
        providers = ["CPUExecutionProvider"]
        if device.type == "cuda" and "CUDAExecutionProvider" in self._ort.get_available_providers():
            providers = wanted
        if providers != self._providers:
            self._providers = providers
            self._session = self._ort.InferenceSession(self._path, providers=providers)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        arr = x.detach().to("cpu", torch.float32).numpy()
        out = self._session.run(None, {self._input: np.ascontiguousarray(arr)})[0]
        return torch.from_numpy(np.asarray(out)).to(x.device)


@MODEL_LOADERS.register("onnx")
def _load_onnx(spec: str) -> tuple[Any, Any, dict]:
    try:
        import onnxruntime
    except ImportError:
        msg = (
            f"model {spec!r} is an ONNX file but onnxruntime is not installed; "
            "install the extra: pip install 'degradebench[onnx]'"
        )
        raise ModelError(msg) from None
    try:
        predict = _OnnxPredict(spec)
    except Exception as exc:
        raise ModelError(f"model {spec!r}: onnxruntime cannot load it: {exc}") from exc
    meta = predict._session.get_modelmeta().custom_metadata_map or {}
    cfg = json.loads(meta["input_config"]) if "input_config" in meta else None
    return predict, cfg, {"onnxruntime": onnxruntime.__version__}


@MODEL_LOADERS.register("reference")
def _load_builtin(spec: str) -> tuple[Any, Any, dict]:
    loader = BUILTIN_MODELS.get(spec)
    try:
        result = loader()
    except DegradebenchError:
        raise
    except Exception as exc:
        raise ModelError(f"model {spec!r}: loading the built-in model failed: {exc!r}") from exc
    module, cfg = _split_factory_result(result, spec)
    return module, cfg, {"builtin": spec}


def _classify_spec(spec: str) -> str:
    if spec in BUILTIN_MODELS:
        return "reference"
    if os.path.isfile(spec):
        return sniff_model_file(spec)
    if ":" in spec:
        return "python"
    if os.path.exists(spec):
        raise ModelError(f"model {spec!r}: is a directory; expected a model file or a factory")
    builtins = BUILTIN_MODELS.names()
    msg = (
        f"model {spec!r}: not a built-in model ({suggest(spec, builtins)}available: "
        f"{', '.join(builtins)}), not an existing file, and not 'package.module:function' or "
        "'path/to/file.py:function'"
    )
    raise ModelError(msg)


def _default_name(spec: str, kind: str) -> str:
    if kind == "reference":
        return spec
    if kind == "python":
        target, _, attr = spec.rpartition(":")
        stem = Path(target).stem if target.endswith(".py") else target.rsplit(".", 1)[-1]
        return f"{stem}.{attr}"
    return Path(spec).stem or Path(spec).name


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
    kind = _classify_spec(spec)
    obj, declared, details = MODEL_LOADERS.get(kind)(spec)
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
        name=name or _default_name(spec, kind),
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
