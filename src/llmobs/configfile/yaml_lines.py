"""YAML loading that remembers the line of every key, for error messages that point at it."""

from __future__ import annotations

from typing import Any

import yaml

from .reading import Path


class YAMLSyntaxError(ValueError):
    """The text is not valid YAML; ``line`` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


MAX_NODES = 10_000  # after aliases are expanded: a config has a few hundred
MAX_DEPTH = 64
_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


class _Walk:
    """Turns composed nodes into data, counting every node it expands, so that aliases that
    multiply (a "billion laughs") or refer to themselves fail at once instead of running on."""

    def __init__(self) -> None:
        self.lines: dict[Path, int] = {}
        self.nodes = 0

    def _count(self, node: yaml.Node, path: Path) -> None:
        self.nodes += 1
        line = node.start_mark.line + 1
        if self.nodes > MAX_NODES:
            raise YAMLSyntaxError(
                line,
                f"more than {MAX_NODES} values once aliases are expanded: "
                "a config this large is a mistake (or aliases that refer to themselves)",
            )
        if len(path) > MAX_DEPTH:
            raise YAMLSyntaxError(line, f"nested more than {MAX_DEPTH} levels deep")

    def node(self, node: yaml.Node, path: Path) -> Any:
        self._count(node, path)
        if isinstance(node, yaml.CollectionNode) and node.tag not in _PLAIN_TAGS:
            raise YAMLSyntaxError(node.start_mark.line + 1, f"not valid here: the tag {node.tag}")
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                item_path = (*path, index)
                self.lines[item_path] = item.start_mark.line + 1
                items.append(self.node(item, item_path))
            return items
        return scalar(node)

    def mapping(self, node: yaml.MappingNode, path: Path) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise YAMLSyntaxError(line, "a key must be a plain value, not a list or mapping")
            key = scalar(key_node)
            if key in result:
                dotted = ".".join(str(p) for p in (*path, key))
                raise YAMLSyntaxError(line, f"{dotted}: duplicate key")
            key_path = (*path, key)
            self.lines[key_path] = line
            result[key] = self.node(value_node, key_path)
        return result


def scalar(node: yaml.Node) -> Any:
    """One scalar as YAML's safe loader reads it; a tag it does not know is a syntax error."""
    try:
        return yaml.safe_load(yaml.serialize(node))
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YAMLSyntaxError(node.start_mark.line + 1, f"not valid here: {problem}") from None


def load_with_lines(text: str) -> tuple[Any, dict[Path, int]]:
    """Parse ``text``; return the data and the 1-based line of every mapping key and list item."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise YAMLSyntaxError(line, f"not valid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise YAMLSyntaxError(1, f"not valid YAML: {exc}") from None
    except RecursionError:
        raise YAMLSyntaxError(1, "nested too deeply to read") from None
    if root is None:
        return None, {}
    walk = _Walk()
    return walk.node(root, ()), walk.lines
