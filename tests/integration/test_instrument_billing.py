"""What the real ``openai`` and ``anthropic`` SDKs' calls cost beyond plain tokens, against the
local provider server: the service tier a response names (flex, priority), web searches the
provider ran, Anthropic's one-hour cache writes, and the calls that are not chat (embeddings,
images, transcriptions, speech), each under its operation. Every expected cost is written from
the providers' list prices, not from llmobs' price data."""

from __future__ import annotations

import asyncio

import pytest

import llmobs
from tests.provider_server import (
    ANTHROPIC_OUTPUT_TOKENS,
    SPOKEN,
    TRANSCRIBED_SECONDS,
    WEB_SEARCHES,
    embedding_tokens,
)
from tests.unit.samples import sample

openai = pytest.importorskip("openai")
MESSAGES = [{"role": "user", "content": "Hi"}]
MTOK = 1_000_000


def spent(registry, model: str, provider: str) -> float:
    return sample(
        registry, "llm_cost_total", agent_id="svea.writer", model=model, provider=provider
    )


def openai_client(server, observer):
    client = openai.OpenAI(api_key="sk-local", base_url=server.url, max_retries=0)
    return llmobs.instrument(client, agent_id="svea.writer", observer=observer)


#: The local server's chat usage: 120 prompt tokens (100 of them cached), 30 out.
#: (model, tier) -> USD per million (input, cached input, output), from OpenAI's pricing pages.
OPENAI_TIER_PRICES = {
    ("o3", "flex"): (1.00, 0.25, 4.00),
    ("gpt-4o", "priority"): (4.25, 2.125, 17.00),
    ("gpt-4o", "default"): (2.50, 1.25, 10.00),
}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize(("model", "tier"), list(OPENAI_TIER_PRICES), ids="-".join)
def test_an_openai_call_is_priced_by_the_tier_that_served_it(server, observed, model, tier, stream):
    registry, observer, _ = observed
    client = openai_client(server, observer)
    answer = client.chat.completions.create(
        model=model, messages=MESSAGES, service_tier=tier, stream=stream
    )
    if stream:
        list(answer)
    price_in, price_cached, price_out = OPENAI_TIER_PRICES[(model, tier)]
    expected = (20 * price_in + 100 * price_cached + 30 * price_out) / MTOK
    assert spent(registry, model, "openai") == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_openai_web_searches_are_billed_per_call(server, observed, stream):
    if not hasattr(openai.OpenAI(api_key="sk-probe"), "responses"):
        pytest.skip("this openai has no Responses API")
    registry, observer, _ = observed
    client = openai_client(server, observer)
    answer = client.responses.create(
        model="gpt-4o", input="Hi", tools=[{"type": "web_search"}], stream=stream
    )
    if stream:
        list(answer)
    # 200 in (50 cached) and 40 out at 2.50 / 1.25 / 10.00, and one search at USD 10 per 1,000.
    expected = (150 * 2.50 + 50 * 1.25 + 40 * 10.00) / MTOK + 10.00 / 1000
    assert spent(registry, "gpt-4o", "openai") == pytest.approx(expected, rel=1e-9)


WEB_SEARCH_TOOL = {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}
ONE_HOUR_SYSTEM = [
    {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}
]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("one_hour", [False, True], ids=["5m-writes", "1h-writes"])
@pytest.mark.parametrize("searches", [False, True], ids=["no-search", "web-search"])
def test_anthropic_cache_writes_and_searches_are_priced_as_billed(
    server, observed, stream, one_hour, searches
):
    anthropic = pytest.importorskip("anthropic")
    registry, observer, _ = observed
    client = anthropic.Anthropic(
        api_key="sk-ant-local", base_url=server.url.removesuffix("/v1"), max_retries=0
    )
    llmobs.instrument(client, agent_id="svea.writer", observer=observer)
    extra: dict = {}
    if one_hour:
        extra["system"] = ONE_HOUR_SYSTEM
    if searches:
        extra["tools"] = [WEB_SEARCH_TOOL]
    model = "claude-sonnet-4-6"
    answer = client.messages.create(
        model=model, max_tokens=256, messages=MESSAGES, stream=stream, **extra
    )
    if stream:
        list(answer)
    # Claude Sonnet 4.6 list prices: 3 in, 0.30 cache hits, 3.75 five-minute writes, 6 one-hour
    # writes, 15 out per million tokens; web search USD 10 per 1,000. The server's usage: 20 in,
    # 300 read from the cache, 80 written to it, 60 out.
    write_price = 6.00 if one_hour else 3.75
    expected = (20 * 3 + 300 * 0.30 + 80 * write_price + ANTHROPIC_OUTPUT_TOKENS * 15) / MTOK
    expected += WEB_SEARCHES * 10.00 / 1000 if searches else 0.0
    assert spent(registry, model, "anthropic") == pytest.approx(expected, rel=1e-9)


