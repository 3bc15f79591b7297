"""The background writer: cost entries leave the caller's thread and reach the store in batches.

The caller only appends to a bounded queue. One thread per writer takes up to ``batch_size``
entries at a time and stores them in one transaction. While the store fails (locked, full,
unreachable), the batch stays queued and is retried with a growing pause; new entries wait behind
it until the queue is full, and entries past that are dropped and reported, never blocking.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from datetime import date
from itertools import islice

from .store import CostStore, PeriodTotals, StoredEntry

logger = logging.getLogger("llmobs")

DEFAULT_CAPACITY = 10_000
DEFAULT_BATCH_SIZE = 4_096
RETRY_PAUSES = (0.05, 0.2, 1.0, 5.0)
EXIT_FLUSH_SECONDS = 10.0
#: How long ``close`` waits when the store was already failing: one more attempt, not a flush.
FAILING_CLOSE_SECONDS = 1.0

Written = Callable[[Sequence[StoredEntry], PeriodTotals], None]
Failed = Callable[[Exception], None]
Dropped = Callable[[str, int], None]


class CostWriter:
    """Stores entries on a background thread; ``submit`` never waits.

    Args:
        store: where entries go.
        written: called on the writer thread after each committed batch, with the batch and
            each touched day's new total (for budget alerts).
        failed: called with each failed attempt's error (the batch is kept and retried).
        dropped: called with a reason and a count when entries are given up on.
        capacity: the most entries waiting at once; more are dropped (reason ``queue_full``).
        batch_size: the most entries per transaction.
    """

    def __init__(
        self,
        store: CostStore,
        *,
        written: Written,
        failed: Failed,
        dropped: Dropped,
        capacity: int = DEFAULT_CAPACITY,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        for name, value in (("capacity", capacity), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self._store = store
        self._written_hook = written
        self._failed_hook = failed
        self._dropped_hook = dropped
        self.capacity = capacity
        self.batch_size = batch_size
        self._queue: deque[StoredEntry] = deque()
        self._pending_by_day: dict[date, int] = {}
        self._cond = threading.Condition()
        self._submitted = 0
        self._done = 0  # written or given up on, in submission order
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._closed = False
        self._closing = False  # close() is waiting: retry at once, and give up on a failure
        self._failing = False  # the last attempt failed
        self._gave_up = False  # an attempt failed while closing
        _open_writers.add(self)

    # -- the caller's side -------------------------------------------------------------------

    def submit(self, entry: StoredEntry) -> bool:
        """Queue ``entry``; False (and reported as dropped) if the queue is full or closed."""
        with self._cond:
            self._forget_parents_queue()
            if self._closed or len(self._queue) >= self.capacity:
                reason = "closed" if self._closed else "queue_full"
            else:
                self._queue.append(entry)
                self._submitted += 1
                self._pending_by_day[entry.day] = (
                    self._pending_by_day.get(entry.day, 0) + entry.cost_nusd
                )
                if self._thread is None:
                    self._start()
                self._cond.notify()
                return True
        self._dropped_hook(reason, 1)
        return False

    def pending_nusd(self, first: date, last: date) -> int:
        """Spend queued but not yet stored, on the days ``first`` to ``last``."""
        with self._cond:
            return sum(n for day, n in self._pending_by_day.items() if first <= day <= last)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every entry submitted so far is stored; False if ``timeout`` passed."""
        with self._cond:
            return self._wait_stored(timeout, lambda: False)

    def catch_up(self, timeout: float) -> bool:
        """Like ``flush``, for a reader that wants its own entries stored first, but with no
        wait for a store that fails: the read would fail too, or goes on without them."""
        with self._cond:
            return self._wait_stored(timeout, lambda: self._failing)

    def close(self, timeout: float | None = EXIT_FLUSH_SECONDS) -> bool:
        """Store what is queued (waiting at most ``timeout``), then stop; entries still queued
        then are dropped (reason ``shutdown``) and logged. Returns whether nothing was lost.

        A store that fails is not waited for: the writer tries once more at once, and close gives
        up when that attempt fails, or after ``FAILING_CLOSE_SECONDS`` if the store was already
        failing (an attempt may hang on an unreachable database far longer)."""
        with self._cond:
            self._closing = True
            if self._failing:
                cap = FAILING_CLOSE_SECONDS
                timeout = cap if timeout is None else min(timeout, cap)
            self._cond.notify_all()  # ends a retry pause
            flushed = self._wait_stored(timeout, lambda: self._gave_up)
        with self._cond:
            self._closed = True
            lost = len(self._queue)
            self._queue.clear()
            self._done = self._submitted if lost else self._done
            self._pending_by_day.clear()
            self._cond.notify_all()
        _open_writers.discard(self)
        if lost:
            logger.error(
                "llmobs could not store %d cost entries in %s before closing; they are lost",
                lost,
                self._store.location,
            )
            self._dropped_hook("shutdown", lost)
        return flushed and not lost

    def _wait_stored(self, timeout: float | None, unless: Callable[[], bool]) -> bool:
        """Under the lock: wait until every entry submitted so far is stored, or ``unless()``
        holds, or ``timeout`` passes; whether they are stored."""
        target = self._submitted
        self._cond.wait_for(lambda: self._done >= target or unless(), timeout)
        return self._done >= target

    # -- the writer thread --------------------------------------------------------------------

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="llmobs-cost-writer", daemon=True)
        self._thread.start()

    def _forget_parents_queue(self) -> None:
        """In a forked child, the parent's queued entries are the parent's to write."""
        if os.getpid() != self._pid:
            self._pid = os.getpid()
            self._queue.clear()
            self._pending_by_day.clear()
            self._done = self._submitted
            self._thread = None
            self._failing = self._gave_up = False  # the parent's attempts, not this process's

    def _next_batch(self) -> list[StoredEntry] | None:
        with self._cond:
            self._cond.wait_for(lambda: self._queue or self._closed)
            queued = len(self._queue)
            if not queued:
                return None
            take = min(queued, self.batch_size)
            multiple = self._store.batch_multiple
            if take > multiple:  # under load: whole multiples, the store's cheapest batches
                take -= take % multiple
            return list(islice(self._queue, take))

    def _run(self) -> None:
        failures = 0
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                totals = self._store.add_batch(batch)
            except Exception as exc:
                self._failed_hook(exc)
                pause = RETRY_PAUSES[min(failures, len(RETRY_PAUSES) - 1)]
                failures += 1
                with self._cond:
                    self._failing = True
                    self._gave_up = self._closing
                    self._cond.notify_all()
                    self._cond.wait_for(self._retry_now, pause)
                continue
            failures = 0
            self._unqueue(batch)
            try:
                self._written_hook(batch, totals)
            except Exception:
                logger.exception("llmobs failed after storing cost entries")
            with self._cond:  # done only now, so that a flush also waits for the hook
                self._failing = False
                self._done += len(batch)
                self._cond.notify_all()

    def _retry_now(self) -> bool:
        """Whether a retry pause ends early: closed, or closing and not yet given up."""
        return self._closed or (self._closing and not self._gave_up)

    def _unqueue(self, batch: list[StoredEntry]) -> None:
        """Take a stored batch off the queue and out of the pending spend."""
        with self._cond:
            if self._queue and self._queue[0] is batch[0]:
                for _ in batch:
                    self._queue.popleft()
            for entry in batch:
                left = self._pending_by_day.get(entry.day, 0) - entry.cost_nusd
                if left:
                    self._pending_by_day[entry.day] = left
                else:
                    self._pending_by_day.pop(entry.day, None)


_open_writers: weakref.WeakSet[CostWriter] = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    """At interpreter exit, store what every open writer still holds (bounded wait)."""
    deadline = time.monotonic() + EXIT_FLUSH_SECONDS
    for writer in list(_open_writers):
        writer.close(max(0.0, deadline - time.monotonic()))
