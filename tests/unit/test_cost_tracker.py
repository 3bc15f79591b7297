"""CostTracker: summaries, budgets, alerts, history, retention, export and bad input."""

from __future__ import annotations

import csv
import io
import threading
from datetime import date, datetime, timedelta, timezone

import pytest
from prometheus_client import CollectorRegistry

from llmobs import CostStoreError, CostTracker, LLMCostCalculator, LLMMetrics

from .samples import invalid

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)  # a Wednesday
TODAY = NOW.date()


@pytest.fixture(params=["background", "durable"])
def make_tracker(request, tmp_path, calculator):
    """Trackers in both write modes: every guarantee holds in each."""
    created = []

    def make(**options) -> CostTracker:
        options.setdefault("durable", request.param == "durable")
        options.setdefault("calculator", calculator)
        options.setdefault("clock", lambda: NOW)
        tracker = CostTracker(options.pop("path", tmp_path / "costs.sqlite3"), **options)
        created.append(tracker)
        return tracker

    yield make
    for tracker in created:
        tracker.close()


def spend(
    tracker: CostTracker,
    usd: float,
    at: datetime = NOW,
    agent: str = "meetmind.coordinator",
    model: str = "gpt-4o",
    provider: str = "openai",
) -> float:
    cost = tracker.record_cost(agent, model, provider, 100, 50, cost=usd, at=at)
    assert tracker.flush(10.0)
    return cost


def test_record_cost_prices_the_request_and_returns_it(make_tracker):
    tracker = make_tracker()
    cost = tracker.record_cost(
        agent_id="meetmind.coordinator",
        model="gpt-4",
        provider="openai",
        prompt_tokens=100,
        completion_tokens=200,
    )
    assert cost == pytest.approx(0.015)
    summary = tracker.get_daily_summary()
    assert summary.date == TODAY
    assert summary.total_cost == pytest.approx(0.015)
    assert summary.total_requests == 1
    assert summary.cost_by_agent == {"meetmind.coordinator": pytest.approx(0.015)}
    assert (summary.prompt_tokens, summary.completion_tokens, summary.total_tokens) == (
        100,
        200,
        300,
    )


def test_daily_summary_breaks_down_by_agent_model_provider_team(make_tracker):
    tracker = make_tracker()
    spend(tracker, 1.0, agent="meetmind.coordinator")
    spend(tracker, 2.0, agent="meetmind.notes", model="claude-3-haiku", provider="anthropic")
    spend(tracker, 4.0, agent="svea.pm", model="gemini-1.5-flash", provider="google")
    spend(tracker, 8.0, at=NOW - timedelta(days=1))  # yesterday: not in today's summary
    s = tracker.get_daily_summary()
    assert s.total_cost == 7.0 and s.total_requests == 3
    assert s.cost_by_team == {"svea": 4.0, "meetmind": 3.0}
    assert s.cost_by_provider == {"google": 4.0, "anthropic": 2.0, "openai": 1.0}
    assert s.cost_by_model["claude-3-haiku"] == 2.0
    assert s.requests_by_agent == {"meetmind.coordinator": 1, "meetmind.notes": 1, "svea.pm": 1}
    assert tracker.get_daily_summary(TODAY - timedelta(days=1)).total_cost == 8.0


def test_weekly_and_monthly_summaries(make_tracker):
    tracker = make_tracker(weekly_budget=50.0, monthly_budget=200.0)
    spend(tracker, 1.0, at=datetime(2026, 11, 23, 1, tzinfo=timezone.utc))  # Monday
    spend(tracker, 2.0, at=datetime(2026, 11, 29, 23, tzinfo=timezone.utc))  # Sunday
    spend(tracker, 4.0, at=datetime(2026, 11, 22, 12, tzinfo=timezone.utc))  # previous Sunday
    spend(tracker, 8.0, at=datetime(2026, 12, 1, tzinfo=timezone.utc))  # next month
    week = tracker.get_weekly_summary()
    assert (week["start"], week["end"]) == ("2026-11-23", "2026-11-29")
    assert week["total_cost"] == 3.0
    assert week["cost_by_day"] == {"2026-11-29": 2.0, "2026-11-23": 1.0}
    assert week["budget"] == 50.0 and week["percent_used"] == 6.0
    month = tracker.get_monthly_summary()
    assert (month["start"], month["end"]) == ("2026-11-01", "2026-11-30")
    assert month["total_cost"] == 7.0 and month["total_requests"] == 3
    assert set(month) >= {"cost_by_agent", "cost_by_model", "cost_by_provider", "cost_by_team"}
    assert tracker.get_monthly_summary(date(2026, 12, 5))["total_cost"] == 8.0


