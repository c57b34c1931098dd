"""The kernel: the bottom layer every other package builds on, and imports nothing of theirs.

- ``errors``: the project's error types (one-line messages naming the item, value and fix);
- ``messages``: close-match suggestions and bounded reprs for those messages;
- ``records``: frozen, self-validating parameter records built from YAML or Python;
- ``registry``: the one registry pattern for everything pluggable;
- ``yamlsafe``: safe YAML loading (no tags, no duplicate keys, bounded size);
- ``files``: atomic writes and the one folder lock;
- ``provenance``: seeds, hashes, library versions and the git revision.
"""

from __future__ import annotations

from .errors import (
    ConfigError,
    DegradebenchError,
    LockedError,
    OpError,
    OutputError,
    ParamError,
    SourceError,
)
from .files import (
    DirLock,
    atomic_replace_dir,
    atomic_write_bytes,
    remove_temp_files,
    write_failure,
    write_table_atomic,
)
from .messages import short_repr, suggest
from .provenance import derive_seed, git_revision, library_version, library_versions, short_hash
from .records import (
    check_choice,
    check_float,
    check_int,
    from_mapping,
    is_record,
    parse_folds,
    record,
    repeats,
    spec,
    to_plain,
    validate_fields,
)
from .registry import Registry, import_target
from .yamlsafe import load_yaml

__all__ = [
    "ConfigError",
    "DegradebenchError",
    "LockedError",
    "OpError",
    "OutputError",
    "ParamError",
    "SourceError",
    "DirLock",
    "atomic_write_bytes",
    "atomic_replace_dir",
    "remove_temp_files",
    "write_failure",
    "write_table_atomic",
    "short_repr",
    "suggest",
    "derive_seed",
    "git_revision",
    "library_version",
    "library_versions",
    "short_hash",
    "check_choice",
    "check_float",
    "check_int",
    "from_mapping",
    "is_record",
    "parse_folds",
    "record",
    "repeats",
    "spec",
    "to_plain",
    "validate_fields",
    "Registry",
    "import_target",
    "load_yaml",
]
