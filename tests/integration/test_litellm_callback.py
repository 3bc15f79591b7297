"""``LLMObsCallback`` in the real ``litellm``, calling a local server that answers like the
OpenAI and Anthropic APIs: every call recorded once, priced by llmobs's prices."""

from __future__ import annotations

import asyncio
import json
import os

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no download of LiteLLM's prices
litellm = pytest.importorskip("litellm")

from prometheus_client import CollectorRegistry  # noqa: E402

import llmobs  # noqa: E402
from llmobs.litellm_callback import LLMObsCallback  # noqa: E402
from llmobs.price_overrides import PriceOverride  # noqa: E402
from llmobs.rates import TokenRates  # noqa: E402
from tests.helpers import eventually  # noqa: E402
from tests.provider_server import WEB_SEARCHES, WORDS, embedding_tokens  # noqa: E402
from tests.unit.samples import sample, tokens_by_type  # noqa: E402

MESSAGES = [{"role": "user", "content": "Hi"}]
#: A price of llmobs's own, unlike LiteLLM's, so the recorded cost shows whose it is.
RATES = TokenRates(input=1000.0, output=2000.0, cache_read=100.0)


@pytest.fixture
def recorded():
    registry = CollectorRegistry()
    metrics = llmobs.LLMMetrics(registry=registry)
    calculator = llmobs.LLMCostCalculator(
        overrides=[PriceOverride("gpt-4o", "openai", RATES)], metrics=metrics
    )
    observer = llmobs.LLMObserver(metrics, llmobs.CostTracker(":memory:"), calculator)
    callback = LLMObsCallback(agent_id="svea.writer", observer=observer)
    litellm.callbacks.append(callback)
    yield registry, observer
    # LiteLLM keeps one logger of a class, where it first saw it: this one goes from all.
    litellm.logging_callback_manager.remove_callback_from_all_lists(callback)


def settled(read, expected: float) -> float:
    """``read()`` once it gives ``expected``: LiteLLM calls back from a worker thread or task."""
    eventually(lambda: read() == expected, f"the value {expected}", 10, 0.02)
    return read()


def gpt(registry, name: str, agent: str = "svea.writer", **extra: str) -> float:
    return sample(registry, name, agent_id=agent, model="gpt-4o", provider="openai", **extra)


def test_a_call_is_recorded_with_llmobs_prices(server, recorded):
    registry, _ = recorded
    answer = litellm.completion(
        model="openai/gpt-4o", messages=MESSAGES, api_base=server.url, api_key="sk-local"
    )
    assert answer.choices[0].message.content == "".join(WORDS)
    assert settled(lambda: gpt(registry, "llm_requests_total", status="success"), 1) == 1
    assert tokens_by_type(registry, agent_id="svea.writer", model="gpt-4o", provider="openai") == {
        "prompt": 120, "completion": 30, "cache_read": 100, "cache_write": 0, "reasoning": 10,
    }  # fmt: skip
    ours = RATES.cost(prompt_tokens=120, completion_tokens=30, cache_read_tokens=100)
    assert gpt(registry, "llm_cost_total") == pytest.approx(ours)
    assert gpt(registry, "llm_request_duration_seconds_count") == 1


