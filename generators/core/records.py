"""Frozen, self-validating parameter records, built from Python or YAML by one validation path.

``@record`` makes a class a frozen dataclass whose fields are checked when it is built, from the
type hints and the field metadata (``field(metadata=spec(lo=1, hi=100))``, ``choices=...``):
``JpegParams(quality=130)`` raises ``ParamError("quality: must be an integer 1..100, got 130")``.
A record's optional ``_check(self)`` method holds the checks that span several fields.
``from_mapping(Params, {"quality": 130}, "suites.default.axes.jpeg")`` runs the same checks and
only adds the YAML path: ``"suites.default.axes.jpeg.quality: must be an integer 1..100, ..."``.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from typing import Any

from .errors import ConfigError, ParamError
from .messages import short_repr, suggest

__all__ = [
    "record",
    "validate_fields",
    "is_record",
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
    *,
    lo: float | None = None,
    hi: float | None = None,
    gt: float | None = None,
    choices: tuple | None = None,
    nonempty: bool = False,
    distinct: bool = False,
    doc: str = "",
) -> dict:
    """Field metadata: numeric bounds (``lo``/``hi`` inclusive, ``gt`` exclusive), allowed
    values (each checked per item of a list), for a list field whether it must hold at least
    one value (``nonempty``) and no repeats (``distinct``), and a one-line description."""
    return {
        "lo": lo,
        "hi": hi,
        "gt": gt,
        "choices": choices,
        "nonempty": nonempty,
        "distinct": distinct,
        "doc": doc,
    }


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


def _bounds(lo: float | None, hi: float | None) -> str:
    """'1..100', '>= 1' or '<= 7': the allowed range as the messages write it."""
    if lo is not None and hi is not None:
        return f"{lo}..{hi}"
    return f">= {lo}" if lo is not None else f"<= {hi}"


def check_int(value: Any, path: str, lo: int | None = None, hi: int | None = None) -> int:
    """``value`` as an int within ``lo``..``hi`` (inclusive), else ConfigError."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            rng = f" {lo}..{hi}" if lo is not None and hi is not None else ""
            raise ConfigError(f"{path}: must be an integer{rng}, got {_kind(value)}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError(f"{path}: must be an integer {_bounds(lo, hi)}, got {value}")
    return int(value)


def check_float(
    value: Any,
    path: str,
    lo: float | None = None,
    hi: float | None = None,
    gt: float | None = None,
) -> float:
    """``value`` as a float within ``lo``..``hi`` (inclusive) and above ``gt``, else ConfigError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{path}: must be a finite number, got {_kind(value)}")
    if gt is not None and not value > gt:
        top = "" if hi is None else f" and <= {hi:g}"
        raise ConfigError(f"{path}: must be a number > {gt:g}{top}, got {value}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError(f"{path}: must be a number {_bounds(lo, hi)}, got {value}")
    return float(value)


def check_choice(value: Any, path: str, choices: tuple | list) -> Any:
    """``value`` when it is one of ``choices``, else ConfigError with the close matches."""
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
            return (args[0] if len(args) == 1 else typing.Union[tuple(args)]), True  # noqa: UP007
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
        return check_float(value, path, lo, hi, meta.get("gt"))
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: must be a string, got {_kind(value)}")
        return value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: must be a list, got {_kind(value)}")
        args = typing.get_args(tp)
        item_meta = {k: v for k, v in meta.items() if k not in ("nonempty", "distinct")}
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(
                    f"{path}: must be a list of {len(args)} values, got {short_repr(value)}"
                )
            return tuple(
                _coerce(v, a, f"{path}[{i}]", item_meta)
                for i, (v, a) in enumerate(zip(value, args))
            )
        item_tp = args[0] if args else Any
        items = tuple(_coerce(v, item_tp, f"{path}[{i}]", item_meta) for i, v in enumerate(value))
        if meta.get("nonempty") and not items:
            raise ConfigError(f"{path}: must list at least one value")
        if meta.get("distinct") and len(set(items)) != len(items):
            raise ConfigError(f"{path}: {repeats(items)}")
        return items
    if origin in (typing.Union, types.UnionType):
        alts = typing.get_args(tp)
        if isinstance(value, Mapping):  # a union of records: the one whose fields hold the keys
            fit = [a for a in alts if dataclasses.is_dataclass(a) and _holds(a, value)]
            if len(fit) == 1:
                return _coerce(value, fit[0], path, meta)
        errors = []
        for alt in alts:
            try:
                return _coerce(value, alt, path, meta)
            except ConfigError as exc:
                errors.append(str(exc).split(": ", 1)[-1])
        raise ConfigError(f"{path}: {' or '.join(errors)}")
    if dataclasses.is_dataclass(tp):
        return value if isinstance(value, tp) else from_mapping(tp, value, path)
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: must be a mapping, got {_kind(value)}")
        return dict(value)
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    raise ConfigError(f"{path}: unsupported value {_kind(value)}")


def _holds(cls: type, mapping: Mapping) -> bool:
    """True when every key of ``mapping`` is an init field of dataclass ``cls``."""
    return set(mapping) <= {f.name for f in dataclasses.fields(cls) if f.init}


def _field_table(cls: type) -> tuple[tuple[str, Any, Mapping], ...]:
    """(name, type hint, metadata) of the init fields, resolved once per class."""
    table = cls.__dict__.get("__record_fields__")
    if table is None:
        hints = typing.get_type_hints(cls)
        table = tuple(
            (f.name, hints[f.name], f.metadata) for f in dataclasses.fields(cls) if f.init
        )
        cls.__record_fields__ = table
    return table


def validate_fields(obj: Any) -> None:
    """Check (and normalise: lists -> tuples, whole floats -> ints) every init field of a
    frozen dataclass instance against its type hint and ``spec`` metadata.

    Raises:
        ParamError: ``"name: must be ..., got ..."`` for the first field that fails.
    """
    for name, tp, meta in _field_table(type(obj)):
        value = getattr(obj, name)
        try:
            new = _coerce(value, tp, name, meta)
        except ConfigError as exc:
            raise ParamError(str(exc)) from None
        if new is not value:
            object.__setattr__(obj, name, new)


def _validate_record(self: Any) -> None:
    validate_fields(self)
    check = getattr(self, "_check", None)
    if check is not None:
        try:
            check()
        except ParamError:
            raise
        except (ConfigError, ValueError) as exc:  # OpError is a ValueError too
            raise ParamError(str(exc)) from None


def record(cls: type | None = None) -> Any:
    """Class decorator: a frozen dataclass that validates every field when it is built.

    The checks come from the type hints and ``spec`` metadata (one path for Python and YAML);
    an optional ``_check(self)`` method adds the checks that span several fields. A record may
    not define ``__post_init__``: that is where the validation runs.
    """

    def wrap(c: type) -> type:
        if "__post_init__" in c.__dict__:
            raise TypeError(
                f"@record {c.__name__}: put cross-field checks in _check, not __post_init__"
            )
        c.__post_init__ = _validate_record
        return dataclasses.dataclass(frozen=True)(c)

    return wrap if cls is None else wrap(cls)


def is_record(cls: type) -> bool:
    """True for a class made by :func:`record` (it validates itself at construction)."""
    return getattr(cls, "__post_init__", None) is _validate_record


def from_mapping(cls: type, mapping: Any, path: str) -> Any:
    """Build dataclass ``cls`` from ``mapping``; unknown keys and bad values raise ConfigError
    whose message starts with ``path`` (a ParamError when the record itself refused a value)."""
    if mapping is None:
        mapping = {}
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"{path}: must be a mapping, got {_kind(mapping)}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in mapping:
        if key not in fields:
            names = sorted(fields)
            raise ConfigError(
                f"{path}.{key}: unknown key; {suggest(key, names)}allowed: {', '.join(names)}"
            )
    for name, f in fields.items():
        if (
            name not in mapping
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ):
            raise ConfigError(f"{path}: missing required key {name!r}")
    if is_record(cls):
        kwargs = dict(mapping)  # the record validates itself: one path for YAML and Python
    else:
        hints = typing.get_type_hints(cls)
        kwargs = {
            name: _coerce(
                mapping[name], hints[name], f"{path}.{name}" if path else name, f.metadata
            )
            for name, f in fields.items()
            if name in mapping
        }
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        msg = str(exc)
        if path and not msg.startswith((f"{path}.", f"{path}:", f"{path}[")):
            msg = f"{path}.{msg}"
        raise (ParamError if isinstance(exc, ParamError) else ConfigError)(msg) from None
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
