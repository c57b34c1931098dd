"""The README's Python-API example runs as it stands (tiny data, CPU, the dummy model)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_example() -> str:
    """The first ```python block of the README's "## Python API" section."""
    text = README.read_text(encoding="utf-8")
    section = re.search(r"^## Python API\n(.*?)(?=^## )", text, re.S | re.M)
    assert section, 'README.md has no "## Python API" section'
    block = re.search(r"^```python\n(.*?)^```", section.group(1), re.S | re.M)
    assert block, 'the "Python API" section has no ```python block'
    return block.group(1)


def test_readme_names_every_api_function():
    import degradebench as db

    section = README.read_text(encoding="utf-8").split("## Python API", 1)[1].split("\n## ", 1)[0]
    missing = [n for n in db.__all__ if n != "__version__" and f"db.{n}(" not in section]
    assert not missing, f"the README's Python API section does not show: {missing}"


def test_readme_example_runs(tmp_path, monkeypatch, capsys):
    code = readme_example()
    assert "import degradebench as db" in code and "db.evaluate(" in code
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__readme__"}
    exec(compile(code, f"{README}:Python API", "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    assert "variants;" in out and (tmp_path / "report" / "report.html").is_file()
    assert (tmp_path / "variants" / "manifest").is_dir()