def test_a_stream_is_recorded_with_its_time_to_first_token(server, recorded):
    registry, _ = recorded
    stream = litellm.completion(
        model="openai/gpt-4o",
        messages=MESSAGES,
        api_base=server.url,
        api_key="sk-local",
        stream=True,
        stream_options={"include_usage": True},  # an OpenAI-compatible server is asked
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "".join(WORDS)
    assert settled(lambda: gpt(registry, "llm_requests_total", status="success"), 1) == 1
    assert gpt(registry, "llm_tokens_used_total", token_type="prompt") == 120
    assert gpt(registry, "llm_time_to_first_token_seconds_count") == 1


def test_anthropic_through_litellm_keeps_its_cache_tokens(server, recorded):
    registry, _ = recorded
    litellm.completion(
        model="anthropic/claude-sonnet-4-6",
        messages=MESSAGES,
        api_base=server.url.removesuffix("/v1"),
        api_key="sk-ant-local",
        max_tokens=256,
    )
    where = {"agent_id": "svea.writer", "model": "claude-sonnet-4-6", "provider": "anthropic"}
    assert settled(lambda: sample(registry, "llm_requests_total", **where, status="success"), 1)
    assert tokens_by_type(registry, **where) == {
        "prompt": 400, "completion": 60, "cache_read": 300, "cache_write": 80, "reasoning": 0,
    }  # fmt: skip


def test_the_agent_comes_from_the_calls_metadata(server, recorded):
    registry, _ = recorded
    litellm.completion(
        model="openai/gpt-4o",
        messages=MESSAGES,
        api_base=server.url,
        api_key="sk-local",
        metadata={"agent_id": "meetmind.coordinator"},
    )
    found = settled(
        lambda: gpt(registry, "llm_requests_total", "meetmind.coordinator", status="success"), 1
    )
    assert found == 1


def test_a_failed_call_is_an_error(recorded):
    registry, _ = recorded
    with pytest.raises(Exception) as raised:
        litellm.completion(
            model="openai/gpt-4o",
            messages=MESSAGES,
            api_base="http://127.0.0.1:9/v1",
            api_key="sk-local",
            num_retries=0,
        )
    error_type = type(raised.value).__name__
    assert settled(lambda: gpt(registry, "llm_errors_total", error_type=error_type), 1) == 1
    assert gpt(registry, "llm_requests_total", status="error") == 1
    assert gpt(registry, "llm_failed_request_duration_seconds_count") == 1


def test_rate_limit_headroom_comes_from_the_headers_litellm_kept(server, recorded):
    registry, _ = recorded
    litellm.completion(
        model="openai/gpt-4o", messages=MESSAGES, api_base=server.url, api_key="sk-local"
    )
    headroom = {"provider": "openai", "model": "gpt-4o", "limit": "requests"}
    ratio = settled(lambda: sample(registry, "llm_rate_limit_remaining_ratio", **headroom), 0.9)
    assert ratio == 0.9


def test_async_calls_under_20_at_once(server, recorded):
    registry, _ = recorded

    async def main() -> None:
        calls = (
            litellm.acompletion(
                model="openai/gpt-4o", messages=MESSAGES, api_base=server.url, api_key="sk-local"
            )
            for _ in range(20)
        )
        await asyncio.gather(*calls)
        await asyncio.to_thread(
            eventually,
            lambda: gpt(registry, "llm_requests_total", status="success") >= 20,
            "LiteLLM called back for every call",
            10,
            0.02,
        )

    asyncio.run(main())
    assert gpt(registry, "llm_requests_total", status="success") == 20
    assert gpt(registry, "llm_tokens_used_total", token_type="completion") == 20 * 30


def test_the_calls_user_and_metadata_tags_attribute_its_cost(server, recorded):
    registry, observer = recorded
    litellm.completion(
        model="openai/gpt-4o",
        messages=MESSAGES,
        api_base=server.url,
        api_key="sk-local",
        user="end-user-7",
        metadata={"customer": "acme", "feature": "search", "trace": "not a tag"},
    )
    settled(lambda: gpt(registry, "llm_requests_total", status="success"), 1)
    settled(lambda: len(list(observer.tracker.entries())), 1)
    (entry,) = observer.tracker.entries()
    assert entry.tags == {"customer": "acme", "feature": "search", "user": "end-user-7"}
    assert sample(registry, "llm_invalid_records_total", reason="invalid_tag") == 0


def test_anthropic_through_litellm_is_priced_with_its_hour_writes_and_searches(server, recorded):
    registry, _ = recorded
    system = [
        {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}
    ]
    litellm.completion(
        model="anthropic/claude-sonnet-4-6",
        messages=[{"role": "system", "content": system}, *MESSAGES],
        api_base=server.url.removesuffix("/v1"),
        api_key="sk-ant-local",
        max_tokens=256,
        tools=[{"type": "web_search_20250305", "name": "web_search", "max_uses": 5}],
    )
    where = {"agent_id": "svea.writer", "model": "claude-sonnet-4-6", "provider": "anthropic"}
    settled(lambda: sample(registry, "llm_requests_total", **where, status="success"), 1)
    # Claude Sonnet 4.6 list prices: 3 in, 0.30 cache hits, 6 one-hour writes, 15 out per
    # million tokens, USD 10 per 1,000 searches; the server's usage: 20 in, 300 read, 80
    # written for an hour, 60 out, WEB_SEARCHES searches.
    expected = (20 * 3 + 300 * 0.30 + 80 * 6 + 60 * 15) / 1e6 + WEB_SEARCHES * 10 / 1000
    assert sample(registry, "llm_cost_total", **where) == pytest.approx(expected, rel=1e-9)


def test_an_embedding_through_litellm_is_its_own_operation(server, recorded):
    registry, _ = recorded
    texts = ["the quick brown fox", "jumps"]
    litellm.embedding(
        model="openai/text-embedding-3-small", input=texts, api_base=server.url, api_key="sk-l"
    )
    labels = {"agent_id": "svea.writer", "model": "text-embedding-3-small", "provider": "openai"}

    def embedded() -> float:
        return sample(registry, "llm_requests_total", **labels, operation="embeddings")

    assert settled(embedded, 1) == 1
    prompt = sample(registry, "llm_tokens_used_total", **labels, token_type="prompt")
    assert prompt == embedding_tokens({"input": texts})
    assert sample(registry, "llm_requests_total", operation="chat") == 0


@pytest.mark.parametrize("stream", [False, True], ids=["answer", "stream"])
def test_an_opted_in_span_holds_the_prompt_and_answer_litellm_saw(server, recorded, stream):
    pytest.importorskip("opentelemetry.sdk.trace")
    from llmobs.content import INPUT_MESSAGES, OUTPUT_MESSAGES
    from tests.integration.test_content_capture import spans_of

    exported = spans_of(recorded[1], capture=True)
    answer = litellm.completion(
        model="openai/gpt-4o",
        messages=MESSAGES,
        api_base=server.url,
        api_key="sk-local",
        stream=stream,
    )
    if stream:
        for _ in answer:
            pass
    eventually(lambda: len(exported.get_finished_spans()) == 1, "one span", 10, 0.02)
    (span,) = exported.get_finished_spans()
    prompt = json.loads(span.attributes[INPUT_MESSAGES])
    assert prompt == [{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}]
    (message,) = json.loads(span.attributes[OUTPUT_MESSAGES])
    assert message["parts"] == [{"type": "text", "content": "".join(WORDS)}]
