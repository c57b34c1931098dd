"""Build frozen, self-validating parameter records from YAML mappings with path-aware errors.

``from_mapping(Params, {"quality": 130}, "suites.default.axes.jpeg")`` raises
``ConfigError("suites.default.axes.jpeg.quality: must be an integer 1..100, got 130")``.
Field metadata drives validation: ``field(metadata=spec(lo=1, hi=100))``, ``choices=...``.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from typing import Any

from .errors import ConfigError
from .messages import short_repr, suggest

__all__ = [
    "spec",
    "from_mapping",
    "check_int",
    "check_float",
    "check_choice",
    "to_plain",
    "repeats",
    "parse_folds",
]



def spec(
    *, lo: float | None = None, hi: float | None = None, choices: tuple | None = None, doc: str = ""
) -> dict:
    """Field metadata: numeric bounds (inclusive), allowed values, a one-line description."""
    return {"lo": lo, "hi": hi, "choices": choices, "doc": doc}


def repeats(values: Any) -> str:
    """'repeated values [90] in [95, 90, 90, ...]': what repeats, the list abbreviated."""
    seen: set = set()
    dups: list = []
    for v in values:
        if v in seen and v not in dups:
            dups.append(v)
        seen.add(v)
    return f"repeated values {short_repr(dups)} in {short_repr(list(values))}"


def _kind(v: Any) -> str:
    return f"{short_repr(v)} ({type(v).__name__})"


def check_int(value: Any, path: str, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            rng = f" {lo}..{hi}" if lo is not None and hi is not None else ""
            raise ConfigError(f"{path}: must be an integer{rng}, got {_kind(value)}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        lo_s = "" if lo is None else str(lo)
        hi_s = "" if hi is None else str(hi)
        raise ConfigError(f"{path}: must be an integer {lo_s}..{hi_s}, got {value}")
    return int(value)


def check_float(value: Any, path: str, lo: float | None = None, hi: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{path}: must be a finite number, got {_kind(value)}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        lo_s = "" if lo is None else str(lo)
        hi_s = "" if hi is None else str(hi)
        raise ConfigError(f"{path}: must be a number {lo_s}..{hi_s}, got {value}")
    return float(value)


def check_choice(value: Any, path: str, choices: tuple | list) -> Any:
    if value not in choices:
        names = [str(c) for c in choices]
        raise ConfigError(
            f"{path}: must be one of {', '.join(names)}; {suggest(value, names)}got {short_repr(value)}"
        )
    return value


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) != len(typing.get_args(tp)):
            return (args[0] if len(args) == 1 else typing.Union[tuple(args)]), True
    return tp, False


def _coerce(value: Any, tp: Any, path: str, meta: Mapping) -> Any:
    tp, optional = _strip_optional(tp)
    if value is None:
        if optional or tp is Any:
            return None
        raise ConfigError(f"{path}: is required (got null)")
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    lo, hi, choices = meta.get("lo"), meta.get("hi"), meta.get("choices")
    if choices is not None and origin is None:
        return check_choice(value, path, choices)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: must be true or false, got {_kind(value)}")
        return value
    if tp is int:
        return check_int(value, path, lo, hi)
    if tp is float:
        return check_float(value, path, lo, hi)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: must be a string, got {_kind(value)}")
        return value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: must be a list, got {_kind(value)}")
        args = typing.get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(
                    f"{path}: must be a list of {len(args)} values, got {short_repr(value)}"
                )
            return tuple(
                _coerce(v, a, f"{path}[{i}]", meta) for i, (v, a) in enumerate(zip(value, args))
            )
        item_tp = args[0] if args else Any
        return tuple(_coerce(v, item_tp, f"{path}[{i}]", meta) for i, v in enumerate(value))
    if origin in (typing.Union, types.UnionType):
        errors = []
        for alt in typing.get_args(tp):
            try:
                return _coerce(value, alt, path, meta)
            except ConfigError as exc:
                errors.append(str(exc).split(": ", 1)[-1])
        raise ConfigError(f"{path}: {' or '.join(errors)}")
    if dataclasses.is_dataclass(tp):
        return from_mapping(tp, value, path)
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: must be a mapping, got {_kind(value)}")
        return dict(value)
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    raise ConfigError(f"{path}: unsupported value {_kind(value)}")


def from_mapping(cls: type, mapping: Any, path: str) -> Any:
    """Build dataclass ``cls`` from ``mapping``; unknown keys and bad values raise ConfigError."""
    if mapping is None:
        mapping = {}
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{path}: must be a mapping, got {_kind(mapping)}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    for key in mapping:
        if key not in fields:
            names = sorted(fields)
            raise ConfigError(
                f"{path}.{key}: unknown key; {suggest(key, names)}allowed: {', '.join(names)}"
            )
    kwargs = {}
    for name, f in fields.items():
        sub = f"{path}.{name}" if path else name
        if name in mapping:
            kwargs[name] = _coerce(mapping[name], hints[name], sub, f.metadata)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{path}: missing required key {name!r}")
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        msg = str(exc)
        raise ConfigError(msg if msg.startswith(path) else f"{path}.{msg}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from None


def to_plain(obj: Any) -> Any:
    """Dataclass/tuple tree -> JSON-able dicts and lists (stable key order)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v) for k, v in obj.items()}
    return obj


def parse_folds(folds: Any, option: str = "--folds") -> list[int] | None:
    """The one fold-list parser: ``"0,2"``, ``[0, 2]`` or None -> sorted distinct ints or None.

    Raises:
        ConfigError: naming the option, the text received and the expected spelling.
    """
    if folds is None or (isinstance(folds, str) and not folds.strip()):
        return None
    items = folds.split(",") if isinstance(folds, str) else list(folds)
    try:
        out = sorted({int(str(f).strip()) for f in items if str(f).strip()})
    except ValueError:
        raise ConfigError(
            f"{option}: expected a comma-separated list of fold numbers like 0,1; got {short_repr(folds)}"
        ) from None
    if not out:
        raise ConfigError(f"{option}: expected at least one fold number, got {short_repr(folds)}")
    return out
