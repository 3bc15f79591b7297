"""What a cost store is: the records it keeps, the sums it answers, and the one error it raises.

Every backend keeps raw entries and, maintained with every write, their rollups: the sums of each
day, week and month in total and per agent, model, provider and team, and per value of each
attribution tag (customer, user, feature, ...; the dimension is the tag's key). A summary, a
report or a budget check therefore reads a few precomputed rows, however many entries and label
sets there are. A store also keeps a few settings shared by every process (time zone,
budgets) and which budget alerts have fired. Costs are integer nano-dollars, so sums are exact
however many writers add to them.
"""

from __future__ import annotations

import json
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

SCHEMA_VERSION = 5
NANO = 1_000_000_000
MEMORY = ":memory:"
DB_ENV = "LLMOBS_COST_DB"
FILTERABLE = ("agent_id", "model", "provider", "team")
#: The entry columns spend can be grouped by, besides tag keys.
GROUPABLE = ("day", *FILTERABLE)


class CostStoreError(RuntimeError):
    """The cost database cannot be opened or used; the message names it and the cause."""


class CostStoreUnavailable(CostStoreError):
    """The cost database cannot be reached now (its server is down or unreachable); writes
    wait in memory and are retried until it answers."""


class StoredEntry(NamedTuple):
    """One raw entry as stored (its fields in the order of the stores' columns).

    ``uid`` (16 random bytes, set by the tracker) makes writing it idempotent: a batch whose
    commit was lost with its connection and is written again adds each entry once. ``tags``
    are its attribution tags as compact JSON (``attribution.tags_text``), None for none.
    """

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
    uid: bytes | None = None
    tags: str | None = None


ROLLUP_PERIODS = ("day", "week", "month")
#: The breakdowns kept per period; the total is the dimension "" with the key "".
DIMENSIONS = ("agent", "model", "provider", "team")
TOTAL = ""
SUM_FIELDS = (
    "requests",
    "unpriced",
    "prompt_tokens",
    "completion_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_nusd",
)


class RollupRow(NamedTuple):
    """The sums of one period (``start`` is its first day) for one key of one dimension."""

    period: str
    dim: str
    start: date
    key: str
    requests: int
    unpriced: int
    prompt_tokens: int
    completion_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_nusd: int


#: The spend of a period after a write, by (period, its first day), in nano-dollars.
PeriodTotals = dict[tuple[str, date], int]


@dataclass(frozen=True)
class Hold:
    """One budget a reservation must fit in: the rollup row its spend is read from (``dim``
    TOTAL for the whole spend, else "team" or "agent" and its key) and its limit."""

    period: str
    start: date
    dim: str
    key: str
    limit_nusd: int


@dataclass(frozen=True)
class Shortfall:
    """The first budget a reservation did not fit in, with what was spent and held on it."""

    hold: Hold
    spent_nusd: int
    held_nusd: int


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

    def add_batch(
        self, entries: Sequence[StoredEntry], settled: Sequence[int] = ()
    ) -> PeriodTotals:
        """Store ``entries`` and add them to their rollups in one transaction, in which the
        reservations ``settled`` (their actual cost being among the entries) are released.
        An entry whose ``uid`` is stored already is skipped, rollups included.

        Returns the new total spend, across every writer, of each day, week and month the
        entries fall in.
        """
        if not entries:
            if settled:
                self.release_all(settled)
            return {}
        try:  # as a rule every entry is new: insert them all, and their rollups
            return self._write(entries, settled, skip_stored=False)
        except CostStoreError as exc:
            if not self._stored_already(exc):
                raise
        # Some were stored by an attempt whose commit was not confirmed: add only the others.
        return self._write(entries, settled, skip_stored=True)

    @abstractmethod
    def _write(
        self, entries: Sequence[StoredEntry], settled: Sequence[int], *, skip_stored: bool
    ) -> PeriodTotals:
        """One transaction of ``add_batch``: with ``skip_stored`` the entries whose uid is
        stored already are skipped, else any such entry fails the transaction."""

    @abstractmethod
    def _stored_already(self, error: CostStoreError) -> bool:
        """Whether ``error`` says that an entry's uid is stored already."""

    @abstractmethod
    def reserve(
        self, reservation: int, holds: Sequence[Hold], amount_nusd: int, now: float, expires: float
    ) -> Shortfall | None:
        """Hold ``amount_nusd`` on every budget of ``holds`` until ``expires`` if each has room
        for it (spent + held by unexpired reservations + amount <= limit), atomically against
        every other writer; else hold nothing and return the first budget without room."""

    def release(self, reservation: int) -> None:
        """Release a reservation without spending it (the call was not made, or failed)."""
        self.release_all((reservation,))

    @abstractmethod
    def release_all(self, reservations: Sequence[int]) -> None:
        """Release reservations without spending them."""

    @abstractmethod
    def spent_and_held(self, hold: Hold, now: float) -> tuple[int, int]:
        """What a budget's period has spent, and what unexpired reservations hold on it, read
        together (one snapshot)."""

    @abstractmethod
    def claim_alert(self, period: str, period_start: date, threshold: float, now: float) -> bool:
        """Record that a budget alert fired; False if any writer already fired it."""

    @abstractmethod
    def prune_entries(self, before_ts: float) -> int:
        """Delete raw entries older than ``before_ts``; aggregates are kept."""

    # -- reading ----------------------------------------------------------------------------------

    @abstractmethod
    def rollups(
        self, period: str, first: date, last: date, dims: Sequence[str] = (TOTAL,)
    ) -> list[RollupRow]:
        """The rollup rows of the ``period`` kind whose first day is from ``first`` to ``last``,
        for each of ``dims`` (TOTAL or a DIMENSIONS name), ordered by dim, start and key."""

    @abstractmethod
    def ranked(
        self, period: str, start: date, dim: str, limit: int | None = None, offset: int = 0
    ) -> list[RollupRow]:
        """One page of a period's breakdown by ``dim``: highest spend first (ties by key)."""

    @abstractmethod
    def total_nusd(self, period: str, start: date) -> int:
        """The spend of the period of that kind beginning on ``start``, in nano-dollars."""

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
    def entry_sums(
        self,
        start_ts: float,
        end_ts: float,
        by: Sequence[str],
        tag_values: dict[str, Sequence[str]] | None = None,
    ) -> list[tuple[Any, ...]]:
        """The entries with ``start_ts <= ts < end_ts`` summed per group of ``by`` (``day``,
        ``agent_id``, ``model``, ``provider``, ``team`` or tag keys; an entry without a tag has
        None for it), only those whose tags have one of ``tag_values``: rows of the group's
        values then (requests, prompt tokens, completion tokens, cost in nano-dollars). A scan
        of the range's entries: for reports, not for every request."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection(s)."""

    # -- shared by the backends -------------------------------------------------------------------

    def _decode_setting(self, key: str, text: str) -> object:
        try:
            return json.loads(text)
        except ValueError:
            raise CostStoreError(
                f"{self.location}: the setting {key!r} in the cost database is corrupt: "
                f"{text[:80]!r}"
            ) from None

    def _known_version(self, text: object, oldest: int) -> int:
        """The schema version ``text`` names; CostStoreError unless this llmobs can use it
        (``oldest`` is the first version this backend ever wrote)."""
        version = int(text) if isinstance(text, str) and text.isdigit() and len(text) < 9 else 0
        if version > SCHEMA_VERSION:
            raise CostStoreError(
                f"{self.location}: the cost database has schema version {version}, newer than "
                f"this llmobs knows ({SCHEMA_VERSION}); upgrade llmobs to use it. It was left "
                "untouched"
            )
        if version < oldest:
            raise CostStoreError(
                f"{self.location}: cost database schema version {text!r} is not one llmobs ever "
                f"wrote ({oldest} to {SCHEMA_VERSION}); it was left untouched"
            )
        return version

    def _check_tables(self, expected: set[str], tables: set[str]) -> None:
        missing = expected - tables
        if missing:
            raise CostStoreError(
                f"{self.location}: the cost database lacks its table(s) "
                f"{', '.join(sorted(missing))}; it was left untouched"
            )


