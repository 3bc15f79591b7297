"""``llmobs.instrument`` on the real ``google-genai`` and ``boto3`` (Bedrock Runtime) SDKs,
against a local server that answers like the Gemini API (JSON and server-sent events) and like
Bedrock's Converse API (JSON and AWS's binary event stream)."""

from __future__ import annotations

import asyncio
import json

import pytest

import llmobs
from tests.provider_server import BEDROCK_USAGE, INVOKED_TOKENS, WORDS
from tests.unit.samples import enforcing_observer, sample, tokens_by_type

GEMINI = "gemini-2.5-flash"
CLAUDE_ON_BEDROCK = "anthropic.claude-3-5-haiku-20241022-v1:0"
CONVERSATION = [{"role": "user", "content": [{"text": "Hi"}]}]
#: Gemini's usage in the llmobs convention: thoughts are output, cached content is prompt.
GEMINI_TOKENS = {
    "prompt": 500,
    "completion": 64,
    "cache_read": 400,
    "cache_write": 0,
    "reasoning": 24,
}
#: Bedrock's, with the cache's input tokens added to its ``inputTokens``.
BEDROCK_TOKENS = {
    "prompt": 1530,
    "completion": 50,
    "cache_read": 1200,
    "cache_write": 300,
    "reasoning": 0,
}


def labels(model: str, provider: str) -> dict[str, str]:
    return {"agent_id": "svea.writer", "model": model, "provider": provider}


# -- Gemini (google-genai) --------------------------------------------------------------


@pytest.fixture
def gemini(server, observed):
    genai = pytest.importorskip("google.genai")
    client = genai.Client(api_key="local", http_options={"base_url": server.url[: -len("/v1")]})
    return llmobs.instrument(client, agent_id="svea.writer", observer=observed[1])


def test_a_gemini_call_is_recorded_with_thoughts_and_cached_content(gemini, observed):
    registry, _, calculator = observed
    answer = gemini.models.generate_content(model=f"models/{GEMINI}", contents="Hi")
    assert answer.text == "".join(WORDS)
    assert tokens_by_type(registry, **labels(GEMINI, "google")) == GEMINI_TOKENS
    expected = calculator.cost_of(GEMINI, 500, 64, provider="google", cache_read_tokens=400)
    assert expected and sample(registry, "llm_cost_total", **labels(GEMINI, "google")) == (
        pytest.approx(expected)
    )


def test_a_gemini_stream_is_recorded_once_from_its_last_usage(gemini, observed):
    registry = observed[0]
    chunks = list(gemini.models.generate_content_stream(model=GEMINI, contents="Hi"))
    assert "".join(chunk.text for chunk in chunks) == "".join(WORDS)
    assert tokens_by_type(registry, **labels(GEMINI, "google")) == GEMINI_TOKENS
    assert (
        sample(registry, "llm_time_to_first_token_seconds_count", **labels(GEMINI, "google")) == 1
    )
    assert sample(registry, "llm_requests_total", **labels(GEMINI, "google"), status="success") == 1


def test_async_gemini_calls_and_streams(gemini, observed):
    registry = observed[0]

    async def main() -> str:
        await gemini.aio.models.generate_content(model=GEMINI, contents="Hi")
        stream = await gemini.aio.models.generate_content_stream(model=GEMINI, contents="Hi")
        return "".join([chunk.text async for chunk in stream])

    assert asyncio.run(main()) == "".join(WORDS)
    assert sample(registry, "llm_requests_total", **labels(GEMINI, "google"), status="success") == 2
    assert (
        sample(
            registry, "llm_tokens_used_total", **labels(GEMINI, "google"), token_type="reasoning"
        )
        == 48
    )
    assert sample(registry, "llm_active_requests", agent_id="svea.writer", provider="google") == 0


def test_a_gemini_stream_that_breaks_is_an_error_whose_usage_so_far_was_seen(gemini, observed):
    registry = observed[0]
    model = f"{GEMINI}-break"
    with pytest.raises(Exception) as raised:
        list(gemini.models.generate_content_stream(model=model, contents="Hi"))
    where = labels(model, "google")
    assert (
        sample(registry, "llm_errors_total", **where, error_type=type(raised.value).__name__) == 1
    )
    assert sample(registry, "llm_usage_missing_total", **where, reason="stream_error") == 0


