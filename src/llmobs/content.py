"""A call's prompt and answer in the GenAI semantic conventions' message format, for spans
whose user opted in to content capture (``GenAISpans(capture_content=True)``).

The request is read from the call's keyword arguments, the answer from the response or, for a
stream, from its text as it passes. Every provider shape that llmobs reads usage from is read
alike: OpenAI Chat Completions and Responses, Anthropic Messages, Gemini, Bedrock Converse.
Text, tool calls and tool results are copied; other parts (images, audio, files) are named by
their type only, never copied. Streamed answers keep their text, not their tool calls.

Example:
    >>> request = {"system": "Be brief.", "messages": [{"role": "user", "content": "Hi"}]}
    >>> input_messages(request)
    [{'role': 'user', 'parts': [{'type': 'text', 'content': 'Hi'}]}]
    >>> system_instructions(request)
    [{'type': 'text', 'content': 'Be brief.'}]
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .usage import field_of

Part = dict[str, Any]
Message = dict[str, Any]

#: The span attributes of the conventions (v1.37 and later), each a JSON array.
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
#: The variable the OpenTelemetry GenAI instrumentations read; these values turn capture on.
CAPTURE_VARIABLE = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
CAPTURE_ON = frozenset({"true", "span_only", "span_and_event"})
#: OpenAI Responses input items that are tool calls or their results, and whose they are.
_RESPONSES_TOOL_ROLES = {"function_call": "assistant", "function_call_output": "tool"}
#: Response statuses and stop reasons named as the conventions' finish reasons.
_FINISH = {"completed": "stop", "end_turn": "stop", "stop_sequence": "stop", "STOP": "stop"}


def _text(content: str) -> Part:
    return {"type": "text", "content": content}


def _json_text(value: Any) -> Any:
    """Tool arguments or results as given (a string stays one; anything else as data)."""
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    return str(value)


def _part(item: Any) -> list[Part]:
    """One content part of any provider, in the conventions' terms."""
    if isinstance(item, str):
        return [_text(item)]
    text = field_of(item, "text")
    if isinstance(text, str):
        return [_text(text)]
    kind = field_of(item, "type")
    if kind in ("tool_use", "function_call"):  # Anthropic; OpenAI Responses
        arguments = field_of(item, "input") or field_of(item, "arguments")
        ident = field_of(item, "id") or field_of(item, "call_id")
        return [_tool_call(ident, field_of(item, "name"), arguments)]
    if kind in ("tool_result", "function_call_output"):
        ident = field_of(item, "tool_use_id") or field_of(item, "call_id")
        response = field_of(item, "content") or field_of(item, "output")
        return [_tool_response(ident, response)]
    used = field_of(item, "toolUse")  # Bedrock
    if used is not None:
        return [
            _tool_call(field_of(used, "toolUseId"), field_of(used, "name"), field_of(used, "input"))
        ]
    result = field_of(item, "toolResult")
    if result is not None:
        return [_tool_response(field_of(result, "toolUseId"), field_of(result, "content"))]
    call = field_of(item, "function_call")  # Gemini
    if call is not None:
        return [_tool_call(field_of(call, "id"), field_of(call, "name"), field_of(call, "args"))]
    answer = field_of(item, "function_response")
    if answer is not None:
        return [_tool_response(field_of(answer, "id"), field_of(answer, "response"))]
    return [{"type": str(kind or "unknown")}]  # an image, audio, a file: not copied


def _tool_call(ident: Any, name: Any, arguments: Any) -> Part:
    return {"type": "tool_call", "id": ident, "name": name, "arguments": _json_text(arguments)}


def _tool_response(ident: Any, response: Any) -> Part:
    if isinstance(response, (list, tuple)):
        response = "".join(p["content"] for item in response for p in _part(item) if "content" in p)
    return {"type": "tool_call_response", "id": ident, "response": _json_text(response)}


def _parts(content: Any) -> list[Part]:
    if content is None:
        return []
    if isinstance(content, (list, tuple)):
        return [part for item in content for part in _part(item)]
    return _part(content)


def _message(item: Any, default_role: str) -> Message:
    """A message of any provider: its role and parts (Gemini's ``parts``, OpenAI's tool calls
    and tool answers included)."""
    if isinstance(item, str):
        return {"role": default_role, "parts": [_text(item)]}
    kind = field_of(item, "type")
    if kind in _RESPONSES_TOOL_ROLES:  # an OpenAI Responses input item that is not a message
        return {"role": _RESPONSES_TOOL_ROLES[kind], "parts": _part(item)}
    role = str(field_of(item, "role") or default_role)
    content = field_of(item, "content")
    parts = _parts(content if content is not None else field_of(item, "parts"))
    for call in field_of(item, "tool_calls") or ():
        function = field_of(call, "function")
        parts.append(
            _tool_call(
                field_of(call, "id"), field_of(function, "name"), field_of(function, "arguments")
            )
        )
    if role == "tool":
        parts = [_tool_response(field_of(item, "tool_call_id"), content)]
    return {"role": "assistant" if role == "model" else role, "parts": parts}


