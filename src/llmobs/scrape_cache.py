"""What a collector reading the cost store at scrape time shares: its last read, kept for a
few seconds, so a burst of scrapers costs the store one read, and a failed read that pauses
its gauges instead of failing the scrape."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

#: How long one read of the store answers scrapes.
CACHE_SECONDS = 5.0
T = TypeVar("T")


class ScrapeCache(Generic[T]):
    """``read()``'s rows, read again when the last read is older than CACHE_SECONDS; none
    (and ``failed`` told) while the read fails."""

    def __init__(self, read: Callable[[], list[T]], failed: Callable[[Exception], None]) -> None:
        self._read, self._failed = read, failed
        self._lock = threading.Lock()
        self._rows: list[T] = []
        self._read_at = float("-inf")

    def rows(self) -> list[T]:
        with self._lock:
            if time.monotonic() - self._read_at >= CACHE_SECONDS:
                try:
                    self._rows = self._read()
                except Exception as exc:  # a scrape never fails for it; the gauges pause
                    self._failed(exc)
                    self._rows = []
                self._read_at = time.monotonic()
            return self._rows
