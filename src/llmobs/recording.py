"""The recording side of a cost tracker: a request's record checked and priced into an entry,
queued for the background writer, or written before ``record_cost`` returns (durable, or
settling a reservation), with the store's failures counted and logged at most once a minute."""

from __future__ import annotations

import itertools
import logging
import random
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone

from . import values
from .attribution import clean_tags, tags_text
from .budget_book import BudgetBook
from .enforcement import Enforcer, Reservation
from .errors import InvalidRecordError, Reason
from .labels import clean_label_value
from .periods import local_day
from .pricing import LLMCostCalculator
from .store import NANO, CostStore, CostStoreUnavailable, PeriodTotals, StoredEntry, utc_timestamp
from .summaries import usd
from .tracker_options import TrackerOptions
from .writer import RETRY_PAUSES, CostWriter

logger = logging.getLogger("llmobs")

MAX_NAME_LENGTH = 256
PRUNE_EVERY_SECONDS = 3600.0
STORE_ERROR_LOG_EVERY_SECONDS = 60.0


def clean_name(value: object, field: str) -> str:
    """An agent, model, provider or team name as the store keeps it."""
    return clean_label_value(value, field, MAX_NAME_LENGTH)


class StoreTrouble:
    """Counts the store's failures and the entries given up on; logs each kind once a minute."""

    def __init__(self, calculator: Callable[[], LLMCostCalculator], location: str) -> None:
        self._calculator, self._location = calculator, location
        self._next_log = 0.0
        self.queue_capacity = 0

    def _due(self) -> bool:
        now = time.monotonic()
        if now < self._next_log:
            return False
        self._next_log = now + STORE_ERROR_LOG_EVERY_SECONDS
        return True

    def write_failed(self, exc: Exception) -> None:
        """Count a failed write; log its cause at most once a minute."""
        self._calculator().metrics.count_cost_store_error()
        if self._due():
            logger.error("llmobs could not store cost entries in %s: %s", self._location, exc)

    def dropped(self, reason: str, count: int) -> None:
        """Count entries given up on (``llm_cost_records_dropped_total``)."""
        self._calculator().metrics.count_dropped_cost_records(reason, count)
        if reason == "queue_full" and self._due():
            logger.error(
                "llmobs dropped cost entries: the write queue for %s is full (%d); counted "
                "in llm_cost_records_dropped_total",
                self._location,
                self.queue_capacity,
            )


