"""The chargeback report behind ``obsgen costs report``: a month's spend per value of one
attribution tag (customer, user, feature, ...), read from a cost tracker, as CSV (every value)
and as a page with charts (``chargeback_page``)."""

from __future__ import annotations

import calendar
import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from llmobs import CostTracker

#: The value a CSV row names for the spend no tag value was given.
UNTAGGED = "(untagged)"
#: How many values the charts show by name; the rest are summed as "others".
CHART_VALUES = 10
MONTH = re.compile(r"(\d{4})-(\d{2})")


def parse_month(text: str) -> date:
    """The first day of a month written ``YYYY-MM``; ValueError otherwise."""
    found = MONTH.fullmatch(text.strip())
    if found is None or not 1 <= int(found[2]) <= 12:
        raise ValueError(f"period {text!r} is not a month like 2026-11")
    return date(int(found[1]), int(found[2]), 1)


@dataclass(frozen=True)
class Chargeback:
    """A month's spend by one tag: every value's totals, the untagged rest, and what the
    charts show of the biggest values (per day, and per model)."""

    by: str
    first: date
    last: date
    timezone: str
    total_usd: float
    total_requests: int
    unpriced_requests: int
    #: Every value, highest spend first: {by, requests, prompt_tokens, completion_tokens, cost_usd}.
    rows: list[dict[str, Any]]
    untagged_usd: float
    untagged_requests: int
    #: The days of the month, per charted value its spend each day, and the rest's each day.
    days: list[date]
    daily: dict[str, list[float]]
    others_daily: list[float]
    #: Per charted value, its spend per model.
    models: dict[str, dict[str, float]]

    @classmethod
    def build(cls, tracker: CostTracker, by: str, first: date) -> Chargeback:
        """The report of the month beginning on ``first``, by the tag key ``by``."""
        if by not in tracker.tag_keys:
            raise ValueError(
                f"by must be an attribution tag key ({', '.join(sorted(tracker.tag_keys))}), "
                f"got {by!r}"
            )
        last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
        summary = tracker.period_summary("month", first)
        rows = tracker.breakdown("month", by, first)
        tagged_usd = sum(row["cost_usd"] for row in rows)
        tagged_requests = sum(row["requests"] for row in rows)
        zone = tracker.timezone
        start = datetime.combine(first, time(), zone)
        end = datetime.combine(last + timedelta(days=1), time(), zone)
        charted = [str(row[by]) for row in rows[:CHART_VALUES]]
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        daily, others = _daily(tracker, by, charted, days, start, end)
        return cls(
            by=by,
            first=first,
            last=last,
            timezone=str(zone),
            total_usd=summary["total_cost"],
            total_requests=summary["total_requests"],
            unpriced_requests=summary["unpriced_requests"],
            rows=rows,
            untagged_usd=max(summary["total_cost"] - tagged_usd, 0.0),
            untagged_requests=max(summary["total_requests"] - tagged_requests, 0),
            days=days,
            daily=daily,
            others_daily=others,
            models=_models(tracker, by, charted, start, end),
        )

    @property
    def month(self) -> str:
        return self.first.strftime("%Y-%m")

    def csv(self) -> str:
        """Every value's spend, highest first, then the untagged rest (if any)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        fields = ("requests", "prompt_tokens", "completion_tokens")
        writer.writerow([self.by, *fields, "cost_usd", "share_percent"])
        for row in self.rows:
            writer.writerow(
                [
                    row[self.by],
                    *(row[f] for f in fields),
                    f"{row['cost_usd']:.6f}",
                    self._share(row["cost_usd"]),
                ]
            )
        if self.untagged_requests or self.untagged_usd:
            writer.writerow(
                [
                    UNTAGGED,
                    self.untagged_requests,
                    "",
                    "",
                    f"{self.untagged_usd:.6f}",
                    self._share(self.untagged_usd),
                ]
            )
        return buffer.getvalue()

    def _share(self, usd: float) -> str:
        return f"{usd / self.total_usd * 100:.2f}" if self.total_usd else "0.00"


def _daily(
    tracker: CostTracker,
    by: str,
    charted: list[str],
    days: list[date],
    start: datetime,
    end: datetime,
) -> tuple[dict[str, list[float]], list[float]]:
    """Each charted value's spend per day, and the rest's (every other value, and untagged)."""
    index = {day: n for n, day in enumerate(days)}
    series = {value: [0.0] * len(days) for value in charted}
    others = [0.0] * len(days)
    for row in tracker.spend_by(start, end, ["day"]):
        others[index[row["day"]]] += row["cost_usd"]
    if charted:
        for row in tracker.spend_by(start, end, ["day", by], tag_values={by: charted}):
            series[row[by]][index[row["day"]]] += row["cost_usd"]
            others[index[row["day"]]] -= row["cost_usd"]
    return series, [max(value, 0.0) for value in others]


def _models(
    tracker: CostTracker, by: str, charted: list[str], start: datetime, end: datetime
) -> dict[str, dict[str, float]]:
    """Each charted value's spend per model."""
    models: dict[str, dict[str, float]] = {value: {} for value in charted}
    if charted:
        for row in tracker.spend_by(start, end, [by, "model"], tag_values={by: charted}):
            models[row[by]][row["model"]] = row["cost_usd"]
    return models
