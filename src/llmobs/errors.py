"""Rejection of bad input: the exception, the reasons, and the counting of rejected records."""

from __future__ import annotations

import logging
import threading
from enum import Enum

from prometheus_client import Counter

logger = logging.getLogger("llmobs")


class Reason(str, Enum):
    """Why a record was rejected: the values of ``llm_invalid_records_total{reason}``."""

    INVALID_LABEL = "invalid_label"
    EMPTY_LABEL = "empty_label"
    INVALID_TOKENS = "invalid_tokens"
    NEGATIVE_TOKENS = "negative_tokens"
    INVALID_COST = "invalid_cost"
    NEGATIVE_COST = "negative_cost"
    INVALID_DURATION = "invalid_duration"
    NEGATIVE_DURATION = "negative_duration"
    INVALID_CACHED = "invalid_cached"
    INVALID_CACHE_SIZE = "invalid_cache_size"
    ACTIVE_UNDERFLOW = "active_underflow"
    INTERNAL_ERROR = "internal_error"
    #: An SDK method llmobs instruments that the installed SDK lacks: its calls are not seen.
    SDK_METHOD_MISSING = "sdk_method_missing"
    #: An attribution tag with an undeclared key or a bad value: left off, the call recorded.
    INVALID_TAG = "invalid_tag"


class InvalidRecordError(ValueError):
    """A record was rejected; raised only in strict mode. ``reason`` says which rule it broke."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Rejections:
    """Counts rejected records by reason and logs the first rejection of each reason once.

    In strict mode the error is raised to the caller instead, after it is counted.
    """

    def __init__(self, counter: Counter, *, strict: bool) -> None:
        self.strict = strict
        self._children = {reason: counter.labels(reason.value) for reason in Reason}
        self._logged: set[Reason] = set()
        self._noted: set[str] = set()
        self._lock = threading.Lock()

    def reject(self, error: InvalidRecordError) -> bool:
        """Count ``error``; raise it in strict mode, else log it once per reason; return False."""
        self._children[error.reason].inc()
        if self.strict:
            raise error
        with self._lock:
            first = error.reason not in self._logged
            self._logged.add(error.reason)
        if first:
            logger.warning(
                "llmobs rejected a record (%s): %s; further %s rejections are only counted in "
                "llm_invalid_records_total",
                error.reason.value,
                error,
                error.reason.value,
            )
        return False

    def note(self, reason: Reason, message: str) -> None:
        """Count, and log once per message, something that is not the caller's mistake: never
        raised, strict mode or not."""
        self._children[reason].inc()
        with self._lock:
            first = message not in self._noted and len(self._noted) < 1000
            self._noted.add(message)
        if first:
            logger.warning("llmobs: %s", message)

    def internal(self, exc: Exception) -> bool:
        """Count an unexpected failure inside llmobs so it never reaches the observed service."""
        if self.strict:
            raise exc
        return self.reject(
            InvalidRecordError(Reason.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}")
        )