def test_days_begin_in_the_configured_time_zone(make_tracker):
    tracker = make_tracker(timezone="Europe/Stockholm")
    spend(tracker, 1.0, at=datetime(2026, 11, 25, 23, 30, tzinfo=timezone.utc))  # 00:30 local
    assert tracker.get_daily_summary(date(2026, 11, 26)).total_cost == 1.0
    assert tracker.get_daily_summary(date(2026, 11, 25)).total_cost == 0.0


def test_time_zone_is_saved_and_must_agree(make_tracker, tmp_path):
    make_tracker(timezone="Europe/Stockholm")
    assert str(make_tracker().timezone) == "Europe/Stockholm"
    with pytest.raises(ValueError, match="begin in time zone 'Europe/Stockholm', not 'UTC'"):
        make_tracker(timezone="UTC")
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Base'"):
        make_tracker(path=tmp_path / "other.sqlite3", timezone="Mars/Base")


def test_team_derivation_is_configurable(make_tracker, tmp_path):
    by_slash = make_tracker(path=tmp_path / "a.sqlite3", team_separator="/")
    spend(by_slash, 1.0, agent="growth/outreach.writer")
    assert by_slash.get_daily_summary().cost_by_team == {"growth": 1.0}
    custom = make_tracker(path=tmp_path / "b.sqlite3", team_of=lambda a: a.upper()[:3])
    spend(custom, 1.0, agent="meetmind.coordinator")
    assert custom.get_daily_summary().cost_by_team == {"MEE": 1.0}


def test_check_budget_threshold(make_tracker):
    tracker = make_tracker(daily_budget=100.0)
    spend(tracker, 85.0)
    status = tracker.check_budget_threshold(threshold_percent=80.0)
    assert status["is_over_threshold"] is True
    assert status["percent_used"] == 85.0
    assert status["budget"] == 100.0 and status["spent"] == 85.0 and status["remaining"] == 15.0
    assert status["is_over_budget"] is False
    assert tracker.check_budget_threshold(90.0)["is_over_threshold"] is False
    spend(tracker, 20.0)
    over = tracker.check_budget_threshold()
    assert over["is_over_budget"] is True and over["remaining"] == -5.0


def test_no_budget_means_nothing_is_over(make_tracker):
    status = make_tracker().check_budget_threshold(period="week")
    assert status["budget"] is None and status["percent_used"] is None
    assert status["is_over_threshold"] is False and status["is_over_budget"] is False


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda t: t.check_budget_threshold(period="year"),
            "period must be one of day, week, month",
        ),
        (lambda t: t.check_budget_threshold(threshold_percent=-5), "positive percentage"),
        (lambda t: t.set_budgets(daily_budget=-1), "daily_budget must be a positive number"),
        (lambda t: t.set_budgets(weekly_budget="lots"), "weekly_budget must be a number"),
        (lambda t: t.add_budget_alert(print, period="month"), "no month budget is set"),
        (lambda t: t.add_budget_alert("not callable"), "callback must be callable"),
    ],
)
def test_bad_budget_calls_are_clear_errors(make_tracker, call, message):
    with pytest.raises(ValueError, match=message):
        call(make_tracker(daily_budget=10.0))


def test_budget_alerts_fire_once_per_threshold_per_period(make_tracker):
    tracker = make_tracker(daily_budget=10.0)
    fired: list[tuple[float, float]] = []
    tracker.add_budget_alert(lambda s: fired.append((s["threshold_percent"], s["spent"])), 80.0)
    tracker.add_budget_alert(lambda s: fired.append((s["threshold_percent"], s["spent"])), 100.0)
    spend(tracker, 7.0)
    assert fired == []
    spend(tracker, 1.5)  # 85%: crosses 80
    spend(tracker, 0.5)  # 90%: nothing new
    assert fired == [(80.0, 8.5)]
    spend(tracker, 5.0)  # 140%: crosses 100
    spend(tracker, 5.0)
    assert fired == [(80.0, 8.5), (100.0, 14.0)]
    spend(tracker, 9.0, at=NOW + timedelta(days=1))  # a new day: 90%
    assert fired[-1] == (80.0, 9.0) and len(fired) == 3


