"""Observed calls recorded also as OpenTelemetry GenAI client metrics, read back through the
real OpenTelemetry SDK's in-memory reader."""

from __future__ import annotations

import time

import pytest
from prometheus_client import CollectorRegistry

pytest.importorskip("opentelemetry.sdk.metrics")

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import llmobs
from llmobs import LLMMetrics, LLMObserver
from llmobs.otel import DURATION_BUCKETS, TOKEN_BUCKETS, GenAIMetrics


@pytest.fixture
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def observer(reader) -> LLMObserver:
    instruments = GenAIMetrics(MeterProvider(metric_readers=[reader]))
    return LLMObserver(LLMMetrics(registry=CollectorRegistry()), otel=instruments)


def points(reader: InMemoryMetricReader) -> dict[str, list]:
    """Each metric's data points, by name."""
    found: dict[str, list] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    return found


def test_a_call_is_recorded_as_token_usage_duration_and_cost(reader, observer):
    with observer.call("svea.writer", "gpt-4o", "openai") as call:
        call.duration_seconds = 1.5
        call.set_usage(prompt_tokens=1000, completion_tokens=200)
    found = points(reader)
    tokens = {p.attributes["gen_ai.token.type"]: p for p in found["gen_ai.client.token.usage"]}
    assert tokens["input"].sum == 1000 and tokens["output"].sum == 200
    assert tuple(tokens["input"].explicit_bounds) == TOKEN_BUCKETS
    assert dict(tokens["input"].attributes) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.token.type": "input",
    }
    (duration,) = found["gen_ai.client.operation.duration"]
    assert duration.sum == 1.5 and tuple(duration.explicit_bounds) == DURATION_BUCKETS
    assert "error.type" not in duration.attributes
    (cost,) = found["llmobs.gen_ai.client.cost"]
    assert cost.value == pytest.approx(1000 * 2.5e-6 + 200 * 10e-6)


def test_a_failed_call_has_its_error_type_and_no_tokens(reader, observer):
    with pytest.raises(TimeoutError), observer.call("svea.writer", "claude-haiku-4-5", "anthropic"):
        raise TimeoutError("slow")
    found = points(reader)
    (duration,) = found["gen_ai.client.operation.duration"]
    assert duration.attributes["error.type"] == "TimeoutError"
    assert duration.attributes["gen_ai.provider.name"] == "anthropic"
    assert "gen_ai.client.token.usage" not in found


@pytest.mark.parametrize(
    ("provider", "operation", "name", "op_name"),
    [
        ("bedrock", "chat", "aws.bedrock", "chat"),
        ("google", "chat", "gcp.gemini", "generate_content"),
        ("google", "embeddings", "gcp.gemini", "embeddings"),
        ("vllm", "chat", "vllm", "chat"),
    ],
)
def test_providers_and_operations_take_the_conventions_names(
    reader, observer, provider, operation, name, op_name
):
    with observer.call("a", "m", provider, operation=operation) as call:
        call.set_usage(prompt_tokens=1, completion_tokens=0)
    (duration,) = points(reader)["gen_ai.client.operation.duration"]
    assert duration.attributes["gen_ai.provider.name"] == name
    assert duration.attributes["gen_ai.operation.name"] == op_name


def test_a_stream_records_its_time_to_first_chunk(reader, observer):
    events = [{"choices": [{"delta": {"content": "Hi"}}]}, {"choices": [], "usage": {
        "prompt_tokens": 5, "completion_tokens": 2}}]  # fmt: skip
    with observer.call("a", "gpt-4o", "openai") as call:
        list(call.stream(events))
    (first,) = points(reader)["gen_ai.client.operation.time_to_first_chunk"]
    assert first.count == 1 and first.sum >= 0


def test_a_stream_records_the_time_between_each_output_chunk_after_the_first(reader, observer):
    def chunks():
        for pause in (0.0, 0.03, 0.06):
            time.sleep(pause)
            yield {"choices": [{"delta": {"content": "word"}}]}
        yield {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 3}}

    with observer.call("a", "gpt-4o", "openai") as call:
        list(call.stream(chunks()))
    (gaps,) = points(reader)["gen_ai.client.operation.time_per_output_chunk"]
    assert gaps.count == 2  # three output chunks; the usage chunk carries no output
    assert 0.09 <= gaps.sum < 0.5
    assert gaps.explicit_bounds[0] == 0.01


def test_without_otel_a_stream_keeps_no_chunk_times():
    observer = LLMObserver(LLMMetrics(registry=CollectorRegistry()))
    with observer.call("a", "gpt-4o", "openai") as call:
        list(call.stream([{"choices": [{"delta": {"content": "x"}}]}] * 3))
    assert call._chunk_gaps is None


def test_enable_otel_reaches_observers_made_before(reader):
    observer = LLMObserver(LLMMetrics(registry=CollectorRegistry()))
    llmobs.enable_otel(MeterProvider(metric_readers=[reader]))
    try:
        with observer.call("a", "gpt-4o", "openai") as call:
            call.set_usage(prompt_tokens=3, completion_tokens=1)
    finally:
        llmobs.disable_otel()
    assert "gen_ai.client.operation.duration" in points(reader)
    with observer.call("a", "gpt-4o", "openai") as call:
        call.set_usage(prompt_tokens=3, completion_tokens=1)
    (duration,) = points(reader)["gen_ai.client.operation.duration"]
    assert duration.count == 1  # off again: the second call went to Prometheus only


def test_an_exemplar_is_the_active_sampled_spans_trace():
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    from llmobs import exemplars

    assert exemplars.current() is None  # no span
    with TracerProvider().get_tracer("t").start_as_current_span("call") as span:
        context = span.get_span_context()
        assert exemplars.current() == {
            "trace_id": f"{context.trace_id:032x}",
            "span_id": f"{context.span_id:016x}",
        }
    with TracerProvider(sampler=ALWAYS_OFF).get_tracer("t").start_as_current_span("call"):
        assert exemplars.current() is None  # a trace no backend keeps links nowhere


def test_calls_recorded_in_a_span_carry_its_trace_to_latency_and_cost():
    from opentelemetry.sdk.trace import TracerProvider
    from prometheus_client.openmetrics.exposition import generate_latest

    metrics = LLMMetrics(registry=CollectorRegistry())
    with TracerProvider().get_tracer("t").start_as_current_span("call") as span:
        metrics.record_request("a", "gpt-4o", "openai", duration_seconds=0.7, cost=0.01)
        metrics.record_error("a", "gpt-4o", "openai", "Timeout", duration_seconds=3.0)
        trace_id = f"{span.get_span_context().trace_id:032x}"
    lines = generate_latest(metrics.registry).decode().splitlines()
    carrying = {line.split("{")[0] for line in lines if trace_id in line}
    assert carrying == {
        "llm_request_duration_seconds_bucket",
        "llm_failed_request_duration_seconds_bucket",
        "llm_cost_total",
    }