def input_messages(request: Mapping[str, Any]) -> list[Message]:
    """The messages a request sends (``messages``, Responses' ``input``, Gemini's
    ``contents``), in order."""
    for key in ("messages", "input", "contents"):
        given = request.get(key)
        if given is None:
            continue
        if isinstance(given, (list, tuple)):
            return [_message(item, "user") for item in given]
        return [_message(given, "user")]
    return []


def system_instructions(request: Mapping[str, Any]) -> list[Part]:
    """The instructions a request gives apart from its messages (Anthropic's and Bedrock's
    ``system``, Responses' ``instructions``, Gemini's ``config.system_instruction``)."""
    given = request.get("system") or request.get("instructions")
    if given is None:
        given = field_of(request.get("config"), "system_instruction")
        if given is not None and field_of(given, "parts") is not None:
            given = field_of(given, "parts")
    return _parts(given)


def _finish(reason: Any) -> str:
    text = str(getattr(reason, "value", reason) or "")
    return _FINISH.get(text, text.lower() or "stop")


def _answer(parts: list[Part], reason: Any) -> Message:
    return {"role": "assistant", "parts": parts, "finish_reason": _finish(reason)}


def output_messages(response: Any) -> list[Message]:
    """The messages a (not streamed) response answers with."""
    choices = field_of(response, "choices")
    if choices is not None:  # OpenAI Chat Completions
        return [
            {
                **_message(field_of(choice, "message") or {}, "assistant"),
                "finish_reason": _finish(field_of(choice, "finish_reason")),
            }
            for choice in choices
        ]
    candidates = field_of(response, "candidates")
    if candidates is not None:  # Gemini
        return [
            _answer(_parts(field_of(field_of(c, "content"), "parts")), field_of(c, "finish_reason"))
            for c in candidates
        ]
    output = field_of(response, "output")
    bedrock = field_of(output, "message")
    if bedrock is not None:  # Bedrock Converse
        return [_answer(_parts(field_of(bedrock, "content")), field_of(response, "stopReason"))]
    if isinstance(output, (list, tuple)):  # OpenAI Responses
        parts = []
        for item in output:
            message = field_of(item, "type") == "message"
            parts.extend(_parts(field_of(item, "content")) if message else _part(item))
        return [_answer(parts, field_of(response, "status"))]
    content = field_of(response, "content")
    if isinstance(content, (list, tuple)):  # Anthropic Messages
        return [_answer(_parts(content), field_of(response, "stop_reason"))]
    return []


class StreamedText:
    """The text of a streamed answer, gathered from its events as they pass, by choice (or
    candidate), with the reason it finished."""

    __slots__ = ("_finish", "_texts")

    def __init__(self) -> None:
        self._texts: dict[int, list[str]] = {}
        self._finish = "stop"

    def feed(self, event: Any) -> None:
        """Take the text (and finish reason) one event carries, of any provider's stream."""
        kind = field_of(event, "type")
        if kind == "response.output_text.delta":
            self._add(0, field_of(event, "delta"))
        elif kind == "content_block_delta":
            self._add(0, field_of(field_of(event, "delta"), "text"))
        elif kind == "message_delta":
            self._stopped(field_of(field_of(event, "delta"), "stop_reason"))
        elif isinstance(event, dict) and "contentBlockDelta" in event:
            self._add(0, field_of(field_of(event["contentBlockDelta"], "delta"), "text"))
        elif isinstance(event, dict) and "messageStop" in event:
            self._stopped(field_of(event["messageStop"], "stopReason"))
        for index, choice in enumerate(field_of(event, "choices") or ()):
            place = field_of(choice, "index")
            place = index if place is None else place
            self._add(place, field_of(field_of(choice, "delta"), "content"))
            self._stopped(field_of(choice, "finish_reason"))
        for index, candidate in enumerate(field_of(event, "candidates") or ()):
            for part in field_of(field_of(candidate, "content"), "parts") or ():
                self._add(index, field_of(part, "text"))
            self._stopped(field_of(candidate, "finish_reason"))

    def _add(self, index: int, text: Any) -> None:
        if isinstance(text, str) and text:
            self._texts.setdefault(index, []).append(text)

    def _stopped(self, reason: Any) -> None:
        if reason:
            self._finish = _finish(reason)

    def messages(self) -> list[Message]:
        return [
            _answer([_text("".join(texts))], self._finish)
            for _, texts in sorted(self._texts.items())
        ]


class Captured:
    """What a call answered, kept for its span: the response, or a stream's text."""

    __slots__ = ("response", "streamed")

    def __init__(self) -> None:
        self.response: Any = None
        self.streamed: StreamedText | None = None

    def feed(self, event: Any) -> None:
        if self.streamed is None:
            self.streamed = StreamedText()
        self.streamed.feed(event)

    def messages(self) -> list[Message]:
        """The answer's messages: the stream's if it streamed, else the response's."""
        if self.streamed is not None:
            return self.streamed.messages()
        return [] if self.response is None else output_messages(self.response)


def as_attribute(value: list[Any]) -> str:
    """A message list as the conventions' JSON attribute value."""
    return json.dumps(value, ensure_ascii=False, default=str)
