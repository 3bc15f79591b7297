"""Budgets that stop spend, on each backend: a call that would exceed an enforced budget or a
run's cap is refused before it is made; a reservation becomes the call's actual cost."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from prometheus_client import CollectorRegistry

from llmobs import (
    Budget,
    BudgetExceededError,
    CostTracker,
    LLMCostCalculator,
    LLMMetrics,
    LLMObserver,
)
from llmobs.store import Hold

NOW = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)


@pytest.fixture
def make(cost_db):
    """Trackers and observers on one database (as separate processes would have)."""
    trackers: list[CostTracker] = []

    def tracker(**options) -> CostTracker:
        created = CostTracker(cost_db, clock=lambda: NOW, **options)
        trackers.append(created)
        return created

    yield tracker
    for created in trackers:
        created.close()


def observer_of(tracker: CostTracker, **options) -> LLMObserver:
    metrics = LLMMetrics(registry=CollectorRegistry())
    calculator = LLMCostCalculator(overrides=[], metrics=metrics)
    return LLMObserver(metrics=metrics, tracker=tracker, calculator=calculator, **options)


def spend(observer: LLMObserver, agent: str, actual: float, reserve: float) -> bool:
    """One call reserving ``reserve`` and costing ``actual``; whether it was made."""
    made = False
    with observer.call(agent, "gpt-4o", "openai", max_cost=reserve) as call:
        made = True
        call.set_usage(prompt_tokens=100, completion_tokens=10)
        call.cost = actual
    return made


def test_a_call_that_would_exceed_an_enforced_budget_is_refused_before_it_is_made(make):
    tracker = make(daily_budget=1.0, enforce=True)
    observer = observer_of(tracker)
    assert spend(observer, "team.a", actual=0.5, reserve=0.6)
    assert tracker.check_budget_threshold()["spent"] == 0.5  # the actual cost, written at once
    with pytest.raises(BudgetExceededError) as refused:
        spend(observer, "team.a", actual=0.1, reserve=0.6)
    error = refused.value
    assert (error.budget, error.limit, error.spent, error.requested) == (
        "the daily budget",
        1.0,
        0.5,
        0.6,
    )
    assert "the daily budget of 1 USD would be exceeded: 0.500000 USD spent" in str(error)
    assert spend(observer, "team.a", actual=0.4, reserve=0.5)  # what fits is still admitted
    summary = tracker.get_daily_summary()
    assert (summary.total_requests, summary.total_cost) == (2, 0.9)
    held = tracker.store.spent_and_held(Hold("day", NOW.date(), "", "", 0), NOW.timestamp())[1]
    assert held == 0


def test_a_failed_call_gives_its_reservation_back(make):
    tracker = make(daily_budget=1.0, enforce=True)
    observer = observer_of(tracker)
    with pytest.raises(TimeoutError), observer.call("team.a", "gpt-4o", "openai", max_cost=0.9):
        raise TimeoutError("the provider did not answer")
    assert spend(observer, "team.a", actual=0.9, reserve=0.9)  # nothing was left held


def test_team_and_agent_budgets_limit_only_their_own_calls(make):
    tracker = make(
        budgets=[
            Budget(0.5, team="research", enforce=True),
            Budget(0.2, agent_id="support.bot", enforce=True),
        ]
    )
    observer = observer_of(tracker)
    assert spend(observer, "research.a", actual=0.3, reserve=0.3)
    with pytest.raises(BudgetExceededError, match="the daily budget of team 'research'"):
        spend(observer, "research.b", actual=0.1, reserve=0.3)
    with pytest.raises(BudgetExceededError, match=r"budget of agent 'support\.bot'"):
        spend(observer, "support.bot", actual=0.1, reserve=0.25)
    assert spend(observer, "support.other", actual=0.25, reserve=0.25)  # no budget of its own
    assert spend(observer, "research.b", actual=0.2, reserve=0.2)


def test_budgets_are_tracking_only_unless_enforced(make):
    tracker = make(daily_budget=0.1)
    assert spend(observer_of(tracker), "team.a", actual=0.5, reserve=0.5)  # over, and made
    with pytest.raises(BudgetExceededError):  # an enforcing observer enforces every budget
        spend(observer_of(tracker, enforce=True), "team.a", actual=0.1, reserve=0.1)


def test_one_budget_across_trackers_sharing_the_store(make):
    first, second = make(daily_budget=1.0, enforce=True), make(enforce=True)
    assert second.budget("day") == 1.0  # saved by the first, for every process
    with first.run("a", max_usd=10.0), second.run("b", max_usd=10.0):
        held = first.reserve("team.a", max_cost=0.7)
        with pytest.raises(BudgetExceededError) as refused:
            second.reserve("team.b", max_cost=0.4)
        assert refused.value.reserved == 0.7
        first.record_cost("team.a", "gpt-4o", "openai", 10, 1, cost=0.2, reservation=held)
        assert second.reserve("team.b", max_cost=0.8) is not None


def test_a_run_caps_the_calls_inside_it_nested_runs_included(make):
    tracker = make()
    observer = observer_of(tracker)
    with tracker.run("run-42", max_usd=1.0) as outer:
        assert spend(observer, "team.a", actual=0.4, reserve=0.4)
        with tracker.run("step-1", max_usd=0.3):
            with pytest.raises(BudgetExceededError, match="the cap of run 'step-1'"):
                spend(observer, "team.a", actual=0.1, reserve=0.35)
            assert spend(observer, "team.a", actual=0.2, reserve=0.3)
        with pytest.raises(BudgetExceededError, match="the cap of run 'run-42'") as refused:
            spend(observer, "team.a", actual=0.1, reserve=0.5)
        assert refused.value.spent == pytest.approx(0.6)
        assert outer.spent == pytest.approx(0.6) and outer.held_nusd == 0
    assert spend(observer, "team.a", actual=5.0, reserve=5.0)  # outside every run


def test_the_worst_case_is_priced_from_the_model_and_max_tokens(make):
    tracker = make(daily_budget=0.01, enforce=True)
    # gpt-4o: 2.50 USD per million input tokens, 10 USD per million output tokens
    reservation = tracker.reserve("team.a", "gpt-4o", "openai", prompt_tokens=1000, max_tokens=500)
    assert reservation is not None and reservation.amount == pytest.approx(0.0075)
    with pytest.raises(BudgetExceededError):
        tracker.reserve("team.a", "gpt-4o", "openai", prompt_tokens=1000, max_tokens=500)
    tracker.release(reservation)
    assert tracker.reserve("team.a", "gpt-4o", "openai", prompt_tokens=1000, max_tokens=500)


def utc(*day: int) -> float:
    return datetime(*day, tzinfo=timezone.utc).timestamp()


def budget_gauges(registry: CollectorRegistry) -> dict[tuple[str, str, str, str], float]:
    return {
        (s.name, s.labels["scope"], s.labels["name"], s.labels["period"]): s.value
        for family in registry.collect()
        if family.name.startswith("llm_budget_")
        for s in family.samples
    }


def test_every_replica_exports_the_same_budget_gauges_from_the_store(make):
    budgets = [Budget(2.0, "week", team="research", enforce=True)]
    replicas = [make(daily_budget=10.0, budgets=budgets) for _ in range(2)]
    registries = [CollectorRegistry(), CollectorRegistry()]
    for tracker, registry in zip(replicas, registries, strict=True):
        tracker.export_metrics(registry)
    replicas[0].record_cost("research.a", "gpt-4o", "openai", 10, 1, cost=0.75, at=NOW)
    replicas[1].record_cost("other.b", "gpt-4o", "openai", 10, 1, cost=0.5, at=NOW)
    held = replicas[1].reserve("research.b", max_cost=0.25)
    assert held is not None
    replicas[0].flush()  # what another replica has queued is counted once it is written
    gauges = [budget_gauges(registry) for registry in registries]
    assert (
        gauges[0]
        == gauges[1]
        == {
            ("llm_budget_limit_usd", "global", "all", "day"): 10.0,
            ("llm_budget_spent_usd", "global", "all", "day"): 1.25,
            ("llm_budget_reserved_usd", "global", "all", "day"): 0.0,  # not enforced: nothing held
            ("llm_budget_limit_usd", "team", "research", "week"): 2.0,
            ("llm_budget_spent_usd", "team", "research", "week"): 0.75,
            ("llm_budget_reserved_usd", "team", "research", "week"): 0.25,
            # the periods of NOW (Wednesday 2026-11-25) end at midnight UTC after them
            ("llm_budget_period_end_timestamp_seconds", "global", "all", "day"): utc(2026, 11, 26),
            ("llm_budget_period_end_timestamp_seconds", "team", "research", "week"): utc(
                2026, 11, 30
            ),
        }
    )
    with pytest.raises(ValueError, match="another cost tracker exports the budget gauges"):
        make().export_metrics(registries[0])
    replicas[0].close()
    assert budget_gauges(registries[0]) == {}  # a closed tracker stops exporting


def test_a_scrape_never_fails_for_the_budget_gauges(make):
    metrics = LLMMetrics(registry=CollectorRegistry())
    calculator = LLMCostCalculator(overrides=[], metrics=metrics)
    tracker = make(daily_budget=10.0, calculator=calculator)
    registry = CollectorRegistry()
    tracker.export_metrics(registry)
    tracker.store.close()  # the store fails from now on
    assert budget_gauges(registry) == {}  # the gauges pause; the scrape goes on
    # Two reads failed and were counted: the budget gauges' and the attributed spend's.
    assert metrics.registry.get_sample_value("llm_cost_store_errors_total") == 2


def test_every_refused_call_is_counted_by_what_refused_it(make):
    metrics = LLMMetrics(registry=CollectorRegistry())
    calculator = LLMCostCalculator(overrides=[], metrics=metrics)
    tracker = make(daily_budget=0.5, enforce=True, calculator=calculator)
    observer = observer_of(tracker)
    assert spend(observer, "team.a", actual=0.4, reserve=0.4)
    for _ in range(2):
        with pytest.raises(BudgetExceededError):
            spend(observer, "team.a", actual=0.1, reserve=0.2)
    with tracker.run("r", max_usd=0.01), pytest.raises(BudgetExceededError):
        spend(observer, "team.b", actual=0.0, reserve=0.05)

    def refusals(agent: str, scope: str, period: str) -> float | None:
        labels = {"agent_id": agent, "scope": scope, "period": period}
        return metrics.registry.get_sample_value("llm_budget_refusals_total", labels)

    assert refusals("team.a", "global", "day") == 2
    assert refusals("team.b", "run", "run") == 1
