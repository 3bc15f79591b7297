"""Reading a config document key by key, collecting one precise error per bad value: the
reader, its issues, and the checks of values the runtime's part of the config holds."""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, TypeVar

from ..schema import DEFAULT_MAX_LABEL_LENGTH

T = TypeVar("T")
#: Where a value sits in the document: its keys and list indexes from the top.
Path = tuple[str | int, ...]
REQUIRED: Any = object()


def printable(text: str) -> str:
    """``text`` with every control or format character escaped (``\\r``, ``\\x01``), so that
    a message naming a user's value shows it and never moves the cursor or hides text."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


@dataclass(frozen=True)
class ConfigIssue:
    """One thing wrong with the config: where, and what."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return printable(f"{self.file}:{self.line}: {self.path}: {self.message}")


class ConfigError(ValueError):
    """The config is invalid; ``issues`` holds one entry per problem, in file order."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = sorted(issues, key=lambda i: (i.line, i.path))
        super().__init__("\n".join(str(issue) for issue in self.issues))


def describe(value: object) -> str:
    """A value as it would be written in YAML, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    return str(value)


def dotted(path: Path) -> str:
    """A key path as the messages write it: ``budgets.teams.research``, ``targets[0]``."""
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    return text or "(top)"


class Reader:
    """Reads a config document, recording issues with the line of each key."""

    def __init__(self, file: str, lines: dict[Path, int]) -> None:
        self.file = file
        self.lines = lines
        self.issues: list[ConfigIssue] = []

    def line_of(self, path: Path) -> int:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def fail(self, path: Path, message: str) -> None:
        self.issues.append(ConfigIssue(self.file, self.line_of(path), dotted(path), message))

    def together(self, path: Path, **values: object) -> None:
        """An issue unless the two keys ``values`` names are both set or both left out."""
        (first, a), (second, b) = values.items()
        if (a is None) != (b is None):
            self.fail(path, f"{first} and {second} must be given together")

    def mapping(self, data: object, path: Path, allowed: Collection[str]) -> dict[str, Any]:
        """``data`` as a mapping whose keys are all in ``allowed`` (the section's keys, each
        with what it means); {} (and an issue) if not."""
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.fail(path, f"must be a mapping, got {describe(data)}")
            return {}
        for key in data:
            if key not in allowed:
                self.fail((*path, str(key)), unknown_key(str(key), allowed))
        return data

    def value(
        self,
        data: dict[str, Any],
        path: Path,
        key: str,
        check: Callable[[Any], Any],
        default: Any = REQUIRED,
    ) -> Any:
        """``data[key]`` passed through ``check``, which raises ValueError with the message.

        ``null`` means "none" or "off" and nothing else: it is taken where the default is
        None, and refused where the key has a value by default.
        """
        default = self.default((*path, key), default)
        if key not in data or data[key] is None:
            if default is REQUIRED:
                self.fail((*path, key), "is required")
                return None
            if key in data and default is not None:
                self.fail(
                    (*path, key),
                    "null means off, and this cannot be off: omit the key for its default "
                    f"({describe(default)})",
                )
            return default
        checked = self.checked((*path, key), data[key], check)
        return checked if checked is not None or default is REQUIRED else default

    def default(self, path: Path, value: T) -> T:
        """The default of the key at ``path`` (``REQUIRED`` if it has none), for a reader
        (not ``value``) that reads it; a reader that documents the config notes it."""
        return value

    def checked(self, path: Path, value: Any, check: Callable[[Any], T]) -> T | None:
        """``check(value)``, or None with an issue at ``path`` saying what is wrong."""
        try:
            return check(value)
        except ValueError as exc:
            self.fail(path, str(exc))
            return None


def did_you_mean(word: str, known: Any) -> str:
    """`` (did you mean X?)`` for the known word closest to a misspelled ``word``, else ""."""
    close = difflib.get_close_matches(word, sorted(known), n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


def unknown_key(key: str, allowed: Collection[str]) -> str:
    """The message for a key the section does not have."""
    return f"unknown key{did_you_mean(key, allowed)} (known keys: {', '.join(sorted(allowed))})"


# -- checks: each returns the value or raises ValueError saying what is wrong ----------------------


def text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be a non-empty string, got {describe(value)}")
    return value.strip()


def label_value(value: Any) -> str:
    """A value the runtime records as a label as it is: printable text without surrounding
    spaces, at most ``DEFAULT_MAX_LABEL_LENGTH`` characters (anything else could never match)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be a non-empty string, got {describe(value)}")
    bad = next((ch for ch in value if not ch.isprintable()), None)
    if bad is not None:
        raise ValueError(
            f"must be printable text: {describe(value)} holds the control or format character "
            f"U+{ord(bad):04X}, which llmobs never records in a label"
        )
    if value != value.strip():
        raise ValueError(f"must not begin or end with spaces, got {describe(value)}")
    if len(value) > DEFAULT_MAX_LABEL_LENGTH:
        raise ValueError(
            f"must be at most {DEFAULT_MAX_LABEL_LENGTH} characters (llmobs cuts longer label "
            f"values), got {len(value)}"
        )
    return value


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, got {describe(value)}")
    return value


def number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"must be a number, got {describe(value)}")
    return float(value)


def positive(value: Any) -> float:
    amount = number(value)
    if amount <= 0:
        raise ValueError(f"must be a positive number, got {describe(value)}")
    return amount


def count_between(lowest: int, highest: int, what: str) -> Callable[[Any], int]:
    """A whole number from ``lowest`` to ``highest`` of ``what`` (tokens, ...)."""

    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= highest:
            raise ValueError(
                f"must be a whole number of {what} from {lowest:,} to {highest:,}, "
                f"got {describe(value)}"
            )
        return value

    return check


def percent(value: Any) -> float:
    amount = number(value)
    if not 0 < amount <= 100:
        raise ValueError(f"must be a percentage above 0 and at most 100, got {describe(value)}")
    return amount


def budget_percent(value: Any) -> float:
    amount = number(value)
    if not 0 < amount <= 1000:
        raise ValueError(f"must be a percentage of the budget above 0, got {describe(value)}")
    return amount


MIN_BUDGET, MAX_BUDGET = 0.01, 1e9


def budget(value: Any) -> float:
    """A budget in USD, from a cent to a billion."""
    amount = number(value)
    if not MIN_BUDGET <= amount <= MAX_BUDGET:
        raise ValueError(
            f"must be a budget from {MIN_BUDGET:g} to {MAX_BUDGET:g} USD, got {describe(value)}"
        )
    return amount
