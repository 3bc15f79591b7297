"""Checks for the numbers a record carries: token counts, costs, durations, sizes."""

from __future__ import annotations

import math
from numbers import Integral, Real

from .errors import InvalidRecordError, Reason


def token_count(value: object, field: str) -> int:
    """Return ``value`` as a token count, or raise InvalidRecordError.

    Accepts non-negative integers and integral floats (``100.0``); rejects bools, fractions,
    NaN, infinities, negatives and non-numbers.
    """
    if type(value) is int and value >= 0:
        return value
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidRecordError(
            Reason.INVALID_TOKENS, f"{field} must be a non-negative integer, got {value!r}"
        )
    if not isinstance(value, Integral):
        number = float(value)
        if not math.isfinite(number) or not number.is_integer():
            raise InvalidRecordError(
                Reason.INVALID_TOKENS, f"{field} must be a whole number of tokens, got {value!r}"
            )
        value = int(number)
    if value < 0:
        raise InvalidRecordError(
            Reason.NEGATIVE_TOKENS, f"{field} must not be negative, got {value!r}"
        )
    return int(value)


def _non_negative(value: object, field: str, invalid: Reason, negative: Reason) -> float:
    if type(value) is float and 0.0 <= value < math.inf:
        return value
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidRecordError(invalid, f"{field} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidRecordError(invalid, f"{field} must be finite, got {value!r}")
    if number < 0:
        raise InvalidRecordError(negative, f"{field} must not be negative, got {value!r}")
    return number


def cost_usd(value: object, field: str = "cost") -> float:
    """Return ``value`` as a cost in USD: a finite, non-negative number."""
    return _non_negative(value, field, Reason.INVALID_COST, Reason.NEGATIVE_COST)


def duration_seconds(value: object, field: str = "duration_seconds") -> float:
    """Return ``value`` as a duration in seconds: a finite, non-negative number."""
    return _non_negative(value, field, Reason.INVALID_DURATION, Reason.NEGATIVE_DURATION)


def cache_size(value: object, field: str = "size") -> float:
    """Return ``value`` as a cache size: a finite, non-negative number."""
    return _non_negative(value, field, Reason.INVALID_CACHE_SIZE, Reason.INVALID_CACHE_SIZE)


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


def optional_duration(value: object) -> float | None:
    """A duration that may be absent (None)."""
    return None if value is None else duration_seconds(value)


def optional_cost(value: object) -> float | None:
    """A cost that may be absent (None)."""
    return None if value is None else cost_usd(value)
