"""Dataset kind ``folder``: a folder-per-class tree ``root/<label>/**/<image>``."""

from __future__ import annotations

import os
from dataclasses import field
from pathlib import Path

from ..core.errors import ConfigError
from ..core.records import from_mapping, record, spec
from .base import DatasetKind, DatasetSpec, ListContext, register_dataset_kind, resolve_path
from .folds import with_folds
from .table import SourceTable, SourceTableBuilder

__all__ = ["FolderDataset", "IMAGE_SUFFIXES", "EXCLUDED_SUFFIXES", "list_folder", "image_suffixes"]

_BASE_SUFFIXES = (
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".apng", ".tif", ".tiff", ".bmp", ".dib", ".webp",
    ".gif", ".ppm", ".pgm", ".pbm", ".pnm",
    # Pillow-readable raster formats, decoded under the same policy (generators.decode)
    ".tga", ".vda", ".icb", ".vst", ".psd", ".dds", ".sgi", ".rgb", ".rgba", ".bw", ".pcx",
    ".qoi", ".ras",
)  # fmt: skip
_JPEG2000 = (".jp2", ".j2k", ".jpc", ".j2c", ".jpf", ".jpx")
_AVIF = (".avif", ".avifs")

# Suffixes Pillow knows that are not listed as sources, and why (the README quotes this).
EXCLUDED_SUFFIXES = {
    ".eps .ps": "decoding runs Ghostscript (refused by the decode policy)",
    ".pfm .fits .fit": "32-bit float pixels have no defined display range (mode F is refused)",
    ".ico .cur .icns": "icons hold several sizes of one picture, not a photograph",
    ".fli .flc .dcx": "animations and multi-page files (GIF is read: its first frame, recorded)",
    ".wmf .emf": "vector formats; Pillow rasterises them only on Windows",
    ".bufr .grib .h5 .hdf .mpeg .mpg": "Pillow only identifies these (stub plugins: no decoder)",
    ".blp .ftc .ftu .gbr .im .iim .msp .pcd .pxr .xbm .xpm": "niche formats, not photographs",
}


def image_suffixes() -> tuple[str, ...]:
    """Source suffixes listed by the folder kind: JPEG 2000 and AVIF only when Pillow has them."""
    from PIL import features

    extra: tuple[str, ...] = ()
    if features.check("jpg_2000"):
        extra += _JPEG2000
    if features.check("avif"):
        extra += _AVIF
    return _BASE_SUFFIXES + extra


IMAGE_SUFFIXES = image_suffixes()


@record
class FolderDataset:
    """``kind: folder`` parameters: the tree's root and the folds."""

    root: str
    description: str = ""
    folds: int = field(default=5, metadata=spec(lo=1, hi=100))
    fold_seed: int = 0


def _is_image(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES)


def _layout_error(root: Path, yaml_path: str) -> ConfigError:
    """No images in class folders: say whether the images sit directly in ``root``."""
    loose = sum(1 for p in root.iterdir() if p.is_file() and _is_image(p.name))
    layout = f"expected layout: {root}/<label>/<image> (one sub-folder per class)"
    if loose:
        return ConfigError(
            f"{yaml_path}: {str(root)!r} holds {loose} images but no class sub-folders; "
            f"{layout}; move the images into one folder per label"
        )
    return ConfigError(
        f"{yaml_path}: no images under {str(root)!r}; {layout}, with suffixes "
        f"{', '.join(IMAGE_SUFFIXES)}"
    )


def list_folder(
    root: str | Path, k: int = 5, seed: int = 0, yaml_path: str = "dataset"
) -> SourceTable:
    """``root/<label>/**/<image>``: labels from the first-level folder names; folds assigned
    (a columnar :class:`SourceTable`, a sequence of ``SourceRef``)."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise ConfigError(f"{yaml_path}.root: no such folder: {str(root)!r}")
    refs = SourceTableBuilder()
    for label_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        top = os.fspath(label_dir)  # os.walk's paths start with it: the rest is the key's tail
        for dirpath, dirnames, filenames in os.walk(label_dir):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if not _is_image(name):
                    continue
                p = os.path.join(dirpath, name)
                key = (label_dir.name + p[len(top) :]).replace(os.sep, "/")
                refs.add(resolve_path(p), label_dir.name, key, key)
    if not len(refs):
        raise _layout_error(root, yaml_path)
    return with_folds(refs.build(), k, seed)


def _parse(name: str, body: dict, path: str) -> DatasetSpec:
    p = from_mapping(FolderDataset, body, path)
    return DatasetSpec(name, "folder", p, path, p.description, p.folds, p.fold_seed, p.root)


def _list(spec_: DatasetSpec, ctx: ListContext) -> SourceTable:
    return list_folder(spec_.params.root, spec_.folds, spec_.fold_seed, spec_.yaml_path)


register_dataset_kind(
    DatasetKind("folder", _parse, _list, "a folder-per-class tree root/<label>/*")
)
