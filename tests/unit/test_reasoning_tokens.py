"""Reasoning tokens (OpenAI reasoning, Anthropic thinking, Gemini thoughts): read from each
provider's usage, recorded under ``token_type="reasoning"`` as a part of completion tokens, and
priced as output, never twice."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from llmobs import extract_usage
from tests.provider_server import RESPONSES_USAGE as OPENAI_RESPONSES_USAGE

from .samples import observed_stack, sample

OPENAI_CHAT = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1764288000,
    "model": "o3-mini",
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": "42"},
        }
    ],
    "usage": {
        "prompt_tokens": 100,
        "completion_tokens": 700,
        "total_tokens": 800,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 640},
    },
}
ANTHROPIC_MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "42"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 50,
        "output_tokens": 900,
        "cache_read_input_tokens": 50,
        "cache_creation_input_tokens": 0,
        "output_tokens_details": {"thinking_tokens": 800},
    },
}
GEMINI = {
    "usage_metadata": {
        "prompt_token_count": 100,
        "candidates_token_count": 20,
        "thoughts_token_count": 180,
    }
}


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (OPENAI_CHAT, (700, 640)),
        ({"usage": OPENAI_RESPONSES_USAGE}, (40, 16)),
        (ANTHROPIC_MESSAGE, (900, 800)),
        (GEMINI, (200, 180)),  # thoughts are billed as output but not in candidates: added
    ],
    ids=["openai-chat", "openai-responses", "anthropic", "gemini"],
)
def test_reasoning_is_read_as_a_part_of_completion(response, expected):
    usage = extract_usage(response)
    assert (usage.completion_tokens, usage.reasoning_tokens) == expected


def test_the_sdks_own_objects_are_read_alike():
    openai = pytest.importorskip("openai")
    anthropic = pytest.importorskip("anthropic")
    from openai.types.responses import ResponseUsage

    chat = openai.types.chat.ChatCompletion.model_validate(OPENAI_CHAT)
    message = anthropic.types.Message.model_validate(ANTHROPIC_MESSAGE)
    responses = ResponseUsage.model_validate(OPENAI_RESPONSES_USAGE)
    assert extract_usage(chat).reasoning_tokens == 640
    assert extract_usage(message).reasoning_tokens == 800
    assert extract_usage(responses).reasoning_tokens == 16


@pytest.fixture
def observed():
    return observed_stack()


def tokens(registry: CollectorRegistry, token_type: str) -> float | None:
    labels = {"agent_id": "lab.solver", "model": "o3-mini", "provider": "openai"}
    return sample(registry, "llm_tokens_used_total", **labels, token_type=token_type)


def test_reasoning_is_recorded_under_its_own_type_and_priced_once_as_output(observed):
    registry, observer, calculator = observed
    with observer.call("lab.solver", "o3-mini", "openai") as call:
        call.set_usage(OPENAI_CHAT)
    assert (tokens(registry, "completion"), tokens(registry, "reasoning")) == (700, 640)
    assert tokens(registry, "prompt") == 100
    expected = calculator.cost_of("o3-mini", 100, 700, provider="openai")
    assert call.cost == expected and expected > 0  # 700 output tokens, not 700 + 640
    assert observer.tracker.get_daily_summary().total_cost == pytest.approx(expected)


def test_more_reasoning_than_completion_is_a_counted_rejection(observed):
    registry, observer, _ = observed
    with observer.call("lab.solver", "o3-mini", "openai") as call:
        call.set_usage(prompt_tokens=10, completion_tokens=5, reasoning_tokens=6)
    assert sample(registry, "llm_invalid_records_total", reason="invalid_tokens") == 1
    assert not tokens(registry, "completion") and not tokens(registry, "reasoning")


@pytest.mark.parametrize(
    ("usage", "details"),
    [
        ({"prompt_tokens": 100, "completion_tokens": 5}, "prompt_tokens_details"),
        ({"input_tokens": 100, "output_tokens": 5}, "input_tokens_details"),
    ],
    ids=["chat", "responses"],
)
def test_openai_cache_writes_are_read_with_its_cache_reads(usage, details):
    usage = {**usage, details: {"cached_tokens": 20, "cache_write_tokens": 30}}
    read = extract_usage({"usage": usage})
    assert (read.prompt_tokens, read.cache_read_tokens, read.cache_write_tokens) == (100, 20, 30)