def test_weekly_budget_alert(make_tracker):
    tracker = make_tracker(weekly_budget=10.0)
    fired = []
    tracker.add_budget_alert(fired.append, 50.0, period="week")
    spend(tracker, 3.0, at=datetime(2026, 11, 23, tzinfo=timezone.utc))
    spend(tracker, 3.0, at=datetime(2026, 11, 24, tzinfo=timezone.utc))
    assert [s["period_start"] for s in fired] == ["2026-11-23"]


def test_a_failing_alert_callback_does_not_reach_the_caller(make_tracker, registry):
    tracker = make_tracker(daily_budget=1.0)

    def broken(status):
        raise RuntimeError("pager down")

    tracker.add_budget_alert(broken, 50.0)
    assert spend(tracker, 0.9) == 0.9
    assert invalid(registry, "internal_error") == 1


def test_budgets_and_spend_are_shared_through_the_file(make_tracker):
    first = make_tracker(daily_budget=40.0, monthly_budget=500.0)
    spend(first, 10.0)
    second = make_tracker()
    assert second.daily_budget == 40.0 and second.budget("month") == 500.0
    spend(second, 10.0)
    assert first.check_budget_threshold()["percent_used"] == 50.0
    second.set_budgets(daily_budget=None)
    assert make_tracker().daily_budget is None


def test_unpriced_models_are_recorded_and_flagged(make_tracker):
    tracker = make_tracker()
    assert tracker.record_cost("a.b", "my-llama", "vllm", 10, 10) == 0.0
    summary = tracker.get_daily_summary()
    assert summary.unpriced_requests == 1 and summary.total_requests == 1
    (entry,) = tracker.entries()
    assert entry.priced is False and entry.cost == 0.0


def test_history_by_time_range_and_labels(make_tracker):
    tracker = make_tracker()
    for hours in range(6):
        spend(
            tracker,
            1.0 + hours,
            at=NOW - timedelta(hours=hours),
            agent="a.x" if hours % 2 else "b.y",
        )
    window = list(tracker.entries(NOW - timedelta(hours=3), NOW))
    assert [e.cost for e in window] == [4.0, 3.0, 2.0]  # oldest first, end exclusive
    assert {e.agent_id for e in tracker.entries(agent_id="a.x")} == {"a.x"}
    assert len(list(tracker.entries(team="b"))) == 3
    assert list(tracker.entries(model="nope")) == []


def test_retention_prunes_entries_and_keeps_daily_aggregates(make_tracker):
    tracker = make_tracker(retention_days=7)
    spend(tracker, 5.0, at=NOW - timedelta(days=30))
    spend(tracker, 1.0)
    pruned = make_tracker(retention_days=7)  # pruning runs on open, then hourly
    assert [e.cost for e in pruned.entries()] == [1.0]
    assert pruned.get_daily_summary(TODAY - timedelta(days=30)).total_cost == 5.0


def test_export_csv(make_tracker, tmp_path):
    tracker = make_tracker()
    spend(tracker, 0.25, agent="x.y")
    spend(tracker, 0.5, agent="z.w")
    path = tmp_path / "out.csv"
    assert tracker.export_csv(path, agent_id="z.w") == 1
    rows = list(csv.DictReader(path.open()))
    assert rows[0]["agent_id"] == "z.w" and float(rows[0]["cost"]) == 0.5
    assert rows[0]["timestamp"] == NOW.isoformat() and rows[0]["team"] == "z"
    assert len(list(csv.DictReader(io.StringIO(tracker.export_csv_text())))) == 2


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"prompt_tokens": -5}, "negative_tokens"),
        ({"completion_tokens": 2.5}, "invalid_tokens"),
        ({"cost": float("nan")}, "invalid_cost"),
        ({"cost": -1.0}, "negative_cost"),
        ({"agent_id": ""}, "empty_label"),
        ({"model": 42}, "invalid_label"),
        ({"at": "2026-01-01"}, "invalid_label"),
    ],
)
def test_bad_input_is_rejected_and_counted(make_tracker, registry, kwargs, reason):
    tracker = make_tracker()
    args = {
        "agent_id": "a.b",
        "model": "gpt-4o",
        "provider": "openai",
        "prompt_tokens": 1,
        "completion_tokens": 1,
        **kwargs,
    }
    assert tracker.record_cost(**args) == 0.0
    assert invalid(registry, reason) == 1
    assert tracker.get_daily_summary().total_requests == 0


