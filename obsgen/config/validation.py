"""Reading a config document key by key, collecting one precise error per bad value."""

from __future__ import annotations

import math
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from llmobs.schema import DEFAULT_MAX_LABEL_LENGTH

from .yaml_lines import Path

T = TypeVar("T")

DURATION = re.compile(r"^(?:\d+y)?(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?(?:\d+ms)?$")
_UNITS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}
HOST_PORT = re.compile(r"^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?):(\d+)$")
REQUIRED: Any = object()


@dataclass(frozen=True)
class ConfigIssue:
    """One thing wrong with the config: where, and what."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}: {self.message}"


class ConfigError(ValueError):
    """The config is invalid; ``issues`` holds one entry per problem, in file order."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = sorted(issues, key=lambda i: (i.line, i.path))
        super().__init__("\n".join(str(issue) for issue in self.issues))


def duration_seconds(text: str) -> float:
    """Seconds in a Prometheus duration such as ``1h30m``."""
    total = 0.0
    for amount, unit in re.findall(r"(\d+)(ms|[ywdhms])", text):
        total += int(amount) * _UNITS[unit]
    return total


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


class Reader:
    """Reads a config document, recording issues with the line of each key."""

    def __init__(self, file: str, lines: dict[Path, int]) -> None:
        self.file = file
        self._lines = lines
        self.issues: list[ConfigIssue] = []

    def line_of(self, path: Path) -> int:
        while path and path not in self._lines:
            path = path[:-1]
        return self._lines.get(path, 1)

    def fail(self, path: Path, message: str) -> None:
        dotted = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        self.issues.append(ConfigIssue(self.file, self.line_of(path), dotted or "(top)", message))

    def together(self, path: Path, **values: object) -> None:
        """An issue unless the two keys ``values`` names are both set or both left out."""
        (first, a), (second, b) = values.items()
        if (a is None) != (b is None):
            self.fail(path, f"{first} and {second} must be given together")

    def mapping(self, data: object, path: Path, allowed: set[str]) -> dict[str, Any]:
        """``data`` as a mapping whose keys are all in ``allowed``; {} (and an issue) if not."""
        if data is None:
            return {}
        if not isinstance(data, dict):
            self.fail(path, f"must be a mapping, got {describe(data)}")
            return {}
        for key in data:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                self.fail((*path, str(key)), f"unknown key (known keys: {known})")
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

    def checked(self, path: Path, value: Any, check: Callable[[Any], T]) -> T | None:
        """``check(value)``, or None with an issue at ``path`` saying what is wrong."""
        try:
            return check(value)
        except ValueError as exc:
            self.fail(path, str(exc))
            return None


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


def duration(value: Any) -> str:
    if (
        not isinstance(value, str)
        or not value
        or not DURATION.match(value)
        or not duration_seconds(value)
    ):
        raise ValueError(f"must be a duration such as 30s, 5m or 1h, got {describe(value)}")
    return value


def bounded_duration(longest: str) -> Callable[[Any], str]:
    """A duration no longer than ``longest``."""

    def check(value: Any) -> str:
        text = duration(value)
        if duration_seconds(text) > duration_seconds(longest):
            raise ValueError(f"must be at most {longest}, got {describe(value)}")
        return text

    return check


interval = bounded_duration("1h")
"""How often Prometheus scrapes or evaluates: at most an hour."""

MAX_HOLD = "6h"


def hold_duration(value: Any) -> str:
    """A ``for:`` duration: 0s (fire at once) up to ``MAX_HOLD``."""
    if value == "0s":
        return value
    return bounded_duration(MAX_HOLD)(value)


MIN_BUDGET, MAX_BUDGET = 0.01, 1e9


def budget(value: Any) -> float:
    """A budget in USD, from a cent to a billion."""
    amount = number(value)
    if not MIN_BUDGET <= amount <= MAX_BUDGET:
        raise ValueError(
            f"must be a budget from {MIN_BUDGET:g} to {MAX_BUDGET:g} USD, got {describe(value)}"
        )
    return amount


def objective_percent(value: Any) -> float:
    """An objective in percent that can be both met and missed: above 0 and below 100."""
    amount = number(value)
    if not 0 < amount < 100:
        raise ValueError(f"must be a percentage above 0 and below 100, got {describe(value)}")
    return amount


def host_port(value: Any) -> str:
    match = HOST_PORT.match(value) if isinstance(value, str) else None
    if match is None or not 0 < int(match.group(1)) <= 65535:
        raise ValueError(f"must be host:port with a port from 1 to 65535, got {describe(value)}")
    return value


def url(value: Any) -> str:
    if not isinstance(value, str) or not re.match(r"^https?://[^\s/$.?#][^\s]*$", value):
        raise ValueError(f"must be an http:// or https:// URL, got {describe(value)}")
    if re.search(r"%(?![0-9A-Fa-f]{2})", value):
        raise ValueError(
            f"must be a URL whose every % starts an escape such as %20, got {describe(value)}"
        )
    return value


_SECRET_QUERY_KEYS = re.compile(r"(?i)(token|key|secret|password|passwd|auth|signature)")


def secret_free_url(value: Any) -> str:
    """A URL that holds no credentials, since it is written into committed files."""
    checked = url(value)
    parts = urllib.parse.urlsplit(checked)
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "must not hold credentials (user:password@): they would be written into the "
            "generated files; use basic_auth with password_file, or bearer_token_file"
        )
    for key, _ in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
        if _SECRET_QUERY_KEYS.search(key):
            raise ValueError(
                f"must not hold a secret in its query ({key}=...): it would be written into the "
                "generated files; use bearer_token_file or basic_auth with password_file"
            )
    return checked


def metrics_path(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("/") or any(c.isspace() for c in value):
        raise ValueError(f"must be a URL path starting with /, got {describe(value)}")
    return value


def identifier(value: Any) -> str:
    if not isinstance(value, str) or not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$", value):
        raise ValueError(
            "must be 1 to 40 letters, digits, '.', '_' or '-', starting with a letter or digit, "
            f"got {describe(value)}"
        )
    return value


def one_of(*choices: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, got {describe(value)}")
        return value

    return check
