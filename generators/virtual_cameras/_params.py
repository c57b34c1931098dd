"""The parameter record of a ``kind: virtual-cameras`` dataset (its keys in datasets.yaml)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import field
from typing import Any

from ..core.errors import ConfigError
from ..core.records import from_mapping, record, spec, to_plain

__all__ = ["VirtualCamerasParams", "params_hash", "PIPELINE_VERSION"]

# Bump when a change to the pipeline changes the bytes written for the same params: the
# completion marker then no longer matches and an old dataset is not mistaken for a new one.
PIPELINE_VERSION = 1

# (model count) x (2x2 CFA patterns) x (demosaicing algorithms): every model gets its own pair.
MAX_MODELS = 12


@record
class VirtualCamerasParams:
    """How many virtual cameras to simulate, how many shots each takes, and the shared scene pool.

    Every device shoots the same scenes (scene ``i`` is image ``i`` of each device), so content
    cannot separate the classes; the label is the camera model.
    """

    models: int = field(
        default=6, metadata=spec(lo=1, hi=MAX_MODELS, doc="camera models (classes)")
    )
    devices_per_model: int = field(
        default=2, metadata=spec(lo=1, hi=16, doc="devices (sensors, each with its PRNU) per model")
    )
    images_per_device: int = field(
        default=30, metadata=spec(lo=1, hi=100_000, doc="shots per device = scenes in the pool")
    )
    size: int = field(default=256, metadata=spec(lo=64, hi=4096, doc="image side in pixels"))
    seed: int = field(default=0, metadata=spec(lo=0, hi=2**32 - 1, doc="seed of every draw"))
    photo_fraction: float = field(
        default=0.5,
        metadata=spec(
            lo=0.0, hi=1.0, doc="share of scenes cropped from bundled photos (rest: dead leaves)"
        ),
    )
    exposure_ev: tuple[float, float] = field(
        default=(-1.0, 0.5),
        metadata=spec(lo=-4.0, hi=4.0, doc="per-shot exposure range in EV, shared by all models"),
    )
    illuminant_spread: float = field(
        default=0.25,
        metadata=spec(
            lo=0.0, hi=0.6, doc="per-shot illuminant R/B gain spread (log2), shared by all"
        ),
    )

    def _check(self) -> None:
        lo, hi = self.exposure_ev
        if lo > hi:
            raise ConfigError(f"exposure_ev: low must not exceed high, got {[lo, hi]}")

    @classmethod
    def from_mapping(cls, mapping: Any, yaml_path: str = "dataset") -> VirtualCamerasParams:
        """Build from a datasets.yaml mapping; errors name ``yaml_path.key``."""
        return from_mapping(cls, mapping, yaml_path)

    @property
    def images(self) -> int:
        """How many images the dataset holds (models x devices x shots)."""
        return self.models * self.devices_per_model * self.images_per_device


def params_hash(params: VirtualCamerasParams) -> str:
    """sha256 of the params and the pipeline version: what the completion marker holds."""
    blob = json.dumps(
        {"pipeline_version": PIPELINE_VERSION, "params": to_plain(params)}, sort_keys=True
    )
    return hashlib.sha256(blob.encode()).hexdigest()
