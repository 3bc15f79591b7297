"""Every budget, run and reservation setting a user can get wrong is a clear error where it is
given; inside an observed call it is counted, never raised into the service."""

from __future__ import annotations

import math

import pytest

from llmobs import Budget, CostTracker, LLMObserver
from llmobs.enforcement import run

from .samples import sample


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"limit_usd": 0}, "limit_usd must be a positive number"),
        ({"limit_usd": None}, "limit_usd must be a positive number"),
        ({"limit_usd": math.inf}, "limit_usd must be a positive number"),
        ({"limit_usd": "10"}, "limit_usd must be a number"),
        ({"limit_usd": 1, "period": "year"}, "period must be one of day, week, month"),
        ({"limit_usd": 1, "team": "a", "agent_id": "a.b"}, "not several"),
        ({"limit_usd": 1, "team": ""}, "team must be a non-empty string"),
        ({"limit_usd": 1, "agent_id": 7}, "agent_id must be a non-empty string"),
    ],
)
def test_a_bad_budget_is_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        Budget(**arguments)


def test_a_budget_says_what_it_limits():
    assert Budget(5, "week", team="meetmind").describe() == "the weekly budget of team 'meetmind'"
    assert Budget(5, "month").describe() == "the monthly budget"
    assert Budget(5, agent_id="svea.pm").applies_to("svea.pm", "svea")
    assert not Budget(5, agent_id="svea.pm").applies_to("svea.other", "svea")
    assert Budget(5, team="svea").applies_to("svea.other", "svea")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"when_store_fails": "maybe"}, "when_store_fails must be 'allow' or 'deny'"),
        ({"reservation_seconds": 0}, r"reservation_seconds must be in \(0, 604800\]"),
        ({"reservation_seconds": math.nan}, "reservation_seconds must be in"),
        ({"budgets": [10.0]}, "budgets must be llmobs.Budget objects"),
        ({"team_separator": "::"}, "team_separator must be one punctuation character"),
        ({"team_separator": "a"}, "team_separator must be one punctuation character"),
    ],
)
def test_bad_enforcement_settings_are_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        CostTracker(":memory:", **arguments)


@pytest.mark.parametrize(
    ("run_id", "max_usd", "message"),
    [("", 1.0, "run_id must be a non-empty string"), ("r", -1, "max_usd must be a positive")],
)
def test_a_bad_run_is_refused(run_id, max_usd, message):
    with pytest.raises(ValueError, match=message), run(run_id, max_usd):
        pass


@pytest.mark.parametrize("max_cost", [-0.5, math.nan, "0.5"])
def test_a_bad_worst_case_is_refused_by_reserve(max_cost):
    tracker = CostTracker(":memory:", daily_budget=1.0, enforce=True)
    with pytest.raises(ValueError, match="max_cost must"):
        tracker.reserve("team.a", max_cost=max_cost)


def test_a_bad_worst_case_in_an_observed_call_is_counted_and_the_call_goes_on(metrics, calculator):
    tracker = CostTracker(":memory:", daily_budget=1.0, enforce=True, calculator=calculator)
    observer = LLMObserver(metrics=metrics, tracker=tracker, calculator=calculator)
    with observer.call("team.a", "gpt-4o", "openai", max_cost=-1) as call:
        call.set_usage(prompt_tokens=10, completion_tokens=1)
    assert sample(metrics.registry, "llm_invalid_records_total", reason="internal_error") == 1
    assert sample(metrics.registry, "llm_requests_total", agent_id="team.a", model="gpt-4o",
                  provider="openai", status="success") == 1  # fmt: skip
