"""Budget periods: their bounds and when they end in a time zone."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from llmobs.periods import Period, period_end

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def at(zone, *moment: int) -> float:
    return datetime(*moment, tzinfo=zone).timestamp()


@pytest.mark.parametrize(
    ("period", "day", "ends"),
    [
        (Period.DAY, date(2026, 11, 25), at(timezone.utc, 2026, 11, 26)),
        (Period.WEEK, date(2026, 11, 25), at(timezone.utc, 2026, 11, 30)),  # Monday
        (Period.WEEK, date(2026, 11, 30), at(timezone.utc, 2026, 12, 7)),
        (Period.MONTH, date(2026, 2, 3), at(timezone.utc, 2026, 3, 1)),
        (Period.MONTH, date(2026, 12, 31), at(timezone.utc, 2027, 1, 1)),
    ],
)
def test_a_period_ends_at_midnight_after_its_last_day(period, day, ends):
    assert period_end(period, day, timezone.utc) == ends


def test_a_period_ends_at_local_midnight_across_daylight_saving_changes():
    # 2026-03-29: clocks go forward in Stockholm, so that day lasts 23 hours
    assert period_end(Period.DAY, date(2026, 3, 28), STOCKHOLM) == at(timezone.utc, 2026, 3, 28, 23)
    assert period_end(Period.DAY, date(2026, 3, 29), STOCKHOLM) == at(timezone.utc, 2026, 3, 29, 22)
    assert period_end(Period.MONTH, date(2026, 10, 5), STOCKHOLM) == at(
        timezone.utc, 2026, 10, 31, 23
    )


def test_the_calendars_last_period_never_ends():
    assert period_end(Period.WEEK, date.max, timezone.utc) == float("inf")
