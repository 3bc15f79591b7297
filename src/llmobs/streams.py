"""Usage and first output of streamed LLM calls, read from the provider's events as they pass.

Each provider streams its own shape, and all are read alike:

- OpenAI Chat Completions: chunks with ``choices[].delta``; usage in a last chunk with no
  choices (sent when asked with ``stream_options={"include_usage": True}``).
- OpenAI Responses: events typed ``response.output_text.delta`` and so on; usage in the
  ``response.completed`` event's response.
- Anthropic Messages: usage split between ``message_start`` (input and cache tokens) and
  ``message_delta`` (output tokens so far, and input tokens when the API repeats them).
- Gemini: chunks with ``candidates[].content.parts[]``, each with the usage so far.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .usage import TokenUsage, count_of, detail_of, extract_usage, field_of

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


class StreamReader:
    """Watches one stream's events: ``feed`` each, then ``usage`` is what the stream has
    reported so far (None before any usage) and ``outputs`` whether output has begun."""

    __slots__ = ("_started", "outputs", "usage")

    def __init__(self) -> None:
        self.usage: TokenUsage | None = None
        self.outputs = False
        self._started: TokenUsage | None = None  # Anthropic's message_start usage

    def feed(self, event: Any) -> bool:
        """Read one event; return whether it carries output. InvalidRecordError if it reports
        counts that are not token counts."""
        kind = field_of(event, "type")
        found = self._typed(kind, event) if isinstance(kind, str) else self._chunk(event)
        self.outputs = self.outputs or found
        return found

    def _typed(self, kind: str, event: Any) -> bool:
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
        )

    def _chunk(self, chunk: Any) -> bool:
        """An OpenAI chat chunk or a Gemini chunk: output in its choices or candidates, usage
        (the total so far) when it carries any."""
        usage = extract_usage(chunk)
        if usage is not None:
            self.usage = usage
        for choice in field_of(chunk, "choices") or ():
            delta = field_of(choice, "delta")
            if delta is not None and any(
                field_of(delta, name) for name in ("content", "tool_calls", "refusal")
            ):
                return True
        for candidate in field_of(chunk, "candidates") or ():
            content = field_of(candidate, "content")
            if field_of(content, "parts") if content is not None else None:
                return True
        return False
