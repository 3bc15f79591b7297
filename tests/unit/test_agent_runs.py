"""Agent runs and tool calls: what a run counts, how it ends, what it records in both
vocabularies, and what bad input does."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

import llmobs
from llmobs import BudgetExceededError, CostTracker, LLMMetrics, LLMObserver, agent_run
from tests.unit.samples import sample


@pytest.fixture
def metrics() -> LLMMetrics:
    return LLMMetrics(registry=CollectorRegistry())


@pytest.fixture
def observer(metrics) -> LLMObserver:
    return LLMObserver(metrics=metrics)


def _call(observer: LLMObserver, prompt: int = 1000, completion: int = 100) -> float:
    with observer.call("support.bot", "gpt-4o", "openai") as call:
        call.set_usage(prompt_tokens=prompt, completion_tokens=completion)
    assert call.cost is not None
    return call.cost


def test_a_run_counts_its_calls_tokens_cost_steps_and_tools(metrics, observer):
    outside = _call(observer)
    with agent_run("support.bot", metrics=metrics) as run:
        costs = []
        for _ in range(3):
            run.step()
            costs.append(_call(observer))
            with run.tool("search"):
                pass
    assert (run.steps, run.llm_calls, run.tool_calls, run.tokens) == (3, 3, 3, 3300)
    assert run.cost == pytest.approx(sum(costs)) and outside > 0  # the call outside: not counted
    registry = metrics.registry
    assert sample(registry, "llm_agent_runs_total", agent_id="support.bot", outcome="completed")
    assert sample(registry, "llm_agent_run_cost_usd_sum") == pytest.approx(sum(costs))
    assert sample(registry, "llm_agent_run_steps_sum") == 3
    assert sample(registry, "llm_agent_run_llm_calls_sum") == 3
    assert sample(registry, "llm_agent_run_tokens_sum") == 3300
    assert sample(registry, "llm_tool_calls_total", tool="search", status="success") == 3
    assert sample(registry, "llm_tool_duration_seconds_count", tool="search") == 3


def test_a_failing_tool_is_an_error_and_its_exception_reaches_the_agent(metrics):
    with (
        agent_run("support.bot", metrics=metrics) as run,
        pytest.raises(TimeoutError),
        run.tool("database"),
    ):
        raise TimeoutError
    assert run.outcome == "completed"  # the agent handled it
    assert sample(metrics.registry, "llm_tool_calls_total", tool="database", status="error") == 1


def test_an_exception_leaving_the_run_fails_it(metrics):
    with pytest.raises(KeyError), agent_run("support.bot", metrics=metrics) as run:
        raise KeyError("plan")
    assert run.outcome == "failed"
    assert sample(metrics.registry, "llm_agent_runs_total", outcome="failed") == 1


def test_a_run_past_its_cap_is_refused(metrics):
    tracker = CostTracker(":memory:", daily_budget=100.0)
    observer = LLMObserver(metrics=metrics, tracker=tracker, enforce=True)
    with (
        pytest.raises(BudgetExceededError),
        agent_run("support.bot", max_usd=0.01, metrics=metrics) as run,
    ):
        for _ in range(20):
            with observer.call("support.bot", "gpt-4o", "openai", max_tokens=200) as call:
                call.set_usage(prompt_tokens=1000, completion_tokens=200)
    tracker.close()
    assert run.outcome == "refused"
    assert 0 < run.cost <= 0.01
    assert sample(metrics.registry, "llm_agent_runs_total", outcome="refused") == 1


def test_runs_nest_and_calls_count_to_the_innermost(metrics, observer):
    with agent_run("planner", metrics=metrics) as outer:
        _call(observer)
        with agent_run("researcher", metrics=metrics) as inner:
            _call(observer)
            assert llmobs.current_agent_run() is inner
        assert llmobs.current_agent_run() is outer
    assert (outer.llm_calls, inner.llm_calls) == (1, 1)
    assert llmobs.current_agent_run() is None


@pytest.mark.parametrize(
    ("outcome", "steps"),
    [("crashed", 1), ("completed", -1), ("completed", 1.5)],
)
def test_bad_run_records_are_counted_never_raised(metrics, outcome, steps):
    assert metrics.record_agent_run("a", outcome, 1.0, steps=steps) is False
    assert sample(metrics.registry, "llm_invalid_records_total") >= 1
    assert sample(metrics.registry, "llm_agent_runs_total") == 0


def test_runs_and_tools_in_the_otel_vocabulary(metrics, observer):
    otel_sdk = pytest.importorskip("opentelemetry.sdk.metrics")
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    reader, exported = InMemoryMetricReader(), InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exported))
    meter_provider = otel_sdk.MeterProvider(metric_readers=[reader])
    llmobs.enable_otel(meter_provider, spans=True, tracer_provider=tracer_provider)
    try:
        with agent_run("support.bot", metrics=metrics) as run:
            _call(observer)
            with pytest.raises(ValueError), run.tool("calculator"):
                raise ValueError
    finally:
        llmobs.disable_otel()
    spans = {span.name: span for span in exported.get_finished_spans()}
    assert set(spans) == {"invoke_agent support.bot", "execute_tool calculator", "chat gpt-4o"}
    agent_span = spans["invoke_agent support.bot"]
    for child in ("execute_tool calculator", "chat gpt-4o"):
        assert spans[child].parent.span_id == agent_span.context.span_id
    assert spans["execute_tool calculator"].attributes["error.type"] == "ValueError"
    assert agent_span.attributes["llmobs.gen_ai.cost_usd"] == pytest.approx(run.cost)
    points = {
        metric.name: metric.data.data_points
        for resource in reader.get_metrics_data().resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    (calls,) = points["gen_ai.invoke_agent.inference_calls"]
    (tools,) = points["gen_ai.invoke_agent.tool_calls"]
    assert (calls.sum, tools.sum) == (1, 1)
    assert calls.attributes == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "support.bot",
    }
    (tool,) = points["gen_ai.execute_tool.duration"]
    assert tool.attributes["gen_ai.tool.name"] == "calculator"
    assert tool.attributes["error.type"] == "ValueError"
    assert len(points["gen_ai.invoke_agent.duration"]) == 1


def test_the_runs_and_tools_exemplars_name_their_own_spans(metrics):
    trace_sdk = pytest.importorskip("opentelemetry.sdk.trace")
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from prometheus_client.openmetrics.exposition import generate_latest

    exported = InMemorySpanExporter()
    provider = trace_sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    llmobs.enable_otel(spans=True, tracer_provider=provider)
    try:
        with agent_run("support.bot", metrics=metrics) as run, run.tool("search"):
            pass
    finally:
        llmobs.disable_otel()
    spans = {span.name: f"{span.context.span_id:016x}" for span in exported.get_finished_spans()}
    lines = generate_latest(metrics.registry).decode().splitlines()

    def span_of(series: str) -> set[str]:
        return {
            line.split('span_id="')[1][:16]
            for line in lines
            if line.startswith(series) and "#" in line
        }

    assert span_of("llm_tool_duration_seconds_bucket") == {spans["execute_tool search"]}
    assert span_of("llm_agent_run_duration_seconds_bucket") == {spans["invoke_agent support.bot"]}
