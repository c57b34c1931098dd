"""Safe YAML: no tags, no code, no duplicate keys, bounded depth and expanded size; every
failure is one ConfigError naming the line."""

from __future__ import annotations

from typing import Any

import yaml

from .errors import ConfigError
from .messages import short_repr

__all__ = ["load_yaml", "MAX_YAML_DEPTH", "MAX_YAML_VALUES"]

# Bounds on what a config may expand to: the shipped file has ~900 values nested 8 deep. YAML
# aliases can make a small file expand exponentially ("billion laughs"), and PyYAML composes
# recursively, so both are checked before anything is constructed.
MAX_YAML_DEPTH = 50
MAX_YAML_VALUES = 100_000
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys (a silent override hides a typo), documents nested
    or expanding beyond the bounds above, and turns a constructor's own exception (a bad date, a
    5000-digit integer, ``!!bool maybe``) into a ConfigError naming the line."""

    _depth = 0

    def compose_node(self, parent, index):  # noqa: ANN001, ANN201 - PyYAML's signature
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                raise ConfigError(
                    f"line {mark.line + 1}: nested more than {MAX_YAML_DEPTH} levels deep"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_document(self, node):  # noqa: ANN001, ANN201
        _check_expanded_size(node)
        return super().construct_document(node)

    def construct_object(self, node, deep=False):  # noqa: ANN001, ANN201
        try:
            return super().construct_object(node, deep=deep)
        except (ConfigError, yaml.YAMLError):
            raise
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError, IndexError) as exc:
            tag = node.tag.rpartition(":")[2] or node.tag
            value = node.value if isinstance(node, yaml.ScalarNode) else type(node).__name__
            msg = (
                f"line {node.start_mark.line + 1}, column {node.start_mark.column + 1}: cannot "
                f"read {short_repr(value)} as {tag} ({type(exc).__name__}: {short_repr(str(exc))})"
            )
            raise ConfigError(msg) from None


def _check_expanded_size(root: yaml.Node) -> None:
    """Count values as they would be after expanding aliases (each node once, memoised)."""
    sizes: dict[int, int] = {}
    pending: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, kids_done = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            sizes[id(node)] = 1
            continue
        kids = (
            [n for pair in node.value for n in pair]
            if isinstance(node, yaml.MappingNode)
            else node.value
        )
        if not kids_done:
            if id(node) in sizes or id(node) in pending:
                continue
            pending.add(id(node))
            stack.append((node, True))
            stack.extend((k, False) for k in kids)
            continue
        pending.discard(id(node))
        total = 1 + sum(sizes.get(id(k), 0) for k in kids)  # 0: a recursive alias
        if total > MAX_YAML_VALUES:
            raise ConfigError(
                f"line {node.start_mark.line + 1}: expands to more than {MAX_YAML_VALUES} "
                "values (YAML aliases repeating large lists?)"
            )
        sizes[id(node)] = total


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.Node, deep: bool = False) -> dict:
    if not isinstance(node, yaml.MappingNode):
        raise ConfigError(
            f"line {node.start_mark.line + 1}: expected a mapping, found "
            + ("a list" if isinstance(node, yaml.SequenceNode) else f"{short_repr(node.value)}")
        )
    seen = set()
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:  # '<<: *base' merges are YAML, not duplicates
            continue
        key = loader.construct_object(key_node, deep=deep)
        try:
            duplicate = key in seen
        except TypeError:  # '? [1, 2]': a list or mapping used as a key
            raise ConfigError(
                f"line {key_node.start_mark.line + 1}: a key must be text or a number, "
                f"got {short_repr(key)}"
            ) from None
        if duplicate:
            raise ConfigError(
                f"line {key_node.start_mark.line + 1}: duplicate key {short_repr(key)}"
            )
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _yaml_error_line(exc: yaml.YAMLError) -> str:
    """PyYAML's multi-line message as one line: 'line L, column C: problem (context)'."""
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None)
    if problem is None:
        return " ".join(str(exc).split())
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    context = getattr(exc, "context", None)
    text = f"{where}{problem}" + (f" ({context})" if context else "")
    return " ".join(text.split())


def load_yaml(text: str, where: str) -> Any:
    """Parse YAML the safe way (no tags, no code, no duplicate keys, bounded depth and size).

    Raises:
        ConfigError: starting with ``where``, naming the line; never another exception type.
    """
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    except yaml.YAMLError as exc:
        msg = f"{where}: not valid YAML (safe subset, no tags): {_yaml_error_line(exc)}"
        raise ConfigError(msg) from None
