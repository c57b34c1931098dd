"""A dataset given by path (``--dataset DIR``): a folder holding ``list.csv`` is that list (labels
and groups from it, so folds keep groups together); any other folder is a folder-per-class tree."""

from __future__ import annotations

from pathlib import Path

from ..core.errors import ConfigError
from .folder import list_folder
from .list import LIST_FILES, list_table
from .table import SourceTable

__all__ = ["looks_like_path", "sources_from_path"]


def looks_like_path(text: str) -> bool:
    """True for a ``--dataset`` value meant as a path (it contains / or starts with . or ~)."""
    return "/" in text or "\\" in text or text.startswith((".", "~"))


def sources_from_path(
    path: str, k: int = 5, seed: int = 0, yaml_path: str = "--dataset"
) -> tuple[str, SourceTable]:
    """``(dataset name, sources)`` for a folder given by path; the name is the folder's name."""
    root = Path(path).expanduser()
    if not root.is_dir():
        what = "a file, not a folder" if root.exists() else "no such folder"
        raise ConfigError(
            f"{yaml_path}: {what}: {str(root)!r}; pass a folder-per-class tree root/<label>/* "
            "(or a folder holding list.csv), or a dataset name from the config"
        )
    for name in LIST_FILES:
        if (root / name).is_file():
            return root.resolve().name, list_table(root / name, k, seed, root, yaml_path)
    return root.resolve().name, list_folder(root, k, seed, yaml_path)
