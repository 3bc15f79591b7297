"""Each provider's usage shape is told apart and read, asking a usage object only for what its
shape may hold; rate-limit headers are read from an answer's headers whatever their case."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from llmobs import LLMMetrics
from llmobs.rates import Media
from llmobs.sdks.attempts import headroom_headers, read_headroom
from llmobs.usage import TokenUsage, extract_usage

from .samples import sample


class Model:
    """A usage object as an SDK's pydantic model is: every declared field set (None when the
    answer has none), and asking for an undeclared one raises, which costs an exception."""

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)
        self.__dict__["asked_undeclared"] = []

    def __getattr__(self, name: str) -> Any:
        self.__dict__["asked_undeclared"].append(name)
        raise AttributeError(name)


CHAT = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
SHAPES = [
    # (usage, what it reads as)
    (CHAT, TokenUsage(prompt_tokens=100, completion_tokens=20)),
    (
        {"input_tokens": 100, "output_tokens": 20, "input_tokens_details": {"cached_tokens": 40}},
        TokenUsage(prompt_tokens=100, completion_tokens=20, cache_read_tokens=40),
    ),
    (
        {"input_tokens": 10, "output_tokens": 20, "cache_read_input_tokens": 90},
        TokenUsage(prompt_tokens=100, completion_tokens=20, cache_read_tokens=90),
    ),
    (
        {"prompt_token_count": 100, "candidates_token_count": 15, "thoughts_token_count": 5},
        TokenUsage(prompt_tokens=100, completion_tokens=20, reasoning_tokens=5),
    ),
    (
        {"inputTokens": 10, "outputTokens": 20, "cacheWriteInputTokens": 90},
        TokenUsage(prompt_tokens=100, completion_tokens=20, cache_write_tokens=90),
    ),
    (
        {
            "type": "tokens",
            "input_tokens": 100,
            "output_tokens": 20,
            "input_token_details": {"audio_tokens": 80},
        },
        TokenUsage(prompt_tokens=100, completion_tokens=20, media=Media(audio_input_tokens=80)),
    ),
    ({"type": "duration", "seconds": 12.5}, TokenUsage(media=Media(audio_seconds=12.5))),
]


@pytest.mark.parametrize("usage,expected", SHAPES, ids=lambda v: str(v)[:40])
def test_each_usage_shape_reads_as_its_provider_reports_it(usage, expected):
    assert extract_usage({"usage": usage}) == expected


#: The fields the SDKs' usage models declare (openai's CompletionUsage, anthropic's Usage).
OPENAI_CHAT_FIELDS = {**CHAT, "prompt_tokens_details": None, "completion_tokens_details": None}
ANTHROPIC_FIELDS = {
    "input_tokens": 10,
    "output_tokens": 20,
    "cache_creation_input_tokens": None,
    "cache_read_input_tokens": None,
    "cache_creation": None,
    "server_tool_use": None,
    "service_tier": None,
}


@pytest.mark.parametrize(
    "fields,undeclared",
    [
        (OPENAI_CHAT_FIELDS, []),
        (
            ANTHROPIC_FIELDS,
            ["prompt_tokens", "type", "input_tokens_details", "output_tokens_details"],
        ),
    ],
    ids=["openai chat", "anthropic"],
)
def test_a_usage_object_is_asked_for_few_fields_it_lacks(fields, undeclared):
    usage = Model(**fields)
    assert extract_usage(SimpleNamespace(usage=usage, service_tier=None)) is not None
    assert usage.asked_undeclared == undeclared


def test_rate_limit_headers_are_read_whatever_their_case():
    answer = [
        ("Date", "Mon, 07 Dec 2026 02:00:00 GMT"),
        ("X-RateLimit-Limit-Requests", "10000"),
        ("x-ratelimit-remaining-requests", "9000"),
        ("x-ratelimit-reset-requests", "6ms"),
        ("Anthropic-RateLimit-Input-Tokens-Remaining", "40000"),
        ("x-request-id", "req_1"),
    ]
    expected = {"requests": ["10000", "9000"], "input_tokens": [None, "40000"]}
    assert headroom_headers(dict(answer)) == expected
    raw = headroom_headers(httpx.Headers(answer))  # httpx's are read from their bytes
    assert {limit: [v and v.decode() for v in pair] for limit, pair in raw.items()} == expected
    assert headroom_headers(httpx.Headers([("date", "x")])) == {}


def test_headroom_is_set_from_the_raw_headers_and_bad_values_are_skipped():
    registry = CollectorRegistry()
    metrics = LLMMetrics(registry=registry)
    answer = httpx.Headers(
        {
            "x-ratelimit-limit-requests": "10000",
            "x-ratelimit-remaining-requests": "2500",
            "x-ratelimit-limit-tokens": "lots",
            "x-ratelimit-remaining-tokens": "100",
        }
    )
    read_headroom(metrics, "openai", "gpt-4o", answer)
    labels = {"provider": "openai", "model": "gpt-4o"}
    assert sample(registry, "llm_rate_limit_remaining_ratio", **labels, limit="requests") == 0.25
    tokens = {**labels, "limit": "tokens"}
    assert registry.get_sample_value("llm_rate_limit_remaining_ratio", tokens) is None
