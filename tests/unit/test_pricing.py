"""Costs match provider-published prices; overrides win; unknown models never break the caller."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest
from prometheus_client import CollectorRegistry

from llmobs import LLMCostCalculator, LLMMetrics, PriceFileError
from llmobs.price_overrides import parse_overrides

from .samples import invalid, sample

M = 1_000_000


@pytest.fixture
def calc(calculator: LLMCostCalculator) -> LLMCostCalculator:
    return calculator


# USD per million tokens as the providers publish them: input, output, cache read, cache write.
PUBLISHED = [
    ("gpt-4", "openai", 30.0, 60.0, None, None),
    ("gpt-4o", "openai", 2.50, 10.0, 1.25, None),
    ("gpt-4o-2024-08-06", "openai", 2.50, 10.0, 1.25, None),
    ("gpt-4o-mini", "openai", 0.15, 0.60, 0.075, None),
    ("claude-3-5-sonnet-20241022", "anthropic", 3.0, 15.0, 0.30, 3.75),
    ("claude-3-haiku-20240307", "anthropic", 0.25, 1.25, 0.03, 0.30),
    ("gemini-1.5-pro-002", "google", 1.25, 5.0, 0.3125, None),
    ("gemini-1.5-flash", "google", 0.075, 0.30, 0.01875, None),
]


@pytest.mark.parametrize(("model", "provider", "inp", "out", "read", "write"), PUBLISHED)
def test_cost_without_cached_tokens(calc, model, provider, inp, out, read, write):
    cost = calc.calculate_cost(model, 10_000, 2_000, provider=provider)
    assert cost == pytest.approx((10_000 * inp + 2_000 * out) / M, rel=1e-12)


@pytest.mark.parametrize(("model", "provider", "inp", "out", "read", "write"), PUBLISHED)
def test_cost_with_cached_tokens(calc, model, provider, inp, out, read, write):
    cost = calc.calculate_cost(
        model, 10_000, 2_000, provider=provider, cache_read_tokens=6_000, cache_write_tokens=1_000
    )
    expected = (
        3_000 * inp
        + 2_000 * out
        + 6_000 * (read if read is not None else inp)
        + 1_000 * (write if write is not None else inp)
    ) / M
    assert cost == pytest.approx(expected, rel=1e-12)


def test_model_without_provider_resolves(calc):
    assert calc.calculate_cost("gpt-4o-mini", M, 0) == pytest.approx(0.15)
    assert calc.pricing("claude-3-5-sonnet-20241022").priced_as == "anthropic/claude-3-5-sonnet"


@pytest.mark.parametrize(
    ("model", "provider", "priced_as"),
    [
        ("gemini-1.5-pro", "gemini", "google/gemini-1.5-pro"),
        ("gemini-1.5-pro", "vertex_ai", "google/gemini-1.5-pro"),
        ("claude-3-5-sonnet", "bedrock", "anthropic/claude-3-5-sonnet"),
        ("GPT-4o", "OpenAI", "openai/gpt-4o"),
        ("gpt-4o", "my-gateway", "openai/gpt-4o"),
    ],
)
def test_provider_aliases_and_gateways(calc, model, provider, priced_as):
    assert calc.pricing(model, provider.lower()).priced_as == priced_as


@pytest.mark.parametrize(
    ("model", "threshold", "below_in", "above_in", "below_out", "above_out"),
    [
        ("gemini-1.5-pro", 128_000, 1.25, 2.50, 5.0, 10.0),
        ("gemini-2.5-pro", 200_000, 1.25, 2.50, 10.0, 15.0),
    ],
)
def test_tiered_prices_apply_to_the_whole_request(
    calc, model, threshold, below_in, above_in, below_out, above_out
):
    at_threshold = calc.calculate_cost(model, threshold, 1_000, provider="google")
    past_threshold = calc.calculate_cost(model, threshold + 1, 1_000, provider="google")
    assert at_threshold == pytest.approx((threshold * below_in + 1_000 * below_out) / M)
    assert past_threshold == pytest.approx(((threshold + 1) * above_in + 1_000 * above_out) / M)


def test_prices_that_changed_over_time(calc):
    before = calc.calculate_cost("o3", M, 0, at=datetime(2025, 1, 1, tzinfo=timezone.utc))
    after = calc.calculate_cost("o3", M, 0, at=datetime(2025, 7, 1))
    assert (before, after) == (pytest.approx(10.0), pytest.approx(2.0))


def test_unknown_model_costs_zero_is_counted_and_warned_once(calc, registry, caplog):
    with caplog.at_level(logging.WARNING, logger="llmobs"):
        for _ in range(3):
            assert calc.calculate_cost("my-llama", 100, 100, provider="vllm") == 0.0
    assert sample(registry, "llm_unpriced_requests_total", model="my-llama", provider="vllm") == 3
    warnings = [r for r in caplog.records if "no price for model 'my-llama'" in r.getMessage()]
    assert len(warnings) == 1


def test_unknown_model_without_provider_is_labelled_unknown(calc, registry):
    calc.calculate_cost("my-llama", 1, 1)
    assert (
        sample(registry, "llm_unpriced_requests_total", model="my-llama", provider="unknown") == 1
    )


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"prompt_tokens": -1}, "negative_tokens"),
        ({"completion_tokens": "5"}, "invalid_tokens"),
        ({"cache_read_tokens": 200}, "invalid_tokens"),
        ({"model": ""}, "empty_label"),
        ({"model": None}, "invalid_label"),
        ({"at": "yesterday"}, "invalid_label"),
    ],
)
def test_bad_input_costs_zero_and_is_counted(calc, registry, kwargs, reason):
    args = {"model": "gpt-4o", "prompt_tokens": 100, "completion_tokens": 10, **kwargs}
    model, prompt, completion = (
        args.pop("model"),
        args.pop("prompt_tokens"),
        args.pop("completion_tokens"),
    )
    assert calc.calculate_cost(model, prompt, completion, **args) == 0.0
    assert invalid(registry, reason) == 1


def test_cache_tokens_beyond_the_prompt_explain_the_convention():
    strict = LLMCostCalculator(overrides=[], metrics=LLMMetrics(CollectorRegistry(), strict=True))
    with pytest.raises(ValueError, match="prompt_tokens must include cached tokens"):
        strict.calculate_cost("claude-3-haiku", 10, 5, cache_read_tokens=90)


def test_calculate_cost_on_the_class_uses_the_default_calculator():
    assert LLMCostCalculator.calculate_cost("gpt-4o", 1000, 500) == pytest.approx(0.0075)
    assert LLMCostCalculator.default() is LLMCostCalculator.default()


OVERRIDES = """
prices:
  - model: my-finetune
    input: 3
    output: 12
  - model: "llama-3*"
    provider: vllm
    input: 0.1
    output: 0.2
    per_request: 0.001
  - model: gpt-4o
    input: 1
    output: 1
    cache_read: 0.5
  - model: "gpt-4o*"
    input: 9
    output: 9
