"""The seed's metrics examples run as written, with the import path ``llmobs``."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from llmobs import get_llm_metrics

from .samples import sample


def value(name: str, **labels: str) -> float:
    """What the series with ``labels`` (the seed's) hold, summed over any others."""
    return sample(REGISTRY, name, **labels)


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


def test_fastapi_endpoint_example():
    from fastapi import FastAPI, Response
    from fastapi.testclient import TestClient

    app = FastAPI()

    # --- the seed's example, verbatim but for the import path ---
    from prometheus_client import CONTENT_TYPE_LATEST

    from llmobs import get_llm_metrics

    @app.get("/metrics")
    async def metrics():
        metrics = get_llm_metrics()
        return Response(content=metrics.get_metrics(), media_type=CONTENT_TYPE_LATEST)

    # --- end of the example ---
    get_llm_metrics().record_request("agent.fastapi", "gpt-4", "openai", cost=0.25)
    response = TestClient(app).get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE_LATEST
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    assert families["llm_requests"].type == "counter"
    cost = [s for s in families["llm_cost"].samples if s.labels.get("agent_id") == "agent.fastapi"]
    assert [s.value for s in cost if s.name == "llm_cost_total"] == [pytest.approx(0.25)]


def test_cost_tracking_example(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LLMOBS_COST_DB", str(tmp_path / "costs.sqlite3"))

    # --- the seed's example, verbatim but for the import path ---
    from llmobs import get_cost_tracker

    # Initialize with daily budget
    tracker = get_cost_tracker(daily_budget=100.0)

    # Record a cost
    cost = tracker.record_cost(
        agent_id="meetmind.coordinator",
        model="gpt-4",
        provider="openai",
        prompt_tokens=100,
        completion_tokens=200,
    )

    # Get daily summary
    summary = tracker.get_daily_summary()
    print(f"Today's cost: ${summary.total_cost}")
    print(f"Requests: {summary.total_requests}")
    print(f"Cost by agent: {summary.cost_by_agent}")

    # Check budget threshold
    status = tracker.check_budget_threshold(threshold_percent=80.0)
    if status["is_over_threshold"]:
        print(f"Warning: {status['percent_used']}% of budget used")

    # Get weekly summary
    weekly = tracker.get_weekly_summary()
    print(f"Week cost: ${weekly['total_cost']}")

    # Get monthly summary
    monthly = tracker.get_monthly_summary()
    print(f"Month cost: ${monthly['total_cost']}")
    # --- end of the example ---

    out = capsys.readouterr().out
    assert cost == 0.015  # GPT-4: 100 x $30/M + 200 x $60/M
    assert "Today's cost: $0.015" in out
    assert "Requests: 1" in out
    assert "Cost by agent: {'meetmind.coordinator': 0.015}" in out
    assert "Warning" not in out
    assert "Week cost: $0.015" in out and "Month cost: $0.015" in out
    assert tracker.path == str(tmp_path / "costs.sqlite3")


def test_test_cost_tracking_section(tmp_path, monkeypatch):
    from llmobs import get_cost_tracker

    monkeypatch.setenv("LLMOBS_COST_DB", str(tmp_path / "section.sqlite3"))
    tracker = get_cost_tracker(daily_budget=100.0)
    cost = tracker.record_cost(
        agent_id="test.agent",
        model="gpt-4",
        provider="openai",
        prompt_tokens=100,
        completion_tokens=200,
    )
    summary = tracker.get_daily_summary()
    assert cost > 0
    assert summary.total_cost > 0
    assert summary.total_requests == 1
    status = tracker.check_budget_threshold()
    assert status["budget"] == 100.0


def test_integration_example_service(tmp_path, monkeypatch):
    """The seed's MyLLMService, with its separate calls, counts each request once."""
    import time

    from llmobs import LLMCostCalculator, get_cost_tracker, get_llm_metrics

    monkeypatch.setenv("LLMOBS_COST_DB", str(tmp_path / "service.sqlite3"))

    class Response:
        prompt_tokens, completion_tokens = 1000, 100

    class MyLLMService:
        def __init__(self):
            self.metrics = get_llm_metrics()
            self.cost_tracker = get_cost_tracker(daily_budget=100.0)

        async def _call_llm(self, prompt, model, provider):
            if prompt == "fail":
                raise TimeoutError("slow")
            return Response()

        async def generate_completion(self, prompt, agent_id, model, provider):
            start_time = time.time()
            try:
                self.metrics.increment_active_requests(agent_id, provider)
                response = await self._call_llm(prompt, model, provider)
                duration = time.time() - start_time
                cost = LLMCostCalculator.calculate_cost(
                    model, response.prompt_tokens, response.completion_tokens
                )
                self.metrics.record_request(
                    agent_id=agent_id,
                    model=model,
                    provider=provider,
                    status="success",
                    duration_seconds=duration,
                    prompt_tokens=response.prompt_tokens,
                    completion_tokens=response.completion_tokens,
                    cached=False,
                    cost=cost,
                )
                self.cost_tracker.record_cost(
                    agent_id=agent_id,
                    model=model,
                    provider=provider,
                    prompt_tokens=response.prompt_tokens,
                    completion_tokens=response.completion_tokens,
                )
                return response
            except Exception as e:
                self.metrics.record_error(
                    agent_id=agent_id, model=model, provider=provider, error_type=type(e).__name__
                )
                raise
            finally:
                self.metrics.decrement_active_requests(agent_id, provider)

    labels = {"agent_id": "seed.service", "model": "gpt-4o-mini", "provider": "openai"}
    before = value("llm_requests_total", **labels, status="success")
    service = MyLLMService()
    asyncio.run(service.generate_completion("hi", "seed.service", "gpt-4o-mini", "openai"))
    with pytest.raises(TimeoutError):
        asyncio.run(service.generate_completion("fail", "seed.service", "gpt-4o-mini", "openai"))
    assert value("llm_requests_total", **labels, status="success") == before + 1
    assert value("llm_errors_total", **labels, error_type="TimeoutError") >= 1
    assert value("llm_active_requests", agent_id="seed.service", provider="openai") == 0
    assert service.cost_tracker.get_daily_summary().total_cost == pytest.approx(
        (1000 * 0.15 + 100 * 0.6) / 1e6
    )
