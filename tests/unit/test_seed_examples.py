"""The seed's metrics examples run as written, with the import path ``llmobs``."""

from __future__ import annotations

from prometheus_client import REGISTRY

from llmobs import get_llm_metrics


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_usage_example():
    before_requests = value(
        "llm_requests_total",
        agent_id="meetmind.coordinator",
        model="gpt-4",
        provider="openai",
        status="success",
    )
    before_errors = value(
        "llm_errors_total",
        agent_id="agent.svea.pm",
        model="gpt-4",
        provider="openai",
        error_type="rate_limit",
    )

    # --- the seed's example, verbatim but for the import path ---
    metrics = get_llm_metrics()

    # Record a complete request
    metrics.record_request(
        agent_id="meetmind.coordinator",
        model="gpt-4",
        provider="openai",
        status="success",
        duration_seconds=2.5,
        prompt_tokens=100,
        completion_tokens=200,
        cached=False,
        cost=0.015,
    )

    # Record an error
    metrics.record_error(
        agent_id="agent.svea.pm", model="gpt-4", provider="openai", error_type="rate_limit"
    )

    # Track active requests
    with metrics.track_request("agent.id", "gpt-4", "openai"):
        # Make LLM call
        assert value("llm_active_requests", agent_id="agent.id", provider="openai") >= 1
    # --- end of the example ---

    assert get_llm_metrics() is metrics
    assert (
        value(
            "llm_requests_total",
            agent_id="meetmind.coordinator",
            model="gpt-4",
            provider="openai",
            status="success",
        )
        == before_requests + 1
    )
    assert (
        value(
            "llm_errors_total",
            agent_id="agent.svea.pm",
            model="gpt-4",
            provider="openai",
            error_type="rate_limit",
        )
        == before_errors + 1
    )
    assert value("llm_active_requests", agent_id="agent.id", provider="openai") == 0


def test_fastapi_style_endpoint_example():
    from prometheus_client import CONTENT_TYPE_LATEST

    metrics = get_llm_metrics()
    body = metrics.get_metrics()
    assert CONTENT_TYPE_LATEST.startswith("text/plain")
    assert b"# TYPE llm_requests_total counter" in body
