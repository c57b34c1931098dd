"""Reusing a report whose inputs are unchanged (a demo rerun then takes no report time).

The key is what a report depends on: per results folder its path, run.json's ``key_sha256`` and
the sha256 of run.json itself (a re-evaluation rewrites it), the report options, the
degradebench version and a hash of this package's code and report.json. It is stored in
``DIR/report-key.json`` with the files the report wrote; a report with the same key whose
files all exist is reused, any change rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from degradebench.generators.core.files import atomic_write_bytes
from degradebench.generators.core.provenance import library_version

from ..results import RESULT_FILES

__all__ = ["KEY_FILE", "report_key", "load_reusable", "store_key", "forget_key"]

KEY_FILE = "report-key.json"


@lru_cache(maxsize=1)
def _code_sha256() -> str:
    """The report package's own code and defaults: a change to either rebuilds reports."""
    here = Path(__file__).parent
    h = hashlib.sha256()
    for p in sorted([*here.rglob("*.py"), here / "report.json"]):
        h.update(p.relative_to(here).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def _results_entry(folder: Path) -> dict[str, Any]:
    run_path = folder / RESULT_FILES["run"]
    try:
        raw = run_path.read_bytes()
        key = json.loads(raw).get("key_sha256")
    except (OSError, ValueError, AttributeError):
        raw, key = b"", None
    stats = {}
    for name in RESULT_FILES.values():
        try:
            st = (folder / name).stat()
            stats[name] = [st.st_size, st.st_mtime_ns]
        except OSError:
            stats[name] = None
    return {"path": str(folder.absolute()), "key_sha256": key,
            "run_sha256": hashlib.sha256(raw).hexdigest(), "files": stats}  # fmt: skip


def report_key(results: list[Path], options: dict[str, Any]) -> dict[str, Any]:
    """What the report of ``results`` with ``options`` depends on."""
    return {
        "results": [_results_entry(Path(r)) for r in results],
        "options": options,
        "degradebench_version": library_version("degradebench"),
        "report_code_sha256": _code_sha256(),
    }


def _sha(key: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


def load_reusable(out: Path, key: dict[str, Any]) -> dict[str, Any] | None:
    """The stored record of ``out``'s report when it was made with ``key`` and every file it
    wrote is still there; else None."""
    try:
        rec = json.loads((out / KEY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(rec, dict) or rec.get("key_sha256") != _sha(key):
        return None
    files = rec.get("files")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    if not all((out / f).is_file() for f in files):
        return None
    return rec


def forget_key(out: Path) -> None:
    """Drop the stored key before a rebuild (a crash mid-rebuild must not look reusable)."""
    try:
        (out / KEY_FILE).unlink()
    except FileNotFoundError:
        pass


def store_key(out: Path, key: dict[str, Any], files: list[Path], extra: dict[str, Any]) -> None:
    """Record the key and the files the report wrote (relative to ``out``), written last."""
    rec = {"key_sha256": _sha(key), "key": key,
           "files": [Path(f).relative_to(out).as_posix() for f in files], **extra}  # fmt: skip
    atomic_write_bytes(out / KEY_FILE, json.dumps(rec, indent=1, sort_keys=True).encode())
