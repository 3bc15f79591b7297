"""YAML loading that remembers the line of every key, for error messages that point at it."""

from __future__ import annotations

from typing import Any

import yaml

Path = tuple[str | int, ...]


class YAMLSyntaxError(ValueError):
    """The text is not valid YAML; ``line`` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def _walk(node: yaml.Node, path: Path, lines: dict[Path, int]) -> Any:
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.safe_load(yaml.serialize(key_node))
            if key in result:
                dotted = ".".join(str(p) for p in (*path, key))
                raise YAMLSyntaxError(key_node.start_mark.line + 1, f"{dotted}: duplicate key")
            lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = _walk(value_node, (*path, key), lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            items.append(_walk(item, (*path, index), lines))
        return items
    return yaml.safe_load(yaml.serialize(node))


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
    lines: dict[Path, int] = {}
    if root is None:
        return None, lines
    return _walk(root, (), lines), lines
