"""The tracker takes its budgets from the obsgen.yaml the alerts are generated from: one source
of numbers, one team derivation."""

from __future__ import annotations

import pytest

from llmobs import Budget, CostTracker, get_cost_tracker
from llmobs.enforcement import Scope
from obsgen.config import ConfigError

CONFIG = """\
apiVersion: obsgen/v1
budgets:
  daily: 50.0
  monthly: 900.0
  teams:
    research: 20.0
  agents:
    "support/bot": 5.0
teams:
  separator: "/"
"""


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "obsgen.yaml"
    path.write_text(CONFIG)
    return path


def test_a_tracker_takes_its_budgets_and_team_separator_from_the_config(config):
    tracker = CostTracker.from_config(config, ":memory:", enforce=True)
    assert (tracker.budget("day"), tracker.budget("week"), tracker.budget("month")) == (
        50.0, None, 900.0
    )  # fmt: skip
    assert tracker.budgets_for("research/writer") == [
        Budget(50.0, "day", enforce=True),
        Budget(900.0, "month", enforce=True),
        Budget(20.0, team="research"),
    ]
    assert Budget(5.0, agent_id="support/bot") in tracker.budgets_for("support/bot")
    assert tracker.get_daily_summary().total_cost == 0.0
    tracker.record_cost("research/writer", "gpt-4o", "openai", 10, 1, cost=1.0)
    assert tracker.get_daily_summary().cost_by_team == {"research": 1.0}  # "/" separates


def test_per_period_team_budgets_enforcement_and_time_zone_come_from_the_config(tmp_path):
    path = tmp_path / "obsgen.yaml"
    path.write_text(
        CONFIG.replace(
            "    research: 20.0", "    research: {weekly: 80, monthly: 300, enforce: true}"
        ).replace("  daily: 50.0", "  daily: 50.0\n  timezone: Asia/Tokyo")
    )
    tracker = CostTracker.from_config(path, ":memory:")
    assert str(tracker.timezone) == "Asia/Tokyo" and not tracker.enforce
    assert [b for b in tracker.budgets_for("research/writer") if b.team] == [
        Budget(80.0, "week", team="research", enforce=True),
        Budget(300.0, "month", team="research", enforce=True),
    ]
    assert [b.enforce for b in tracker.budgets() if b.scope is Scope.GLOBAL] == [False, False]
    path.write_text(CONFIG.replace("  monthly: 900.0", "  monthly: 900.0\n  enforce: true"))
    enforcing = CostTracker.from_config(path, ":memory:")
    assert enforcing.enforce and all(b.enforce for b in enforcing.budgets())


def test_a_store_whose_days_begin_elsewhere_is_refused(config, tmp_path):
    db = tmp_path / "costs.sqlite3"
    CostTracker(db, timezone="Europe/Stockholm").close()
    with pytest.raises(ValueError, match="begin in time zone 'Europe/Stockholm', not 'UTC'"):
        CostTracker.from_config(config, db)


def test_options_given_override_the_config(config):
    tracker = CostTracker.from_config(config, ":memory:", daily_budget=7.0)
    assert tracker.budget("day") == 7.0 and tracker.budget("month") == 900.0


def test_a_bad_config_names_file_and_line(config):
    config.write_text(CONFIG.replace("daily: 50.0", "daily: -3"))
    with pytest.raises(ConfigError, match=r"obsgen.yaml:3: budgets.daily: must be a budget"):
        CostTracker.from_config(config, ":memory:")


def test_get_cost_tracker_reads_llmobs_config(config, tmp_path, monkeypatch):
    monkeypatch.setenv("LLMOBS_CONFIG", str(config))
    tracker = get_cost_tracker(path=tmp_path / "fleet.sqlite3")
    assert tracker.budget("month") == 900.0
    assert [b.team for b in tracker.budgets() if b.team] == ["research"]
    tracker.close()


def test_what_an_enforced_call_reserves_comes_from_the_config(tmp_path):
    path = tmp_path / "obsgen.yaml"
    path.write_text(
        CONFIG.replace(
            "  monthly: 900.0",
            "  monthly: 900.0\n  reservation: {output_tokens: 1000, media_tokens: 250}",
        )
    )
    tracker = CostTracker.from_config(path, ":memory:", enforce=True)
    assert tracker.reserve_media_tokens == 250
    reservation = tracker.reserve("research/writer", "gpt-4o", "openai", prompt_tokens=2000)
    price = tracker.calculator.cost_of("gpt-4o", 2000, 1000, provider="openai")
    assert reservation is not None and reservation.amount == pytest.approx(price)
