"""Token usage of one LLM call, read from OpenAI, Anthropic and Gemini responses alike.

Every reader returns the llmobs convention: ``prompt_tokens`` counts every input token, cached
ones included, and the cache counts are parts of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TokenUsage:
    """Tokens of one call, in the llmobs convention (cache tokens are part of the prompt)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


def _get(source: Any, name: str) -> Any:
    if isinstance(source, dict):
        return source.get(name)
    return getattr(source, name, None)


def _int(value: Any) -> int:
    return 0 if value is None else value


def _openai_chat(usage: Any) -> TokenUsage:
    details = _get(usage, "prompt_tokens_details")
    return TokenUsage(
        prompt_tokens=_int(_get(usage, "prompt_tokens")),
        completion_tokens=_int(_get(usage, "completion_tokens")),
        cache_read_tokens=_int(_get(details, "cached_tokens")) if details is not None else 0,
    )


def _openai_responses(usage: Any) -> TokenUsage:
    details = _get(usage, "input_tokens_details")
    return TokenUsage(
        prompt_tokens=_int(_get(usage, "input_tokens")),
        completion_tokens=_int(_get(usage, "output_tokens")),
        cache_read_tokens=_int(_get(details, "cached_tokens")),
    )


def _anthropic(usage: Any) -> TokenUsage:
    read = _int(_get(usage, "cache_read_input_tokens"))
    write = _int(_get(usage, "cache_creation_input_tokens"))
    return TokenUsage(
        prompt_tokens=_int(_get(usage, "input_tokens")) + read + write,
        completion_tokens=_int(_get(usage, "output_tokens")),
        cache_read_tokens=read,
        cache_write_tokens=write,
    )


def _gemini(usage: Any) -> TokenUsage:
    return TokenUsage(
        prompt_tokens=_int(_get(usage, "prompt_token_count")),
        completion_tokens=_int(_get(usage, "candidates_token_count"))
        + _int(_get(usage, "thoughts_token_count")),
        cache_read_tokens=_int(_get(usage, "cached_content_token_count")),
    )


def extract_usage(response: Any) -> TokenUsage | None:
    """The token usage of a response or usage object (or dict); None if it carries none.

    Reads OpenAI chat completions (``usage.prompt_tokens``), the OpenAI Responses API
    (``usage.input_tokens`` with ``input_tokens_details``), Anthropic messages
    (``usage.input_tokens`` plus cache read and creation tokens) and Gemini
    (``usage_metadata.prompt_token_count``).

    Example:
        >>> usage = extract_usage({"usage": {"input_tokens": 10, "output_tokens": 5,
        ...                                  "cache_read_input_tokens": 90}})
        >>> usage.prompt_tokens, usage.cache_read_tokens
        (100, 90)
    """
    if response is None:
        return None
    if isinstance(response, TokenUsage):
        return response
    for wrapper in ("usage", "usage_metadata"):
        inner = _get(response, wrapper)
        if inner is not None and inner is not response:
            found = extract_usage(inner)
            if found is not None:
                return found
    if _get(response, "prompt_token_count") is not None:
        return _gemini(response)
    if _get(response, "prompt_tokens") is not None:
        return _openai_chat(response)
    if _get(response, "input_tokens") is not None:
        if _get(response, "input_tokens_details") is not None:
            return _openai_responses(response)
        return _anthropic(response)
    return None
