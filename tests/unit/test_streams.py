"""Streamed calls through ``call.stream`` / ``call.astream``: usage read from each provider's own
stream events (the SDKs' objects where they install), time to first token and per output token,
and streams cut short or broken recorded once, never silently at 0 USD."""

from __future__ import annotations

import asyncio

import pytest

from llmobs.streams import StreamReader

from .samples import observed_stack, sample

CHAT_CHUNK = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o"}


def chat_chunks(text: list[str], usage: dict | None) -> list[dict]:
    chunks = [
        {**CHAT_CHUNK, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}
    ]
    chunks += [{**CHAT_CHUNK, "choices": [{"index": 0, "delta": {"content": t}}]} for t in text]
    chunks.append({**CHAT_CHUNK, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if usage is not None:
        chunks.append({**CHAT_CHUNK, "choices": [], "usage": usage})
    return chunks


CHAT_USAGE = {
    "prompt_tokens": 1000,
    "completion_tokens": 200,
    "total_tokens": 1200,
    "prompt_tokens_details": {"cached_tokens": 400},
}
ANTHROPIC_EVENTS = [
    {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": 100,
                "cache_read_input_tokens": 800,
                "cache_creation_input_tokens": 100,
                "output_tokens": 1,
            },
        },
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "!"}},
    {"type": "content_block_stop", "index": 0},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": 300, "output_tokens_details": {"thinking_tokens": 250}},
    },
    {"type": "message_stop"},
]
GEMINI_CHUNKS = [
    {
        "candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}}],
        "usage_metadata": {"prompt_token_count": 500, "candidates_token_count": 2},
    },
    {
        "candidates": [{"content": {"role": "model", "parts": [{"text": "lo"}]}}],
        "usage_metadata": {
            "prompt_token_count": 500,
            "candidates_token_count": 40,
            "thoughts_token_count": 60,
        },
    },
]
BEDROCK_EVENTS = [
    {"messageStart": {"role": "assistant"}},
    {"contentBlockDelta": {"delta": {"text": "Hi"}, "contentBlockIndex": 0}},
    {"contentBlockDelta": {"delta": {"text": "!"}, "contentBlockIndex": 0}},
    {"contentBlockStop": {"contentBlockIndex": 0}},
    {"messageStop": {"stopReason": "end_turn"}},
    {
        "metadata": {
            "usage": {
                "inputTokens": 50,
                "outputTokens": 70,
                "cacheReadInputTokens": 900,
                "cacheWriteInputTokens": 50,
                "totalTokens": 1070,
            },
            "metrics": {"latencyMs": 300},
        }
    },
]
RESPONSES_EVENTS = [
    {"type": "response.created", "sequence_number": 0},
    {"type": "response.output_text.delta", "delta": "Hi", "sequence_number": 1},
    {"type": "response.output_text.delta", "delta": "!", "sequence_number": 2},
    {
        "type": "response.completed",
        "sequence_number": 3,
        "response": {
            "usage": {
                "input_tokens": 300,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": 50,
                "output_tokens_details": {"reasoning_tokens": 20},
                "total_tokens": 350,
            }
        },
    },
]


@pytest.fixture
def observed():
    return observed_stack()


def labels(model: str, provider: str) -> dict[str, str]:
    return {"agent_id": "chat.bot", "model": model, "provider": provider}


def read(registry, name: str, model: str, provider: str, **extra: str) -> float:
    return sample(registry, name, **labels(model, provider), **extra)


def consume(observer, model: str, provider: str, events, stop_after: int | None = None):
    with observer.call("chat.bot", model, provider) as call:
        for index, _ in enumerate(call.stream(iter(events))):
            if stop_after is not None and index + 1 == stop_after:
                break
    return call


