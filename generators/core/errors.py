"""Project error types. Every message names the item, the value received and the fix."""

from __future__ import annotations

__all__ = [
    "DegradebenchError",
    "ConfigError",
    "SourceError",
    "OpError",
    "ParamError",
    "LockedError",
    "OutputError",
]


class DegradebenchError(Exception):
    """Base class for handled errors: the CLI prints the message alone (no traceback)."""


class ConfigError(DegradebenchError, ValueError):
    """A bad value in datasets.yaml or on the command line; the message starts with its path."""


class SourceError(DegradebenchError):
    """A source image that cannot be used; recorded in errors.parquet and the run goes on."""

    def __init__(self, path: str, stage: str, message: str, error_type: str | None = None):
        super().__init__(f"{path}: {stage}: {message}")
        self.path = path
        self.stage = stage
        self.message = message
        self.error_type = error_type or type(self).__name__


class OpError(DegradebenchError, ValueError):
    """An op or its parameters are invalid (unknown op, out-of-range parameter)."""


class ParamError(ConfigError, OpError):
    """A parameter record refused a value when it was built (``@record`` validation).

    One type for YAML and Python alike: it is a ConfigError (a bad value in the configuration)
    and an OpError (an op's parameters are invalid), so callers catching either see it.
    """


class LockedError(DegradebenchError):
    """Another live process holds the output folder's lock."""


class OutputError(DegradebenchError):
    """Writing an output failed (disk full, permission denied, read-only file system). The
    message names the file; finished work is kept, so the same command resumes once fixed."""
