"""Label values: cleaned, length-capped, and capped in how many distinct values each label takes."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Mapping

from .errors import InvalidRecordError, Reason
from .schema import (
    DEFAULT_LABEL_LIMIT,
    DEFAULT_LABEL_LIMITS,
    DEFAULT_MAX_LABEL_LENGTH,
    OVERFLOW_VALUE,
)
from .shared_labels import SharedAdmissions

logger = logging.getLogger("llmobs")


def clean_label_value(value: object, label: str, max_length: int) -> str:
    """Return ``value`` fit for a label: text, no control characters, valid UTF-8, capped length.

    Raises InvalidRecordError when ``value`` is not a string or is empty once cleaned.
    """
    if not isinstance(value, str):
        raise InvalidRecordError(
            Reason.INVALID_LABEL, f"{label} must be a string, got {type(value).__name__} {value!r}"
        )
    text = value
    if not text.isprintable():
        # Control and format characters, line breaks and lone surrogates become spaces.
        text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = text.strip()[:max_length].strip()
    if not text:
        raise InvalidRecordError(Reason.EMPTY_LABEL, f"{label} must not be empty, got {value!r}")
    return text


class LabelGuard:
    """Caps how many distinct values each label name takes; values past the cap fold into one.

    The cap is per label name, shared by every metric with that label. Once ``agent_id`` has
    seen its cap of distinct values, any new agent id is recorded as ``__overflow__``. With
    ``shared`` (multiprocess mode) the cap holds across every worker of the service.

    Example:
        >>> guard = LabelGuard({"agent_id": 2})
        >>> [guard.admit("agent_id", a) for a in ("a", "b", "c", "a")]
        [('a', False), ('b', False), ('__overflow__', True), ('a', False)]
    """

    def __init__(
        self,
        limits: Mapping[str, int] | None = None,
        max_length: int = DEFAULT_MAX_LABEL_LENGTH,
        shared: SharedAdmissions | None = None,
    ) -> None:
        merged = {**DEFAULT_LABEL_LIMITS, **(limits or {})}
        for label, limit in merged.items():
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise ValueError(
                    f"label limit for {label!r} must be a positive integer, got {limit!r}"
                )
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
            raise ValueError(f"max_label_length must be a positive integer, got {max_length!r}")
        self._limits = merged
        self.max_length = max_length
        self._seen: dict[str, set[str]] = {}
        self._full: set[str] = set()
        self._shared = shared
        self._lock = threading.Lock()

    def limit(self, label: str) -> int:
        """The cap on distinct values of ``label``."""
        return self._limits.get(label, DEFAULT_LABEL_LIMIT)

    def admit(self, label: str, value: str) -> tuple[str, bool]:
        """Return the value to record for ``label`` and whether it was folded into the overflow."""
        with self._lock:
            seen = self._seen.setdefault(label, set())
            if value in seen:
                return value, False
            if label in self._full:
                return OVERFLOW_VALUE, True
            if self._shared is None:
                if len(seen) < self.limit(label):
                    seen.add(value)
                    return value, False
                return OVERFLOW_VALUE, True
        try:
            admitted, everything = self._shared.admit(label, value, self.limit(label))
        except sqlite3.Error as exc:
            logger.error(
                "llmobs cannot share label caps through %s (%s); each worker caps its own",
                self._shared.path,
                exc,
            )
            self._shared = None
            return self.admit(label, value)
        with self._lock:
            if everything is not None:  # full: every worker admitted exactly these
                self._seen[label] = set(everything)
                self._full.add(label)
            elif admitted:
                self._seen[label].add(value)
        return (value, False) if admitted else (OVERFLOW_VALUE, True)

    def resolve(self, labels: Mapping[str, object]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Clean and admit every label value.

        Returns the values to record, in the order given, and the names of the labels whose
        value was folded. Raises InvalidRecordError for a value that is not text or is empty.
        """
        cleaned = [
            clean_label_value(value, label, self.max_length) for label, value in labels.items()
        ]
        values: list[str] = []
        folded: list[str] = []
        for label, value in zip(labels, cleaned, strict=True):
            admitted, was_folded = self.admit(label, value)
            values.append(admitted)
            if was_folded:
                folded.append(label)
        return tuple(values), tuple(folded)
