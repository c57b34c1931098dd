"""Format ``python``: ``package.module:function`` or ``path/to/file.py:function`` (a factory)."""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from degradebench.generators.core.errors import ConfigError
from degradebench.generators.core.messages import suggest
from degradebench.generators.core.registry import import_target

from .base import Loaded, ModelError, ModelFormat, split_factory_result

__all__ = ["FORMAT", "load", "top_level_callables", "missing_function_error"]


def top_level_callables(path: str | Path) -> tuple[list[str], list[str]]:
    """Names a Python file defines (functions, classes) and imports (``from x import y``) at top
    level, read with ``ast``: the file is not executed. Private names are left out."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return [], []
    defined: list[str] = []
    imported: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.append(node.name)
        elif isinstance(node, ast.ImportFrom):
            imported += [a.asname or a.name for a in node.names if a.name != "*"]

    def public(names: list[str]) -> list[str]:
        return [n for n in dict.fromkeys(names) if not n.startswith("_")]

    return public(defined), public(imported)


def missing_function_error(spec: str) -> ModelError:
    """The error for ``--model file.py`` without ``:FUNCTION``: what to add, what the file has."""
    defined, imported = top_level_callables(spec)
    have = f"; its top-level callables: {', '.join(defined[:20]) or 'none'}"
    if imported:
        have += f" (imported: {', '.join(imported[:20])})"
    first = (defined or imported or ["build"])[0]
    return ModelError(
        f"model {spec!r}: a Python file needs the factory to call: add ':FUNCTION', e.g. "
        f"'{spec}:{first}'{have}"
    )


def _import_file_attr(path: Path, attr: str, spec: str) -> Any:
    mod_name = "degradebench_user_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    if mod_name in sys.modules:
        mod = sys.modules[mod_name]
    else:
        ispec = importlib.util.spec_from_file_location(mod_name, path)
        if ispec is None or ispec.loader is None:
            raise ModelError(f"model {spec!r}: cannot import {path} as a Python file")
        mod = importlib.util.module_from_spec(ispec)
        sys.modules[mod_name] = mod
        try:
            ispec.loader.exec_module(mod)
        except Exception as exc:
            del sys.modules[mod_name]
            raise ModelError(f"model {spec!r}: importing {path} failed: {exc!r}") from exc
    obj = mod
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(mod) if not n.startswith("_")]
            raise ModelError(
                f"model {spec!r}: {path} has no attribute {attr!r}; {suggest(attr, names)}"
                f"available: {', '.join(names[:20])}"
            )
        obj = getattr(obj, part)
    return obj


def load(spec: str) -> Loaded:
    """Import the factory, call it, split its result into (module, declared config)."""
    target, _, attr = spec.rpartition(":")
    if target.endswith(".py") or os.sep in target or "/" in target:
        path = Path(target)
        if not path.is_file():
            raise ModelError(f"model {spec!r}: Python file {target!r} does not exist")
        factory = _import_file_attr(path, attr, spec)
    else:
        try:
            factory = import_target(f"{target}:{attr}")
        except ConfigError as exc:
            raise ModelError(f"model {exc}") from None
    if not callable(factory):
        raise ModelError(f"model {spec!r}: {attr!r} is not callable ({type(factory).__name__})")
    try:
        result = factory()
    except Exception as exc:
        raise ModelError(f"model {spec!r}: the factory raised {exc!r}") from exc
    module, cfg = split_factory_result(result, spec)
    return module, cfg, {"factory": spec}


def default_name(spec: str) -> str:
    """``pkg.models:build`` -> ``models.build``; ``path/to/net.py:build`` -> ``net.build``."""
    target, _, attr = spec.rpartition(":")
    stem = Path(target).stem if target.endswith(".py") else target.rsplit(".", 1)[-1]
    return f"{stem}.{attr}"


def code_file(spec: str) -> str | None:
    """The factory's ``.py`` file: the file of a ``file.py:function`` spec, or where the
    module of a ``pkg.mod:function`` spec was loaded from (None when it cannot be found)."""
    target = spec.rpartition(":")[0]
    if target.endswith(".py"):
        return target
    mod = sys.modules.get(target)
    return getattr(mod, "__file__", None)


FORMAT = ModelFormat(load, default_name=default_name, code_file=code_file)
