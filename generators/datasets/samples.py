"""Dataset kind ``samples``: the photographs bundled with scikit-image (offline, BSD licensed)."""

from __future__ import annotations

from dataclasses import field
from pathlib import Path

from ..core.records import from_mapping, record, spec
from .base import DatasetKind, DatasetSpec, ListContext, SourceRef, register_dataset_kind
from .folds import with_folds
from .table import SourceTable

__all__ = ["SamplesDataset", "list_samples", "SAMPLES"]

# scikit-image ships these photographs; the .jpg ones were JPEG files. chelsea.png and grass.png
# are decompressed JPEGs (an 8x8 grid at phase (0, 0)): the decoder records that history.
SAMPLES = {
    "astronaut.png": "photo-rgb",
    "chelsea.png": "photo-rgb",
    "coffee.png": "photo-rgb",
    "motorcycle_left.png": "photo-rgb",
    "rocket.jpg": "photo-jpeg",
    "retina.jpg": "photo-jpeg",
    "hubble_deep_field.jpg": "photo-jpeg",
    "camera.png": "photo-gray",
    "brick.png": "texture-gray",
    "grass.png": "texture-gray",
    "gravel.png": "texture-gray",
}


@record
class SamplesDataset:
    """``kind: samples`` parameters: only the folds."""

    description: str = ""
    folds: int = field(default=5, metadata=spec(lo=1, hi=100))
    fold_seed: int = 0


def list_samples(k: int = 5, seed: int = 0) -> SourceTable:
    """The photographs bundled with scikit-image: works offline on a fresh install.

    Labels say what the sample is (``photo-rgb``, ``photo-jpeg`` for files that were JPEGs,
    ``photo-gray``, ``texture-gray``).
    """
    import skimage

    root = Path(skimage.__file__).parent / "data"
    refs = [
        SourceRef(str(root / name), label, name, name)
        for name, label in sorted(SAMPLES.items())
        if (root / name).is_file()
    ]
    return with_folds(refs, k, seed)


def _parse(name: str, body: dict, path: str) -> DatasetSpec:
    p = from_mapping(SamplesDataset, body, path)
    return DatasetSpec(name, "samples", p, path, p.description, p.folds, p.fold_seed, None)


def _list(spec_: DatasetSpec, ctx: ListContext) -> SourceTable:
    return list_samples(spec_.folds, spec_.fold_seed)


register_dataset_kind(
    DatasetKind("samples", _parse, _list, "the photographs bundled with scikit-image")
)