@pytest.mark.parametrize(
    ("model", "provider", "events", "tokens"),
    [
        ("gpt-4o", "openai", chat_chunks(["Hel", "lo"], CHAT_USAGE), (1000, 200, 400, 0, 0)),
        ("claude-sonnet-4-5", "anthropic", ANTHROPIC_EVENTS, (1000, 300, 800, 100, 250)),
        ("gemini-2.5-flash", "google", GEMINI_CHUNKS, (500, 100, 0, 0, 60)),
        ("gpt-4o", "openai", RESPONSES_EVENTS, (300, 50, 0, 0, 20)),
        (
            "anthropic.claude-3-5-haiku-20241022-v1:0",
            "bedrock",
            BEDROCK_EVENTS,
            (1000, 70, 900, 50, 0),
        ),
    ],
    ids=["openai-chat", "anthropic", "gemini", "openai-responses", "bedrock"],
)
def test_a_stream_is_recorded_from_its_own_usage_events(observed, model, provider, events, tokens):
    registry, observer, calculator = observed
    call = consume(observer, model, provider, events)
    prompt, completion, cache_read, cache_write, reasoning = tokens
    recorded = {
        token_type: read(registry, "llm_tokens_used_total", model, provider, token_type=token_type)
        for token_type in ("prompt", "completion", "cache_read", "cache_write", "reasoning")
    }
    assert recorded == {
        "prompt": prompt,
        "completion": completion,
        "cache_read": cache_read,
        "cache_write": cache_write,
        "reasoning": reasoning,
    }
    expected = calculator.cost_of(
        model, prompt, completion, provider=provider,
        cache_read_tokens=cache_read, cache_write_tokens=cache_write,
    )  # fmt: skip
    assert call.cost == expected and expected > 0
    assert read(registry, "llm_time_to_first_token_seconds_count", model, provider) == 1
    assert read(registry, "llm_time_per_output_token_seconds_count", model, provider) == 1
    assert (
        sum(
            read(registry, "llm_usage_missing_total", model, provider, reason=reason)
            for reason in ("not_reported", "stream_closed", "stream_error")
        )
        == 0
    )


def test_the_sdks_own_event_objects_are_read_alike(observed):
    openai = pytest.importorskip("openai")
    anthropic = pytest.importorskip("anthropic")
    from pydantic import TypeAdapter

    _, observer, _ = observed
    chunks = [
        openai.types.chat.ChatCompletionChunk.model_validate(c)
        for c in chat_chunks(["Hi"], CHAT_USAGE)
    ]
    events = [
        TypeAdapter(anthropic.types.RawMessageStreamEvent).validate_python(e)
        for e in ANTHROPIC_EVENTS
    ]
    assert consume(observer, "gpt-4o", "openai", chunks).usage.prompt_tokens == 1000
    usage = consume(observer, "claude-sonnet-4-5", "anthropic", events).usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.reasoning_tokens) == (
        1000,
        300,
        250,
    )


def test_a_stream_the_caller_stops_reading_is_recorded_once_as_missing_usage(observed):
    registry, observer, _ = observed
    consume(observer, "gpt-4o", "openai", chat_chunks(["a", "b", "c"], CHAT_USAGE), stop_after=2)
    assert read(registry, "llm_requests_total", "gpt-4o", "openai", status="success") == 1
    assert (
        read(registry, "llm_usage_missing_total", "gpt-4o", "openai", reason="stream_closed") == 1
    )
    assert read(registry, "llm_time_to_first_token_seconds_count", "gpt-4o", "openai") == 1
    assert read(registry, "llm_time_per_output_token_seconds_count", "gpt-4o", "openai") == 0


def test_a_stream_cut_short_keeps_the_tokens_it_reported(observed):
    registry, observer, calculator = observed
    call = consume(observer, "claude-sonnet-4-5", "anthropic", ANTHROPIC_EVENTS, stop_after=3)
    assert call.usage.prompt_tokens == 1000  # from message_start: billed, so recorded
    assert call.cost == calculator.cost_of(
        "claude-sonnet-4-5", 1000, 1, provider="anthropic",
        cache_read_tokens=800, cache_write_tokens=100,
    )  # fmt: skip
    missing = read(registry, "llm_usage_missing_total", "claude-sonnet-4-5", "anthropic",
                   reason="stream_closed")  # fmt: skip
    assert missing == 0


def test_a_stream_that_breaks_after_its_usage_costs_the_same_in_metrics_and_tracker(observed):
    registry, observer, calculator = observed
    model = "claude-sonnet-4-5"

    def breaking():
        yield from ANTHROPIC_EVENTS[:3]  # message_start: the input tokens are billed
        raise ConnectionResetError("peer went away")

    with pytest.raises(ConnectionResetError):
        consume(observer, model, "anthropic", breaking())
    billed = calculator.cost_of(
        model, 1000, 1, provider="anthropic", cache_read_tokens=800, cache_write_tokens=100
    )
    assert read(registry, "llm_cost_total", model, "anthropic") == pytest.approx(billed)
    assert observer.tracker.get_daily_summary().total_cost == pytest.approx(billed)
    assert read(registry, "llm_tokens_used_total", model, "anthropic", token_type="prompt") == 1000
    assert read(registry, "llm_requests_total", model, "anthropic", status="error") == 1
    assert read(registry, "llm_errors_total", model, "anthropic",
                error_type="ConnectionResetError") == 1  # fmt: skip
    assert read(registry, "llm_failed_request_duration_seconds_count", model, "anthropic") == 1
    assert read(registry, "llm_request_duration_seconds_count", model, "anthropic") == 0