def test_uninstrument_restores_a_gemini_client(gemini, observed):
    llmobs.uninstrument(gemini)
    for models in (gemini.models, gemini.aio.models):
        assert "generate_content" not in vars(models)
        assert "generate_content_stream" not in vars(models)
    gemini.models.generate_content(model=GEMINI, contents="Hi")
    assert (
        sample(observed[0], "llm_requests_total", **labels(GEMINI, "google"), status="success") == 0
    )


# -- AWS Bedrock (boto3) ----------------------------------------------------------------


@pytest.fixture
def bedrock(server, observed):
    boto3 = pytest.importorskip("boto3")
    from botocore.config import Config

    client = boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=server.url[: -len("/v1")],
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"mode": "standard", "max_attempts": 3}),
    )
    return llmobs.instrument(client, agent_id="svea.writer", observer=observed[1])


def test_a_bedrock_converse_call_is_recorded_with_its_cache_tokens(bedrock, observed):
    registry, _, calculator = observed
    answer = bedrock.converse(modelId=CLAUDE_ON_BEDROCK, messages=CONVERSATION)
    assert answer["usage"] == BEDROCK_USAGE  # the caller's answer, untouched
    where = labels(CLAUDE_ON_BEDROCK, "bedrock")
    assert tokens_by_type(registry, **where) == BEDROCK_TOKENS
    expected = calculator.cost_of(
        CLAUDE_ON_BEDROCK, 1530, 50, provider="bedrock",
        cache_read_tokens=1200, cache_write_tokens=300,
    )  # fmt: skip
    assert expected and sample(registry, "llm_cost_total", **where) == pytest.approx(expected)


def test_a_bedrock_stream_is_recorded_from_its_metadata_event(bedrock, observed):
    registry = observed[0]
    answer = bedrock.converse_stream(modelId=CLAUDE_ON_BEDROCK, messages=CONVERSATION)
    events = list(answer["stream"])
    assert next(iter(events[0])) == "messageStart"
    assert events[-1]["metadata"]["usage"] == BEDROCK_USAGE
    where = labels(CLAUDE_ON_BEDROCK, "bedrock")
    assert tokens_by_type(registry, **where) == BEDROCK_TOKENS
    assert sample(registry, "llm_time_to_first_token_seconds_count", **where) == 1
    assert sample(registry, "llm_time_per_output_token_seconds_count", **where) == 1


def test_a_bedrock_stream_left_early_is_recorded_once(bedrock, observed):
    registry = observed[0]
    stream = bedrock.converse_stream(modelId=CLAUDE_ON_BEDROCK, messages=CONVERSATION)["stream"]
    next(iter(stream))
    stream.close()
    where = labels(CLAUDE_ON_BEDROCK, "bedrock")
    assert sample(registry, "llm_requests_total", **where, status="success") == 1
    assert sample(registry, "llm_usage_missing_total", **where, reason="stream_closed") == 1


def test_a_bedrock_stream_error_is_counted_by_its_aws_error_code(bedrock, observed):
    registry = observed[0]
    model = f"{CLAUDE_ON_BEDROCK}-break"
    stream = bedrock.converse_stream(modelId=model, messages=CONVERSATION)["stream"]
    with pytest.raises(Exception, match="modelStreamErrorException"):
        list(stream)
    where = labels(model, "bedrock")
    assert (
        sample(registry, "llm_errors_total", **where, error_type="modelStreamErrorException") == 1
    )
    assert sample(registry, "llm_usage_missing_total", **where, reason="stream_error") == 1


def test_a_bedrock_throttle_then_success_is_one_call_and_one_retry(bedrock, observed):
    registry = observed[0]
    model = f"{CLAUDE_ON_BEDROCK}-429once"
    bedrock.converse(modelId=model, messages=CONVERSATION)
    where = labels(model, "bedrock")
    assert sample(registry, "llm_requests_total", **where, status="success") == 1
    assert sample(registry, "llm_retries_total", **where) == 1
    assert sample(registry, "llm_failed_attempts_total", **where, code="429") == 1


def test_an_enforced_budget_reserves_bedrocks_max_tokens(bedrock, observed, server):
    llmobs.uninstrument(bedrock)
    observer = enforcing_observer(observed, daily_budget=0.01)
    llmobs.instrument(bedrock, observer=observer)
    sent = len(server.requests)
    with pytest.raises(llmobs.BudgetExceededError):
        bedrock.converse(
            modelId=CLAUDE_ON_BEDROCK,
            messages=CONVERSATION,
            inferenceConfig={"maxTokens": 100_000},
        )
    assert len(server.requests) == sent


