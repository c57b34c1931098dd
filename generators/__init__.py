"""Generators: turn source images into degraded variants with full provenance (Parquet manifest)."""

from __future__ import annotations
