"""``llmobs.instrument`` on the real ``openai`` and ``anthropic`` SDKs, against a local server
that answers like their APIs (JSON and server-sent events): every create and every stream
helper is recorded, streamed or not, sync or async, and the caller gets exactly what the SDK
gives."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

import llmobs
from llmobs import CostTracker, LLMCostCalculator
from tests.provider_server import (
    ANTHROPIC_OUTPUT_TOKENS,
    MEASURED_OUTPUT_TOKENS,
    RESPONSES_USAGE,
    USAGE,
    WORDS,
)
from tests.unit.samples import enforcing_observer, sample, tokens_by_type

openai = pytest.importorskip("openai")
MESSAGES = [{"role": "user", "content": "Hi"}]
#: What the oldest supported openai (1.40) lacks: the Responses API and the stream helpers.
_PROBE = openai.OpenAI(api_key="sk-probe")
needs_responses = pytest.mark.skipif(
    not hasattr(_PROBE, "responses"), reason="this openai has no Responses API"
)
needs_stream_helper = pytest.mark.skipif(
    not hasattr(_PROBE.chat.completions, "stream"), reason="this openai has no stream helper"
)


def read(registry, name: str, agent: str = "svea.writer", **extra: str) -> float:
    return sample(registry, name, agent_id=agent, model="gpt-4o", provider="openai", **extra)


def client_for(server, observer, cls=None, **options):
    cls = cls or openai.OpenAI
    client = cls(api_key="sk-local", base_url=server.url, max_retries=0)
    return llmobs.instrument(client, agent_id="svea.writer", observer=observer, **options)


def test_a_plain_call_is_recorded_with_its_usage_and_price(server, observed):
    registry, observer, calculator = observed
    client = client_for(server, observer)
    response = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert response.choices[0].message.content == "".join(WORDS)
    assert read(registry, "llm_requests_total", status="success") == 1
    assert read(registry, "llm_tokens_used_total", token_type="prompt") == 120
    assert read(registry, "llm_tokens_used_total", token_type="reasoning") == 10
    expected = calculator.cost_of("gpt-4o", 120, 30, provider="openai", cache_read_tokens=100)
    assert read(registry, "llm_cost_total") == pytest.approx(expected)


def test_a_stream_asks_for_usage_and_hides_the_extra_chunk(server, observed):
    registry, observer, _ = observed
    client = client_for(server, observer)
    stream = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    chunks = list(stream)
    assert server.requests[-1]["stream_options"] == {"include_usage": True}
    assert all(chunk.choices for chunk in chunks)  # the usage chunk was not asked for: hidden
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "".join(WORDS)
    assert (
        read(registry, "llm_tokens_used_total", token_type="completion")
        == USAGE["completion_tokens"]
    )
    assert read(registry, "llm_time_to_first_token_seconds_count") == 1
    assert read(registry, "llm_active_requests") == 0


def test_a_caller_who_asked_for_usage_gets_its_chunk(server, observed):
    registry, observer, _ = observed
    client = client_for(server, observer)
    stream = client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert chunks[-1].usage.prompt_tokens == 120 and not chunks[-1].choices
    assert read(registry, "llm_requests_total", status="success") == 1


def test_a_stream_closed_early_is_recorded_once(server, observed):
    registry, observer, _ = observed
    client = client_for(server, observer)
    with client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True) as stream:
        for _ in stream:
            break
    assert read(registry, "llm_requests_total", status="success") == 1
    assert read(registry, "llm_usage_missing_total", reason="stream_closed") == 1
    assert read(registry, "llm_active_requests") == 0


def test_a_stream_that_breaks_raises_the_sdks_error_and_is_recorded(server, observed):
    registry, observer, _ = observed
    client = client_for(server, observer)
    stream = client.chat.completions.create(model="gpt-4o-break", messages=MESSAGES, stream=True)
    with pytest.raises(Exception) as raised:
        list(stream)
    labels = {"agent_id": "svea.writer", "model": "gpt-4o-break", "provider": "openai"}
    errors = sample(registry, "llm_errors_total", **labels, error_type=type(raised.value).__name__)
    assert errors == 1
    assert sample(registry, "llm_usage_missing_total", **labels, reason="stream_error") == 1


def test_the_agent_comes_from_the_context(server, observed):
    registry, observer, _ = observed
    client = client_for(server, observer)
    with llmobs.agent("meetmind.coordinator"):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert read(registry, "llm_requests_total", "meetmind.coordinator", status="success") == 1
    assert read(registry, "llm_requests_total", status="success") == 1


def test_an_error_of_the_api_reaches_the_caller_and_is_counted(observed):
    registry, observer, _ = observed
    client = llmobs.instrument(
        openai.OpenAI(api_key="sk", base_url="http://127.0.0.1:9/v1", max_retries=0),
        agent_id="svea.writer",
        observer=observer,
    )
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert read(registry, "llm_errors_total", error_type="APIConnectionError") == 1


def test_uninstrument_restores_the_client_exactly(server, observed):
    registry, observer, _ = observed
    client = openai.OpenAI(api_key="sk-local", base_url=server.url, max_retries=0)
    original = client.chat.completions.create
    llmobs.instrument(client, observer=observer)
    llmobs.instrument(client, observer=observer)  # twice changes nothing
    llmobs.uninstrument(client)
    assert client.chat.completions.create == original
    assert "create" not in vars(client.chat.completions)
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert read(registry, "llm_requests_total", "unknown", status="success") == 0


def test_an_async_client_under_50_concurrent_streams(server, observed):
    registry, observer, _ = observed
    client = client_for(server, observer, openai.AsyncOpenAI)

    async def one() -> str:
        stream = await client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True
        )
        return "".join([c.choices[0].delta.content or "" async for c in stream])

    async def main() -> list[str]:
        return await asyncio.gather(*(one() for _ in range(50)))

    assert asyncio.run(main()) == ["".join(WORDS)] * 50
    assert read(registry, "llm_requests_total", status="success") == 50
    assert read(registry, "llm_tokens_used_total", token_type="prompt") == 50 * 120
    assert read(registry, "llm_time_to_first_token_seconds_count") == 50
    assert read(registry, "llm_active_requests") == 0


def tokens_of(registry, model: str, provider: str) -> dict[str, float]:
    return tokens_by_type(registry, agent_id="svea.writer", model=model, provider=provider)


@needs_responses
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_the_responses_api_is_recorded(server, observed, stream):
    registry, observer, _ = observed
    client = client_for(server, observer)
    answer = client.responses.create(model="gpt-4o", input="Hi", stream=stream)
    if stream:
        kinds = [event.type for event in answer]
        assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
        assert "stream_options" not in server.requests[-1]  # its usage always comes
    else:
        assert answer.output_text == "".join(WORDS)
    assert tokens_of(registry, "gpt-4o", "openai") == {
        "prompt": RESPONSES_USAGE["input_tokens"],
        "completion": RESPONSES_USAGE["output_tokens"],
        "cache_read": 50,
        "cache_write": 0,
        "reasoning": 16,
    }
    first_tokens = read(registry, "llm_time_to_first_token_seconds_count")
    assert first_tokens == (1 if stream else 0)


ANTHROPIC_TOKENS = {
    "prompt": 400,  # 20 + 300 read from the cache + 80 written to it
    "completion": ANTHROPIC_OUTPUT_TOKENS,
    "cache_read": 300,
    "cache_write": 80,
    "reasoning": 0,
}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_anthropic_messages_are_recorded(server, observed, stream):
    anthropic = pytest.importorskip("anthropic")
    registry, observer, calculator = observed
    client = anthropic.Anthropic(
        api_key="sk-ant-local", base_url=server.url.removesuffix("/v1"), max_retries=0
    )
    llmobs.instrument(client, agent_id="svea.writer", observer=observer)
    model = "claude-sonnet-4-6"
    answer = client.messages.create(model=model, max_tokens=256, messages=MESSAGES, stream=stream)
    if stream:
        kinds = [event.type for event in answer]
        assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    else:
        assert answer.content[0].text == "".join(WORDS)
    assert tokens_of(registry, model, "anthropic") == ANTHROPIC_TOKENS
    labels = {"agent_id": "svea.writer", "model": model, "provider": "anthropic"}
    expected = calculator.cost_of(
        model, 400, ANTHROPIC_OUTPUT_TOKENS, provider="anthropic",
        cache_read_tokens=300, cache_write_tokens=80,
    )  # fmt: skip
    assert sample(registry, "llm_cost_total", **labels) == pytest.approx(expected)


def test_an_async_anthropic_stream(server, observed):
    anthropic = pytest.importorskip("anthropic")
    registry, observer, _ = observed
    client = anthropic.AsyncAnthropic(
        api_key="sk-ant-local", base_url=server.url.removesuffix("/v1"), max_retries=0
    )
    llmobs.instrument(client, agent_id="svea.writer", observer=observer)

    async def main() -> list[str]:
        stream = await client.messages.create(
            model="claude-sonnet-4-6", max_tokens=256, messages=MESSAGES, stream=True
        )
        return [event.type async for event in stream]

    assert asyncio.run(main())[-1] == "message_stop"
    assert tokens_of(registry, "claude-sonnet-4-6", "anthropic") == ANTHROPIC_TOKENS


@needs_responses
def test_a_method_the_installed_sdk_lacks_is_counted_and_left_out(server, observed, monkeypatch):
    registry, observer, _ = observed
    monkeypatch.delattr(openai.OpenAI, "responses")  # as in openai before 1.66
    client = client_for(server, observer)  # no AttributeError
    assert sample(registry, "llm_invalid_records_total", reason="sdk_method_missing") == 1
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # the rest is observed
    assert read(registry, "llm_requests_total", status="success") == 1
    llmobs.uninstrument(client)


def test_a_client_of_another_sdk_is_refused():
    with pytest.raises(TypeError, match=r"instruments clients of these SDKs: openai\.OpenAI"):
        llmobs.instrument({})


def test_an_enforced_budget_refuses_the_call_before_it_is_sent(server, observed):
    observer = enforcing_observer(observed, daily_budget=0.01)
    client = client_for(server, observer)
    sent = len(server.requests)
    with pytest.raises(llmobs.BudgetExceededError, match="daily budget"):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=100_000)
    assert len(server.requests) == sent  # never sent
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=100)
    assert len(server.requests) == sent + 1


def test_a_429_then_success_is_one_call_one_retry_and_one_counted_429(server, observed):
    registry, observer, _ = observed
    client = llmobs.instrument(
        openai.OpenAI(api_key="sk-local", base_url=server.url, max_retries=2),
        agent_id="svea.writer",
        observer=observer,
    )
    client.chat.completions.create(model="gpt-4o-429once", messages=MESSAGES)
    labels = {"agent_id": "svea.writer", "model": "gpt-4o-429once", "provider": "openai"}
    assert sample(registry, "llm_requests_total", **labels, status="success") == 1
    assert sample(registry, "llm_retries_total", **labels) == 1
    assert sample(registry, "llm_failed_attempts_total", **labels, code="429") == 1
    assert sample(registry, "llm_errors_total", **labels, error_type="RateLimitError") == 0


def test_rate_limit_headroom_comes_from_the_response_headers(server, observed):
    anthropic = pytest.importorskip("anthropic")
    registry, observer, _ = observed
    client_for(server, observer).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    headroom = {"provider": "openai", "model": "gpt-4o"}
    assert sample(registry, "llm_rate_limit_remaining_ratio", **headroom, limit="requests") == 0.9
    assert sample(registry, "llm_rate_limit_remaining_ratio", **headroom, limit="tokens") == 0.05
    claude = anthropic.Anthropic(
        api_key="sk-ant-local", base_url=server.url.removesuffix("/v1"), max_retries=0
    )
    llmobs.instrument(claude, observer=observer)
    claude.messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=MESSAGES)
    input_headroom = {
        "provider": "anthropic",
        "model": "claude-sonnet-4-6",
        "limit": "input_tokens",
    }
    assert sample(registry, "llm_rate_limit_remaining_ratio", **input_headroom) == 0.1
    llmobs.uninstrument(claude)
    assert claude._client.event_hooks["response"] == []


def test_a_stream_dropped_unread_is_recorded_once(server, observed):
    import gc

    registry, observer, _ = observed
    client = client_for(server, observer)
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    gc.collect()  # the caller never read nor closed it
    assert read(registry, "llm_requests_total", status="success") == 1
    assert read(registry, "llm_usage_missing_total", reason="stream_closed") == 1
    assert read(registry, "llm_active_requests") == 0


def anthropic_client(server, observer, async_client: bool = False):
    anthropic = pytest.importorskip("anthropic")
    cls = anthropic.AsyncAnthropic if async_client else anthropic.Anthropic
    client = cls(api_key="sk-ant-local", base_url=server.url.removesuffix("/v1"), max_retries=0)
    return llmobs.instrument(client, agent_id="svea.writer", observer=observer)


@needs_stream_helper
def test_the_openai_chat_stream_helper_is_recorded_through_create(server, observed):
    registry, observer, _ = observed
    client = client_for(server, observer)
    with client.chat.completions.stream(model="gpt-4o", messages=MESSAGES) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_completion()
    assert server.requests[-1]["stream_options"] == {"include_usage": True}
    assert "content.delta" in kinds and final.choices[0].message.content == "".join(WORDS)
    assert final.usage is None  # the caller did not ask for it: the usage chunk was kept back
    assert read(registry, "llm_tokens_used_total", token_type="prompt") == 120
    assert read(registry, "llm_time_to_first_token_seconds_count") == 1


@needs_responses
def test_the_openai_responses_stream_helper_is_recorded(server, observed):
    registry, observer, _ = observed
    client = client_for(server, observer)
    with client.responses.stream(model="gpt-4o", input="Hi") as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
    assert text == "".join(WORDS)
    assert read(registry, "llm_tokens_used_total", token_type="prompt") == 200


def test_the_anthropic_stream_helper_is_recorded(server, observed):
    registry, observer, _ = observed
    client = anthropic_client(server, observer)
    model = "claude-sonnet-4-6"
    with client.messages.stream(model=model, max_tokens=256, messages=MESSAGES) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "".join(WORDS) and final.usage.output_tokens == ANTHROPIC_OUTPUT_TOKENS
    assert tokens_of(registry, model, "anthropic") == ANTHROPIC_TOKENS
    labels = {"agent_id": "svea.writer", "model": model, "provider": "anthropic"}
    assert sample(registry, "llm_requests_total", **labels, status="success") == 1
    assert sample(registry, "llm_time_to_first_token_seconds_count", **labels) == 1


def test_the_anthropic_stream_helper_left_early_is_recorded_once(server, observed):
    registry, observer, _ = observed
    client = anthropic_client(server, observer)
    model = "claude-sonnet-4-6"
    with client.messages.stream(model=model, max_tokens=256, messages=MESSAGES) as stream:
        next(iter(stream))  # message_start: input tokens known, output not yet
    labels = {"agent_id": "svea.writer", "model": model, "provider": "anthropic"}
    assert sample(registry, "llm_requests_total", **labels, status="success") == 1
    assert sample(registry, "llm_tokens_used_total", **labels, token_type="prompt") == 400
    assert (
        sample(registry, "llm_active_requests", agent_id="svea.writer", provider="anthropic") == 0
    )


def test_the_async_anthropic_stream_helper_is_recorded(server, observed):
    registry, observer, _ = observed
    client = anthropic_client(server, observer, async_client=True)
    model = "claude-sonnet-4-6"

    async def main() -> str:
        async with client.messages.stream(model=model, max_tokens=256, messages=MESSAGES) as s:
            return "".join([text async for text in s.text_stream])

    assert asyncio.run(main()) == "".join(WORDS)
    assert tokens_of(registry, model, "anthropic") == ANTHROPIC_TOKENS


def test_an_enforced_budget_refuses_a_stream_helper_before_it_is_sent(server, observed):
    observer = enforcing_observer(observed, daily_budget=0.01)
    client = anthropic_client(server, observer)
    sent = len(server.requests)
    manager = client.messages.stream(
        model="claude-sonnet-4-6", max_tokens=100_000, messages=MESSAGES
    )
    with pytest.raises(llmobs.BudgetExceededError):
        manager.__enter__()
    assert len(server.requests) == sent


def test_a_self_hosted_model_behind_an_openai_api_is_priced_from_the_overrides(server):
    from prometheus_client import CollectorRegistry

    from llmobs.price_overrides import PriceOverride
    from llmobs.rates import TokenRates

    registry = CollectorRegistry()
    metrics = llmobs.LLMMetrics(registry=registry)
    rates = TokenRates(input=0.05, output=0.10)  # the team's own cost of its GPUs
    calculator = llmobs.LLMCostCalculator(
        overrides=[PriceOverride("meta-llama/llama-3.1-8b-instruct", "vllm", rates)],
        metrics=metrics,
    )
    observer = llmobs.LLMObserver(metrics, None, calculator)
    client = client_for(server, observer, provider="vllm")
    model = "meta-llama/Llama-3.1-8B-Instruct"
    client.chat.completions.create(model=model, messages=MESSAGES)
    where = {"agent_id": "svea.writer", "model": model, "provider": "vllm"}
    assert sample(registry, "llm_cost_total", **where) == pytest.approx(
        rates.cost(prompt_tokens=120, completion_tokens=30)
    )
    assert sample(registry, "llm_unpriced_requests_total", model=model, provider="vllm") == 0


def test_instrument_sdk_instruments_every_client_made_after(server, observed):
    registry, observer, _ = observed
    own_init = vars(openai.OpenAI)["__init__"]
    before = openai.OpenAI(api_key="sk-local", base_url=server.url, max_retries=0)
    llmobs.instrument_sdk("openai", agent_id="svea.writer", observer=observer)
    try:
        after = openai.OpenAI(api_key="sk-local", base_url=server.url, max_retries=0)
        azure = openai.AzureOpenAI(
            api_key="sk-local", azure_endpoint=server.url, api_version="2024-10-21"
        )
        after.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        before.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    finally:
        llmobs.uninstrument_sdk("openai")
    assert read(registry, "llm_requests_total", status="success") == 1  # made after, only
    assert "create" in vars(azure.chat.completions)  # a subclass's clients too
    assert vars(openai.OpenAI)["__init__"] is own_init
    later = openai.OpenAI(api_key="sk-local", base_url=server.url)
    assert "create" not in vars(later.chat.completions)


def test_instrument_sdk_names_the_sdks_it_knows():
    with pytest.raises(ValueError, match="'openai', 'anthropic', 'google-genai'"):
        llmobs.instrument_sdk("boto3")


def test_a_failure_inside_llmobs_never_reaches_the_caller(server, observed, monkeypatch):
    registry, observer, _ = observed
    client = client_for(server, observer)
    broken = RuntimeError("a bug in llmobs")

    def fail(*args, **kwargs):
        raise broken

    monkeypatch.setattr(observer, "call", fail)
    answer = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert answer.choices[0].message.content == "".join(WORDS)  # made, unobserved
    anthropic = anthropic_client(server, observer)
    with anthropic.messages.stream(model="claude-sonnet-4-6", max_tokens=8, messages=MESSAGES) as s:
        assert "".join(s.text_stream) == "".join(WORDS)
    assert sample(registry, "llm_invalid_records_total", reason="internal_error") == 2


def _read_with_next(stream) -> list:
    chunks = []
    while True:
        try:
            chunks.append(next(stream))
        except StopIteration:
            return chunks


def _read_next_then_for(stream) -> list:
    return [next(stream), *stream]


def _read_from_four_threads(stream) -> list:
    from concurrent.futures import ThreadPoolExecutor

    def drain() -> list:
        taken = []
        for chunk in stream:
            taken.append(chunk)
        return taken

    with ThreadPoolExecutor(4) as pool:
        parts = list(pool.map(lambda _: drain(), range(4)))
    return [chunk for part in parts for chunk in part]


@pytest.mark.parametrize(
    "read_all",
    [_read_with_next, _read_next_then_for, _read_from_four_threads],
    ids=["next", "next-then-for", "four-threads"],
)
def test_every_way_of_reading_a_stream_records_it_once_with_usage(server, observed, read_all):
    registry, observer, _ = observed
    client = client_for(server, observer)
    stream = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    chunks = read_all(stream)
    assert all(chunk.choices for chunk in chunks)  # the usage chunk llmobs asked for: hidden
    assert sorted(filter(None, (c.choices[0].delta.content for c in chunks))) == sorted(WORDS)
    assert read(registry, "llm_requests_total", status="success") == 1
    assert read(registry, "llm_tokens_used_total", token_type="prompt") == USAGE["prompt_tokens"]
    assert read(registry, "llm_active_requests") == 0
    del stream
    import gc

    gc.collect()  # nothing more is recorded when the stream is collected
    assert read(registry, "llm_requests_total", status="success") == 1
    assert read(registry, "llm_usage_missing_total", reason="stream_closed") == 0


async def _anext_until_done(stream) -> list:
    chunks = []
    while True:
        try:
            chunks.append(await stream.__anext__())
        except StopAsyncIteration:
            return chunks


async def _four_tasks(stream) -> list:
    async def drain() -> list:
        return [chunk async for chunk in stream]

    parts = await asyncio.gather(*(drain() for _ in range(4)))
    return [chunk for part in parts for chunk in part]


@pytest.mark.parametrize("read_all", [_anext_until_done, _four_tasks], ids=["anext", "four-tasks"])
def test_every_way_of_reading_an_async_stream_records_it_once_with_usage(
    server, observed, read_all
):
    registry, observer, _ = observed
    client = client_for(server, observer, openai.AsyncOpenAI)

    async def main() -> list:
        stream = await client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True
        )
        return await read_all(stream)

    chunks = asyncio.run(main())
    assert all(chunk.choices for chunk in chunks)
    assert sorted(filter(None, (c.choices[0].delta.content for c in chunks))) == sorted(WORDS)
    assert read(registry, "llm_requests_total", status="success") == 1
    assert read(registry, "llm_tokens_used_total", token_type="prompt") == USAGE["prompt_tokens"]
    assert read(registry, "llm_active_requests") == 0


INSTRUMENTED_WORKER = Path(__file__).with_name("instrumented_worker.py")


@pytest.mark.parametrize("max_tokens", ["300", "none"], ids=["output-limit", "no-output-limit"])
def test_concurrent_instrumented_calls_of_several_processes_never_overspend(
    server, tmp_path, max_tokens
):
    """Four processes of four threads make calls of ~10k prompt tokens through instrumented
    clients against one enforced budget: what they reserve (the prompt counted from the
    request, and the output limit or the default) bounds what they spend."""
    db = str(tmp_path / "costs.sqlite3")
    budget = 0.5
    CostTracker(db, daily_budget=budget).close()
    command = [sys.executable, str(INSTRUMENTED_WORKER), db, server.measured_url]
    command += ["4", "6", "40000", max_tokens]  # 4 threads of 6 calls of 40k characters
    replicas = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outputs = [replica.communicate(timeout=300) for replica in replicas]
    assert all(replica.returncode == 0 for replica in replicas), outputs
    admitted = sum(int(out.split()[1]) for out, _ in outputs)
    refused = sum(int(out.split()[3]) for out, _ in outputs)
    assert admitted + refused == 4 * 4 * 6
    tracker = CostTracker(db)
    spent = tracker.get_daily_summary().total_cost
    tracker.close()
    one_call = LLMCostCalculator.default().cost_of(
        "gpt-4o", 10_000, 300 if max_tokens != "none" else MEASURED_OUTPUT_TOKENS
    )
    assert spent <= budget  # never past the budget, whatever the concurrency
    assert admitted * one_call == pytest.approx(spent)
    assert spent >= budget / 2  # and the budget was used, not refused from the start


def test_calls_are_attributed_from_the_request_and_the_context(server, observed):
    _, observer, _ = observed
    client = client_for(server, observer, tags=llmobs.request_tags)
    with llmobs.agent("svea.pm"), llmobs.attribute(customer="acme", feature="search"):
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES, user="u-1")
        client.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, metadata={"feature": "summary"}, store=True
        )
    failing = client_for(server, observer, tags=lambda request: 1 / 0)
    failing.chat.completions.create(model="gpt-4o", messages=MESSAGES)  # still made, untagged
    entries = list(observer.tracker.entries())
    assert [(e.agent_id, e.tags) for e in entries] == [
        ("svea.pm", {"customer": "acme", "feature": "search", "user": "u-1"}),
        ("svea.pm", {"customer": "acme", "feature": "summary"}),
        ("svea.writer", {}),
    ]
    assert sample(observer.metrics.registry, "llm_invalid_records_total", reason="internal_error")


def test_a_stream_read_elsewhere_is_one_span_from_its_start_to_its_end(server, observed):
    """A streamed call starts where it is created and ends where its stream is read out: its
    span covers both, carries the usage the stream reported, and leaves no span current."""
    trace_sdk = pytest.importorskip("opentelemetry.sdk.trace")
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    _, observer, _ = observed
    exported = InMemorySpanExporter()
    provider = trace_sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    observer.spans = llmobs.otel.GenAISpans(provider)
    stream = client_for(server, observer).chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True
    )
    assert exported.get_finished_spans() == ()  # not ended before the stream is read

    def read_out() -> None:
        assert not trace.get_current_span().get_span_context().is_valid
        list(stream)

    asyncio.run(asyncio.to_thread(read_out))  # read in another thread and context
    (span,) = exported.get_finished_spans()
    assert span.attributes["gen_ai.usage.output_tokens"] == USAGE["completion_tokens"]
    assert not trace.get_current_span().get_span_context().is_valid
