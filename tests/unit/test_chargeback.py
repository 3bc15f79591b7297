"""The chargeback report's numbers: every value's spend, the untagged rest, the charts' series
adding up to each day's spend, the CSV, and a page that shows what users named, escaped."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone

import pytest

from llmobs import CostTracker
from obsgen.tools import chargeback_page
from obsgen.tools.chargeback import CHART_VALUES, UNTAGGED, Chargeback, parse_month

NOVEMBER = date(2026, 11, 1)


@pytest.fixture
def tracker(calculator):
    tracker = CostTracker(":memory:", calculator=calculator, timezone="Europe/Stockholm")
    start = datetime(2026, 10, 31, 23, 30, tzinfo=timezone.utc)  # 00:30 on 1 November there
    for n in range(300):
        customer = f"c{n % 13:02d}" if n % 7 else None
        tracker.record_cost(
            "svc.a",
            ("gpt-4o", "claude-sonnet-4-5")[n % 2],
            ("openai", "anthropic")[n % 2],
            1000 + n,
            100,
            cost=0.01 * (1 + n % 13),
            at=start + timedelta(hours=2.3 * n),
            tags={"customer": customer} if customer else None,
        )
    tracker.record_cost("svc.a", "gpt-4o", "openai", 1, 1, cost=5.0,
                        at=datetime(2026, 12, 1, 0, 30, tzinfo=timezone.utc))  # fmt: skip
    yield tracker
    tracker.close()


def test_every_value_and_the_untagged_rest_add_up_to_the_month(tracker):
    report = Chargeback.build(tracker, "customer", NOVEMBER)
    summary = tracker.get_monthly_summary(NOVEMBER)
    assert report.total_usd == pytest.approx(summary["total_cost"])
    assert len(report.rows) == 13
    tagged = sum(row["cost_usd"] for row in report.rows)
    assert tagged + report.untagged_usd == pytest.approx(report.total_usd)
    assert report.untagged_requests == sum(1 for n in range(300) if n % 7 == 0) - 0
    costs = [row["cost_usd"] for row in report.rows]
    assert costs == sorted(costs, reverse=True)


def test_each_days_series_add_up_to_that_days_spend(tracker):
    report = Chargeback.build(tracker, "customer", NOVEMBER)
    assert len(report.days) == 30 and len(report.daily) == CHART_VALUES
    by_day = tracker.get_monthly_summary(NOVEMBER)["cost_by_day"]
    for n, day in enumerate(report.days):
        charted = sum(series[n] for series in report.daily.values()) + report.others_daily[n]
        assert charted == pytest.approx(by_day.get(day.isoformat(), 0.0))
    for value, models in report.models.items():
        row = next(r for r in report.rows if r["customer"] == value)
        assert sum(models.values()) == pytest.approx(row["cost_usd"])
        assert set(models) == {"gpt-4o", "claude-sonnet-4-5"}


def test_the_csv_lists_every_value_then_the_untagged(tracker):
    report = Chargeback.build(tracker, "customer", NOVEMBER)
    rows = list(csv.DictReader(io.StringIO(report.csv())))
    assert [r["customer"] for r in rows[:-1]] == [r["customer"] for r in report.rows]
    assert rows[-1]["customer"] == UNTAGGED
    assert sum(float(r["cost_usd"]) for r in rows) == pytest.approx(report.total_usd, abs=1e-5)
    assert sum(float(r["share_percent"]) for r in rows) == pytest.approx(100, abs=0.1)


def test_the_page_escapes_what_users_named(calculator):
    tracker = CostTracker(":memory:", calculator=calculator)
    at = datetime(2026, 11, 5, tzinfo=timezone.utc)
    tracker.record_cost("a", "gpt-4o", "openai", 10, 1, cost=1.0, at=at,
                        tags={"customer": "<script>alert(1)</script>"})  # fmt: skip
    page = chargeback_page.render(Chargeback.build(tracker, "customer", NOVEMBER))
    tracker.close()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "http://" not in page and "https://" not in page  # opens without a network


def test_an_empty_month_is_a_report_of_nothing(tracker):
    report = Chargeback.build(tracker, "customer", date(2026, 9, 1))
    assert (report.total_usd, report.rows, report.models) == (0.0, [], {})
    assert "No spend was attributed" in chargeback_page.render(report)


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "november", "2026-11-01"])
def test_a_period_must_be_a_month(text):
    with pytest.raises(ValueError, match="not a month like 2026-11"):
        parse_month(text)


def test_only_a_tag_can_be_charged_back_by(tracker):
    with pytest.raises(ValueError, match="by must be an attribution tag key"):
        Chargeback.build(tracker, "agent", NOVEMBER)