EMBEDDINGS_PER_MTOK = {"text-embedding-3-small": 0.02, "text-embedding-3-large": 0.13}


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("model", list(EMBEDDINGS_PER_MTOK))
def test_openai_embeddings_are_counted_as_their_own_operation_and_priced(
    server, observed, model, asynchronous
):
    registry, observer, _ = observed
    texts = ["the quick brown fox", "jumps over the lazy dog today"]
    if asynchronous:
        client = openai.AsyncOpenAI(api_key="sk-local", base_url=server.url, max_retries=0)
        llmobs.instrument(client, agent_id="svea.writer", observer=observer)
        answer = asyncio.run(client.embeddings.create(model=model, input=texts))
    else:
        answer = openai_client(server, observer).embeddings.create(model=model, input=texts)
    assert [item.embedding for item in answer.data] == [[0.5, -0.25, 0.125]] * 2
    tokens = embedding_tokens({"input": texts})
    labels = {"agent_id": "svea.writer", "model": model, "provider": "openai"}
    embeddings = {**labels, "operation": "embeddings"}
    assert registry.get_sample_value("llm_requests_total", {**embeddings, "status": "success"}) == 1
    prompt = {**embeddings, "token_type": "prompt"}
    assert registry.get_sample_value("llm_tokens_used_total", prompt) == tokens
    assert registry.get_sample_value("llm_request_duration_seconds_count", embeddings) == 1
    expected = tokens * EMBEDDINGS_PER_MTOK[model] / MTOK
    assert registry.get_sample_value("llm_cost_total", embeddings) == pytest.approx(expected)
    assert sample(registry, "llm_requests_total", operation="chat") == 0
    assert sample(registry, "llm_usage_missing_total") == 0


def test_an_openai_image_is_its_own_operation_priced_by_text_and_image_tokens(server, observed):
    registry, observer, _ = observed
    client = openai_client(server, observer)
    client.images.generate(model="gpt-image-1", prompt="a lighthouse at dusk")
    image = {"agent_id": "svea.writer", "model": "gpt-image-1", "provider": "openai"}
    image["operation"] = "image"
    assert registry.get_sample_value("llm_requests_total", {**image, "status": "success"}) == 1
    # gpt-image-1: text input USD 5, image input 10, image output 40 per million tokens.
    expected = (100 * 5.00 + 1_000 * 10.00 + 4_160 * 40.00) / MTOK
    assert registry.get_sample_value("llm_cost_total", image) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        # gpt-4o-transcribe: audio input USD 6, text input 2.50, output 10 per million tokens.
        ("gpt-4o-transcribe", (1_200 * 6.00 + 50 * 2.50 + 80 * 10.00) / MTOK),
        # whisper-1: USD 0.006 a minute.
        ("whisper-1", TRANSCRIBED_SECONDS / 60 * 0.006),
    ],
)
def test_a_transcription_is_priced_by_its_audio(server, observed, tmp_path, model, expected):
    registry, observer, _ = observed
    client = openai_client(server, observer)
    recording = tmp_path / "hello.mp3"
    recording.write_bytes(b"ID3-local-audio")
    with recording.open("rb") as audio:
        client.audio.transcriptions.create(model=model, file=audio)
    audio_call = {"agent_id": "svea.writer", "model": model, "provider": "openai"}
    audio_call["operation"] = "audio"
    assert registry.get_sample_value("llm_cost_total", audio_call) == pytest.approx(expected)
    assert sample(registry, "llm_usage_missing_total") == 0


@pytest.mark.parametrize(("model", "per_million_characters"), [("tts-1", 15.0), ("tts-1-hd", 30.0)])
def test_speech_is_priced_by_the_characters_it_was_given(
    server, observed, model, per_million_characters
):
    registry, observer, _ = observed
    client = openai_client(server, observer)
    text = "Good evening. The lighthouse is lit."
    spoken = client.audio.speech.create(model=model, voice="alloy", input=text)
    assert spoken.content == SPOKEN
    speech = {"agent_id": "svea.writer", "model": model, "provider": "openai", "operation": "audio"}
    expected = len(text) * per_million_characters / MTOK
    assert registry.get_sample_value("llm_cost_total", speech) == pytest.approx(expected)
