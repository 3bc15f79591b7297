"""The demo's streamed answers, shaped as each provider streams them: OpenAI chat chunks with
usage in the last one (vLLM's too), Anthropic events with usage split between ``message_start``
and ``message_delta``, Gemini chunks with the usage so far."""

from __future__ import annotations

from typing import Any

from .demo_workload import Call

#: Output chunks per streamed answer.
CHUNKS = 8


def events(call: Call) -> list[dict[str, Any]]:
    """The stream of ``call``'s answer, in its provider's shape."""
    if call.provider == "anthropic":
        return _anthropic(call)
    if call.provider == "google":
        return _gemini(call)
    return _openai(call)


def _openai(call: Call) -> list[dict[str, Any]]:
    chunks: list[dict[str, Any]] = [
        {"choices": [{"index": 0, "delta": {"content": f"part {i} "}}]} for i in range(CHUNKS)
    ]
    usage = {
        "prompt_tokens": call.prompt_tokens,
        "completion_tokens": call.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": call.cache_read_tokens},
        "completion_tokens_details": {"reasoning_tokens": call.reasoning_tokens},
    }
    return [*chunks, {"choices": [], "usage": usage}]


def _anthropic(call: Call) -> list[dict[str, Any]]:
    start_usage = {
        "input_tokens": call.prompt_tokens - call.cache_read_tokens,
        "cache_read_input_tokens": call.cache_read_tokens,
        "output_tokens": 1,
    }
    deltas = [
        {"type": "content_block_delta", "delta": {"type": "text_delta", "text": f"part {i} "}}
        for i in range(CHUNKS)
    ]
    return [
        {"type": "message_start", "message": {"usage": start_usage}},
        *deltas,
        {"type": "message_delta", "usage": {"output_tokens": call.completion_tokens}},
        {"type": "message_stop"},
    ]


def _gemini(call: Call) -> list[dict[str, Any]]:
    return [
        {
            "candidates": [{"content": {"parts": [{"text": f"part {i} "}]}}],
            "usage_metadata": {
                "prompt_token_count": call.prompt_tokens,
                "candidates_token_count": call.completion_tokens * (i + 1) // CHUNKS,
            },
        }
        for i in range(CHUNKS)
    ]