class Recorder:
    """Turns records into stored entries for one tracker."""

    def __init__(
        self,
        store: CostStore,
        options: TrackerOptions,
        book: BudgetBook,
        enforcer: Enforcer,
        trouble: StoreTrouble,
        calculator: Callable[[], LLMCostCalculator],
        clock: Callable[[], datetime],
        team_of: Callable[[str], str],
    ) -> None:
        self.store, self.book, self.enforcer, self.trouble = store, book, enforcer, trouble
        self.durable, self.durable_timeout = options.durable, options.durable_timeout
        self._calculator, self._clock, self._team_of = calculator, clock, team_of
        self._retention_days = options.retention_days
        self._tag_keys = options.tag_keys
        self._next_prune = 0.0
        self.writer = CostWriter(
            store,
            written=self.after_write,
            failed=trouble.write_failed,
            dropped=trouble.dropped,
            capacity=options.queue_size,
        )
        trouble.queue_capacity = self.writer.capacity
        self.prune_if_due()

    # -- a record -----------------------------------------------------------------------------

    def record(self, fields: dict[str, object], reservation: Reservation | None) -> float:
        """Store one record (see ``CostTracker.record_cost``) and return its cost in USD."""
        metrics = self._calculator().metrics
        try:
            entry = self.entry(**fields)
        except InvalidRecordError as error:
            self.release_quietly(reservation)
            metrics.count_rejection(error)
            return 0.0
        except Exception as exc:
            self.release_quietly(reservation)
            metrics.count_internal_error(exc)
            return 0.0
        settled: Sequence[int] = ()
        settling = reservation is not None and reservation.open
        if settling:
            assert reservation is not None
            self.enforcer.settled(reservation, entry.cost_nusd)
            settled = (reservation.id,) if reservation.held_in_store else ()
        if self.durable:
            self._store_durably(entry, settled)
        elif settling:  # what the reservation held is replaced by the cost at once
            self._store_or_queue(entry, settled)
        else:
            self.writer.submit(entry)
        return usd(entry.cost_nusd)

    def _store_or_queue(self, entry: StoredEntry, settled: Sequence[int]) -> None:
        """Write ``entry`` now, releasing its reservation in the same transaction; if the
        store fails, queue it for the writer (the reservation then lapses at its expiry)."""
        try:
            totals = self.store.add_batch([entry], settled)
        except Exception as exc:
            self.trouble.write_failed(exc)
            self.writer.submit(entry)
            return
        self.after_write([entry], totals)

    def _store_durably(self, entry: StoredEntry, settled: Sequence[int]) -> None:
        """Write ``entry`` before returning, trying again while the store fails (an entry is
        written once however often it is tried); CostStoreUnavailable, the entry counted as
        dropped, if it is not stored within ``durable_timeout`` seconds."""
        deadline = time.monotonic() + self.durable_timeout
        for attempt in itertools.count():
            try:
                totals = self.store.add_batch([entry], settled)
            except Exception as exc:
                self.trouble.write_failed(exc)
                pause = RETRY_PAUSES[min(attempt, len(RETRY_PAUSES) - 1)]
                if time.monotonic() + pause >= deadline:
                    self.trouble.dropped("store_error", 1)
                    raise CostStoreUnavailable(
                        f"{self.store.location}: a durable cost entry could not be stored "
                        f"within {self.durable_timeout:g} s ({exc}); it is counted in "
                        "llm_cost_records_dropped_total"
                    ) from exc
                time.sleep(pause)
                continue
            self.after_write([entry], totals)
            return

    def release_quietly(self, reservation: Reservation | None) -> None:
        if reservation is not None and reservation.open:
            self.enforcer.release(reservation)

    def entry(
        self,
        agent_id: object,
        model: object,
        provider: object,
        prompt_tokens: object,
        completion_tokens: object,
        cache_read_tokens: object,
        cache_write_tokens: object,
        cost: object,
        at: object,
        tags: object = None,
    ) -> StoredEntry:
        """The checked, priced entry of one record; InvalidRecordError if it is not one. Its
        tags (with the current ``attribute`` block's) lose only a bad tag, which is counted."""
        agent, model_name, provider_name = (
            clean_name(agent_id, "agent_id"),
            clean_name(model, "model"),
            clean_name(provider, "provider"),
        )
        prompt = values.token_count(prompt_tokens, "prompt_tokens")
        completion = values.token_count(completion_tokens, "completion_tokens")
        cache_read = values.optional_token_count(cache_read_tokens, "cache_read_tokens")
        cache_write = values.optional_token_count(cache_write_tokens, "cache_write_tokens")
        moment = self._moment(at)
        if cost is None:
            calculator = self._calculator()
            usd_cost = calculator.cost_of(
                model_name,
                prompt,
                completion,
                provider=provider_name,
                cache_read_tokens=cache_read,
                cache_write_tokens=cache_write,
                at=moment,
            )
            if usd_cost is None:
                calculator.warn_unpriced(model_name, provider_name)
            else:
                usd_cost = values.cost_usd(usd_cost, "computed cost")
        else:
            usd_cost = values.cost_usd(cost)
        return StoredEntry(
            ts=moment.timestamp(),
            day=local_day(moment, self.book.timezone),
            agent_id=agent,
            model=model_name,
            provider=provider_name,
            team=clean_name(self._team_of(agent), "team"),
            prompt_tokens=prompt,
            completion_tokens=completion,
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
            cost_nusd=0 if usd_cost is None else round(usd_cost * NANO),
            priced=usd_cost is not None,
            uid=random.getrandbits(128).to_bytes(16, "little"),  # reseeded in forked children
            tags=tags_text(clean_tags(tags, self._tag_keys, self._tag_rejected)),
        )

    def _tag_rejected(self, error: InvalidRecordError) -> None:
        self._calculator().metrics.count_rejection(error)

    def _moment(self, at: object) -> datetime:
        if at is None:
            return self._clock()
        if not isinstance(at, datetime):
            raise InvalidRecordError(Reason.INVALID_LABEL, f"at must be a datetime, got {at!r}")
        return at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)

    # -- after a write ------------------------------------------------------------------------

    def after_write(self, entries: object, totals: PeriodTotals) -> None:
        """After entries are stored: fire budget alerts that are due, prune when it is time."""
        metrics = self._calculator().metrics
        if self.book.unsettled:
            try:
                self.book.settle_if_unsettled()
            except Exception as exc:
                self.trouble.write_failed(exc)
        if self.book.watched:
            try:
                self.book.fire_due_alerts(totals)
            except Exception as exc:
                logger.exception("llmobs budget alert check failed")
                metrics.count_internal_error(exc)
        self.prune_if_due()

    def prune_if_due(self) -> None:
        if self._retention_days is None or time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
        cutoff = self._clock() - timedelta(days=self._retention_days)
        self.store.prune_entries(utc_timestamp(cutoff))
