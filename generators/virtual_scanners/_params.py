"""The parameter record of a ``kind: virtual-scanners`` dataset (its keys in datasets.yaml)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import field
from typing import Any

from ..core.records import from_mapping, record, spec, to_plain

__all__ = ["VirtualScannersParams", "params_hash", "PIPELINE_VERSION", "KINDS", "LABELS"]

# Bump when a change to the pipeline changes the bytes written for the same params: the
# completion marker then no longer matches and an old dataset is not mistaken for a new one.
PIPELINE_VERSION = 1

# The document kinds of ``generators.documents.DOCUMENT_KINDS`` (the contract of issue 17).
KINDS = ("invoice", "receipt", "letter", "form")
LABELS = ("scanner", "printer")
MAX_MODELS = 12


@record
class VirtualScannersParams:
    """How many virtual printers and scanners, how many documents, and what of each page is used.

    Every document is printed by every printer and each print is scanned by every scanner
    device (a full cross), so every group (document) holds every class whichever the label:
    content cannot separate the classes.
    """

    printers: int = field(default=3, metadata=spec(lo=1, hi=MAX_MODELS, doc="printer models"))
    scanners: int = field(default=4, metadata=spec(lo=1, hi=MAX_MODELS, doc="scanner models"))
    devices_per_scanner: int = field(
        default=2, metadata=spec(lo=1, hi=16, doc="devices (each with its fixed pattern) per model")
    )
    documents: int = field(
        default=6, metadata=spec(lo=1, hi=100_000, doc="documents (groups); kinds cycle")
    )
    kinds: tuple[str, ...] = field(
        default=KINDS,
        metadata=spec(choices=KINDS, nonempty=True, distinct=True, doc="document kinds, cycled"),
    )
    print_dpi: int = field(
        default=300, metadata=spec(lo=150, hi=1200, doc="page raster = printer grid, dots/inch")
    )
    scan_dpis: tuple[int, ...] = field(
        default=(150, 200, 300),
        metadata=spec(
            lo=50, hi=1200, nonempty=True, doc="scanner resolutions; model i gets dpis[i % n]"
        ),
    )
    size_mm: tuple[float, float] | None = field(
        default=(40.0, 40.0),
        metadata=spec(
            lo=10.0,
            hi=500.0,
            doc="[height, width] of the page window printed and scanned; null: the whole page",
        ),
    )
    label: str = field(
        default="scanner", metadata=spec(choices=LABELS, doc="class = scanner or printer model")
    )
    seed: int = field(default=0, metadata=spec(lo=0, hi=2**32 - 1, doc="seed of every draw"))

    @classmethod
    def from_mapping(cls, mapping: Any, yaml_path: str = "dataset") -> VirtualScannersParams:
        """Build from a datasets.yaml mapping; errors name ``yaml_path.key``."""
        return from_mapping(cls, mapping, yaml_path)

    @property
    def images(self) -> int:
        """How many scans the dataset holds (documents x printers x scanner devices)."""
        return self.documents * self.printers * self.scanners * self.devices_per_scanner


def params_hash(params: VirtualScannersParams) -> str:
    """sha256 of the params and the pipeline version: what the completion marker holds."""
    blob = json.dumps(
        {"pipeline_version": PIPELINE_VERSION, "params": to_plain(params)}, sort_keys=True
    )
    return hashlib.sha256(blob.encode()).hexdigest()
