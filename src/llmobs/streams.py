"""Usage and first output of streamed LLM calls, read from the provider's events as they pass.

Each provider streams its own shape, and all are read alike:

- OpenAI Chat Completions: chunks with ``choices[].delta``; usage in a last chunk with no
  choices (sent when asked with ``stream_options={"include_usage": True}``).
- OpenAI Responses: events typed ``response.output_text.delta`` and so on; usage in the
  ``response.completed`` event's response.
- Anthropic Messages: usage split between ``message_start`` (input and cache tokens) and
  ``message_delta`` (output tokens so far, and input tokens when the API repeats them).
- Gemini: chunks with ``candidates[].content.parts[]``, each with the usage so far.
- Bedrock ConverseStream: events keyed by their kind (``messageStart``,
  ``contentBlockDelta``, ...); usage in the last, ``metadata``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from .usage import (
    TokenUsage,
    count_of,
    detail_of,
    extract_usage,
    field_of,
    read_usage,
    tier_of,
    web_searches_of,
)

#: Event types that carry output (text, reasoning, tool input), of the Responses and Messages APIs.
_OUTPUT_EVENTS = frozenset(
    {
        "response.output_text.delta",
        "response.reasoning_text.delta",
        "response.reasoning_summary_text.delta",
        "response.function_call_arguments.delta",
        "response.refusal.delta",
        "content_block_delta",
    }
)
_USAGE_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
#: The kinds of Bedrock's ConverseStream events, each the one key of its event.
_BEDROCK_EVENTS = frozenset(
    {"messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockStop", "messageStop"}
)


class StreamReader:
    """Watches one stream's events: ``feed`` each, then ``usage`` is what the stream has
    reported so far (None before any usage) and ``outputs`` whether output has begun.

    The first event tells the stream's shape; every later one is read by that shape's reader
    alone, which looks up only the fields it has (an absent attribute of the SDKs' objects
    costs an exception). Unless ``every_output``, a chunk after output has begun is read for
    its usage only: its output is not looked for, which is most of a chunk's reading.

    Args:
        every_output: tell each event that carries output (to time the gaps between them),
            not only the first.
    """

    __slots__ = ("_read", "_started", "_told", "every_output", "outputs", "usage")

    def __init__(self, *, every_output: bool = False) -> None:
        self.usage: TokenUsage | None = None
        self.outputs = False
        self.every_output = every_output
        self._told = False  # output has begun, and later outputs are not asked for
        self._started: TokenUsage | None = None  # Anthropic's message_start usage
        self._read: Callable[[Any], bool] = self._first

    def feed(self, event: Any) -> bool:
        """Read one event; return whether it carries output (after the first output, False
        unless ``every_output``). InvalidRecordError if it reports counts that are not token
        counts."""
        found = self._read(event) and not self._told
        if found:
            self.outputs = True
            self._told = not self.every_output
        return found

    def _first(self, event: Any) -> bool:
        """Tell the stream's shape from its first event."""
        if isinstance(field_of(event, "type"), str):
            self._read = self._typed
        elif field_of(event, "choices") is not None:
            self._read = self._chat_chunk
        elif isinstance(event, dict) and not event.keys().isdisjoint(_BEDROCK_EVENTS):
            self._read = self._bedrock_event
        else:
            self._read = self._gemini_chunk
        return self._read(event)

    def _typed(self, event: Any) -> bool:
        """A typed event of the Responses or the Messages API."""
        kind = field_of(event, "type")
        if kind == "message_start":
            self._started = extract_usage(field_of(event, "message"))
            self.usage = self._started
        elif kind == "message_delta":
            self._message_delta(field_of(event, "usage"))
        elif kind in _USAGE_EVENTS:
            self.usage = extract_usage(field_of(event, "response")) or self.usage
        return kind in _OUTPUT_EVENTS

    def _message_delta(self, usage: Any) -> None:
        """Anthropic's running totals: output tokens so far, and the input tokens again on
        newer API versions (else those of message_start stand)."""
        if usage is None:
            return
        if field_of(usage, "input_tokens") is not None:
            self.usage = extract_usage({"usage": usage})
            return
        start = self._started or TokenUsage()
        self.usage = replace(
            start,
            completion_tokens=count_of(usage, "output_tokens"),
            reasoning_tokens=detail_of(usage, "output_tokens_details", "thinking_tokens"),
            web_search_requests=web_searches_of(usage) or start.web_search_requests,
        )

    def _chat_chunk(self, chunk: Any) -> bool:
        """An OpenAI chat chunk: output in a choice's delta, usage in the last chunk."""
        usage = field_of(chunk, "usage")
        if usage is not None:
            found = read_usage(usage)
            tier = tier_of(chunk)
            self.usage = (
                found if found is None or tier is None else replace(found, service_tier=tier)
            )
        if self._told:
            return False
        for choice in field_of(chunk, "choices") or ():
            delta = field_of(choice, "delta")
            if delta is not None and (
                field_of(delta, "content")
                or field_of(delta, "tool_calls")
                or field_of(delta, "refusal")
            ):
                return True
        return False

    def _bedrock_event(self, event: dict[str, Any]) -> bool:
        """A Bedrock ConverseStream event: output in ``contentBlockDelta``, usage in
        ``metadata``."""
        if "contentBlockDelta" in event:
            return True
        metadata = event.get("metadata")
        if metadata is not None:
            self.usage = read_usage(field_of(metadata, "usage")) or self.usage
        return False

    def _gemini_chunk(self, chunk: Any) -> bool:
        """A Gemini chunk: output in its candidates' parts, the usage so far with each."""
        usage = field_of(chunk, "usage_metadata")
        if usage is not None:
            self.usage = read_usage(usage)
        if self._told:
            return False
        for candidate in field_of(chunk, "candidates") or ():
            content = field_of(candidate, "content")
            if content is not None and field_of(content, "parts"):
                return True
        return False
