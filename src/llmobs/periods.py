"""Budget periods: a calendar day, an ISO week (Monday to Sunday) or a calendar month."""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta, tzinfo
from enum import Enum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class Period(str, Enum):
    """A budget period."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"

    def bounds(self, day: date) -> tuple[date, date]:
        """First and last day (inclusive) of the period that contains ``day``."""
        if self is Period.DAY:
            return day, day
        if self is Period.WEEK:
            start = day - timedelta(days=day.weekday())  # 0001-01-01 is a Monday
            end = start + timedelta(days=6) if start <= date.max - timedelta(days=6) else date.max
            return start, end
        last = calendar.monthrange(day.year, day.month)[1]
        return day.replace(day=1), day.replace(day=last)


def parse_period(value: object) -> Period:
    """``value`` as a Period; raise ValueError naming the allowed values."""
    try:
        return Period(value)
    except ValueError:
        allowed = ", ".join(p.value for p in Period)
        raise ValueError(f"period must be one of {allowed}, got {value!r}") from None


def parse_timezone(value: str | tzinfo | None) -> tzinfo:
    """A time zone from an IANA name (``Europe/Stockholm``) or a tzinfo; UTC for None."""
    if value is None:
        return ZoneInfo("UTC")
    if isinstance(value, tzinfo):
        return value
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown time zone {value!r}: use an IANA name such as 'UTC'") from None


def local_day(moment: datetime, zone: tzinfo) -> date:
    """The calendar day ``moment`` falls on in ``zone``."""
    return moment.astimezone(zone).date()


def days(first: date, last: date) -> list[date]:
    """Every day from ``first`` to ``last``, inclusive."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def period_end(period: Period, day: date, zone: tzinfo) -> float:
    """Unix time at which the ``period`` holding ``day`` ends: the midnight in ``zone`` after
    its last day (infinity for the last period the calendar has)."""
    last = period.bounds(day)[1]
    if last == date.max:
        return float("inf")
    return datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone).timestamp()
