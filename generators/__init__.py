"""Generators: turn source images into degraded variants with full provenance (Parquet manifest).

Public API (imported lazily so ``import degradebench.generators.core`` and ``--help`` stay
cheap): ``generate``, ``verify``, ``read_manifest``, ``read_errors``, ``read_metadata``,
``load_config``, ``dask_client`` (a Dask client for ``--scheduler``). The registries
(``ops.OPS``, ``axes.AXES``, ``datasets.DATASET_KINDS``, ``backends.BACKENDS``) register
their built-ins when their package is imported.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "generate",
    "GenerateSummary",
    "verify",
    "VerifyReport",
    "read_manifest",
    "read_errors",
    "read_metadata",
    "load_config",
    "MANIFEST_SCHEMA",
    "ConfigError",
    "DegradebenchError",
    "SourceError",
    "dask_client",
]

_WHERE = {
    "generate": ".runner",
    "GenerateSummary": ".runner",
    "verify": ".verify",
    "VerifyReport": ".verify",
    "read_manifest": ".manifest",
    "read_errors": ".manifest",
    "read_metadata": ".manifest",
    "load_config": ".config",
    "MANIFEST_SCHEMA": ".manifest",
    "ConfigError": ".core.errors",
    "DegradebenchError": ".core.errors",
    "SourceError": ".core.errors",
    "dask_client": ".schedule",
}


def __getattr__(name: str) -> Any:
    """Import the public names on first use."""
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name], __name__), name)
        # cached: importing the submodule ``verify`` set this package's ``verify`` to the module
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
