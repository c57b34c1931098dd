"""The layer rules, read from the source with ``ast`` (nothing is imported).

Layers, bottom to top: kernel (``degradebench.generators.core``), generators
(``degradebench.generators``), evaluators (``degradebench.evaluators``), bench (the rest of
``degradebench``). A module imports only its own layer and the layers below; evaluators import
only public generators modules (no dotted component starting with ``_``); project modules form no
import cycle (module-level and in-function imports count, ``if TYPE_CHECKING:`` blocks do not).
Imports written as strings count too: a string constant that names a project module
(``"degradebench.evaluators.dummy:build"``, a lazy registry target, an f-string's leading
``"degradebench.x."``) and the relative names of a lazy ``__getattr__`` map (``_WHERE``, ``_API``).
Size: no module over 450 lines and no function over 100 (``bench/benchmarks`` excluded).

``python -m pytest -s tests/test_architecture.py`` prints the counts (modules, longest function,
in-function project imports) for a before/after note.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"bench": "degradebench", "generators": "degradebench.generators",
           "evaluators": "degradebench.evaluators"}  # fmt: skip
PROJECT = "degradebench"
KERNEL, GENERATORS, EVALUATORS, BENCH = 0, 1, 2, 3
LAYER_NAMES = ("kernel", "generators", "evaluators", "bench")
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 100
SIZE_EXCLUDED = ("bench/benchmarks/",)
# The speed-benchmark suite is run from the checkout (python bench/run.py), never installed.
NOT_SHIPPED = {"degradebench.benchmarks"}


def _root_dunder(target: str, names: tuple[str, ...]) -> bool:
    """``from degradebench import __version__``: the root package runs before any of its
    subpackages anyway, so reading its dunder names adds no dependency (the one exemption)."""
    return (
        target == PROJECT
        and bool(names)
        and all(n.startswith("__") and n.endswith("__") for n in names)
    )


@dataclass(frozen=True)
class Import:
    """One project import: the module that runs it, what it resolves to, where it is."""

    source: str
    target: str  # a project module (a package's ``__init__`` is the package name)
    names: tuple[str, ...]  # the names of ``from X import a, b`` that are not submodules
    line: int
    in_function: bool
    in_string: bool = False  # named in a string (a lazy target), not an import statement


@dataclass
class Module:
    name: str
    path: Path
    is_package: bool
    tree: ast.Module
    lines: int
    imports: list[Import] = field(default_factory=list)

    @property
    def rel(self) -> str:
        return self.path.relative_to(ROOT).as_posix()


def module_name(path: Path) -> tuple[str, bool]:
    """``generators/ops/jpeg.py`` -> (``degradebench.generators.ops.jpeg``, False)."""
    rel = path.relative_to(ROOT)
    parts = list(rel.with_suffix("").parts)
    base = FOLDERS[parts[0]]
    is_package = parts[-1] == "__init__"
    rest = parts[1:-1] if is_package else parts[1:]
    return ".".join([base, *rest]), is_package


def layer(name: str) -> int:
    if name == "degradebench.generators.core" or name.startswith("degradebench.generators.core."):
        return KERNEL
    if name == "degradebench.generators" or name.startswith("degradebench.generators."):
        return GENERATORS
    if name == "degradebench.evaluators" or name.startswith("degradebench.evaluators."):
        return EVALUATORS
    return BENCH


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk_imports(node: ast.AST, in_function: bool = False):
    """Yield (import node, in_function), skipping ``if TYPE_CHECKING:`` bodies."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for sub in child.orelse:
                yield from _walk_imports(ast.Module(body=[sub], type_ignores=[]), in_function)
            continue
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, in_function
        inner = in_function or isinstance(
            child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
        )
        yield from _walk_imports(child, inner)


def _resolve_from(mod: Module, node: ast.ImportFrom) -> str | None:
    if node.level == 0:
        return node.module
    package = mod.name if mod.is_package else mod.name.rpartition(".")[0]
    parts = package.split(".")
    if node.level > 1:
        parts = parts[: len(parts) - (node.level - 1)]
    base = ".".join(parts)
    return f"{base}.{node.module}" if node.module else base


def _project(name: str | None) -> bool:
    return bool(name) and (name == PROJECT or name.startswith(PROJECT + "."))


def _nearest_module(name: str, known: set[str]) -> str:
    while name not in known and "." in name:
        name = name.rpartition(".")[0]
    return name