def is_tag_key(name: object) -> bool:
    """Whether ``name`` can be an attribution tag's key (a rollup dimension of its own)."""
    return (
        isinstance(name, str) and TAG_KEY.fullmatch(name) is not None and name not in RESERVED_NAMES
    )


#: What a tag key looks like: a short lower-case identifier.
TAG_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
#: Names a tag key cannot take: the entries' columns and the rollups' own dimensions.
RESERVED_NAMES = frozenset(
    {*StoredEntry._fields, *DIMENSIONS, "id", "period", "dim", "start", "key"}
)


def check_rollup_query(period: str, dims: Sequence[str]) -> None:
    """ValueError unless ``period`` and every one of ``dims`` is a kept rollup."""
    if period not in ROLLUP_PERIODS:
        raise ValueError(f"period must be one of {', '.join(ROLLUP_PERIODS)}, got {period!r}")
    for dim in dims:
        if dim != TOTAL and dim not in DIMENSIONS and not is_tag_key(dim):
            raise ValueError(
                f"dimension must be one of {', '.join(DIMENSIONS)} or a tag key, got {dim!r}"
            )


ENTRY_PAGE = 5_000


def entry_conditions(
    start_ts: float | None,
    end_ts: float | None,
    filters: dict[str, str] | None,
    mark: str,
    tag_of: Callable[[str], str],
) -> tuple[str, list[object]]:
    """The SQL conditions (each after " AND ") selecting entries by time and ``filters``, with
    their parameters, for a backend whose placeholder is ``mark`` and whose expression of a
    tag's value is ``tag_of(key)``; ValueError for a column or tag entries cannot be filtered
    by."""
    conditions: list[str] = []
    params: list[object] = []
    if start_ts is not None:
        conditions.append(f"ts >= {mark}")
        params.append(start_ts)
    if end_ts is not None:
        conditions.append(f"ts < {mark}")
        params.append(end_ts)
    for column, value in (filters or {}).items():
        if column in FILTERABLE:
            conditions.append(f"{column} = {mark}")
        elif is_tag_key(column):
            conditions.append(f"{tag_of(column)} = {mark}")
        else:
            raise ValueError(f"cannot filter entries by {column!r}")
        params.append(value)
    return "".join(f" AND {condition}" for condition in conditions), params


def inserted(entries: Sequence[StoredEntry], inserted_uids: set[bytes]) -> list[StoredEntry]:
    """The entries an insert added: those whose uid it returned, and those with no uid (the
    others were stored already, by an earlier attempt whose commit was not confirmed)."""
    return [e for e in entries if e.uid is None or e.uid in inserted_uids]


def paged_entries(
    fetch: Callable[[tuple[float, int]], Sequence[Sequence[Any]]],
    to_entry: Callable[[Sequence[Any]], StoredEntry],
) -> Iterator[StoredEntry]:
    """Entries read ``ENTRY_PAGE`` at a time: ``fetch(after)`` returns the next page of rows
    ``(id, ts, ...)`` ordered by (ts, id) and after ``after``, so memory holds one page."""
    after: tuple[float, int] = (float("-inf"), -1)
    while True:
        rows = fetch(after)
        for row in rows:
            yield to_entry(row)
        if len(rows) < ENTRY_PAGE:
            return
        after = (rows[-1][1], rows[-1][0])


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
