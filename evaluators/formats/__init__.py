"""Model formats: one module per format, each registered by name in :data:`MODEL_FORMATS`.

A format is a :class:`~.base.ModelFormat`: a loader ``load(spec) -> (module or predict callable,
declared input config or None, details)``, the model name a spec gives by default and the source
file the model depends on, if any. Built in: ``python`` (a factory), ``torchscript``, ``export`` (torch.export),
``onnx``, ``builtin`` (shipped models by name). :func:`classify_spec` says which format a spec
string is: a built-in name, a file recognised by its bytes (:func:`sniff_model_file`), or a
``module:function`` factory. Register another format with
``MODEL_FORMATS.register("name", "mypkg.fmt:load")`` and return its name from a sniffer.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from pathlib import Path

from degradebench.generators.core.messages import suggest
from degradebench.generators.core.registry import Registry

from .base import Loaded, ModelError, ModelFormat
from .builtin import BUILTIN_MODELS
from .python import missing_function_error

__all__ = [
    "MODEL_FORMATS",
    "BUILTIN_MODELS",
    "ModelError",
    "ModelFormat",
    "format_of",
    "classify_spec",
    "sniff_model_file",
]

# Each entry is a ModelFormat (a plain ``load`` function registers too: it gets the defaults).
MODEL_FORMATS: Registry[Callable[[str], Loaded]] = Registry("model format")
for _name in ("python", "torchscript", "export", "onnx", "builtin"):
    MODEL_FORMATS.register(_name, f"degradebench.evaluators.formats.{_name}:FORMAT")


def format_of(kind: str) -> ModelFormat:
    """The registered format ``kind`` as a ModelFormat (a bare loader gets the defaults)."""
    fmt = MODEL_FORMATS.get(kind)
    return fmt if isinstance(fmt, ModelFormat) else ModelFormat(fmt)


def _sniff_zip(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
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


def sniff_model_file(path: str | Path) -> str:
    """Say what a model file is from its bytes: ``torchscript``, ``export``, ``onnx``, or raise."""
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(64)
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip(path)
    # ONNX ModelProto: field 1 (ir_version, varint) comes first in every exporter's output.
    if head[:1] == b"\x08":
        return "onnx"
    msg = (
        f"model {str(path)!r}: unrecognised file (first bytes {head[:8].hex()}); expected a "
        "TorchScript archive, a torch.export .pt2 program or an ONNX model"
    )
    raise ModelError(msg)


def classify_spec(spec: str) -> str:
    """The format name of a model spec string (see the module docstring).

    Raises:
        ModelError: nothing matches; a ``.py`` file without ``:FUNCTION`` (the message lists
            the file's top-level callables).
    """
    if spec in BUILTIN_MODELS:
        return "builtin"
    if os.path.isfile(spec):
        if spec.endswith(".py"):
            raise missing_function_error(spec)
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