def _collect_imports(mod: Module, known: set[str]) -> list[Import]:
    out: list[Import] = []
    for node, in_fn in _walk_imports(mod.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _project(alias.name):
                    target = _nearest_module(alias.name, known)
                    out.append(Import(mod.name, target, (), node.lineno, in_fn))
            continue
        base = _resolve_from(mod, node)
        if not _project(base):
            continue
        attrs = []
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            if sub in known:  # `from pkg import submodule`
                out.append(Import(mod.name, sub, (), node.lineno, in_fn))
            else:
                attrs.append(alias.name)
        if attrs or not node.names:
            target = _nearest_module(base, known)
            out.append(Import(mod.name, target, tuple(attrs), node.lineno, in_fn))
    return out


# A whole string constant that names a project module, with an optional ``:attr``.
_MODULE_STRING = re.compile(r"degradebench(?:\.[A-Za-z_]\w*)+(?::[A-Za-z_][\w.]*)?")
_LAZY_MAPS = ("_WHERE", "_API")  # name -> module maps of lazy ``__getattr__`` functions


def _lazy_map_values(tree: ast.AST):
    """The string values of ``_WHERE = {...}`` / ``_API = {...}`` maps."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        else:
            continue
        named = any(isinstance(t, ast.Name) and t.id in _LAZY_MAPS for t in targets)
        if named and isinstance(value, ast.Dict):
            for v in value.values:
                if isinstance(v, ast.Constant) and isinstance(v.value, str):
                    yield v


def _string_import(mod: Module, text: str, line: int, known: set[str]) -> Import | None:
    """``"pkg.mod:attr"`` or a relative ``".mod"`` (as ``import_module(text, __name__)``)."""
    module, _, attr = text.partition(":")
    if module.startswith("."):
        level = len(module) - len(module.lstrip("."))
        base = mod.name.rsplit(".", level - 1)[0] if level > 1 else mod.name
        module = f"{base}.{module[level:]}" if module[level:] else base
    if not _project(module) or module == PROJECT:  # "degradebench" alone: the distribution
        return None
    names = (attr.split(".")[0],) if attr else ()
    return Import(mod.name, _nearest_module(module, known), names, line, True, True)


def _collect_string_imports(mod: Module, known: set[str]) -> list[Import]:
    """Project modules named in strings: lazy targets, ``_WHERE`` maps, f-string prefixes."""
    out: list[Import] = []
    for v in _lazy_map_values(mod.tree):
        if v.value.startswith("."):
            imp = _string_import(mod, v.value, v.lineno, known)
            if imp:
                out.append(imp)
    for node in ast.walk(mod.tree):
        text = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if _MODULE_STRING.fullmatch(node.value):
                text = node.value
        elif isinstance(node, ast.JoinedStr) and node.values:
            head = node.values[0]  # f"degradebench.evaluators.formats.{name}:load"
            if isinstance(head, ast.Constant) and isinstance(head.value, str):
                m = _MODULE_STRING.match(head.value)
                text = m.group(0) if m and ":" not in m.group(0) else None
        if text:
            imp = _string_import(mod, text, node.lineno, known)
            if imp:
                out.append(imp)
    return out


@cache
def modules() -> dict[str, Module]:
    """Every module under bench/, generators/, evaluators/, parsed, with its project imports."""
    found: dict[str, Module] = {}
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            name, is_package = module_name(path)
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text, filename=str(path))
            found[name] = Module(name, path, is_package, tree, len(text.splitlines()))
    known = set(found)
    for mod in found.values():
        mod.imports = _collect_imports(mod, known) + _collect_string_imports(mod, known)
    return found


def _private_below_generators(target: str, names: tuple[str, ...]) -> str | None:
    """The offending dotted name when ``target`` (or an imported name) is generators-private."""
    if layer(target) > GENERATORS:
        return None
    below = target.split(".")[2:]
    if any(part.startswith("_") for part in below):
        return target
    for n in names:
        if n.startswith("_") and not (n.startswith("__") and n.endswith("__")):
            return f"{target}.{n}"
    return None


def test_modules_found():
    mods = modules()
    assert "degradebench.generators.core.registry" in mods
    assert "degradebench.evaluators" in mods and "degradebench.cli" in mods
    assert len(mods) > 40


def _upward(imports: list[Import]) -> list[Import]:
    """The imports (statements or strings) of a higher layer's module."""
    return [
        imp
        for imp in imports
        if layer(imp.target) > layer(imp.source) and not _root_dunder(imp.target, imp.names)
    ]


def test_no_upward_imports():
    bad = []
    for mod in modules().values():
        for imp in _upward(mod.imports):
            src, dst = layer(imp.source), layer(imp.target)
            how = "names in a string" if imp.in_string else "imports"
            bad.append(
                f"{mod.rel}:{imp.line}: {LAYER_NAMES[src]} module {imp.source} {how} "
                f"{LAYER_NAMES[dst]} module {imp.target}"
            )
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_evaluators_import_only_public_generators():
    bad = []
    for mod in modules().values():
        if layer(mod.name) != EVALUATORS:
            continue
        for imp in mod.imports:
            private = _private_below_generators(imp.target, imp.names)
            if private:
                bad.append(f"{mod.rel}:{imp.line}: {imp.source} imports private {private}")
    assert not bad, "evaluators import private generators modules:\n" + "\n".join(bad)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        comp.append(top)
                        if top == node:
                            break
                    if len(comp) > 1:
                        result.append(sorted(comp))
    return result


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (statements only: a string names a lazy target,
    resolved after both modules have loaded, so it closes no cycle)."""
    mods = modules()
    return {
        name: {
            imp.target
            for imp in mod.imports
            if imp.target in mods and imp.target != name and not imp.in_string
        }
        for name, mod in mods.items()
    }


def test_rules_catch_what_they_should():
    assert layer("degradebench.generators.core.records") == KERNEL
    assert layer("degradebench.generators.ops.jpeg") == GENERATORS
    assert layer("degradebench.evaluators._fit") == EVALUATORS
    assert layer("degradebench.agreement") == BENCH
    assert _private_below_generators("degradebench.generators._decode", ())
    assert _private_below_generators("degradebench.generators.ops._base", ())
    assert _private_below_generators("degradebench.generators.config", ("_helper",))
    assert not _private_below_generators("degradebench.generators.ops.resize", ("resize_image",))
    assert not _private_below_generators("degradebench.evaluators._fit", ())
    assert _root_dunder("degradebench", ("__version__",))
    assert not _root_dunder("degradebench", ("generate",))


def test_rules_catch_imports_written_as_strings():
    """A lower layer naming a higher layer's module in a string is an upward import too."""
    known = {"degradebench.generators", "degradebench.generators.core",
             "degradebench.generators.plan", "degradebench.generators._decode",
             "degradebench.evaluators", "degradebench.evaluators.dummy",
             "degradebench.evaluators.formats", "degradebench.evaluators._fit"}  # fmt: skip
    planted = (
        '"""Docstring naming degradebench.evaluators.dummy in prose: not a target."""\n'
        'FORMATS.register("dummy", "degradebench.evaluators.dummy:build")\n'
        'def load(name):\n    return f"degradebench.evaluators.formats.{name}:load"\n'
        '_WHERE = {"plan": "..plan", "fit": "...evaluators._fit"}\n'
        'VERSION = md.version("degradebench")\n'
    )
    mod = Module("degradebench.generators.core", ROOT / "generators/core/__init__.py", True,
                 ast.parse(planted), 0)  # fmt: skip
    got = _collect_string_imports(mod, known)
    assert all(i.in_string for i in got)
    assert sorted((i.target, i.names) for i in got) == [
        ("degradebench.evaluators._fit", ()),
        ("degradebench.evaluators.dummy", ("build",)),
        ("degradebench.evaluators.formats", ()),
        ("degradebench.generators.plan", ()),
    ]
    # every one is upward from the kernel: generators' plan and three evaluators modules
    assert len(_upward(got)) == 4
    private = Module("degradebench.evaluators.x", ROOT / "evaluators/x.py", False,
                     ast.parse('T = "degradebench.generators._decode:decode_source"\n'), 0)  # fmt: skip
    (imp,) = _collect_string_imports(private, known)
    assert _private_below_generators(imp.target, imp.names) == "degradebench.generators._decode"


def test_relative_imports_resolve():
    mod = Module("degradebench.generators.ops.jpeg", ROOT / "generators/ops/jpeg.py", False,
                 ast.parse("from ..core import errors\nfrom . import _base\n"
                           "def f():\n    from ...evaluators import _fit\n"
                           "if TYPE_CHECKING:\n    from degradebench import cli\n"), 0)  # fmt: skip
    known = {"degradebench.generators.core", "degradebench.generators.core.errors",
             "degradebench.generators.ops._base", "degradebench.evaluators._fit"}  # fmt: skip
    got = [(i.target, i.in_function) for i in _collect_imports(mod, known)]
    assert got == [
        ("degradebench.generators.core.errors", False),
        ("degradebench.generators.ops._base", False),
        ("degradebench.evaluators._fit", True),
    ]


def test_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    mods = modules()
    found = _cycles(import_graph())
    lines = []
    for comp in found:
        members = set(comp)
        edges = [
            f"    {mods[a].rel}:{imp.line} imports {imp.target}"
            for a in comp
            for imp in mods[a].imports
            if imp.target in members and imp.target != a and not imp.in_string
        ]
        lines.append("cycle among " + ", ".join(comp) + ":\n" + "\n".join(edges))
    assert not found, "import cycles:\n" + "\n".join(lines)


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node, node.end_lineno - node.lineno + 1


def _sized() -> list[Module]:
    return [m for m in modules().values() if not m.rel.startswith(SIZE_EXCLUDED)]


def test_module_size():
    bad = [f"{m.rel}: {m.lines} lines" for m in _sized() if m.lines > MAX_MODULE_LINES]
    assert not bad, f"modules over {MAX_MODULE_LINES} lines:\n" + "\n".join(sorted(bad))


def test_function_size():
    bad = [
        f"{m.rel}:{fn.lineno} {fn.name}: {n} lines"
        for m in _sized()
        for fn, n in _functions(m.tree)
        if n > MAX_FUNCTION_LINES
    ]
    assert not bad, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(sorted(bad))


def _package_dir(name: str, package_dir: dict[str, str]) -> Path:
    """The folder setuptools takes package ``name`` from (nearest mapped parent + the rest)."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        head = ".".join(parts[:i])
        if head in package_dir:
            return ROOT.joinpath(package_dir[head], *parts[i:])
    return ROOT.joinpath(*parts)


def test_pyproject_packages_cover_every_package_folder():
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setup["packages"])
    package_dir = setup.get("package-dir", {})
    folders = {m.name: m.path.parent for m in modules().values() if m.is_package}
    missing = sorted(set(folders) - listed - NOT_SHIPPED)
    assert not missing, f"pyproject.toml [tool.setuptools] packages lacks: {', '.join(missing)}"
    wrong = [
        f"{name} -> {_package_dir(name, package_dir).relative_to(ROOT)} (folder {folders[name].relative_to(ROOT)})"
        for name in sorted(listed)
        if name in folders and _package_dir(name, package_dir) != folders[name]
    ]
    assert not wrong, "package-dir maps packages to the wrong folder:\n" + "\n".join(wrong)
    stale = sorted(n for n in listed if not (_package_dir(n, package_dir) / "__init__.py").exists())
    assert not stale, f"pyproject.toml lists packages with no folder: {', '.join(stale)}"


DATA_SUFFIXES = (".yaml", ".yml", ".json", ".pt", ".csv", ".npz", ".npy")


def test_package_data_covers_every_data_file():
    """A data file the code reads at run time must be in [tool.setuptools.package-data], or a
    wheel ships without it."""
    import fnmatch

    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = setup.get("package-data", {})
    package_dir = setup.get("package-dir", {})
    folders = {
        _package_dir(n, package_dir).resolve(): n for n in setup["packages"] if n not in NOT_SHIPPED
    }
    missing = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in DATA_SUFFIXES or not path.is_file():
                continue
            if any(part in ("__pycache__", "benchmarks") for part in path.parts):
                continue
            package = folders.get(path.parent.resolve())
            globs = patterns.get(package, []) if package else []
            if not any(fnmatch.fnmatch(path.name, g) for g in globs):
                missing.append(f"{path.relative_to(ROOT)} (package {package})")
    assert not missing, "not in [tool.setuptools.package-data]:\n" + "\n".join(missing)


def counts() -> dict[str, object]:
    """Modules, lines, longest function, project imports (module level / in functions)."""
    mods = modules()
    sized = _sized()
    longest = max(
        ((n, f"{m.rel}:{fn.name}") for m in sized for fn, n in _functions(m.tree)), default=(0, "")
    )
    biggest = max(((m.lines, m.rel) for m in sized), default=(0, ""))
    imports = [imp for m in mods.values() for imp in m.imports if not imp.in_string]
    return {
        "modules": len(mods),
        "modules (size-checked)": len(sized),
        "largest module": f"{biggest[1]} ({biggest[0]} lines)",
        "modules over 450 lines": sum(m.lines > MAX_MODULE_LINES for m in sized),
        "longest function": f"{longest[1]} ({longest[0]} lines)",
        "functions over 100 lines": sum(
            n > MAX_FUNCTION_LINES for m in sized for _, n in _functions(m.tree)
        ),
        "project imports, module level": sum(not i.in_function for i in imports),
        "project imports, in functions": sum(i.in_function for i in imports),
        "project modules named in strings": sum(
            imp.in_string for m in mods.values() for imp in m.imports
        ),
        "import cycles": len(_cycles(import_graph())),
    }


def test_report_counts():
    c = counts()
    assert c["modules"] == len(modules())
    print("\narchitecture counts:", file=sys.stderr)
    for key, value in c.items():
        print(f"  {key}: {value}", file=sys.stderr)
