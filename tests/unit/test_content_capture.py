"""The prompt and answer a span holds when its user opts in: every provider's messages in the
conventions' format (text, tool calls and results; other parts named, not copied), the opt-in
read from the OpenTelemetry GenAI variable, and a content that cannot be read never costs the
call its span or its metrics."""

from __future__ import annotations

import json

import pytest
from prometheus_client import CollectorRegistry

pytest.importorskip("opentelemetry.sdk.trace")

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmobs import LLMMetrics, LLMObserver
from llmobs.content import (
    CAPTURE_VARIABLE,
    INPUT_MESSAGES,
    OUTPUT_MESSAGES,
    input_messages,
    output_messages,
    system_instructions,
)
from llmobs.otel import GenAISpans
from tests.unit.samples import sample


def text(content: str) -> dict:
    return {"type": "text", "content": content}


def test_openai_tool_calls_and_their_answers():
    request = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Weather?"}]},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "-3 C"},
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:..."}}]},
        ]
    }
    assert input_messages(request) == [
        {"role": "user", "parts": [text("Weather?")]},
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "c1",
                    "name": "weather",
                    "arguments": '{"city": "Oslo"}',
                }
            ],
        },
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "response": "-3 C"}]},
        {"role": "user", "parts": [{"type": "image_url"}]},  # named, never copied
    ]


def test_anthropic_tool_use_and_result_and_a_block_system_prompt():
    request = {
        "system": [{"type": "text", "text": "Be brief."}],
        "messages": [
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "t1", "name": "weather", "input": {"city": "Oslo"}}
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "content": [{"type": "text", "text": "-3 C"}],
                    }
                ],
            },
        ],
    }
    assert system_instructions(request) == [text("Be brief.")]
    assert [m["parts"][0] for m in input_messages(request)] == [
        {"type": "tool_call", "id": "t1", "name": "weather", "arguments": {"city": "Oslo"}},
        {"type": "tool_call_response", "id": "t1", "response": "-3 C"},
    ]


def test_gemini_contents_and_bedrock_tool_use():
    gemini = {
        "contents": [
            "Hi",
            {"role": "model", "parts": [{"function_call": {"name": "f", "args": {"x": 1}}}]},
        ],
        "config": {"system_instruction": {"parts": [{"text": "Be brief."}]}},
    }
    assert input_messages(gemini) == [
        {"role": "user", "parts": [text("Hi")]},
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": None, "name": "f", "arguments": {"x": 1}}],
        },
    ]
    assert system_instructions(gemini) == [text("Be brief.")]
    bedrock = {
        "messages": [
            {
                "role": "assistant",
                "content": [{"toolUse": {"toolUseId": "b1", "name": "f", "input": {}}}],
            }
        ]
    }
    assert input_messages(bedrock)[0]["parts"] == [
        {"type": "tool_call", "id": "b1", "name": "f", "arguments": {}}
    ]


def yes(**fields) -> dict:
    return fields


ANSWERS = {
    "openai-chat": (
        yes(
            choices=[
                {"message": {"role": "assistant", "content": "Yes"}, "finish_reason": "length"}
            ]
        ),
        "length",
    ),
    "anthropic": (yes(content=[{"type": "text", "text": "Yes"}], stop_reason="end_turn"), "stop"),
    "gemini": (
        yes(candidates=[{"content": {"parts": [{"text": "Yes"}]}, "finish_reason": "STOP"}]),
        "stop",
    ),
    "bedrock": (
        yes(output={"message": {"content": [{"text": "Yes"}]}}, stopReason="max_tokens"),
        "max_tokens",
    ),
    "openai-responses": (
        yes(
            output=[{"type": "message", "content": [{"type": "output_text", "text": "Yes"}]}],
            status="completed",
        ),
        "stop",
    ),
}


@pytest.mark.parametrize(("response", "finish"), list(ANSWERS.values()), ids=list(ANSWERS))
def test_each_providers_answer(response, finish):
    assert output_messages(response) == [
        {"role": "assistant", "parts": [text("Yes")], "finish_reason": finish}
    ]


@pytest.fixture
def exported() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def observer_of(exported, **options) -> LLMObserver:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    spans = GenAISpans(provider, **options)
    return LLMObserver(LLMMetrics(registry=CollectorRegistry()), spans=spans)


