"""Message helpers shared by every error: close-match suggestions and bounded reprs."""

from __future__ import annotations

import difflib
import reprlib
from typing import Any

__all__ = ["suggest", "short_repr"]

# Values quoted in error messages are abbreviated: a YAML alias bomb or a megabyte string must not
# turn one error into minutes of repr() and a message nobody can read.
_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxfrozenset = _REPR.maxdict = 8
_REPR.maxstring = 80
_REPR.maxlong = 40
_REPR.maxother = 80


def short_repr(value: Any) -> str:
    """``repr(value)`` abbreviated to about 100 characters, one line, in bounded time."""
    try:
        text = _REPR.repr(value)
    except Exception:  # noqa: BLE001 - a hostile __repr__ must not replace the real error
        text = f"<{type(value).__name__}>"
    return text.replace("\n", "\\n")

def suggest(name: object, choices: list[str] | tuple[str, ...]) -> str:
    """Return "did you mean 'x'? " for the close matches of ``name`` (empty when none, and for
    anything but a short string: a list or a megabyte of text has no close match)."""
    if not isinstance(name, str) or len(name) > 200:
        return ""
    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.6)
    if not close:
        return ""
    return "did you mean " + " or ".join(repr(c) for c in close) + "? "
