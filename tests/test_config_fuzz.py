"""Hostile datasets.yaml: every bad file is a ConfigError naming where (YAML path or line), in one
line, in bounded time; never another exception type, never code execution.

Property tests mutate the shipped config (every dataset kind, axis type and preset) at a random
place, or its text, or feed raw bytes; a table of crafted files covers what random draws rarely
hit (alias bombs, deep nesting, Python tags, constructor failures, unhashable keys)."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from degradebench.cli import main
from degradebench.generators import ConfigError, load_config
from degradebench.generators.config import Config, default_config_path, parse_config
from degradebench.generators.core.yamlsafe import MAX_YAML_DEPTH
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SHIPPED_TEXT = default_config_path().read_text(encoding="utf-8")
SHIPPED = yaml.safe_load(SHIPPED_TEXT)
parse_config(SHIPPED_TEXT)  # the first parse imports every axis and op: keep it out of deadlines
FUZZ = settings(
    max_examples=int(os.environ.get("DEGRADEBENCH_FUZZ_EXAMPLES", "100")),
    deadline=timedelta(seconds=30),  # generous: a shared CI box varies (a parse takes ~50 ms)
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,  # CI runs the same examples every time; raise the env var to explore
    database=None,
)
MAX_MESSAGE = 2000  # a message is a line for a human, not a dump of the input


def check_outcome(text: str, where: str | None = None) -> ConfigError | None:
    """Parse ``text``: a Config or a ConfigError that is one short line naming ``where``."""
    t0 = time.perf_counter()
    try:
        cfg = parse_config(text)
    except ConfigError as exc:
        msg = str(exc)
        assert "\n" not in msg, msg
        assert 10 < len(msg) < MAX_MESSAGE, msg[:300]
        if where is not None:
            assert where in msg, (where, msg)
        assert time.perf_counter() - t0 < 30
        return exc
    assert isinstance(cfg, Config)
    assert time.perf_counter() - t0 < 30
    return None


# --- 1. mutations of the shipped config's tree ------------------------------------------------


def _places(tree, prefix=()):
    """Every (path, container) in a YAML tree, containers included."""
    yield prefix
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _places(v, (*prefix, k))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            yield from _places(v, (*prefix, i))


PLACES = [p for p in _places(SHIPPED) if p]

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.binary(max_size=8),
    st.dates(),
    st.sampled_from(
        [
            "jpeg",
            "jepg",
            "pillow",
            "opencv",
            "all",
            "4:2:0",
            "4:1:1",
            "samples",
            "folder",
            "clean",
            "crop",
            "resize",
            "social",
            "",
            "~",
            "-1",
            "1e309",
            "../..",
            "/etc/passwd",
            "os:system",
            "builtins:eval",
        ]
    ),  # fmt: skip
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=3)
    ),
    max_leaves=8,
)


def _get(tree, path):
    for k in path:
        tree = tree[k]
    return tree


def _dotted(path) -> str:
    out = ""
    for k in path:
        out += f"[{k}]" if isinstance(k, int) else (f".{k}" if out else str(k))
    return out


@st.composite
def mutated(draw):
    tree = yaml.safe_load(SHIPPED_TEXT)  # a fresh copy
    path = draw(st.sampled_from(PLACES))
    parent, key = _get(tree, path[:-1]), path[-1]
    op = draw(
        st.sampled_from(["replace", "replace", "replace", "delete", "unknown_key", "typo", "huge"])
    )
    if op == "replace":
        parent[key] = draw(_values)
    elif op == "delete":
        del parent[key]
    elif op == "unknown_key" and isinstance(parent, dict):
        parent[draw(st.sampled_from(["extra", "qualitys", "kinds", "axis", "!!python"]))] = 1
    elif op == "typo" and isinstance(parent, dict) and isinstance(key, str) and len(key) > 2:
        i = draw(st.integers(0, len(key) - 1))
        parent[key[:i] + key[i + 1 :]] = parent.pop(key)
    elif op == "huge":
        node = parent[key]
        parent[key] = (node * 3000)[:3000] if isinstance(node, list) and node else list(range(3000))
    else:
        parent[key] = draw(_values)
    return op, path, yaml.safe_dump(tree, allow_unicode=True, sort_keys=False)


@FUZZ
@given(mutated())
def test_mutated_config_is_valid_or_a_config_error_naming_its_path(case) -> None:
    op, path, text = case
    if op in ("replace", "huge"):  # the bad value's dataset, suite or preset is named
        where = _dotted(path[:2])
    elif op == "unknown_key":  # the mapping that got the key is named
        where = _dotted(path[:-1][:2])
    else:  # a deleted or renamed item surfaces where it is used (a suite naming a preset)
        where = None
    check_outcome(text, where)


# --- 2. mutations of the text, and raw bytes --------------------------------------------------

_FRAGMENTS = [
    "!!python/object/apply:os.system ['touch PWNED']",
    "!!python/name:os.system",
    "!!python/object/new:subprocess.Popen [['touch', 'PWNED']]",
    "!function os.system",
    "!!binary aGk=",
    "!!set {a: null}",
    "!!omap [a: 1]",
    "!!timestamp 2001-99-99",
    "!!int 0x" + "f" * 5000,
    "!!bool maybe",
    "&x [1, 2, 3]",
    "*undefined",
    "<<: {kind: samples}",
    "? [1, 2]\n: 3",
    "[" * 200,
    "{" * 200,
    "\t",
    "\x00",
    "\ufeff",
    "'unterminated",
    "key: value: more",
    "- - - -",
    "%YAML 1.1\n---",
    "--- !!map\n...",
]


@st.composite
def text_mutated(draw):
    text = SHIPPED_TEXT
    for _ in range(draw(st.integers(1, 3))):
        pos = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "cut", "truncate", "chars"]))
        if kind == "insert":
            text = text[:pos] + draw(st.sampled_from(_FRAGMENTS)) + text[pos:]
        elif kind == "cut":
            text = text[:pos] + text[pos + draw(st.integers(1, 40)) :]
        elif kind == "truncate":
            text = text[:pos]
        else:
            text = text[:pos] + draw(st.text(min_size=1, max_size=5)) + text[pos:]
    return text


@FUZZ
@given(text_mutated())
def test_mutated_text_is_valid_or_a_config_error(tmp_path_factory, text: str) -> None:
    cwd = Path(tmp_path_factory.mktemp("cwd"))
    old = os.getcwd()
    os.chdir(cwd)  # a tag that executed 'touch PWNED' would leave the file here
    try:
        check_outcome(text)
    finally:
        os.chdir(old)
    assert not (cwd / "PWNED").exists()


@FUZZ
@given(st.binary(max_size=400))
def test_arbitrary_bytes_as_config_file(tmp_path_factory, data: bytes) -> None:
    f = Path(tmp_path_factory.mktemp("cfg")) / "datasets.yaml"
    f.write_bytes(data)
    try:
        load_config(f)
    except ConfigError as exc:
        msg = str(exc)
        assert str(f) in msg and "\n" not in msg and len(msg) < MAX_MESSAGE, msg


def test_non_utf8_config_names_the_file(tmp_path: Path) -> None:
    f = tmp_path / "datasets.yaml"
    f.write_bytes(SHIPPED_TEXT.encode("utf-8") + b"\n# caf\xe9 latin-1\n")
    with pytest.raises(ConfigError, match=rf"--config: cannot read '{f}': 'utf-8' codec"):
        load_config(f)


# --- 3. crafted files --------------------------------------------------------------------------


def _bomb(levels: int = 8) -> str:
    names = "abcdefghij"
    lines = ["a0: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for i in range(1, levels):
        refs = ", ".join([f"*{names[i - 1]}"] * 9)
        lines.append(f"a{i}: &{names[i]} [{refs}]")
    return "\n".join(lines)


def _in_quality_list(expr: str) -> str:
    return f"suites:\n  s:\n    axes:\n      jpeg:\n        qualities: {expr}\n"


CRAFTED = {
    # alias bombs: 9^8 = 43 million values from 8 short lines, anywhere in the tree
    "alias bomb at top level": (_bomb(), "expands to more than"),
    "alias bomb as a dataset kind": (
        "datasets:\n  d:\n    kind:\n"
        + "\n".join("      - " + line.split(": ", 1)[1] for line in _bomb().splitlines()),
        "expands to more than",
    ),
    "deep list": ("suites: " + "[" * 5000 + "]" * 5000, f"nested more than {MAX_YAML_DEPTH}"),
    "deep mapping": (
        "suites:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 400)),
        f"nested more than {MAX_YAML_DEPTH}",
    ),
    "recursive alias": (_in_quality_list("&q [90, *q]"), "qualities[1]: must be an integer"),
    "python object tag": (
        "suites: !!python/object/apply:os.system ['touch PWNED']",
        "not valid YAML (safe subset, no tags): line 1, column 9: could not determine a constructor",
    ),
    "python name tag": ("suites: !!python/name:os.system", "could not determine a constructor"),
    "custom function tag": ("suites: !function os.system", "could not determine a constructor"),
    "5000-digit integer": (
        "suites:\n  s: {seed: " + "9" * 5000 + "}\n",
        "line 2, column 13: cannot read '9999",
    ),
    "impossible date": ("suites:\n  s: {seed: 2001-13-45}\n", "as timestamp (ValueError"),
    "bad bool tag": ("suites:\n  s: {seed: !!bool maybe}\n", "cannot read 'maybe' as bool"),
    "map tag on a list": ("suites:\n  s: !!map [1]\n", "line 2: expected a mapping, found a list"),
    "list as a key": ("suites:\n  ? [1, 2]\n  : 3\n", "line 2: a key must be text or a number"),
    "list as axis type": (
        "suites:\n  s: {axes: {j: {type: [1], qualities: [90]}}}\n",
        "suites.s.axes.j.type: unknown axis type [1]",
    ),
    "mapping as op name": (
        "suites:\n  s: {axes: {social: {presets: [x]}}}\npresets:\n  x:\n    source: s\n"
        "    note: n\n    chain: [{op: {a: 1}}]\n",
        "presets.x.chain[0]",
    ),
    "megabyte string as kind": (
        "datasets:\n  d: {kind: '" + "x" * 1_000_000 + "'}\n",
        "datasets.d.kind: must be one of folder, list, samples, virtual-cameras, virtual-scanners; got 'xxx",
    ),
    "nan seed": ("suites:\n  s: {seed: .nan}\n", "suites.s.seed: must be an integer"),
    "unknown axis": (_in_quality_list("[90]").replace("jpeg:", "jpeg3000:"), "unknown axis type"),
    "quality out of range": (
        _in_quality_list("[90, 101]"),
        "qualities[1]: must be an integer 1..100",
    ),
    "ladder of 20000 repeats": (
        _in_quality_list(str([90] * 20000)),
        "qualities: repeated values [90] in [90, 90, 90, 90, 90, 90, 90, 90, ...]",
    ),
    "string ladder": (_in_quality_list("'90, 80'"), "qualities: must be a list"),
    "duplicate key": ("version: 1\nversion: 1\n", "line 2: duplicate key 'version'"),
    "tab indentation": ("suites:\n\ts: 1\n", "not valid YAML"),
    "NUL byte": ("suites: \x00\n", "unacceptable character"),
}


@pytest.mark.parametrize("name", list(CRAFTED))
def test_crafted_config(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    text, expected = CRAFTED[name]
    exc = check_outcome(text)
    assert exc is not None, "accepted"
    assert expected in str(exc)
    assert not (tmp_path / "PWNED").exists()


def test_yaml_merge_keys_work() -> None:
    text = (
        "suites:\n  a: &a\n    seed: 1\n    axes: {jpeg: {qualities: [90]}}\n"
        "  b:\n    <<: *a\n    seed: 2\n"
    )
    cfg = parse_config(text)
    a, b = cfg.suites["a"], cfg.suites["b"]
    assert b.seed == 2 and [x.params for x in b.axes] == [x.params for x in a.axes]


def test_loading_never_calls_os_or_subprocess(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    def boom(*a, **k):
        raise AssertionError("a config executed code")

    for mod, name in [(os, "system"), (os, "popen"), (subprocess, "Popen"), (os, "execv")]:
        monkeypatch.setattr(mod, name, boom)
    for text, _ in CRAFTED.values():
        check_outcome(text)


# --- 4. through the CLI -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["alias bomb at top level", "python object tag", "list as a key", "5000-digit integer",
             "ladder of 20000 repeats", "deep list"],
)  # fmt: skip
def test_cli_prints_one_line_and_exits_2(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(CRAFTED[name][0])
    argv = ["generate", "--config", str(cfg), "--dataset", "samples", "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("degradebench generate: error: "), err[:500]
    assert str(cfg) in lines[0] and "Traceback" not in err and len(lines[0]) < 2100
    assert not (tmp_path / "o").exists()  # nothing was written for a bad config
    with pytest.raises(ConfigError):  # --debug: the exception propagates with its traceback
        main(["--debug", *argv])


# --- the evaluator's model input config (--input-config FILE, --set KEY=VALUE) -------------------


@pytest.mark.parametrize(
    "name", ["alias bomb at top level", "python object tag", "list as a key", "deep list",
             "impossible date", "non-utf8"],
)  # fmt: skip
def test_hostile_input_config_file_is_one_line(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "input.yaml"
    if name == "non-utf8":
        f.write_bytes(b"mean: [0.5, 0.5, 0.5]\n# caf\xe9\n")
    else:
        f.write_text(CRAFTED[name][0])
    argv = ["evaluate", "--manifest", str(tmp_path), "--model", "_evalfix:tiny_net_factory",
            "--out", str(tmp_path / "r"), "--input-config", str(f)]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--input-config {f}" in err and "Traceback" not in err
    assert len(err) < 2100 and not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize(
    "value", ["!!python/object/apply:os.system ['touch PWNED']", "[" * 200, "!!bool maybe",
              "&a [*a]"],
)  # fmt: skip
def test_hostile_set_value_is_one_line(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["evaluate", "--manifest", str(tmp_path), "--model", "_evalfix:tiny_net_factory",
            "--out", str(tmp_path / "r"), "--set", f"mean={value}"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--set" in err and "mean" in err and "Traceback" not in err
    assert not (tmp_path / "PWNED").exists()
