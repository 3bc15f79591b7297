"""Costs beyond plain chat tokens: Anthropic's one-hour cache writes, web searches billed per
search, and service tiers (batch, flex, priority), checked against the providers' list prices."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import CollectorRegistry

from llmobs import LLMCostCalculator, LLMMetrics, LLMObserver, PriceFileError
from llmobs.errors import InvalidRecordError
from llmobs.price_overrides import parse_overrides
from llmobs.rates import Media, TokenRates
from llmobs.streams import StreamReader
from llmobs.usage import extract_usage

from .samples import invalid, sample

M = 1_000_000
K100 = 100_000  # under every long-context threshold (Claude's 200k, OpenAI priority's 128k)

# Held-out cases written from the providers' pricing pages (anthropic.com/pricing,
# openai.com/api/pricing and openai.com/api-priority-processing, ai.google.dev/pricing,
# aws.amazon.com/bedrock/pricing: batch at half the on-demand price):
# (model, provider, tier, usage keywords, USD).
LIST_PRICES = [
    ("claude-sonnet-4-5", "anthropic", None, {"w1h": K100}, 0.600),
    ("claude-opus-4-1", "anthropic", None, {"w1h": M}, 30.00),
    ("claude-haiku-4-5", "anthropic", None, {"w5m": M}, 1.25),
    ("claude-sonnet-4-5", "anthropic", "batch", {"p": K100, "c": K100}, 0.150 + 0.750),
    ("claude-sonnet-4-5", "anthropic", None, {"p": 300_000}, 300_000 * 6.00 / M),  # past 200k
    ("claude-haiku-4-5", "anthropic", None, {"searches": 1000}, 10.00),
    ("gpt-4.1", "openai", "batch", {"p": M, "c": M}, 1.00 + 4.00),
    ("gpt-4o-mini", "openai", "batch", {"p": M, "c": M}, 0.075 + 0.30),
    ("o3", "openai", "flex", {"p": M, "c": M}, 1.00 + 4.00),
    ("gpt-5", "openai", "priority", {"p": K100, "c": K100}, 0.250 + 2.000),
    ("gpt-4.1-mini", "openai", "priority", {"read": K100}, 0.0175),
    ("gpt-4o", "openai", "priority", {"p": K100, "read": K100, "c": K100}, 0.425 + 0.2125 + 1.7),
    ("gemini-2.5-flash", "google", "batch", {"p": M, "c": M}, 0.15 + 1.25),
    ("amazon.nova-pro-v1:0", "bedrock", "batch", {"p": M, "c": M}, 0.40 + 1.60),  # by the rule
    ("o4-mini", "openai", "priority", {"p": M, "c": M}, 2.00 + 8.00),
    ("gemini-2.5-pro", "google", "batch", {"p": 300_000}, 300_000 * 1.25 / M),  # past 200k
    ("gpt-4o", "openai", None, {"searches": 1000}, 10.00),
    ("gpt-4o", "openai", "default", {"p": M}, 2.50),
]


def usage_keywords(p=0, c=0, read=0, w5m=0, w1h=0, searches=0) -> dict[str, int]:
    """calculate_cost's keywords for a usage given by parts (the prompt holds the cache's)."""
    return {
        "prompt_tokens": p + read + w5m + w1h,
        "completion_tokens": c,
        "cache_read_tokens": read,
        "cache_write_tokens": w5m + w1h,
        "cache_write_1h_tokens": w1h,
        "web_searches": searches,
    }


@pytest.mark.parametrize(("model", "provider", "tier", "usage", "usd"), LIST_PRICES)
def test_the_list_price_of_each_kind_of_cost(calculator, model, provider, tier, usage, usd):
    cost = calculator.calculate_cost(
        model, provider=provider, service_tier=tier, **usage_keywords(**usage)
    )
    assert cost == pytest.approx(usd, rel=1e-9)


def test_a_one_hour_write_without_its_own_price_costs_twice_the_input():
    rates = TokenRates(input=3.0, output=15.0, cache_write=3.75)
    cost = rates.cost(1000, 0, cache_write_tokens=1000, cache_write_1h_tokens=400)
    assert cost == pytest.approx((600 * 3.75 + 400 * 6.0) / M)


def test_a_batch_discount_leaves_fees_per_request_and_per_search_whole():
    rates = TokenRates(input=2.0, output=8.0, per_request=0.001, per_web_search=0.01)
    batch = rates.scaled(0.5)
    assert batch.cost(M, M, web_searches=2) == pytest.approx(1.0 + 4.0 + 0.001 + 0.02)


def test_a_price_file_entry_for_a_tier_wins_over_the_derived_price(metrics):
    overrides = parse_overrides(
        {
            "prices": [
                {"model": "house-model", "input": 4.0, "output": 8.0},
                {"model": "house-model", "service_tier": "batch", "input": 1.0, "output": 2.0},
                {"model": "gpt-4o", "service_tier": "Priority", "input": 5.0, "output": 20.0},
            ]
        },
        "prices.yaml",
    )
    calc = LLMCostCalculator(overrides=overrides, metrics=metrics)
    assert calc.calculate_cost("house-model", M, M) == pytest.approx(12.0)
    assert calc.calculate_cost("house-model", M, M, service_tier="batch") == pytest.approx(3.0)
    assert calc.calculate_cost("house-model", M, M, service_tier="flex") == pytest.approx(12.0)
    priority = calc.calculate_cost("gpt-4o", M, M, provider="openai", service_tier="priority")
    assert priority == pytest.approx(25.0)


def test_a_price_file_prices_one_hour_writes_and_searches(metrics):
    overrides = parse_overrides(
        {
            "prices": [
                {"model": "m", "input": 1, "output": 1, "cache_write_1h": 5, "per_web_search": 0.5}
            ]
        },
        "prices.yaml",
    )
    calc = LLMCostCalculator(overrides=overrides, metrics=metrics)
    cost = calc.calculate_cost(
        "m", M, 0, cache_write_tokens=M, cache_write_1h_tokens=M, web_searches=3
    )
    assert cost == pytest.approx(5.0 + 1.5)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"service_tier": "turbo"}, "unknown service tier 'turbo'"),
        ({"service_tier": 3}, "must be a non-empty string"),
        ({"per_web_search": -1}, "finite price of 0 or more"),
    ],
)
def test_a_bad_tier_or_search_price_in_a_price_file_is_refused(entry, message):
    with pytest.raises(PriceFileError, match=message):
        parse_overrides({"prices": [{"model": "m", "input": 1, "output": 1, **entry}]}, "p.yaml")


def test_a_tier_with_no_price_is_priced_standard_and_logged_once(calculator, caplog):
    with caplog.at_level(logging.WARNING, logger="llmobs"):
        for _ in range(3):
            cost = calculator.calculate_cost("gpt-5-nano", K100, 0, service_tier="priority")
            assert cost == pytest.approx(calculator.calculate_cost("gpt-5-nano", K100, 0))
        turbo = calculator.calculate_cost("gpt-4o", M, 0, provider="openai", service_tier="turbo")
    assert turbo == pytest.approx(2.50)
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2
    assert "'priority'" in warnings[0] and "gpt-5-nano" in warnings[0]


@pytest.mark.parametrize(
    ("keywords", "reason"),
    [
        ({"cache_write_tokens": 10, "cache_write_1h_tokens": 11}, "invalid_tokens"),
        ({"web_searches": -1}, "negative_tokens"),
        ({"web_searches": 1.5}, "invalid_tokens"),
        ({"service_tier": 5}, "invalid_label"),
    ],
)
def test_bad_counts_of_the_new_kinds_are_counted_rejections(calculator, registry, keywords, reason):
    assert calculator.calculate_cost("gpt-4o", 100, 10, **keywords) == 0.0
    assert invalid(registry, reason) == 1


def anthropic_usage(**extra) -> dict:
    return {
        "input_tokens": 10,
        "output_tokens": 5,
        "cache_creation_input_tokens": 100,
        "cache_creation": {"ephemeral_5m_input_tokens": 40, "ephemeral_1h_input_tokens": 60},
        **extra,
    }


def test_anthropic_usage_gives_its_one_hour_writes_searches_and_tier():
    usage = extract_usage(
        {"usage": anthropic_usage(server_tool_use={"web_search_requests": 3}, service_tier="batch")}
    )
    assert (usage.cache_write_tokens, usage.cache_write_1h_tokens) == (100, 60)
    assert (usage.web_search_requests, usage.service_tier) == (3, "batch")


def test_an_openai_response_gives_its_tier_and_web_search_calls():
    response = {
        "service_tier": "flex",
        "output": [{"type": "web_search_call"}, {"type": "web_search_call"}, {"type": "message"}],
        "usage": {"input_tokens": 10, "output_tokens": 5, "input_tokens_details": {}},
    }
    usage = extract_usage(response)
    assert (usage.service_tier, usage.web_search_requests) == ("flex", 2)
    chat = extract_usage({"service_tier": "default", "usage": {"prompt_tokens": 1}})
    assert chat.service_tier is None  # the standard tier


def test_streams_carry_the_searches_and_the_tier():
    anthropic = StreamReader()
    anthropic.feed({"type": "message_start", "message": {"usage": anthropic_usage()}})
    anthropic.feed(
        {
            "type": "message_delta",
            "usage": {"output_tokens": 9, "server_tool_use": {"web_search_requests": 2}},
        }
    )
    assert anthropic.usage.cache_write_1h_tokens == 60
    assert (anthropic.usage.web_search_requests, anthropic.usage.completion_tokens) == (2, 9)
    chat = StreamReader()
    chat.feed({"service_tier": "priority", "choices": [{"delta": {"content": "Hi"}}]})
    last = {"service_tier": "priority", "choices": [], "usage": {"prompt_tokens": 3}}
    chat.feed(last)
    assert chat.usage.service_tier == "priority"


def test_a_call_set_to_batch_by_its_caller_is_priced_as_batch():
    registry = CollectorRegistry()
    observer = LLMObserver(metrics=LLMMetrics(registry=registry))
    labels = {"agent_id": "a", "model": "gemini-2.5-flash", "provider": "google"}
    with observer.call(**labels) as call:
        response = {"usage_metadata": {"prompt_token_count": M, "candidates_token_count": M}}
        call.set_usage(response, service_tier="batch")
    assert sample(registry, "llm_cost_total", **labels) == pytest.approx(0.15 + 1.25)
    with observer.call(**labels) as call:
        call.set_usage(prompt_tokens=M, completion_tokens=0, service_tier=7)
    assert invalid(registry, "invalid_label") == 1


def test_an_enforced_call_reserves_the_price_of_the_tier_it_asks_for():
    from llmobs import BudgetExceededError

    from .samples import enforcing_observer, observed_stack

    # gpt-4o with 100k tokens in and 10k out: 0.35 at the standard price, 0.595 as priority.
    observer = enforcing_observer(observed_stack(), daily_budget=0.50)
    request = {"messages": [{"role": "user", "content": "Hi"}]}
    with observer.call("a", "gpt-4o", "openai", prompt_tokens=100_000, max_tokens=10_000,
                       request=request):  # fmt: skip
        pass
    priority = {**request, "service_tier": "priority"}
    with (
        pytest.raises(BudgetExceededError),
        observer.call(
            "a", "gpt-4o", "openai", prompt_tokens=100_000, max_tokens=10_000, request=priority
        ),
    ):
        pass


# Audio and image parts, held out the same way (openai.com/api/pricing: audio tokens, image
# tokens, transcription and speech; ai.google.dev/pricing: audio input):
# (model, provider, tier, (prompt, completion), Media, USD).
MEDIA_LIST_PRICES = [
    # 600k text at 2.50 and 400k audio at 40 in, 500k text at 10 and 500k audio at 80 out.
    ("gpt-4o-audio-preview", "openai", None, (M, M), Media(400_000, 0, 500_000), 62.5),
    ("gpt-4o-mini-audio-preview", "openai", None, (M, M), Media(M, 0, M), 10.0 + 20.0),
    # 40k text at 5 and 60k image tokens at 10 in, 100k image tokens out at 40.
    ("gpt-image-1", "openai", None, (100_000, 100_000), Media(0, 60_000), 0.2 + 0.6 + 4.0),
    ("gpt-image-1", "openai", "batch", (M, 0), Media(), 2.50),
    ("gemini-2.0-flash", "google", None, (M, M), Media(250_000), 0.075 + 0.175 + 0.40),
    ("gemini-2.5-flash", "google", None, (M, 0), Media(M), 1.00),
    ("gpt-4o-transcribe", "openai", None, (M, 100_000), Media(M), 6.00 + 1.00),
    ("gpt-4o-mini-transcribe", "openai", None, (M, 0), Media(M), 3.00),
    ("whisper-1", "openai", None, (0, 0), Media(audio_seconds=600), 0.06),
    ("tts-1", "openai", None, (0, 0), Media(input_characters=M), 15.00),
    ("tts-1-hd", "openai", None, (0, 0), Media(input_characters=100_000), 3.00),
]


@pytest.mark.parametrize(("model", "provider", "tier", "tokens", "media", "usd"), MEDIA_LIST_PRICES)
def test_the_list_price_of_audio_and_image_parts(
    calculator, model, provider, tier, tokens, media, usd
):
    cost = calculator.cost_of(model, *tokens, provider=provider, service_tier=tier, media=media)
    assert cost == pytest.approx(usd, rel=1e-9)


def test_media_parts_larger_than_their_whole_are_billed_once():
    rates = TokenRates(input=2.5, output=10.0, cache_read=1.25, audio_input=40.0)
    # 1,000 prompt tokens, 800 of them cached; a provider that also counts those 800 as audio
    # is billed the 200 uncached at the audio rate, never 800.
    cost = rates.cost(1000, 0, cache_read_tokens=800, media=Media(audio_input_tokens=800))
    assert cost == pytest.approx((800 * 1.25 + 200 * 40.0) / M)


def test_usage_readers_give_the_audio_and_image_parts():
    chat = extract_usage(
        {
            "usage": {
                "prompt_tokens": 500,
                "completion_tokens": 300,
                "prompt_tokens_details": {"audio_tokens": 400, "cached_tokens": 0},
                "completion_tokens_details": {"audio_tokens": 250},
            }
        }
    )
    assert chat.media == Media(audio_input_tokens=400, audio_output_tokens=250)
    image = extract_usage(
        {
            "usage": {
                "input_tokens": 100,
                "output_tokens": 4160,
                "input_tokens_details": {"text_tokens": 40, "image_tokens": 60},
            }
        }
    )
    assert image.media == Media(image_input_tokens=60)
    gemini = extract_usage(
        {
            "usage_metadata": {
                "prompt_token_count": 1000,
                "candidates_token_count": 20,
                "prompt_tokens_details": [
                    {"modality": "TEXT", "token_count": 250},
                    {"modality": "AUDIO", "token_count": 700},
                    {"modality": "IMAGE", "token_count": 50},
                ],
            }
        }
    )
    assert gemini.media == Media(audio_input_tokens=700, image_input_tokens=50)
    assert extract_usage({"usage": {"prompt_tokens": 5, "completion_tokens": 1}}).media == Media()


def test_a_price_file_prices_audio_image_minutes_and_characters(metrics):
    entry = {
        "model": "my-voice",
        "input": 1.0,
        "output": 2.0,
        "audio_input": 10.0,
        "image_input": 5.0,
        "audio_output": 20.0,
        "per_audio_minute": 0.01,
        "per_million_characters": 15.0,
    }
    calc = LLMCostCalculator(
        overrides=parse_overrides({"prices": [entry]}, "p.yaml"), metrics=metrics
    )
    media = Media(M // 2, M // 4, M, audio_seconds=120, input_characters=M)
    cost = calc.cost_of("my-voice", M, M, media=media)
    assert cost == pytest.approx(0.25 * 1.0 + 5.0 + 1.25 + 20.0 + 0.02 + 15.0)


@pytest.mark.parametrize(
    ("media", "reason"),
    [
        (Media(audio_input_tokens=-1), "negative_tokens"),
        (Media(audio_seconds=float("nan")), "invalid_duration"),
        (Media(input_characters=1.5), "invalid_tokens"),
    ],
)
def test_bad_media_counts_are_refused(calculator, media, reason):
    with pytest.raises(InvalidRecordError) as raised:
        calculator.cost_of("gpt-4o", 10, 10, media=media)
    assert raised.value.reason.value == reason
