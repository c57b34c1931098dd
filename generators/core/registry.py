"""One small registry pattern for everything pluggable (ops, axes, backends, loaders, metrics)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from .errors import ConfigError
from .messages import short_repr, suggest

__all__ = ["Registry", "import_target"]

T = TypeVar("T")



def import_target(target: str) -> object:
    """Import ``"package.module:attr"`` lazily; the error names the target and why it failed."""
    if ":" not in target:
        raise ConfigError(f"{target!r}: expected 'package.module:attribute'")
    mod_name, _, attr = target.partition(":")
    try:
        obj: object = importlib.import_module(mod_name)
    except ImportError as exc:
        raise ConfigError(f"{target!r}: cannot import module {mod_name!r}: {exc}") from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(
                f"{target!r}: module {mod_name!r} has no attribute {attr!r}"
            ) from None
    return obj


class Registry(Generic[T]):
    """Name -> object map that rejects duplicates and answers unknown names with close matches."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T | str] = {}

    def register(self, name: str, obj: T | str | None = None) -> Callable[[T], T] | T | str:
        """Register ``obj`` (or a lazy ``"module:attr"`` string) under ``name``; usable as a decorator."""
        if obj is None:

            def deco(o: T) -> T:
                self.register(name, o)
                return o

            return deco
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = obj
        return obj

    def get(self, name: str) -> T:
        if name not in self:
            names = sorted(self._items)
            shown = repr(name) if isinstance(name, str) and len(name) <= 200 else short_repr(name)
            msg = (
                f"unknown {self.kind} {shown}; {suggest(name, names)}available: {', '.join(names)}"
            )
            raise ConfigError(msg)
        obj = self._items[name]
        if isinstance(obj, str):  # lazy target, resolved once
            obj = import_target(obj)  # type: ignore[assignment]
            self._items[name] = obj
        return obj  # type: ignore[return-value]

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._items  # a YAML list or map is no name

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)
