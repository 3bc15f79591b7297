"""Content capture on GenAI spans, opted into, through every real SDK llmobs instruments
(openai Chat Completions and Responses, anthropic, google-genai, boto3 Bedrock), answered and
streamed, against the local provider server: the span holds the prompt, the system
instructions and the answer in the conventions' message format, and nothing of them without
the opt-in."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

import llmobs
from llmobs.content import INPUT_MESSAGES, OUTPUT_MESSAGES, SYSTEM_INSTRUCTIONS
from tests.integration.test_instrument_gemini_bedrock import (
    CLAUDE_ON_BEDROCK,
    CONVERSATION,
    GEMINI,
    bedrock,
    gemini,
)
from tests.integration.test_instrument_sdks import anthropic_client, client_for
from tests.provider_server import WORDS

trace_sdk = pytest.importorskip("opentelemetry.sdk.trace")
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)

__all__ = ["bedrock", "gemini"]  # fixtures used here
ANSWER = "".join(WORDS)
SYSTEM = "Be brief."
HI = [{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}]
BRIEF = [{"type": "text", "content": SYSTEM}]


def spans_of(observer, capture: bool | None) -> InMemorySpanExporter:
    exported = InMemorySpanExporter()
    provider = trace_sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    observer.spans = llmobs.otel.GenAISpans(provider, capture_content=capture)
    return exported


def read_all(answer: Any) -> None:
    """Read a stream (an SDK's, or Bedrock's under ``stream``) to its end."""
    stream = answer["stream"] if isinstance(answer, dict) else answer
    for _ in stream:
        pass


def openai_chat(server, observer, **_: Any) -> Callable[[bool], Any]:
    client = client_for(server, observer)
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Hi"}]
    return lambda stream: client.chat.completions.create(
        model="gpt-4o", messages=messages, stream=stream
    )


def openai_responses(server, observer, **_: Any) -> Callable[[bool], Any]:
    client = client_for(server, observer)
    return lambda stream: client.responses.create(
        model="gpt-4o", instructions=SYSTEM, input="Hi", stream=stream
    )


def anthropic_messages(server, observer, **_: Any) -> Callable[[bool], Any]:
    client = anthropic_client(server, observer)
    return lambda stream: client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=256,
        system=SYSTEM,
        messages=[{"role": "user", "content": "Hi"}],
        stream=stream,
    )


def gemini_content(gemini, **_: Any) -> Callable[[bool], Any]:
    def call(stream: bool) -> Any:
        method = gemini.models.generate_content_stream if stream else gemini.models.generate_content
        return method(model=GEMINI, contents="Hi", config={"system_instruction": SYSTEM})

    return call


def bedrock_converse(bedrock, **_: Any) -> Callable[[bool], Any]:
    def call(stream: bool) -> Any:
        method = bedrock.converse_stream if stream else bedrock.converse
        return method(modelId=CLAUDE_ON_BEDROCK, messages=CONVERSATION, system=[{"text": SYSTEM}])

    return call


#: Each SDK's call, and the fixtures it needs beyond ``server`` and ``observed``.
SDKS = {
    "openai-chat": (openai_chat, ()),
    "openai-responses": (openai_responses, ()),
    "anthropic": (anthropic_messages, ()),
    "gemini": (gemini_content, ("gemini",)),
    "bedrock": (bedrock_converse, ("bedrock",)),
}


def caller(name: str, request, server, observer) -> Callable[[bool], Any]:
    make, needs = SDKS[name]
    if name == "openai-responses" and not hasattr(client_for(server, observer), "responses"):
        pytest.skip("this openai has no Responses API")
    extra = {need: request.getfixturevalue(need) for need in needs}
    return make(server=server, observer=observer, **extra)


@pytest.mark.parametrize("stream", [False, True], ids=["answer", "stream"])
@pytest.mark.parametrize("sdk", list(SDKS))
def test_an_opted_in_span_holds_prompt_instructions_and_answer(
    request, server, observed, sdk, stream
):
    observer = observed[1]
    exported = spans_of(observer, capture=True)
    answer = caller(sdk, request, server, observer)(stream)
    if stream:
        read_all(answer)
    (span,) = exported.get_finished_spans()
    attributes = span.attributes
    prompt = json.loads(attributes[INPUT_MESSAGES])
    if sdk == "openai-chat":  # its system prompt is a message of the conversation
        assert prompt == [{"role": "system", "parts": BRIEF}, *HI]
        assert SYSTEM_INSTRUCTIONS not in attributes
    else:
        assert prompt == HI
        assert json.loads(attributes[SYSTEM_INSTRUCTIONS]) == BRIEF
    (message,) = json.loads(attributes[OUTPUT_MESSAGES])
    assert message["role"] == "assistant" and message["finish_reason"] == "stop"
    assert message["parts"] == [{"type": "text", "content": ANSWER}]


@pytest.mark.parametrize("capture", [None, False], ids=["default", "off"])
def test_without_the_opt_in_a_span_holds_no_content(server, observed, capture, monkeypatch):
    monkeypatch.delenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", raising=False)
    observer = observed[1]
    exported = spans_of(observer, capture=capture)
    read_all(openai_chat(server, observer)(True))
    openai_chat(server, observer)(False)
    for span in exported.get_finished_spans():
        assert not {INPUT_MESSAGES, OUTPUT_MESSAGES, SYSTEM_INSTRUCTIONS} & set(span.attributes)
        assert span.attributes["gen_ai.usage.output_tokens"] > 0
