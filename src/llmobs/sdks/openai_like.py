"""The OpenAI and Anthropic SDKs: ``chat.completions``, ``responses``, ``embeddings``,
``images`` (generate, edit) and ``audio`` (transcriptions, translations, speech) of an OpenAI
client (a vLLM or Ollama server behind one too), ``messages`` of an Anthropic client, sync or
async.

OpenAI's stream helpers (``chat.completions.stream``, ``responses.stream``) call ``create`` and
are observed through it; Anthropic's ``messages.stream`` makes its own request and is observed
as a stream helper."""

from __future__ import annotations

import functools
import sys
from typing import Any

from ..rates import Media
from ..schema import Operation
from ..usage import TokenUsage
from .adapter import Method, SDKAdapter, is_async_client

EMBEDDINGS, IMAGE, AUDIO = (
    op.value for op in (Operation.EMBEDDINGS, Operation.IMAGE, Operation.AUDIO)
)


def _spoken(kwargs: dict[str, Any], _answer: Any) -> TokenUsage | None:
    """What a text-to-speech call is billed for: the characters of its ``input``."""
    text = kwargs.get("input")
    if not isinstance(text, str):
        return None
    return TokenUsage(media=Media(input_characters=len(text)))


@functools.cache
def _stream_types(sdk: str) -> tuple[type, ...]:
    """The SDK's stream classes, looked up once (its client made a call: it is imported)."""
    module = sys.modules.get(sdk)
    return tuple(getattr(module, name) for name in ("Stream", "AsyncStream") if module)


class _HttpxSDK(SDKAdapter):
    """An SDK generated alike (OpenAI's and Anthropic's): streams of its own class, one httpx
    client under ``_client``."""

    def stream_in(self, method: Method, answer: Any) -> Any | None:
        return answer if isinstance(answer, _stream_types(self.modules[0])) else None

    def http_clients(self, client: Any) -> tuple[Any, ...]:
        http = getattr(client, "_client", None)
        return (http,) if http is not None else ()


class OpenAIAdapter(_HttpxSDK):
    sdk = "openai"
    oldest = ("openai==1.55.3",)  # the first to work with httpx 0.28, which the others need
    provider = "openai"
    modules = ("openai",)
    clients = "openai.OpenAI and AsyncOpenAI"
    client_classes = (("openai", "OpenAI"), ("openai", "AsyncOpenAI"))

    def methods(self, client: Any) -> tuple[Method, ...]:
        use_async = is_async_client(client)
        return (
            Method(("chat", "completions"), "create", use_async, asks_for_usage=True),
            Method(("responses",), "create", use_async),
            Method(("embeddings",), "create", use_async, operation=EMBEDDINGS),
            Method(("images",), "generate", use_async, operation=IMAGE),
            Method(("images",), "edit", use_async, operation=IMAGE),
            Method(("audio", "transcriptions"), "create", use_async, operation=AUDIO),
            Method(("audio", "translations"), "create", use_async, operation=AUDIO),
            Method(("audio", "speech"), "create", use_async, operation=AUDIO, usage=_spoken),
        )


class AnthropicAdapter(_HttpxSDK):
    sdk = "anthropic"
    oldest = ("anthropic==0.40.0",)
    provider = "anthropic"
    modules = ("anthropic",)
    clients = "anthropic.Anthropic and AsyncAnthropic"
    client_classes = (("anthropic", "Anthropic"), ("anthropic", "AsyncAnthropic"))

    def methods(self, client: Any) -> tuple[Method, ...]:
        use_async = is_async_client(client)
        return (
            Method(("messages",), "create", use_async),
            Method(("messages",), "stream", use_async, kind="manager"),
        )
