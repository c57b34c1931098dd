"""degradebench: controlled, recorded, reproducible image degradations and robustness benchmarks.

The Python API (``import degradebench as db``); every name is imported on first use, so
``import degradebench`` stays cheap:

- ``db.load_config(path=None)``: read a ``datasets.yaml`` (default: ``./datasets.yaml`` if
  present, else the shipped one) into a validated ``Config``.
- ``db.generate(config=..., dataset=..., suite=..., out=...)``: make a suite's variants of a
  dataset with a Parquet manifest (resumable); returns a ``GenerateSummary``.
- ``db.verify(out)``: re-hash every variant and re-read its JPEG tables against the manifest.
- ``db.read_manifest(out)``: the manifest as a pandas DataFrame (one row per variant).
- ``db.load_model(spec)``: a model from ``"reference"``, ``"dummy"``, ``"pkg.mod:fn"``,
  ``"file.py:fn"`` or a TorchScript / torch.export / ONNX file.
- ``db.evaluate(out, model, results)``: score a model on every variant; returns an ``EvalResult``.
- ``db.write_report(results_dirs, out)``: curves, heat maps, report.md / .html / .tex.
- ``db.apply_chain(image, chain)``: run a manifest chain on an array or a path in memory.
- ``db.variants(image, suite=..., source_id=...)``: yield ``(level, array_or_bytes, record)``
  exactly as ``generate`` makes them, without writing files.
- ``db.ManifestDataset(out, folds=..., target=...)``: a torch Dataset over generated variants,
  items ``(image, target, provenance)`` (training, K-fold CV by fold number).
- ``db.Degrade(policy, seed=...)``: on-the-fly degradation drawn from a ``policies:`` entry;
  ``degrade(image, index=i, epoch=e)`` -> ``(image, chain)``.

The distribution installs one namespace: ``degradebench`` (this folder, ``bench/``: the CLI and
the applications that use both halves), ``degradebench.generators`` (``generators/``) and
``degradebench.evaluators`` (``evaluators/``). Dependency direction: bench -> evaluators ->
generators -> generators.core.
"""

from __future__ import annotations

import importlib
from typing import Any

# Public name -> the module that defines it (imported on first access).
_API = {
    "load_config": "degradebench.generators.config",
    "generate": "degradebench.generators",
    "verify": "degradebench.generators",
    "read_manifest": "degradebench.generators",
    "evaluate": "degradebench.evaluators",
    "load_model": "degradebench.evaluators",
    "write_report": "degradebench.evaluators",
    "apply_chain": "degradebench.generators.inmemory",
    "variants": "degradebench.generators.inmemory",
    "ManifestDataset": "degradebench.data",
    "Degrade": "degradebench.data",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name == "__version__":  # one source: the installed distribution (pyproject.toml)
        from degradebench.generators.core.provenance import library_version

        return library_version("degradebench")
    if name in _API:  # not cached: db.NAME stays the layer's function, even if patched there
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'degradebench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API) | {"__version__"})
