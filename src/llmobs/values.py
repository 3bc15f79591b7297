"""Checks for the numbers a record carries: token counts, costs, durations, sizes."""

from __future__ import annotations

import math
from numbers import Integral, Real

from .errors import InvalidRecordError, Reason

# Bounds on one record, far above any real call, so that sums stay finite and exact enough:
# a counter fed values up to these bounds reaches no infinity in any realistic lifetime, and a
# day's spend in nano-dollars stays inside SQLite's and PostgreSQL's 64-bit integers.
MAX_TOKENS = 10**10
MAX_COST_USD = 1_000_000.0
MAX_DURATION_SECONDS = 1_000_000.0
MAX_CACHE_SIZE = 1e15


def _short(value: object, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters, for messages about absurd values."""
    text = repr(value) if not isinstance(value, int) or value.bit_length() < 128 else "a huge int"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def token_count(value: object, field: str) -> int:
    """Return ``value`` as a token count, or raise InvalidRecordError.

    Accepts integers from 0 to ``MAX_TOKENS`` and integral floats (``100.0``); rejects bools,
    fractions, NaN, infinities, negatives, larger counts and non-numbers.
    """
    if type(value) is int and 0 <= value <= MAX_TOKENS:
        return value
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidRecordError(
            Reason.INVALID_TOKENS, f"{field} must be a non-negative integer, got {value!r}"
        )
    if isinstance(value, Integral):
        count = int(value)
    else:
        number = float(value)
        if not math.isfinite(number) or not number.is_integer():
            raise InvalidRecordError(
                Reason.INVALID_TOKENS, f"{field} must be a whole number of tokens, got {value!r}"
            )
        count = int(number)
    if count < 0:
        raise InvalidRecordError(
            Reason.NEGATIVE_TOKENS, f"{field} must not be negative, got {value!r}"
        )
    if count > MAX_TOKENS:
        raise InvalidRecordError(
            Reason.INVALID_TOKENS,
            f"{field} must be at most {MAX_TOKENS} tokens, got {_short(count)}",
        )
    return count


def _bounded(value: object, field: str, bound: float, invalid: Reason, negative: Reason) -> float:
    """``value`` as a float from 0 to ``bound``; raise InvalidRecordError naming ``field``."""
    if type(value) is float and 0.0 <= value <= bound:
        return value
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidRecordError(invalid, f"{field} must be a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf if value > 0 else -math.inf  # type: ignore[operator]
    if not math.isfinite(number):
        raise InvalidRecordError(invalid, f"{field} must be finite, got {_short(value)}")
    if number < 0:
        raise InvalidRecordError(negative, f"{field} must not be negative, got {_short(value)}")
    if number > bound:
        raise InvalidRecordError(invalid, f"{field} must be at most {bound:g}, got {_short(value)}")
    return number


def cost_usd(value: object, field: str = "cost") -> float:
    """Return ``value`` as a cost in USD: a number from 0 to ``MAX_COST_USD``."""
    return _bounded(value, field, MAX_COST_USD, Reason.INVALID_COST, Reason.NEGATIVE_COST)


def duration_seconds(value: object, field: str = "duration_seconds") -> float:
    """Return ``value`` as a duration in seconds: a number from 0 to ``MAX_DURATION_SECONDS``."""
    return _bounded(
        value, field, MAX_DURATION_SECONDS, Reason.INVALID_DURATION, Reason.NEGATIVE_DURATION
    )


def cache_size(value: object, field: str = "size") -> float:
    """Return ``value`` as a cache size: a number from 0 to ``MAX_CACHE_SIZE``."""
    return _bounded(
        value, field, MAX_CACHE_SIZE, Reason.INVALID_CACHE_SIZE, Reason.INVALID_CACHE_SIZE
    )


def cache_outcome(value: object) -> bool | None:
    """Return ``cached`` as True (hit), False (miss) or None (no cache consulted)."""
    if value is None or value is True or value is False:
        return value
    raise InvalidRecordError(
        Reason.INVALID_CACHED, f"cached must be True, False or None, got {value!r}"
    )


def optional_token_count(value: object, field: str) -> int:
    """A token count that may be absent: None counts as 0."""
    return 0 if value is None else token_count(value, field)


def part_of(value: object, field: str, whole: int, whole_field: str) -> int:
    """A token count that may be absent and is part of ``whole`` (reasoning tokens of
    completion tokens): InvalidRecordError if it is more than the whole."""
    part = optional_token_count(value, field)
    if part > whole:
        raise InvalidRecordError(
            Reason.INVALID_TOKENS,
            f"{field} ({part}) exceed {whole_field}_tokens ({whole}), which must include them",
        )
    return part


def optional_duration(value: object) -> float | None:
    """A duration that may be absent (None)."""
    return None if value is None else duration_seconds(value)


def optional_cost(value: object) -> float | None:
    """A cost that may be absent (None)."""
    return None if value is None else cost_usd(value)
