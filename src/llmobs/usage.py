"""Token usage of one LLM call, read from OpenAI, Anthropic, Gemini and Bedrock responses alike.

Every reader returns the llmobs convention: ``prompt_tokens`` counts every input token, cached
ones included, and the cache counts are parts of it; ``completion_tokens`` counts every output
token, reasoning ones included (OpenAI reasoning, Anthropic thinking, Gemini thoughts), and the
reasoning count is part of it. ``cache_write_1h_tokens`` (Anthropic's 1-hour cache writes) are
part of ``cache_write_tokens``. ``web_search_requests`` counts the searches the provider ran and
bills per search; ``service_tier`` is the tier that served the call if the provider said
(``service_tiers``). ``media`` holds the audio and image tokens that are parts of the prompt and
completion (OpenAI's audio and image models, Gemini's modalities), billed at their own rates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from .rates import NO_MEDIA, Media
from .service_tiers import tier_name
from .values import duration_seconds, optional_token_count


@dataclass(frozen=True)
class TokenUsage:
    """Tokens of one call, in the llmobs convention (cache tokens are part of the prompt)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_1h_tokens: int = 0
    web_search_requests: int = 0
    service_tier: str | None = None
    media: Media = NO_MEDIA


def field_of(source: Any, name: str) -> Any:
    """``source[name]`` of a dict, else the attribute ``name`` (None if absent)."""
    if isinstance(source, dict):
        return source.get(name)
    return getattr(source, name, None)


def count_of(usage: Any, name: str) -> int:
    """The token count ``usage.name`` (0 if absent); InvalidRecordError if it is not one."""
    return optional_token_count(field_of(usage, name), f"usage.{name}")


def detail_of(usage: Any, details: str, name: str) -> int:
    """The token count ``usage.details.name`` (0 if either is absent)."""
    inner = field_of(usage, details)
    if inner is None:
        return 0
    return optional_token_count(field_of(inner, name), f"usage.{details}.{name}")


def _media(audio_in: int = 0, image_in: int = 0, audio_out: int = 0) -> Media:
    if not (audio_in or image_in or audio_out):
        return NO_MEDIA
    return Media(
        audio_input_tokens=audio_in, image_input_tokens=image_in, audio_output_tokens=audio_out
    )


def _openai_chat(usage: Any) -> TokenUsage:
    return TokenUsage(
        prompt_tokens=count_of(usage, "prompt_tokens"),
        completion_tokens=count_of(usage, "completion_tokens"),
        cache_read_tokens=detail_of(usage, "prompt_tokens_details", "cached_tokens"),
        cache_write_tokens=detail_of(usage, "prompt_tokens_details", "cache_write_tokens"),
        reasoning_tokens=detail_of(usage, "completion_tokens_details", "reasoning_tokens"),
        media=_media(
            audio_in=detail_of(usage, "prompt_tokens_details", "audio_tokens"),
            audio_out=detail_of(usage, "completion_tokens_details", "audio_tokens"),
        ),
    )


def _openai_responses(usage: Any) -> TokenUsage:
    """The Responses API's and the image API's usage (``input_tokens_details``)."""
    return TokenUsage(
        prompt_tokens=count_of(usage, "input_tokens"),
        completion_tokens=count_of(usage, "output_tokens"),
        cache_read_tokens=detail_of(usage, "input_tokens_details", "cached_tokens"),
        cache_write_tokens=detail_of(usage, "input_tokens_details", "cache_write_tokens"),
        reasoning_tokens=detail_of(usage, "output_tokens_details", "reasoning_tokens"),
        media=_media(
            audio_in=detail_of(usage, "input_tokens_details", "audio_tokens"),
            image_in=detail_of(usage, "input_tokens_details", "image_tokens"),
        ),
    )


def _openai_audio_tokens(usage: Any) -> TokenUsage:
    """OpenAI speech to text billed by tokens: ``input_token_details`` (singular) names the
    audio among the input tokens."""
    return TokenUsage(
        prompt_tokens=count_of(usage, "input_tokens"),
        completion_tokens=count_of(usage, "output_tokens"),
        media=_media(audio_in=detail_of(usage, "input_token_details", "audio_tokens")),
    )


def _openai_audio_seconds(usage: Any) -> TokenUsage:
    """OpenAI speech to text billed by the second (whisper-1): ``{"type": "duration"}``."""
    seconds = duration_seconds(field_of(usage, "seconds"), "usage.seconds")
    return TokenUsage(media=Media(audio_seconds=seconds))


def _anthropic(usage: Any) -> TokenUsage:
    read = count_of(usage, "cache_read_input_tokens")
    write = count_of(usage, "cache_creation_input_tokens")
    return TokenUsage(
        prompt_tokens=count_of(usage, "input_tokens") + read + write,
        completion_tokens=count_of(usage, "output_tokens"),  # thinking included
        cache_read_tokens=read,
        cache_write_tokens=write,
        reasoning_tokens=detail_of(usage, "output_tokens_details", "thinking_tokens"),
        cache_write_1h_tokens=detail_of(usage, "cache_creation", "ephemeral_1h_input_tokens"),
        web_search_requests=web_searches_of(usage),
        service_tier=tier_of(usage),
    )


