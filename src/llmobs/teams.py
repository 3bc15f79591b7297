"""The team of an agent, defined once: the part of its id before the first separator, or the
whole id when that part is empty or there is no separator (``meetmind.coordinator`` ->
``meetmind``; ``solo`` -> ``solo``; ``.hidden`` -> ``.hidden``).

The runtime derives it in Python (``team_of``); Prometheus derives it in rules and panels with
``label_replace`` and the pattern ``team_pattern`` gives, which yields the same team for every
agent id (a test proves it against promtool).
"""

from __future__ import annotations

import re
from collections.abc import Callable

DEFAULT_SEPARATOR = "."


def check_separator(value: object) -> str:
    """A team separator: one punctuation character such as '.'; ValueError otherwise."""
    if not isinstance(value, str) or len(value) != 1 or value.isalnum() or value.isspace():
        shown = repr(value) if isinstance(value, str) else type(value).__name__
        raise ValueError(f"must be one punctuation character such as '.', got {shown}")
    return value


def team_of(agent_id: str, separator: str = DEFAULT_SEPARATOR) -> str:
    """The team of ``agent_id``."""
    return agent_id.split(separator, 1)[0] or agent_id


def team_before(separator: str) -> Callable[[str], str]:
    """``team_of`` for one separator."""
    check_separator(separator)

    def team(agent_id: str) -> str:
        return team_of(agent_id, separator)

    return team


def team_pattern(separator: str) -> tuple[str, str]:
    """The RE2 pattern and replacement with which ``label_replace`` derives the team from
    ``agent_id``, as ``team_of`` does: a non-empty part before the first separator, else the
    whole id (Prometheus anchors the pattern at both ends)."""
    sep = re.escape(check_separator(separator))
    return f"([^{sep}]+){sep}.*|(.*)", "$1$2"
