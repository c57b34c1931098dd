"""Manifest paths are relative to OUT: check them lexically and through symlinks."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .schema import ManifestError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["safe_join", "unsafe_paths"]


def _lexical_problem(rel: object) -> str | None:
    """Why ``rel`` is not a plain relative POSIX path (None when it is)."""
    if not isinstance(rel, str) or not rel:
        return "empty or not text"
    p = PurePosixPath(rel)
    if p.is_absolute() or "\\" in rel or ":" in p.parts[0]:
        return "absolute"
    if ".." in p.parts:
        return "contains '..'"
    return None


def safe_join(root: Path, rel: str) -> Path:
    """``root / rel`` for a manifest path; rejects absolute paths, '..' and symlinks leaving root."""
    if _lexical_problem(rel) is not None:
        raise ManifestError(
            f"unsafe manifest path {rel!r}: must be relative to the output folder, without '..'"
        )
    full = root / Path(*PurePosixPath(rel).parts)
    root_real = os.path.realpath(root)
    if os.path.commonpath([root_real, os.path.realpath(full)]) != root_real:
        raise ManifestError(f"manifest path {rel!r} resolves outside {str(root)!r} (symlink?)")
    return full


def _slow_unsafe(root: str | Path, paths: list) -> list[tuple[str, str]]:
    """``unsafe_paths`` one path at a time (each folder resolved once, each file lstat-ed): for
    values that are not plain text, or paths under a symlink that stays inside root."""
    root_real = os.path.realpath(root)
    inside: dict[str, bool] = {}
    bad: list[tuple[str, str]] = []
    for rel in paths:
        why = _lexical_problem(rel)
        if why is not None:
            bad.append((str(rel), why))
            continue
        full = os.path.join(os.fspath(root), *PurePosixPath(rel).parts)
        parent = os.path.dirname(full)
        if parent not in inside:
            real = os.path.realpath(parent)
            inside[parent] = os.path.commonpath([root_real, real]) == root_real
        if not inside[parent]:
            bad.append((rel, f"its folder resolves to {os.path.realpath(parent)}"))
        elif os.path.islink(full):
            real = os.path.realpath(full)
            if os.path.commonpath([root_real, real]) != root_real:
                bad.append((rel, f"a symlink to {real}"))
    return bad


def _links(root: str, tops: set[str]) -> dict[str, str]:
    """Every symlink (file or folder, not followed) among root's entries and under the folders
    ``tops`` of root: relative POSIX path -> what it resolves to."""
    found: dict[str, str] = {}
    stack: list[tuple[str, str]] = [(root, "")]
    while stack:
        folder, rel = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for e in entries:
            sub = f"{rel}{e.name}"
            if e.is_symlink():
                found[sub] = os.path.realpath(e.path)
            elif (rel or e.name in tops) and e.is_dir(follow_symlinks=False):
                stack.append((e.path, sub + "/"))
    return found


def unsafe_paths(root: str | Path, paths: list | pd.Series | pa.Array) -> list[tuple[str, str]]:
    """``(path, why)`` for each manifest path that is absolute, climbs with '..', or resolves
    outside ``root`` through a symlinked folder or file, in the order given.

    Vectorised: the lexical checks run on an Arrow array, and the folders the paths lead into
    are scanned once for symlinks (no call per path), so a million paths take about a second."""
    try:
        arr = paths if isinstance(paths, (pa.Array, pa.ChunkedArray)) else pa.array(paths)
    except (pa.ArrowException, TypeError):
        return _slow_unsafe(root, list(paths))
    if not (
        pa.types.is_string(arr.type)
        or pa.types.is_large_string(arr.type)
        or pa.types.is_null(arr.type)
    ):
        return _slow_unsafe(root, arr.to_pylist())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not len(arr):
        return []
    odd = pc.or_kleene(
        pc.fill_null(pc.equal(arr, ""), True),
        pc.match_substring_regex(arr, r"(^/|\\|^(\./)*[^/]*:|(^|/)\.\.(/|$)|^\./|/\./|//|/$|^\.$)"),
    )
    root_s = os.fspath(root)
    root_real = os.path.realpath(root_s)
    tops = set(
        pc.unique(pc.extract_regex(arr, r"^(?P<top>[^/]+)/").field("top")).drop_null().to_pylist()
    )
    bad_links, ok_links = {}, []
    for rel, real in _links(root_s, tops).items():
        if os.path.commonpath([root_real, real]) != root_real:
            bad_links[rel] = real
        else:
            ok_links.append(rel)
    slow = pc.fill_null(odd, True)
    for rel in ok_links:  # inside root, but what lies behind it is checked path by path
        slow = pc.or_kleene(slow, pc.or_kleene(pc.equal(arr, rel), pc.starts_with(arr, rel + "/")))
    slow = pc.fill_null(slow, True)
    out: list[tuple[int, str, str]] = []
    for rel, real in bad_links.items():
        exact = pc.equal(arr, rel)
        under = pc.starts_with(arr, rel + "/")
        hit = pc.fill_null(pc.and_not(pc.or_kleene(exact, under), slow), False)
        for i in np.flatnonzero(hit.to_numpy(zero_copy_only=False)):
            path = arr[int(i)].as_py()
            if path == rel:
                out.append((int(i), path, f"a symlink to {real}"))
            else:
                parent = os.path.dirname(os.path.join(root_s, *PurePosixPath(path).parts))
                out.append((int(i), path, f"its folder resolves to {os.path.realpath(parent)}"))
    for i in np.flatnonzero(slow.to_numpy(zero_copy_only=False)):  # few: checked one by one
        out += [(int(i), path, why) for path, why in _slow_unsafe(root_s, [arr[int(i)].as_py()])]
    return [(p, w) for _, p, w in sorted(out, key=lambda t: t[0])]
