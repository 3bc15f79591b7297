"""What a cost tracker answers: summaries of a day, week or month, paged breakdowns, totals of
any range of days, and the raw history (as entries or CSV). Each read writes this process's
queued records first, so it includes everything recorded before it."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone, tzinfo
from pathlib import Path
from typing import IO, Any

from .attribution import tags_of_text
from .periods import Period, local_day, parse_period
from .store import DIMENSIONS, NANO, TOTAL, CostStore, StoredEntry, utc_timestamp
from .store.base import GROUPABLE
from .summaries import DailyCostSummary, PeriodCostSummary, Totals, usd
from .writer import CostWriter

#: How long a read waits for this process's queued records to be written (not while the
#: store fails).
READ_FLUSH_SECONDS = 30.0


@dataclass(frozen=True)
class CostEntry:
    """One recorded LLM request and what it cost. ``priced`` is False for a model with no
    known price, recorded at 0 USD."""

    timestamp: datetime
    agent_id: str
    model: str
    provider: str
    team: str
    prompt_tokens: int
    completion_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost: float
    priced: bool
    tags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_stored(cls, stored: StoredEntry) -> CostEntry:
        return cls(
            timestamp=datetime.fromtimestamp(stored.ts, timezone.utc),
            agent_id=stored.agent_id,
            model=stored.model,
            provider=stored.provider,
            team=stored.team,
            prompt_tokens=stored.prompt_tokens,
            completion_tokens=stored.completion_tokens,
            cache_read_tokens=stored.cache_read_tokens,
            cache_write_tokens=stored.cache_write_tokens,
            cost=usd(stored.cost_nusd),
            priced=stored.priced,
            tags=tags_of_text(stored.tags),
        )


class CostReports:
    """The reading side of ``CostTracker`` (which provides these attributes)."""

    store: CostStore
    _writer: CostWriter
    _clock: Callable[[], datetime]

    @property
    def tag_keys(self) -> frozenset[str]:
        """The attribution tag keys this tracker knows."""
        raise NotImplementedError

    @property
    def timezone(self) -> tzinfo:
        raise NotImplementedError

    def budget(self, period: str | Period = Period.DAY) -> float | None:
        raise NotImplementedError

    def _today(self, day: date | None) -> date:
        if day is None:
            return local_day(self._clock(), self.timezone)
        if not isinstance(day, date):
            raise ValueError(f"day must be a date, got {day!r}")
        return day.date() if isinstance(day, datetime) else day

    def totals(self, first: date, last: date) -> Totals:
        """Spend and breakdowns over any days from ``first`` to ``last`` inclusive (summed from
        each day's rollups; a day, week or month is faster with ``period_totals``)."""
        self._writer.catch_up(READ_FLUSH_SECONDS)
        rows = self.store.rollups(Period.DAY.value, first, last, (TOTAL, *DIMENSIONS))
        return Totals.of(rows, (row for row in rows if row.dim == TOTAL))

    def period_totals(self, period: str | Period, day: date | None = None) -> Totals:
        """Spend and breakdowns of the day, week or month containing ``day`` (today), read
        from its precomputed rollups: a few rows however many entries it holds."""
        which = parse_period(period)
        first, last = which.bounds(self._today(day))
        self._writer.catch_up(READ_FLUSH_SECONDS)
        rows = self.store.rollups(which.value, first, first, (TOTAL, *DIMENSIONS))
        days = (
            (row for row in rows if row.dim == TOTAL)
            if which is Period.DAY
            else self.store.rollups(Period.DAY.value, first, last)
        )
        return Totals.of(rows, days)

    def breakdown(
        self,
        period: str | Period,
        by: str,
        day: date | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """One page of the period's spend by ``by`` (agent, model, provider, team, or a tag key:
        customer, user, feature, environment, ...), highest first:
        ``[{by: key, "requests": n, "prompt_tokens": n, "completion_tokens": n,
        "cost_usd": usd}, ...]``. For fleets with more keys than a
        summary should carry; answered from rollups however many values there are."""
        which = parse_period(period)
        if by not in DIMENSIONS and by not in self.tag_keys:
            known = ", ".join([*DIMENSIONS, *sorted(self.tag_keys)])
            raise ValueError(f"by must be one of {known}, got {by!r}")
        for name, value in (("limit", 0 if limit is None else limit), ("offset", offset)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        first = which.bounds(self._today(day))[0]
        self._writer.catch_up(READ_FLUSH_SECONDS)
        rows = self.store.ranked(which.value, first, by, limit, offset)
        return [
            {
                by: r.key,
                "requests": r.requests,
                "prompt_tokens": r.prompt_tokens,
                "completion_tokens": r.completion_tokens,
                "cost_usd": usd(r.cost_nusd),
            }
            for r in rows
        ]

    def spend_by(
        self,
        start: datetime,
        end: datetime,
        by: Sequence[str],
        *,
        tag_values: Mapping[str, Sequence[str]] | None = None,
    ) -> list[dict[str, Any]]:
        """The spend of the entries with ``start <= timestamp < end`` per group of ``by``
        (``day``, ``agent_id``, ``model``, ``provider``, ``team`` or tag keys; a call without
        the tag has None), optionally only of the tag values ``tag_values`` names:
        ``[{"customer": "acme", "model": "gpt-4o", "requests": n, "cost_usd": usd, ...}]``.
        It reads the raw entries of the range (a report's scan; entries pruned by
        ``retention_days`` are gone, their rollups are not)."""
        for name in [*by, *(tag_values or {})]:
            if name not in GROUPABLE and name not in self.tag_keys:
                known = ", ".join([*GROUPABLE, *sorted(self.tag_keys)])
                raise ValueError(f"cannot group spend by {name!r}: not one of {known}")
        self._writer.catch_up(READ_FLUSH_SECONDS)
        rows = self.store.entry_sums(
            utc_timestamp(start),
            utc_timestamp(end),
            tuple(by),
            {key: list(values) for key, values in (tag_values or {}).items()},
        )
        sums = ("requests", "prompt_tokens", "completion_tokens")
        return [
            {
                **dict(zip(by, row[: len(by)], strict=True)),
                **dict(zip(sums, row[len(by) : len(by) + 3], strict=True)),
                "cost_usd": usd(row[-1]),
            }
            for row in rows
        ]

    def get_daily_summary(self, day: date | None = None) -> DailyCostSummary:
        """The spend of ``day`` (today by default)."""
        today = self._today(day)
        return DailyCostSummary.of(today, self.period_totals(Period.DAY, today))

    def period_summary(self, period: str | Period, day: date | None = None) -> PeriodCostSummary:
        """The spend of the day, week or month containing ``day``, with its budget status."""
        which = parse_period(period)
        first, last = which.bounds(self._today(day))
        totals = self.period_totals(which, first)
        budget = self.budget(which)
        return PeriodCostSummary(
            {
                "period": which.value,
                "start": first.isoformat(),
                "end": last.isoformat(),
                **totals.as_dict(),
                "budget": budget,
                "percent_used": None
                if budget is None
                else round(totals.cost_nusd / NANO / budget * 100.0, 2),
            }
        )

    def get_weekly_summary(self, day: date | None = None) -> PeriodCostSummary:
        """The spend of the week (Monday to Sunday) containing ``day``: ``total_cost``,
        ``cost_by_day``, ``cost_by_agent``, ``cost_by_model``, ``cost_by_provider``, ..."""
        return self.period_summary(Period.WEEK, day)

    def get_monthly_summary(self, day: date | None = None) -> PeriodCostSummary:
        """The spend of the calendar month containing ``day``, with the same keys."""
        return self.period_summary(Period.MONTH, day)

    # -- history -------------------------------------------------------------------------------

    def entries(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        agent_id: str | None = None,
        model: str | None = None,
        provider: str | None = None,
        team: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> Iterator[CostEntry]:
        """Raw entries with ``start <= timestamp < end``, oldest first, optionally filtered
        (``tags={"customer": "acme"}``: the entries with each of these tag values)."""
        filters = {
            name: value
            for name, value in (
                ("agent_id", agent_id),
                ("model", model),
                ("provider", provider),
                ("team", team),
            )
            if value is not None
        }
        for key, value in (tags or {}).items():
            if key not in self.tag_keys:
                raise ValueError(
                    f"tag key {key!r} is not one of {', '.join(sorted(self.tag_keys))}"
                )
            filters[key] = value
        self._writer.catch_up(READ_FLUSH_SECONDS)
        stored = self.store.entries(
            None if start is None else utc_timestamp(start),
            None if end is None else utc_timestamp(end),
            filters,
        )
        return (CostEntry.from_stored(entry) for entry in stored)

    def export_csv(self, destination: str | Path | IO[str], **query: Any) -> int:
        """Write entries (filtered as ``entries`` takes them) as CSV, one column per tag key
        the tracker knows; return how many."""
        if isinstance(destination, (str, Path)):
            with open(destination, "w", newline="", encoding="utf-8") as handle:
                return self.export_csv(handle, **query)
        writer = csv.writer(destination)
        fields = [name for name in CostEntry.__dataclass_fields__ if name != "tags"]
        tag_keys = sorted(self.tag_keys)
        writer.writerow([*fields, *tag_keys])
        count = 0
        for entry in self.entries(**query):
            row = [getattr(entry, name) for name in fields]
            row[0] = entry.timestamp.isoformat()
            writer.writerow([*row, *(entry.tags.get(key, "") for key in tag_keys)])
            count += 1
        return count

    def export_csv_text(self, **query: Any) -> str:
        """The CSV export as a string."""
        buffer = io.StringIO()
        self.export_csv(buffer, **query)
        return buffer.getvalue()
