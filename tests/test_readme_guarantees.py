"""README's Guarantees section names the tests that hold each guarantee: they must exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_every_guarantee_names_existing_tests() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Guarantees", 1)[1].split("\n## ", 1)[0]
    refs = re.findall(r"`(test_\w+\.py)?::(test_\w+)`", section)
    assert len(refs) >= 20
    current = None
    missing = []
    for file, name in refs:
        current = file or current  # '::test_x' continues the last named file
        tree = ast.parse((REPO / "tests" / current).read_text(encoding="utf-8"))
        names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        if name not in names:
            missing.append(f"{current}::{name}")
    assert missing == []