@pytest.mark.parametrize(
    ("said", "captured"),
    [("true", True), ("SPAN_ONLY", True), ("span_and_event", True), ("false", False),
     ("NO_CONTENT", False), ("event_only", False), ("", False)],
)  # fmt: skip
def test_the_opt_in_is_read_from_the_genai_instrumentations_variable(
    monkeypatch, exported, said, captured
):
    monkeypatch.setenv(CAPTURE_VARIABLE, said)
    observer = observer_of(exported)
    request = {"messages": [{"role": "user", "content": "Hi"}]}
    with observer.call("a", "gpt-4o", "openai", request=request) as call:
        call.set_usage({"choices": [{"message": {"content": "Yo"}}], "usage": {}})
    (span,) = exported.get_finished_spans()
    assert (INPUT_MESSAGES in span.attributes) is captured
    assert (OUTPUT_MESSAGES in span.attributes) is captured


def test_a_given_choice_overrides_the_variable(monkeypatch, exported):
    monkeypatch.setenv(CAPTURE_VARIABLE, "true")
    assert not GenAISpans(TracerProvider(), capture_content=False).capture_content


def test_a_stream_of_two_choices_keeps_each_ones_text(exported):
    observer = observer_of(exported, capture_content=True)
    chunks = [
        {"choices": [{"index": 0, "delta": {"content": "Hel"}}]},
        {"choices": [{"index": 1, "delta": {"content": "Bon"}}]},
        {"choices": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": "stop"}]},
        {"choices": [{"index": 1, "delta": {"content": "jour"}, "finish_reason": "length"}]},
        {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}},
    ]
    with observer.call("a", "gpt-4o", "openai", request={"messages": []}) as call:
        assert list(call.stream(chunks)) == chunks
    (span,) = exported.get_finished_spans()
    answers = json.loads(span.attributes[OUTPUT_MESSAGES])
    assert [m["parts"][0]["content"] for m in answers] == ["Hello", "Bonjour"]
    assert span.attributes["gen_ai.usage.output_tokens"] == 4


class Unreadable:
    """A message whose every attribute fails, as a broken SDK object might."""

    def __getattr__(self, name: str):
        raise RuntimeError("unreadable")


def test_content_that_cannot_be_read_costs_neither_the_span_nor_the_metrics(exported):
    observer = observer_of(exported, capture_content=True)
    with observer.call("a", "gpt-4o", "openai", request={"messages": [Unreadable()]}) as call:
        call.set_usage(prompt_tokens=10, completion_tokens=5)
    with observer.call("a", "gpt-4o", "openai", request={"messages": []}) as call:
        call.set_usage({"choices": [Unreadable()], "usage": {"prompt_tokens": 1}})
    spans = exported.get_finished_spans()
    assert len(spans) == 2
    registry = observer.metrics.registry
    labels = {"agent_id": "a", "model": "gpt-4o", "provider": "openai", "status": "success"}
    assert sample(registry, "llm_requests_total", **labels) == 2
    assert sample(registry, "llm_invalid_records_total", reason="internal_error") == 2


@pytest.mark.parametrize("operation", ["embeddings", "audio"])
def test_calls_that_are_not_chats_keep_their_inputs_out_of_the_span(exported, operation):
    observer = observer_of(exported, capture_content=True)
    request = {"model": "m", "input": "a customer's private text"}
    with observer.call("a", "m", "openai", request=request, operation=operation) as call:
        call.set_usage(prompt_tokens=5, completion_tokens=0)
    (span,) = exported.get_finished_spans()
    assert INPUT_MESSAGES not in span.attributes and OUTPUT_MESSAGES not in span.attributes


def test_openai_responses_tool_items_are_the_assistants_call_and_the_tools_answer():
    request = {
        "input": [
            {"role": "user", "content": "Weather?"},
            {"type": "function_call", "call_id": "r1", "name": "weather", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "r1", "output": "-3 C"},
        ]
    }
    assert input_messages(request)[1:] == [
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "r1", "name": "weather", "arguments": "{}"}],
        },
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "r1", "response": "-3 C"}]},
    ]
