"""LLMMetrics records the seed's metrics with their exact names and labels."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from llmobs import LLMMetrics, MetricKind
from llmobs.schema import RECORDED_METRICS

from .samples import AGENT, sample

REQUEST = dict(AGENT, status="success")


def record(metrics: LLMMetrics, **overrides: object) -> bool:
    fields: dict[str, object] = dict(
        REQUEST,
        duration_seconds=2.5,
        prompt_tokens=100,
        completion_tokens=200,
        cached=False,
        cost=0.015,
    )
    fields.update(overrides)
    return metrics.record_request(**fields)


def test_record_request_updates_every_metric(metrics, registry):
    assert record(metrics) is True
    assert sample(registry, "llm_requests_total", **REQUEST) == 1
    assert sample(registry, "llm_tokens_used_total", **AGENT, token_type="prompt") == 100
    assert sample(registry, "llm_tokens_used_total", **AGENT, token_type="completion") == 200
    assert sample(registry, "llm_cost_total", **AGENT) == pytest.approx(0.015)
    assert sample(registry, "llm_request_duration_seconds_count", **AGENT) == 1
    assert sample(registry, "llm_request_duration_seconds_sum", **AGENT) == 2.5
    assert sample(registry, "llm_request_duration_seconds_bucket", **AGENT, le="2.5") == 1
    assert sample(registry, "llm_request_duration_seconds_bucket", **AGENT, le="1.0") == 0
    cache = {"agent_id": AGENT["agent_id"], "model": AGENT["model"]}
    assert sample(registry, "llm_cache_misses_total", **cache) == 1
    assert sample(registry, "llm_cache_hits_total", **cache) == 0


def test_repeated_records_accumulate(metrics, registry):
    for _ in range(3):
        record(metrics, cost=0.5)
    assert sample(registry, "llm_requests_total", **REQUEST) == 3
    assert sample(registry, "llm_tokens_used_total", **AGENT, token_type="prompt") == 300
    assert sample(registry, "llm_cost_total", **AGENT) == pytest.approx(1.5)


@pytest.mark.parametrize(
    ("cached", "hits", "misses"), [(True, 1.0, 0.0), (False, 0.0, 1.0), (None, None, None)]
)
def test_cached_is_three_valued(metrics, registry, cached, hits, misses):
    record(metrics, cached=cached)
    cache = {"agent_id": AGENT["agent_id"], "model": AGENT["model"]}
    assert registry.get_sample_value("llm_cache_hits_total", cache) == hits
    assert registry.get_sample_value("llm_cache_misses_total", cache) == misses


def test_cache_tokens_only_when_given(metrics, registry):
    record(metrics)
    assert (
        registry.get_sample_value(
            "llm_tokens_used_total", dict(AGENT, operation="chat", token_type="cache_read")
        )
        is None
    )
    record(metrics, cache_read_tokens=50, cache_write_tokens=7)
    assert sample(registry, "llm_tokens_used_total", **AGENT, token_type="cache_read") == 50
    assert sample(registry, "llm_tokens_used_total", **AGENT, token_type="cache_write") == 7


def test_no_cost_adds_nothing_to_cost(metrics, registry):
    record(metrics, cost=None)
    assert sample(registry, "llm_cost_total", **AGENT) == 0
    assert sample(registry, "llm_requests_total", **REQUEST) == 1


def test_record_error_counts_error_and_failed_request(metrics, registry):
    assert metrics.record_error(**AGENT, error_type="rate_limit") is True
    assert sample(registry, "llm_errors_total", **AGENT, error_type="rate_limit") == 1
    assert sample(registry, "llm_requests_total", **AGENT, status="error") == 1
    assert (
        registry.get_sample_value(
            "llm_request_duration_seconds_count", dict(AGENT, operation="chat")
        )
        is None
    )


def test_record_error_takes_exceptions_and_duration(metrics, registry):
    metrics.record_error(**AGENT, error_type=TimeoutError("slow"), duration_seconds=30.0)
    metrics.record_error(**AGENT, error_type=ConnectionError)
    assert sample(registry, "llm_errors_total", **AGENT, error_type="TimeoutError") == 1
    assert sample(registry, "llm_errors_total", **AGENT, error_type="ConnectionError") == 1
    # failures are timed apart from answers: a 30 s timeout never enters the latency of answers
    assert sample(registry, "llm_failed_request_duration_seconds_count", **AGENT) == 1
    assert sample(registry, "llm_failed_request_duration_seconds_sum", **AGENT) == 30.0
    assert sample(registry, "llm_request_duration_seconds_count", **AGENT) == 0


def test_record_error_without_counting_the_request(metrics, registry):
    metrics.record_error(**AGENT, error_type="timeout", count_request=False)
    assert sample(registry, "llm_errors_total", **AGENT, error_type="timeout") == 1
    assert sample(registry, "llm_requests_total", **AGENT, status="error") == 0


ACTIVE = {"agent_id": "agent.id", "provider": "openai"}


def test_track_request_holds_gauge_during_body(metrics, registry):
    with metrics.track_request("agent.id", "gpt-4", "openai"):
        assert sample(registry, "llm_active_requests", **ACTIVE) == 1
        with metrics.track_request("agent.id", "gpt-4", "openai"):
            assert sample(registry, "llm_active_requests", **ACTIVE) == 2
    assert sample(registry, "llm_active_requests", **ACTIVE) == 0


def test_track_request_releases_when_body_raises(metrics, registry):
    with pytest.raises(RuntimeError), metrics.track_request("agent.id", "gpt-4", "openai"):
        raise RuntimeError("provider down")
    assert sample(registry, "llm_active_requests", **ACTIVE) == 0


def test_track_request_async(metrics, registry):
    async def call() -> float:
        async with metrics.track_request("agent.id", "gpt-4", "openai"):
            await asyncio.sleep(0)
            return sample(registry, "llm_active_requests", **ACTIVE)

    async def failing() -> None:
        async with metrics.track_request("agent.id", "gpt-4", "openai"):
            raise ValueError("bad")

    assert asyncio.run(call()) == 1
    with pytest.raises(ValueError):
        asyncio.run(failing())
    assert sample(registry, "llm_active_requests", **ACTIVE) == 0


def test_track_request_composes_with_record_request(metrics, registry):
    with metrics.track_request("meetmind.coordinator", "gpt-4", "openai"):
        record(metrics)
    assert sample(registry, "llm_requests_total", **REQUEST) == 1
    assert (
        sample(registry, "llm_active_requests", agent_id=AGENT["agent_id"], provider="openai") == 0
    )


def test_increment_and_decrement_active_requests(metrics, registry):
    metrics.increment_active_requests("agent.id", "openai")
    metrics.increment_active_requests("agent.id", "openai")
    metrics.decrement_active_requests("agent.id", "openai")
    assert sample(registry, "llm_active_requests", **ACTIVE) == 1


def test_set_cache_size(metrics, registry):
    metrics.set_cache_size("acme", 120)
    metrics.set_cache_size("acme", 80)
    assert sample(registry, "llm_cache_size", tenant="acme") == 80


def test_metrics_on_one_registry_share_collectors(registry):
    first, second = LLMMetrics(registry=registry), LLMMetrics(registry=registry)
    record(first)
    record(second)
    assert sample(registry, "llm_requests_total", **REQUEST) == 2


def test_foreign_collector_with_our_name_is_a_clear_error(registry):
    from prometheus_client import Counter

    Counter("llm_requests", "someone else's", registry=registry)
    with pytest.raises(ValueError, match="cannot register llmobs metrics"):
        LLMMetrics(registry=registry)


def test_exposition_matches_schema():
    metrics = LLMMetrics(registry=CollectorRegistry(), label_limits={"tenant": 1})
    metrics.set_cache_size("other", 1)
    record(metrics, cache_read_tokens=1)
    record(metrics, cached=True)
    metrics.record_error(**AGENT, error_type="timeout", duration_seconds=60.0)
    with metrics.track_request("a", "m", "p"):
        pass
    metrics.set_cache_size("t", 1)
    metrics.record_unpriced("my-model", "local")
    metrics.count_budget_refusal("a.b", "team", "day")
    metrics.record_stream(**AGENT, time_to_first_token=0.2, time_per_output_token=0.01)
    metrics.count_usage_missing(**AGENT, reason="stream_closed")
    metrics.count_retries(**AGENT, retries=2)
    metrics.count_failed_attempt(**AGENT, code=429)
    metrics.set_rate_limit("openai", "gpt-4", "tokens", remaining=10, total=100)
    metrics.set_build_info("1.2.3")
    metrics.record_tags([("feature", "search")], 0.01)
    metrics.record_agent_run("a.b", "completed", 3.0, cost=0.1, steps=2, llm_calls=2, tokens=900)
    metrics.record_tool_call("a.b", "search", 0.2)
    exposed = {
        family.name: family
        for family in text_string_to_metric_families(metrics.get_metrics().decode())
    }
    for spec in RECORDED_METRICS:
        family = exposed[spec.base_name]
        assert family.type == spec.kind.value
        assert family.documentation == spec.help
        samples = [s for s in family.samples if not s.name.endswith("_created")]
        assert samples, spec.name
        for s in samples:
            extra = {"le"} if spec.kind is MetricKind.HISTOGRAM else set()
            assert set(s.labels) - extra == set(spec.labels), (spec.name, s.labels)


def test_get_metrics_is_bytes_with_every_seed_name(metrics):
    record(metrics)
    text = metrics.get_metrics()
    assert isinstance(text, bytes)
    for name in (
        "llm_requests_total",
        "llm_tokens_used_total",
        "llm_cost_total",
        "llm_request_duration_seconds_bucket",
    ):
        assert name.encode() in text


def test_fresh_registries_are_independent():
    a, b = CollectorRegistry(), CollectorRegistry()
    record(LLMMetrics(registry=a))
    assert sample(a, "llm_requests_total", **REQUEST) == 1
    assert sample(b, "llm_requests_total", **REQUEST) == 0


def test_build_info_marks_the_running_version(metrics, registry):
    metrics.set_build_info("1.0.0")
    metrics.set_build_info("1.1.0")
    assert registry.get_sample_value("llm_build_info", {"version": "1.1.0"}) == 1
    assert registry.get_sample_value("llm_build_info", {"version": "1.0.0"}) is None
    assert metrics.set_build_info("") is False


def test_build_info_from_the_environment(monkeypatch, registry):
    monkeypatch.setenv("LLMOBS_SERVICE_VERSION", "2026.11.27")
    LLMMetrics(registry=registry)
    assert registry.get_sample_value("llm_build_info", {"version": "2026.11.27"}) == 1


def test_each_operation_has_its_own_series_of_requests_tokens_cost_and_latency(metrics, registry):
    metrics.record_request(**AGENT, prompt_tokens=100, cost=0.01, duration_seconds=2.0)
    metrics.record_request(
        **AGENT, prompt_tokens=40, cost=0.002, duration_seconds=0.1, operation="embeddings"
    )
    embeddings = dict(AGENT, operation="embeddings")
    assert registry.get_sample_value("llm_requests_total", dict(embeddings, status="success")) == 1
    assert (
        registry.get_sample_value("llm_tokens_used_total", dict(embeddings, token_type="prompt"))
        == 40
    )
    assert registry.get_sample_value("llm_cost_total", embeddings) == 0.002
    assert registry.get_sample_value("llm_request_duration_seconds_sum", embeddings) == 0.1
    assert sample(registry, "llm_tokens_used_total", **AGENT, token_type="prompt") == 140
    assert sample(registry, "llm_requests_total", operation="chat") == 1


def test_a_failed_call_is_counted_under_its_operation(metrics, registry):
    metrics.record_error(**AGENT, error_type="timeout", operation="image")
    failed = dict(AGENT, operation="image", status="error")
    assert registry.get_sample_value("llm_requests_total", failed) == 1
    assert sample(registry, "llm_errors_total", error_type="timeout") == 1


@pytest.mark.parametrize("operation", ["", None, 7])
def test_a_bad_operation_is_rejected_and_counted(metrics, registry, operation):
    assert metrics.record_request(**AGENT, operation=operation) is False
    assert sample(registry, "llm_requests_total") == 0
    assert sample(registry, "llm_invalid_records_total") == 1


def test_labelled_tags_count_requests_and_cost_by_value_capped_per_key():
    registry = CollectorRegistry()
    metrics = LLMMetrics(registry=registry, label_limits={"feature": 2})
    for feature in ("search", "draft", "search", "review"):
        metrics.record_tags([("feature", feature), ("environment", "prod")], 0.5)
    search = {"tag": "feature", "value": "search"}
    assert registry.get_sample_value("llm_tag_requests_total", search) == 2
    assert registry.get_sample_value("llm_tag_cost_total", search) == 1.0
    folded = {"tag": "feature", "value": "__overflow__"}
    assert registry.get_sample_value("llm_tag_requests_total", folded) == 1
    assert sample(registry, "llm_label_overflow_total", label="feature") == 1
    prod = {"tag": "environment", "value": "prod"}
    assert registry.get_sample_value("llm_tag_cost_total", prod) == 2.0


def test_a_bad_tag_value_records_none_of_the_calls_tags(metrics, registry):
    assert metrics.record_tags([("feature", "search"), ("environment", "")], 0.5) is False
    assert sample(registry, "llm_tag_requests_total") == 0
    assert sample(registry, "llm_invalid_records_total") == 1
