"""Attribution tags: set per call or per context, checked against the tracker's keys, kept with
each entry, summed per value and exported; a bad tag is left off and counted, never raised."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date, datetime, timezone

import pytest

import llmobs
from llmobs import CostTracker, LLMObserver
from llmobs.attribution import attribution_keys, current_tags, request_tags

from .samples import invalid, sample

NOW = datetime(2026, 11, 14, 12, tzinfo=timezone.utc)


@pytest.fixture
def tracker(calculator):
    tracker = CostTracker(":memory:", calculator=calculator, clock=lambda: NOW)
    yield tracker
    tracker.close()


def tags_recorded(tracker) -> list[dict[str, str]]:
    return [entry.tags for entry in tracker.entries()]


def test_contexts_nest_and_the_call_wins(tracker):
    with llmobs.attribute(customer="acme", feature="search"):
        tracker.record_cost("a", "gpt-4o", "openai", 10, 1)
        with llmobs.attribute(feature="summary", environment="prod"):
            tracker.record_cost("a", "gpt-4o", "openai", 10, 1, tags={"customer": "globex"})
            with llmobs.attribute(environment=None):
                assert dict(current_tags()) == {"customer": "acme", "feature": "summary"}
    tracker.record_cost("a", "gpt-4o", "openai", 10, 1)
    assert tags_recorded(tracker) == [
        {"customer": "acme", "feature": "search"},
        {"customer": "globex", "environment": "prod", "feature": "summary"},
        {},
    ]


def test_observed_calls_carry_their_tags_and_the_context(calculator, tracker, registry):
    observer = LLMObserver(calculator.metrics, tracker, calculator)
    usage = {"usage": {"prompt_tokens": 1000, "completion_tokens": 100}}
    with llmobs.attribute(customer="acme"):
        for user in ("u1", "u2", "u1"):
            with observer.call("svc.chat", "gpt-4o", "openai", tags={"user": user}) as call:
                call.set_usage(usage)
    observer.record_finished(
        "svc.chat", "gpt-4o", "openai", usage, duration_seconds=0.1, tags={"customer": "globex"}
    )
    by_customer = tracker.breakdown("month", "customer")
    assert [(row["customer"], row["requests"]) for row in by_customer] == [
        ("acme", 3),
        ("globex", 1),
    ]
    assert by_customer[0]["cost_usd"] == pytest.approx(3 * 0.0035)
    assert [row["user"] for row in tracker.breakdown("day", "user")] == ["u1", "u2"]
    assert invalid(registry, "invalid_tag") == 0


@pytest.mark.parametrize(
    ("tags", "kept"),
    [
        ({"customer": "acme", "region": "eu"}, {"customer": "acme"}),  # undeclared key
        ({"customer": ""}, {}),
        ({"customer": "   "}, {}),
        ({"customer": "x" * 257}, {}),
        ({"customer": "line\nbreak"}, {}),
        ({"customer": object(), "user": "u"}, {"user": "u"}),
        ({"customer": True}, {}),
        ({3: "x", "user": "u"}, {"user": "u"}),
    ],
)
def test_a_bad_tag_is_left_off_and_counted(tracker, registry, tags, kept):
    cost = tracker.record_cost("a", "gpt-4o", "openai", 1000, 100, tags=tags)
    assert cost == pytest.approx(0.0035)  # the call itself is recorded
    assert tags_recorded(tracker) == [kept]
    assert invalid(registry, "invalid_tag") == 1


def test_tags_that_are_not_a_mapping_are_counted(tracker, registry):
    tracker.record_cost("a", "gpt-4o", "openai", 1000, 100, tags=["customer", "acme"])
    assert tags_recorded(tracker) == [{}]
    assert invalid(registry, "invalid_tag") == 1


def test_numbers_are_tag_values_and_spaces_are_trimmed(tracker):
    tracker.record_cost("a", "gpt-4o", "openai", 1, 1, tags={"customer": 4711, "user": " u1 "})
    assert tags_recorded(tracker) == [{"customer": "4711", "user": "u1"}]


def test_declared_keys_are_tags_and_breakdowns(calculator):
    tracker = CostTracker(":memory:", calculator=calculator, attribution_keys=("tenant_tier",))
    tracker.record_cost("a", "gpt-4o", "openai", 1000, 0, tags={"tenant_tier": "gold"})
    assert tracker.breakdown("week", "tenant_tier")[0]["tenant_tier"] == "gold"
    tracker.close()


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (("Tier",), "must be a lower-case name"),
        (("agent",), "a name llmobs uses"),
        (("cost_nusd",), "a name llmobs uses"),
        ("tier", "must be a list of names"),
        (("x" * 41,), "at most 40 characters"),
    ],
)
def test_a_bad_attribution_key_is_refused_when_the_tracker_is_made(keys, message):
    with pytest.raises(ValueError, match=message):
        CostTracker(":memory:", attribution_keys=keys)


def test_a_breakdown_names_the_keys_it_knows(tracker):
    with pytest.raises(ValueError, match=r"by must be one of .*customer.*user"):
        tracker.breakdown("month", "region")


def test_the_csv_export_has_a_column_per_tag_key_and_filters_by_tag(tracker):
    tracker.record_cost("a", "gpt-4o", "openai", 10, 1, tags={"customer": "acme"})
    tracker.record_cost("a", "gpt-4o", "openai", 10, 1, tags={"customer": "globex"})
    rows = list(csv.DictReader(io.StringIO(tracker.export_csv_text(tags={"customer": "acme"}))))
    assert len(rows) == 1
    assert (rows[0]["customer"], rows[0]["user"], rows[0]["agent_id"]) == ("acme", "", "a")
    with pytest.raises(ValueError, match="tag key 'region'"):
        list(tracker.entries(tags={"region": "eu"}))


def test_each_task_has_its_own_attribution():
    async def tagged(customer: str) -> dict:
        with llmobs.attribute(customer=customer):
            await asyncio.sleep(0.01)
            return dict(current_tags())

    async def both() -> list[dict]:
        return list(await asyncio.gather(tagged("acme"), tagged("globex")))

    assert asyncio.run(both()) == [{"customer": "acme"}, {"customer": "globex"}]
    assert dict(current_tags()) == {}


def test_request_tags_read_what_provider_requests_name():
    assert request_tags({"user": "u1", "metadata": {"customer": "acme", "other": "x"}}) == {
        "user": "u1",
        "customer": "acme",
    }
    assert request_tags({"metadata": {"user_id": "u2"}}) == {"user": "u2"}
    assert request_tags({"safety_identifier": "hashed"}) == {"user": "hashed"}
    assert request_tags({"messages": []}) == {}


def test_the_built_in_keys_are_always_known():
    assert attribution_keys() == {"customer", "user", "feature", "environment"}


def test_rollups_answer_for_today(tracker):
    tracker.record_cost("a", "gpt-4o", "openai", 1000, 0, tags={"feature": "search"})
    assert tracker.breakdown("day", "feature", date(2026, 11, 14))[0]["requests"] == 1
    assert tracker.breakdown("day", "feature", date(2026, 11, 13)) == []


def test_tag_values_are_ranked_through_their_index_and_other_breakdowns_are_not_indexed():
    from llmobs.store import SQLiteStore
    from llmobs.store.sql import TAG_ROWS

    store = SQLiteStore(":memory:")
    rank = (
        "EXPLAIN QUERY PLAN SELECT * FROM rollup WHERE period = ? AND dim = ? AND start = ? "
        "AND {} ORDER BY cost_nusd DESC, key LIMIT 20"
    )
    with store._reading() as conn:
        plan = conn.execute(rank.format(TAG_ROWS), ("month", "customer", "2026-11-01")).fetchall()
        (index_sql,) = conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'rollup_ranked'"
        ).fetchone()
    store.close()
    assert "USING INDEX rollup_ranked" in str(plan)
    assert "'agent'" in index_sql and "'team'" in index_sql  # rewritten with every entry


def test_a_customer_budget_refuses_that_customers_calls_only(calculator, registry):
    from llmobs import Budget, BudgetExceededError

    budgets = [
        Budget(1.0, "month", tag=("customer", "acme"), enforce=True),
        Budget(0.5, "month", tag=("customer", "*"), enforce=True),  # every other customer
    ]
    tracker = CostTracker(":memory:", calculator=calculator, budgets=budgets, clock=lambda: NOW)
    observer = LLMObserver(calculator.metrics, tracker, calculator)

    def call(customer: str | None, cost: float) -> None:
        tags = {"customer": customer} if customer else None
        with observer.call("svc", "gpt-4o", "openai", max_cost=cost, tags=tags) as made:
            made.cost = cost
            made.set_usage(prompt_tokens=10, completion_tokens=1)

    call("acme", 0.6)
    call("globex", 0.4)
    call("initech", 0.4)
    call(None, 5.0)  # untagged: no customer budget applies
    with pytest.raises(BudgetExceededError, match="monthly budget of customer 'acme'"):
        call("acme", 0.6)
    with pytest.raises(BudgetExceededError, match="monthly budget of customer 'globex'"):
        call("globex", 0.2)  # the default applies to each customer on its own
    call("initech", 0.05)
    refused = registry.get_sample_value(
        "llm_budget_refusals_total", {"agent_id": "svc", "scope": "customer", "period": "month"}
    )
    assert refused == 2
    tracker.close()


def test_customer_budgets_are_exported_bounded(calculator):
    from prometheus_client import CollectorRegistry

    from llmobs import Budget
    from llmobs.budget_metrics import EACH_VALUE_EXPORTED

    budgets = [
        Budget(100.0, "month", tag=("customer", "acme")),
        Budget(2.0, "month", tag=("customer", "*")),
    ]
    tracker = CostTracker(":memory:", calculator=calculator, budgets=budgets, clock=lambda: NOW)
    for n in range(EACH_VALUE_EXPORTED + 15):
        tracker.record_cost("svc", "gpt-4o", "openai", 1, 1, cost=0.01 * (n + 1),
                            tags={"customer": f"c{n:03d}"})  # fmt: skip
    tracker.record_cost("svc", "gpt-4o", "openai", 1, 1, cost=7.0, tags={"customer": "acme"})
    tracker.flush()
    exported = CollectorRegistry()
    tracker.export_metrics(exported)
    names = {
        labels["name"]: value
        for family in exported.collect()
        if family.name == "llm_budget_spent_usd"
        for _, labels, value, *_ in family.samples
        if labels["scope"] == "customer"
    }
    tracker.close()
    assert names["acme"] == pytest.approx(7.0)
    others = sorted(name for name in names if name != "acme")
    assert len(others) == EACH_VALUE_EXPORTED  # the biggest spenders, not every customer
    assert others[0] == f"c{15:03d}" and "c000" not in names


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        (("customer",), "a \\(key, value\\) pair"),
        (("Customer", "a"), "not an attribution key"),
        (("customer", " "), "non-empty string"),
    ],
)
def test_a_bad_budget_tag_is_refused(tag, message):
    from llmobs import Budget

    with pytest.raises(ValueError, match=message):
        Budget(1.0, "month", tag=tag)


def test_the_biggest_spenders_per_tag_are_exported_bounded(calculator):
    from prometheus_client import CollectorRegistry

    from llmobs.attribution_metrics import TOP_VALUES

    tracker = CostTracker(":memory:", calculator=calculator, clock=lambda: NOW)
    for n in range(TOP_VALUES + 20):
        tags = {"customer": f"c{n:02d}", "feature": ("search", "chat")[n % 2]}
        tracker.record_cost("svc", "gpt-4o", "openai", 1, 1, cost=0.5 + n, tags=tags)
    tracker.flush()
    exported = CollectorRegistry()
    tracker.export_metrics(exported)

    def spent(tag: str, period: str) -> dict[str, float]:
        return {
            labels["value"]: value
            for family in exported.collect()
            if family.name == "llm_attributed_spend_usd"
            for _, labels, value, *_ in family.samples
            if labels["tag"] == tag and labels["period"] == period
        }

    top = spent("customer", "month")
    assert len(top) == TOP_VALUES and top == spent("customer", "day")
    assert min(top) == f"c{20:02d}" and top[f"c{29:02d}"] == pytest.approx(29.5)
    assert set(spent("feature", "month")) == {"search", "chat"}
    with pytest.raises(ValueError, match="exports the budget gauges on this registry"):
        CostTracker(":memory:", calculator=calculator).export_metrics(exported)
    tracker.close()
    assert not spent("customer", "month")  # a closed tracker exports nothing


def test_a_tracker_labels_the_tags_it_is_told_to_in_prometheus():
    from prometheus_client import CollectorRegistry

    from llmobs import LLMCostCalculator, LLMMetrics, attribute

    registry = CollectorRegistry()
    metrics = LLMMetrics(registry=registry)
    calculator = LLMCostCalculator(overrides=(), metrics=metrics)
    tracker = CostTracker(":memory:", calculator=calculator, labelled_tags=("feature",))
    observer = LLMObserver(metrics, tracker, calculator)
    with (
        attribute(feature="search", customer="acme"),
        observer.call("svea.writer", "gpt-4o", "openai") as call,
    ):
        call.set_usage(prompt_tokens=1000, completion_tokens=100)
    with observer.call("svea.writer", "gpt-4o", "openai", tags={"feature": "draft"}) as call:
        call.cost = 0.25
        call.set_usage(prompt_tokens=10, completion_tokens=10)
    search = {"tag": "feature", "value": "search"}
    assert registry.get_sample_value("llm_tag_requests_total", search) == 1
    assert registry.get_sample_value("llm_tag_cost_total", search) == pytest.approx(0.0035)
    draft = {"tag": "feature", "value": "draft"}
    assert registry.get_sample_value("llm_tag_cost_total", draft) == 0.25
    assert sample(registry, "llm_tag_requests_total", tag="customer") == 0  # not labelled
    tracker.close()


def test_labelled_tags_must_be_attribution_keys():
    with pytest.raises(ValueError, match="labelled_tags: 'region' is not an attribution key"):
        CostTracker(":memory:", labelled_tags=("region",))
    tracker = CostTracker(":memory:", attribution_keys=("region",), labelled_tags=("region",))
    assert tracker.labelled_tags == {"region"}
    tracker.close()