def web_searches_of(usage: Any) -> int:
    """Anthropic's ``usage.server_tool_use.web_search_requests`` (0 if absent)."""
    return detail_of(usage, "server_tool_use", "web_search_requests")


def tier_of(source: Any) -> str | None:
    """The ``service_tier`` a response or usage names, as ``service_tiers.tier_name`` reads it."""
    return tier_name(field_of(source, "service_tier"))


def _openai_extras(response: Any, usage: TokenUsage, items: bool) -> TokenUsage:
    """An OpenAI response's tier, and with ``items`` (the Responses API) the web searches
    among its output items: both reported beside its usage."""
    tier = tier_of(response)
    output = field_of(response, "output") if items else None
    searches = 0
    if isinstance(output, (list, tuple)):
        searches = sum(1 for item in output if field_of(item, "type") == "web_search_call")
    if tier is None and not searches:
        return usage
    return replace(usage, service_tier=tier, web_search_requests=searches)


def _modality_tokens(usage: Any, details: str, modality: str) -> int:
    """Gemini's tokens of one ``modality`` (AUDIO, IMAGE) in a ``*_tokens_details`` list."""
    total = 0
    for entry in field_of(usage, details) or ():
        kind = field_of(entry, "modality")
        if str(getattr(kind, "value", kind)).upper() == modality:
            total += optional_token_count(field_of(entry, "token_count"), f"usage.{details}")
    return total


def _gemini(usage: Any) -> TokenUsage:
    thoughts = count_of(usage, "thoughts_token_count")  # not part of candidates: added
    return TokenUsage(
        prompt_tokens=count_of(usage, "prompt_token_count"),
        completion_tokens=count_of(usage, "candidates_token_count") + thoughts,
        cache_read_tokens=count_of(usage, "cached_content_token_count"),
        reasoning_tokens=thoughts,
        media=_media(
            audio_in=_modality_tokens(usage, "prompt_tokens_details", "AUDIO"),
            image_in=_modality_tokens(usage, "prompt_tokens_details", "IMAGE"),
            audio_out=_modality_tokens(usage, "candidates_tokens_details", "AUDIO"),
        ),
    )


def _bedrock(usage: Any) -> TokenUsage:
    read = count_of(usage, "cacheReadInputTokens")
    write = count_of(usage, "cacheWriteInputTokens")
    return TokenUsage(
        prompt_tokens=count_of(usage, "inputTokens") + read + write,  # the cache's left out
        completion_tokens=count_of(usage, "outputTokens"),
        cache_read_tokens=read,
        cache_write_tokens=write,
    )


def _reader_of(usage: Any) -> Callable[[Any], TokenUsage] | None:
    """The reader of a usage object's provider shape; None if it has none of them. The most
    common shapes are asked for first: a field a pydantic model lacks costs an exception."""
    if field_of(usage, "prompt_tokens") is not None:
        return _openai_chat
    if field_of(usage, "input_tokens") is not None:
        if field_of(usage, "type") == "tokens":
            return _openai_audio_tokens
        if field_of(usage, "input_tokens_details") is not None:
            return _openai_responses
        return _anthropic
    if field_of(usage, "inputTokens") is not None:
        return _bedrock
    if field_of(usage, "prompt_token_count") is not None:
        return _gemini
    if field_of(usage, "type") == "duration":
        return _openai_audio_seconds
    return None


def read_usage(usage: Any) -> TokenUsage | None:
    """The usage of a usage object itself, whichever provider's shape it has."""
    reader = _reader_of(usage)
    return None if reader is None else reader(usage)


def extract_usage(response: Any) -> TokenUsage | None:
    """The token usage of a response or usage object (or dict); None if it carries none.

    Reads OpenAI chat completions (``usage.prompt_tokens``), the OpenAI Responses API
    (``usage.input_tokens`` with ``input_tokens_details``), Anthropic messages
    (``usage.input_tokens`` plus cache read and creation tokens), Gemini
    (``usage_metadata.prompt_token_count``) and Bedrock's Converse API (``usage.inputTokens``
    plus ``cacheReadInputTokens`` and ``cacheWriteInputTokens``).

    A count that is not a whole number of tokens raises InvalidRecordError naming the field;
    only the response and its ``usage`` (or ``usage_metadata``) are looked into.

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
        inner = field_of(response, wrapper)
        if isinstance(inner, TokenUsage):
            return inner
        if inner is not None and inner is not response:
            reader = _reader_of(inner)
            if reader is not None:
                found = reader(inner)
                if reader is _openai_chat or reader is _openai_responses:
                    return _openai_extras(response, found, reader is _openai_responses)
                return found
    return read_usage(response)