def test_uninstrument_restores_a_bedrock_client(bedrock, observed):
    llmobs.uninstrument(bedrock)
    assert "converse" not in vars(bedrock) and "converse_stream" not in vars(bedrock)
    bedrock.converse(modelId=f"{CLAUDE_ON_BEDROCK}-429once-again", messages=CONVERSATION)
    assert (
        sample(
            observed[0],
            "llm_retries_total",
            **labels(f"{CLAUDE_ON_BEDROCK}-429once-again", "unknown"),
        )
        == 0
    )
    assert (
        sample(
            observed[0],
            "llm_requests_total",
            **labels(CLAUDE_ON_BEDROCK, "bedrock"),
            status="success",
        )
        == 0
    )


def test_a_boto3_client_of_another_service_is_refused():
    boto3 = pytest.importorskip("boto3")
    s3 = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    with pytest.raises(TypeError, match="bedrock-runtime"):
        llmobs.instrument(s3)


def test_a_bedrock_embedding_through_invoke_model_is_priced_from_bedrocks_headers(
    bedrock, observed
):
    registry = observed[0]
    model = "amazon.titan-embed-text-v2:0"
    text = "the lighthouse keeper counts the ships"
    answer = bedrock.invoke_model(modelId=model, body=json.dumps({"inputText": text}))
    assert json.loads(answer["body"].read())["embedding"] == [0.5, -0.25]  # still the caller's
    where = {**labels(model, "bedrock"), "operation": "embeddings"}
    tokens = len(text.split())
    assert sample(registry, "llm_tokens_used_total", **where, token_type="prompt") == tokens
    # Titan Text Embeddings V2: USD 0.00002 per 1,000 input tokens (aws.amazon.com/bedrock/pricing).
    assert sample(registry, "llm_cost_total", **where) == pytest.approx(tokens * 0.02 / 1e6)
    assert sample(registry, "llm_requests_total", operation="chat") == 0


def test_a_bedrock_chat_through_invoke_model_counts_the_cache_tokens_of_its_headers(
    bedrock, observed
):
    registry, _, calculator = observed
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 50, "messages": []}
    bedrock.invoke_model(modelId=CLAUDE_ON_BEDROCK, body=json.dumps(body))
    where = {**labels(CLAUDE_ON_BEDROCK, "bedrock"), "operation": "chat"}
    read, write = INVOKED_TOKENS["read"], INVOKED_TOKENS["write"]
    prompt = INVOKED_TOKENS["input"] + read + write
    assert sample(registry, "llm_tokens_used_total", **where, token_type="prompt") == prompt
    assert sample(registry, "llm_tokens_used_total", **where, token_type="cache_read") == read
    expected = calculator.cost_of(
        CLAUDE_ON_BEDROCK, prompt, INVOKED_TOKENS["output"], provider="bedrock",
        cache_read_tokens=read, cache_write_tokens=write,
    )  # fmt: skip
    assert expected and sample(registry, "llm_cost_total", **where) == pytest.approx(expected)


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_gemini_embedding_is_its_own_operation_priced_from_its_usage(
    gemini, observed, asynchronous
):
    from google.genai import types

    if "usage_metadata" not in types.EmbedContentResponse.model_fields:
        pytest.skip("this google-genai drops the usage of embeddings")
    registry = observed[0]
    model = "gemini-embedding-001"
    texts = ["the lighthouse keeper", "counts the ships at night"]
    if asynchronous:
        answer = asyncio.run(gemini.aio.models.embed_content(model=model, contents=texts))
    else:
        answer = gemini.models.embed_content(model=model, contents=texts)
    assert [e.values for e in answer.embeddings] == [[0.5, -0.25]] * 2
    where = {**labels(model, "google"), "operation": "embeddings"}
    tokens = sum(len(text.split()) for text in texts)
    assert sample(registry, "llm_tokens_used_total", **where, token_type="prompt") == tokens
    # gemini-embedding-001: USD 0.15 per million input tokens (ai.google.dev/pricing).
    assert sample(registry, "llm_cost_total", **where) == pytest.approx(tokens * 0.15 / 1e6)
