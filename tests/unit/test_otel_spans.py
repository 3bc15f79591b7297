"""GenAI client spans, one per observed call, read back through the real OpenTelemetry SDK's
in-memory span exporter: attributes as the conventions name them, errors, calls timed
elsewhere, the parent, and the exemplars that name the call's span."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

pytest.importorskip("opentelemetry.sdk.trace")

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client.openmetrics.exposition import generate_latest

import llmobs
from llmobs import LLMMetrics, LLMObserver
from llmobs.otel import GenAISpans


@pytest.fixture
def exported() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exported) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    return provider


@pytest.fixture
def observer(provider) -> LLMObserver:
    return LLMObserver(LLMMetrics(registry=CollectorRegistry()), spans=GenAISpans(provider))


def test_a_call_is_a_client_span_with_the_conventions_attributes_and_no_content(observer, exported):
    with observer.call("support.bot", "gpt-4o", "openai") as call:
        call.set_usage(prompt_tokens=1000, completion_tokens=200)
    (span,) = exported.get_finished_spans()
    assert (span.name, span.kind, span.status.status_code) == (
        "chat gpt-4o",
        SpanKind.CLIENT,
        StatusCode.UNSET,
    )
    assert dict(span.attributes) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.agent.name": "support.bot",
        "gen_ai.usage.input_tokens": 1000,
        "gen_ai.usage.output_tokens": 200,
        "llmobs.gen_ai.cost_usd": pytest.approx(call.cost),
    }


def test_a_failed_call_is_an_error_span_with_its_type(observer, exported):
    with pytest.raises(TimeoutError), observer.call("bot", "gemini-2.5-flash", "google"):
        raise TimeoutError
    (span,) = exported.get_finished_spans()
    assert span.name == "generate_content gemini-2.5-flash"
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "TimeoutError"
    assert span.attributes["gen_ai.provider.name"] == "gcp.gemini"
    assert "gen_ai.usage.input_tokens" not in span.attributes


def test_a_call_recorded_after_the_fact_spans_its_duration(observer, exported):
    observer.record_finished("bot", "gpt-4o", "openai", duration_seconds=2.5)
    (span,) = exported.get_finished_spans()
    assert (span.end_time - span.start_time) / 1e9 == pytest.approx(2.5, abs=0.05)


def test_the_span_is_a_child_of_the_current_one_and_the_exemplars_name_it(
    observer, provider, exported
):
    tracer = provider.get_tracer("app")
    with (
        tracer.start_as_current_span("handle request") as parent,
        observer.call("bot", "gpt-4o", "openai") as call,
    ):
        call.set_usage(prompt_tokens=10, completion_tokens=2)
    call_span = next(s for s in exported.get_finished_spans() if s.name == "chat gpt-4o")
    assert call_span.parent.span_id == parent.get_span_context().span_id
    exposition = generate_latest(observer.metrics.registry).decode()
    assert f'span_id="{call_span.context.span_id:016x}"' in exposition


def test_without_spans_on_no_span_is_made(provider, exported):
    observer = LLMObserver(LLMMetrics(registry=CollectorRegistry()))
    with observer.call("bot", "gpt-4o", "openai"):
        pass
    assert exported.get_finished_spans() == ()


def test_enable_otel_turns_spans_on_for_every_observer(provider, exported):
    from opentelemetry.sdk.metrics import MeterProvider

    llmobs.enable_otel(MeterProvider(), spans=True, tracer_provider=provider)
    try:
        observer = LLMObserver(LLMMetrics(registry=CollectorRegistry()))
        with observer.call("bot", "gpt-4o", "openai"):
            pass
    finally:
        llmobs.disable_otel()
    assert [s.name for s in exported.get_finished_spans()] == ["chat gpt-4o"]
