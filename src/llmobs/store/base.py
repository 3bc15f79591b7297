"""What a cost store is: the records it keeps, the sums it answers, and the one error it raises.

Every backend keeps raw entries, their daily aggregates per (agent, model, provider, team) and
per day, a few settings shared by every process (time zone, budgets), and which budget alerts
have fired. Costs are integer nano-dollars, so sums are exact however many writers add to them.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

SCHEMA_VERSION = 1
NANO = 1_000_000_000
MEMORY = ":memory:"
DB_ENV = "LLMOBS_COST_DB"
FILTERABLE = ("agent_id", "model", "provider", "team")


class CostStoreError(RuntimeError):
    """The cost database cannot be opened or used; the message names it and the cause."""


@dataclass(frozen=True)
class StoredEntry:
    """One raw entry as stored."""

    ts: float
    day: date
    agent_id: str
    model: str
    provider: str
    team: str
    prompt_tokens: int
    completion_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_nusd: int
    priced: bool


@dataclass(frozen=True)
class GroupRow:
    """Sums over a range of days for one (agent, model, provider, team)."""

    agent_id: str
    model: str
    provider: str
    team: str
    requests: int
    unpriced: int
    prompt_tokens: int
    completion_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_nusd: int


@dataclass(frozen=True)
class DayTotal:
    """One day's total requests and spend."""

    day: date
    requests: int
    cost_nusd: int


SettingChange = Callable[[object], object]


class CostStore(ABC):
    """A durable, shared cost store; every method is thread-safe and atomic.

    Writes from any number of processes (and, for a server database, hosts) add up exactly.
    Errors of the underlying database are raised as ``CostStoreError`` naming ``location``.
    """

    location: str
    #: Batches of a multiple of this many entries are written most efficiently.
    batch_multiple: int = 1

    # -- settings shared by every process -------------------------------------------------------

    @abstractmethod
    def get_setting(self, key: str) -> object:
        """The setting's value, None if it was never set."""

    @abstractmethod
    def update_setting(self, key: str, change: SettingChange) -> object:
        """Replace the setting by ``change(current)`` atomically and return the new value.

        ``change`` sees the value as stored at that moment, so concurrent updates of different
        parts of one setting (budgets of different periods) never erase each other.
        """

    # -- writing ----------------------------------------------------------------------------------

    @abstractmethod
    def add_batch(self, entries: Sequence[StoredEntry]) -> dict[date, int]:
        """Store ``entries`` and their aggregates in one transaction.

        Returns each touched day's new total spend in nano-dollars, across every writer.
        """

    @abstractmethod
    def claim_alert(self, period: str, period_start: date, threshold: float, now: float) -> bool:
        """Record that a budget alert fired; False if any writer already fired it."""

    @abstractmethod
    def prune_entries(self, before_ts: float) -> int:
        """Delete raw entries older than ``before_ts``; aggregates are kept."""

    # -- reading ----------------------------------------------------------------------------------

    @abstractmethod
    def grouped(self, first: date, last: date) -> list[GroupRow]:
        """Sums per (agent, model, provider, team) over the days ``first`` to ``last``."""

    @abstractmethod
    def day_totals(self, first: date, last: date) -> list[DayTotal]:
        """Each day's totals from ``first`` to ``last`` (days with no requests are absent)."""

    @abstractmethod
    def total_nusd(self, first: date, last: date) -> int:
        """Total spend from ``first`` to ``last`` inclusive, in nano-dollars."""

    @abstractmethod
    def entries(
        self,
        start_ts: float | None = None,
        end_ts: float | None = None,
        filters: dict[str, str] | None = None,
    ) -> Iterator[StoredEntry]:
        """Raw entries with ``start_ts <= ts < end_ts`` matching ``filters``, oldest first,
        read in batches so that an export of millions holds one batch in memory."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection(s)."""


def check_filters(filters: dict[str, str] | None) -> dict[str, str]:
    """``filters`` if every key is a column entries can be filtered by; else ValueError."""
    for column in filters or {}:
        if column not in FILTERABLE:
            raise ValueError(f"cannot filter entries by {column!r}")
    return dict(filters or {})


def default_path() -> str:
    """``$LLMOBS_COST_DB``, else ``$XDG_DATA_HOME/llmobs/costs.sqlite3`` (``~/.local/share``)."""
    configured = os.environ.get(DB_ENV)
    if configured:
        return configured
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return os.path.join(data_home, "llmobs", "costs.sqlite3")


def utc_timestamp(moment: datetime) -> float:
    """Seconds since the epoch of an aware or (UTC) naive datetime."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()