def test_a_stream_that_breaks_is_an_error_with_unknown_usage(observed):
    registry, observer, _ = observed

    def breaking():
        yield from chat_chunks(["a"], None)[:2]
        raise ConnectionResetError("peer went away")

    with pytest.raises(ConnectionResetError):
        consume(observer, "gpt-4o", "openai", breaking())
    assert read(registry, "llm_errors_total", "gpt-4o", "openai",
                error_type="ConnectionResetError") == 1  # fmt: skip
    assert read(registry, "llm_usage_missing_total", "gpt-4o", "openai", reason="stream_error") == 1


def test_an_async_stream(observed):
    registry, observer, _ = observed

    async def chunks():
        for chunk in chat_chunks(["x", "y"], CHAT_USAGE):
            await asyncio.sleep(0)
            yield chunk

    async def main():
        async with observer.call("chat.bot", "gpt-4o", "openai") as call:
            async for _ in call.astream(chunks()):
                pass
        return call

    call = asyncio.run(main())
    assert call.usage.completion_tokens == 200
    assert read(registry, "llm_time_to_first_token_seconds_count", "gpt-4o", "openai") == 1


def test_a_call_that_reports_no_usage_is_counted(observed):
    registry, observer, _ = observed
    with observer.call("chat.bot", "gpt-4o", "openai"):
        pass
    assert read(registry, "llm_usage_missing_total", "gpt-4o", "openai", reason="not_reported") == 1


def test_a_stream_reporting_nonsense_counts_is_rejected_not_raised(observed):
    registry, observer, _ = observed
    bad = chat_chunks(["a"], {**CHAT_USAGE, "prompt_tokens": -5})
    consume(observer, "gpt-4o", "openai", bad)
    assert sample(registry, "llm_invalid_records_total", reason="negative_tokens") == 1
    assert read(registry, "llm_requests_total", "gpt-4o", "openai", status="success") == 0


def test_a_call_timed_elsewhere_is_recorded_after_the_fact(observed):
    registry, observer, calculator = observed
    observer.record_finished(
        "chat.bot", "gpt-4o", "openai", {"usage": CHAT_USAGE},
        duration_seconds=2.0, first_output_seconds=0.5,
    )  # fmt: skip
    assert read(registry, "llm_request_duration_seconds_sum", "gpt-4o", "openai") == 2.0
    assert read(registry, "llm_time_to_first_token_seconds_sum", "gpt-4o", "openai") == 0.5
    pace = read(registry, "llm_time_per_output_token_seconds_sum", "gpt-4o", "openai")
    assert pace == pytest.approx(1.5 / 199)
    assert read(registry, "llm_cost_total", "gpt-4o", "openai") == pytest.approx(
        calculator.cost_of("gpt-4o", 1000, 200, provider="openai", cache_read_tokens=400)
    )


def test_a_call_recorded_after_the_fact_is_never_refused_by_a_budget():
    from prometheus_client import CollectorRegistry

    from llmobs import CostTracker, LLMCostCalculator, LLMMetrics, LLMObserver

    registry = CollectorRegistry()
    metrics = LLMMetrics(registry=registry)
    calculator = LLMCostCalculator(overrides=(), metrics=metrics)
    tracker = CostTracker(":memory:", daily_budget=0.000001, calculator=calculator)
    observer = LLMObserver(metrics, tracker, calculator, enforce=True)
    for _ in range(2):  # the second is over the budget already: made, so recorded
        observer.record_finished(
            "chat.bot", "gpt-4o", "openai", {"usage": CHAT_USAGE}, duration_seconds=1.0
        )
    assert read(registry, "llm_requests_total", "gpt-4o", "openai", status="success") == 2
    assert tracker.get_daily_summary().total_requests == 2


def test_an_aws_error_is_counted_by_its_error_code(observed):
    registry, observer, _ = observed

    class ClientError(Exception):  # botocore's shape: the code in its response
        def __init__(self) -> None:
            self.response = {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}

    with pytest.raises(ClientError), observer.call("chat.bot", "nova-lite", "bedrock"):
        raise ClientError()
    errors = read(
        registry, "llm_errors_total", "nova-lite", "bedrock", error_type="ThrottlingException"
    )
    assert errors == 1


@pytest.mark.parametrize(
    "events",
    [chat_chunks(["a", "b", "c"], CHAT_USAGE), ANTHROPIC_EVENTS, GEMINI_CHUNKS, RESPONSES_EVENTS],
    ids=["chat", "anthropic", "gemini", "responses"],
)
def test_a_reader_tells_the_first_output_and_every_one_only_where_asked(events):
    first_only, every = StreamReader(), StreamReader(every_output=True)
    told = [first_only.feed(event) for event in events]
    each = [every.feed(event) for event in events]
    assert told.count(True) == 1
    assert each.count(True) > 1
    assert told.index(True) == each.index(True)
    assert first_only.usage == every.usage is not None  # usage read after output began too
    assert first_only.outputs and every.outputs
