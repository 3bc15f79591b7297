"""Checks of the generator's own config values (durations, hosts, URLs, names), beside the
reader and the checks it shares with the runtime's part of the config (``llmobs.configfile``)."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from typing import Any

from llmobs.configfile.reading import (
    REQUIRED,
    ConfigError,
    ConfigIssue,
    Reader,
    boolean,
    budget,
    budget_percent,
    count_between,
    describe,
    did_you_mean,
    label_value,
    number,
    percent,
    positive,
    text,
    unknown_key,
)

__all__ = [
    "REQUIRED",
    "ConfigError",
    "ConfigIssue",
    "Reader",
    "boolean",
    "budget",
    "budget_percent",
    "count_between",
    "describe",
    "did_you_mean",
    "label_value",
    "number",
    "percent",
    "positive",
    "text",
    "unknown_key",
]

DURATION = re.compile(r"^(?:\d+y)?(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?(?:\d+ms)?$")
_UNITS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}
HOST_PORT = re.compile(r"^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?):(\d+)$")


def duration_seconds(text: str) -> float:
    """Seconds in a Prometheus duration such as ``1h30m``."""
    total = 0.0
    for amount, unit in re.findall(r"(\d+)(ms|[ywdhms])", text):
        total += int(amount) * _UNITS[unit]
    return total


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


def duration_between(shortest: str, longest: str) -> Callable[[Any], str]:
    """A duration from ``shortest`` to ``longest``."""

    def check(value: Any) -> str:
        text = bounded_duration(longest)(value)
        if duration_seconds(text) < duration_seconds(shortest):
            raise ValueError(f"must be at least {shortest}, got {describe(value)}")
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


def secret_free_url(instead: str) -> Callable[[Any], str]:
    """A URL that holds no credentials, since it is written into committed files; a message
    that finds one says what to do ``instead``."""

    def check(value: Any) -> str:
        checked = url(value)
        parts = urllib.parse.urlsplit(checked)
        if parts.username is not None or parts.password is not None:
            raise ValueError(
                "must not hold credentials (user:password@): they would be written into the "
                f"generated files; {instead}"
            )
        for key, _ in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
            if _SECRET_QUERY_KEYS.search(key):
                raise ValueError(
                    f"must not hold a secret in its query ({key}=...): it would be written into "
                    f"the generated files; {instead}"
                )
        return checked

    return check


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