def test_strict_mode_raises(tmp_path):
    strict = LLMCostCalculator(overrides=[], metrics=LLMMetrics(CollectorRegistry(), strict=True))
    tracker = CostTracker(tmp_path / "c.sqlite3", calculator=strict)
    with pytest.raises(ValueError, match="prompt_tokens must not be negative"):
        tracker.record_cost("a", "gpt-4o", "openai", -1, 0)


def test_eight_threads_give_totals_exact_to_the_cent(make_tracker):
    tracker = make_tracker()
    per_thread, threads = 400, 8

    def work() -> None:
        for i in range(per_thread):
            tracker.record_cost(f"t{i % 3}.agent", "gpt-4o-mini", "openai", 1000, 100, cost=0.01)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    summary = tracker.get_daily_summary()
    assert summary.total_requests == per_thread * threads
    assert round(summary.total_cost, 2) == 32.00
    assert summary.total_cost == pytest.approx(32.0, abs=1e-9)


def test_memory_tracker_keeps_no_file(tmp_path, calculator, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tracker = CostTracker(":memory:", calculator=calculator)
    spend(tracker, 1.0)
    assert tracker.get_daily_summary(TODAY).total_cost == 1.0
    assert list(tmp_path.iterdir()) == []


def test_corrupt_file_is_a_clear_error_and_left_untouched(tmp_path, calculator):
    path = tmp_path / "costs.sqlite3"
    garbage = b"this is not a database" * 100
    path.write_bytes(garbage)
    with pytest.raises(CostStoreError, match="not a usable llmobs cost database"):
        CostTracker(path, calculator=calculator)
    assert path.read_bytes() == garbage


def test_other_sqlite_database_is_refused(tmp_path, calculator):
    import sqlite3

    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (id INTEGER)")
    with pytest.raises(CostStoreError, match=r"SQLite database of something else \(tables: users"):
        CostTracker(path, calculator=calculator)


def test_path_that_is_a_folder_is_a_clear_error(tmp_path, calculator):
    with pytest.raises(CostStoreError, match="not a usable llmobs cost database"):
        CostTracker(tmp_path, calculator=calculator)


def test_default_path_from_the_environment(tmp_path, monkeypatch, calculator):
    monkeypatch.setenv("LLMOBS_COST_DB", str(tmp_path / "env.sqlite3"))
    tracker = CostTracker(calculator=calculator)
    assert tracker.path == str(tmp_path / "env.sqlite3")
    monkeypatch.delenv("LLMOBS_COST_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert CostTracker(calculator=calculator).path == str(tmp_path / "data/llmobs/costs.sqlite3")


def test_get_cost_tracker_returns_one_tracker_per_database(tmp_path):
    from llmobs import get_cost_tracker

    path = tmp_path / "shared.sqlite3"
    first = get_cost_tracker(daily_budget=10.0, path=path)
    again = get_cost_tracker(daily_budget=20.0, path=str(path))
    assert again is first and first.daily_budget == 20.0
    assert get_cost_tracker(path=path).daily_budget == 20.0


def test_daily_weekly_and_monthly_summaries_read_the_same_two_ways(make_tracker):
    tracker = make_tracker()
    spend(tracker, 2.5)
    summaries = [
        tracker.get_daily_summary(TODAY),
        tracker.get_weekly_summary(TODAY),
        tracker.get_monthly_summary(TODAY),
    ]
    for summary in summaries:
        assert summary["total_cost"] == summary.total_cost == 2.5
        assert summary["cost_by_agent"] == summary.cost_by_agent == {"meetmind.coordinator": 2.5}
        assert summary.get("total_requests") == 1
        assert "cost_by_team" in summary
    assert dict(summaries[0])["date"] == TODAY.isoformat()
    with pytest.raises(AttributeError):
        summaries[1].no_such_key  # noqa: B018