"""


def test_overrides_win_over_bundled_prices(tmp_path, registry):
    path = tmp_path / "prices.yaml"
    path.write_text(OVERRIDES)
    calc = LLMCostCalculator(overrides=path, metrics=LLMMetrics(registry=registry))
    assert calc.calculate_cost("my-finetune", M, M) == pytest.approx(15.0)
    assert calc.calculate_cost("llama-3-70b", M, M, provider="vllm") == pytest.approx(0.301)
    assert calc.calculate_cost("gpt-4o", M, 0, cache_read_tokens=M) == pytest.approx(0.5)
    assert calc.calculate_cost("gpt-4o-mini", M, 0) == pytest.approx(9.0)
    assert calc.pricing("gpt-4o").source == "override"
    # The glob names a provider: other providers' llama is not priced by it.
    assert calc.calculate_cost("llama-3-70b", M, M, provider="other") == 0.0


def test_overrides_from_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "prices.yaml"
    path.write_text(OVERRIDES)
    monkeypatch.setenv("LLMOBS_PRICES_FILE", str(path))
    assert LLMCostCalculator(metrics=LLMMetrics(CollectorRegistry())).calculate_cost(
        "my-finetune", M, 0
    ) == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"prices": [{"model": "x", "input": 1, "output": 1, "inptu": 2}]},
            r"prices.yaml: prices\[0\]: unknown key 'inptu' \(allowed: audio_input, audio_output, ",
        ),
        (
            {"prices": [{"model": "x", "input": -1, "output": 1}]},
            r"prices\[0\].input: must be a finite price of 0 or more, got -1",
        ),
        (
            {"prices": [{"model": "x", "input": "cheap", "output": 1}]},
            r"prices\[0\].input: must be a number of USD per million tokens",
        ),
        ({"prices": [{"model": "x", "output": 1}]}, r"prices\[0\]: missing required key 'input'"),
        ({"prices": [{"model": "", "input": 1, "output": 1}]}, r"prices\[0\].model: must be a"),
        ({"prices": {"model": "x"}}, "prices: must be a list"),
        ({"models": []}, "expected a mapping with one key 'prices'"),
        ({"prices": ["x"]}, r"prices\[0\]: must be a mapping"),
    ],
)
def test_bad_override_files_are_clear_errors(document, message):
    with pytest.raises(PriceFileError, match=message):
        parse_overrides(document, "prices.yaml")


def test_unreadable_or_invalid_override_file(tmp_path):
    with pytest.raises(PriceFileError, match="cannot read price file"):
        LLMCostCalculator(overrides=tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("prices: [unclosed")
    with pytest.raises(PriceFileError, match="not valid YAML"):
        LLMCostCalculator(overrides=bad)


def test_price_is_resolved_once(calc, monkeypatch):
    import llmobs.pricing as pricing

    calls = []
    real = pricing.find_bundled_model
    monkeypatch.setattr(pricing, "find_bundled_model", lambda *a: calls.append(a) or real(*a))
    for _ in range(100):
        calc.calculate_cost("gpt-4o", 10, 10, provider="openai")
    assert len(calls) == 1
