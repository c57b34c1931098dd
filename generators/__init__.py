"""Generators: turn source images into degraded variants with full provenance (Parquet manifest).

Public API: ``generate``, ``verify``, ``read_manifest``, ``read_errors``, ``load_config``.
"""

from __future__ import annotations

from . import axes, ops  # noqa: F401  (registers the built-in ops and axes)
from .core.errors import ConfigError, DegradebenchError, SourceError
from .config import load_config
from .manifest import MANIFEST_SCHEMA, read_errors, read_manifest, read_metadata
from .runner import GenerateSummary, generate
from .verify import VerifyReport, verify

__all__ = [
    "generate", "GenerateSummary", "verify", "VerifyReport", "read_manifest", "read_errors",
    "read_metadata", "load_config", "MANIFEST_SCHEMA", "ConfigError", "DegradebenchError", "SourceError",
]
