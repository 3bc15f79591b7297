"""One entry point per LLM call records metrics and cost, sync and async, and errors."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from prometheus_client import CollectorRegistry

from llmobs import CostTracker, LLMMetrics, LLMObserver, extract_usage

from .samples import sample

LABELS = {"agent_id": "meetmind.coordinator", "model": "gpt-4o", "provider": "openai"}


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def observer(registry) -> LLMObserver:
    return LLMObserver(metrics=LLMMetrics(registry=registry), tracker=CostTracker(":memory:"))


def openai_response(prompt: int, completion: int, cached: int = 0):
    usage = SimpleNamespace(
        prompt_tokens=prompt,
        completion_tokens=completion,
        prompt_tokens_details=SimpleNamespace(cached_tokens=cached),
    )
    return SimpleNamespace(model="gpt-4o-2024-08-06", usage=usage)


def test_call_records_metrics_and_cost_once(observer, registry):
    with observer.call(**LABELS, cached=False) as call:
        assert (
            sample(registry, "llm_active_requests", agent_id=LABELS["agent_id"], provider="openai")
            == 1
        )
        call.set_usage(openai_response(1000, 500, cached=400))
    expected = (600 * 2.5 + 400 * 1.25 + 500 * 10) / 1e6
    assert sample(registry, "llm_requests_total", **LABELS, status="success") == 1
    assert sample(registry, "llm_tokens_used_total", **LABELS, token_type="prompt") == 1000
    assert sample(registry, "llm_tokens_used_total", **LABELS, token_type="cache_read") == 400
    assert sample(registry, "llm_cost_total", **LABELS) == pytest.approx(expected)
    assert sample(registry, "llm_request_duration_seconds_count", **LABELS) == 1
    assert (
        sample(registry, "llm_cache_misses_total", agent_id=LABELS["agent_id"], model="gpt-4o") == 1
    )
    assert (
        sample(registry, "llm_active_requests", agent_id=LABELS["agent_id"], provider="openai") == 0
    )
    summary = observer.tracker.get_daily_summary()
    assert summary.total_requests == 1
    assert summary.total_cost == pytest.approx(expected)


def test_exception_is_recorded_with_its_type_and_reraised(observer, registry):
    with pytest.raises(TimeoutError), observer.call(**LABELS):
        raise TimeoutError("provider too slow")
    assert sample(registry, "llm_errors_total", **LABELS, error_type="TimeoutError") == 1
    assert sample(registry, "llm_requests_total", **LABELS, status="error") == 1
    assert sample(registry, "llm_requests_total", **LABELS, status="success") == 0
    assert (
        sample(registry, "llm_active_requests", agent_id=LABELS["agent_id"], provider="openai") == 0
    )
    assert observer.tracker.get_daily_summary().total_requests == 0


def test_given_cost_skips_pricing(observer, registry):
    with observer.call(**LABELS) as call:
        call.set_usage(prompt_tokens=10, completion_tokens=10)
        call.cost = 1.25
    assert sample(registry, "llm_cost_total", **LABELS) == 1.25
    assert observer.tracker.get_daily_summary().total_cost == 1.25


def test_unpriced_model_is_counted_once(observer, registry):
    with observer.call("a.b", "my-llama", "vllm") as call:
        call.set_usage(prompt_tokens=10, completion_tokens=10)
    assert sample(registry, "llm_unpriced_requests_total", model="my-llama", provider="vllm") == 1
    assert observer.tracker.get_daily_summary().unpriced_requests == 1


def test_async_call(observer, registry):
    async def generate() -> None:
        async with observer.call(**LABELS) as call:
            await asyncio.sleep(0)
            call.set_usage({"usage": {"prompt_tokens": 100, "completion_tokens": 10}})

    asyncio.run(generate())
    assert sample(registry, "llm_tokens_used_total", **LABELS, token_type="prompt") == 100


def test_decorator_sync_and_async(observer, registry):
    @observer.observe("meetmind.coordinator", provider="openai")
    def complete(prompt: str, model: str) -> object:
        return openai_response(200, 20)

    @observer.observe("meetmind.coordinator", "gpt-4o", "openai")
    async def acomplete(prompt: str) -> object:
        return openai_response(300, 30)

    @observer.observe("meetmind.coordinator", "gpt-4o", "openai")
    def failing() -> None:
        raise ConnectionError("reset")

    assert complete("hi", model="gpt-4o").usage.prompt_tokens == 200
    asyncio.run(acomplete("hi"))
    with pytest.raises(ConnectionError):
        failing()
    assert sample(registry, "llm_tokens_used_total", **LABELS, token_type="prompt") == 500
    assert sample(registry, "llm_errors_total", **LABELS, error_type="ConnectionError") == 1
    assert complete.__name__ == "complete"


def test_call_without_usage_counts_the_request_and_warns(observer, registry, caplog):
    with observer.call(**LABELS):
        pass
    assert sample(registry, "llm_requests_total", **LABELS, status="success") == 1
    assert "finished without usage (no set_usage()" in caplog.text


def test_bad_usage_never_breaks_the_call(observer, registry):
    with observer.call(**LABELS) as call:
        call.set_usage(prompt_tokens=-3, completion_tokens="x")
    assert sample(registry, "llm_invalid_records_total", reason="negative_tokens") == 1


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (
            {
                "usage": {
                    "prompt_tokens": 100,
                    "completion_tokens": 5,
                    "prompt_tokens_details": {"cached_tokens": 60},
                }
            },
            (100, 5, 60, 0),
        ),
        (
            {
                "usage": {
                    "input_tokens": 100,
                    "output_tokens": 5,
                    "input_tokens_details": {"cached_tokens": 40},
                }
            },
            (100, 5, 40, 0),
        ),
        (
            {
                "usage": {
                    "input_tokens": 10,
                    "output_tokens": 5,
                    "cache_read_input_tokens": 80,
                    "cache_creation_input_tokens": 10,
                }
            },
            (100, 5, 80, 10),
        ),
        (
            {
                "usage_metadata": {
                    "prompt_token_count": 100,
                    "candidates_token_count": 5,
                    "thoughts_token_count": 7,
                    "cached_content_token_count": 50,
                }
            },
            (100, 12, 50, 0),
        ),
        (
            {"usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": None}},
            (10, 5, 0, 0),
        ),
    ],
)
def test_usage_from_openai_anthropic_and_gemini(response, expected):
    usage = extract_usage(response)
    assert (
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.cache_read_tokens,
        usage.cache_write_tokens,
    ) == expected


def test_no_usage_in_response():
    assert extract_usage({"choices": []}) is None
    assert extract_usage(None) is None


def test_duration_timed_elsewhere(observer, registry):
    with observer.call(**LABELS) as call:
        call.set_usage(prompt_tokens=1, completion_tokens=1)
        call.duration_seconds = 42.0
    assert sample(registry, "llm_request_duration_seconds_sum", **LABELS) == 42.0
