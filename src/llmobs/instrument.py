"""SDK instrumentation: one call makes every LLM call of a client an observed one, with no
other code, sync or async, streamed or not:

- OpenAI (``chat.completions.create`` and ``.stream``, ``responses.create`` and ``.stream``),
  and vLLM, Ollama or any server behind an OpenAI client, with ``provider`` naming it;
- Anthropic (``messages.create`` and ``messages.stream``);
- Gemini through google-genai (``models.generate_content`` and ``generate_content_stream``,
  and the same under ``client.aio``);
- AWS Bedrock through boto3 (``converse`` and ``converse_stream`` of ``bedrock-runtime``).

Example:
    >>> import openai, llmobs
    >>> client = llmobs.instrument(openai.OpenAI(api_key="sk-..."), agent_id="svea.writer")
    >>> with llmobs.agent("meetmind.coordinator"):   # one client, many agents
    ...     pass  # client.chat.completions.create(...) is recorded for meetmind.coordinator

The caller gets exactly what the SDK returned or raised: a streamed response comes back as a
wrapper that yields the same chunks and answers the stream's own methods. Where the OpenAI API
sends usage only when asked, it is asked for (``stream_options={"include_usage": True}``) and
its extra chunk is kept from a caller who did not ask for it. ``uninstrument`` restores the
client exactly.
"""

from __future__ import annotations

from typing import Any, TypeVar

from .observer import LLMObserver
from .sdks.adapter import SDKAdapter
from .sdks.bedrock import BedrockAdapter
from .sdks.gemini import GeminiAdapter
from .sdks.methods import UNKNOWN_AGENT, ObservedMethod, agent
from .sdks.openai_like import AnthropicAdapter, OpenAIAdapter

__all__ = ["UNKNOWN_AGENT", "agent", "instrument", "uninstrument"]

C = TypeVar("C")
ADAPTERS: tuple[SDKAdapter, ...] = (
    OpenAIAdapter(),
    AnthropicAdapter(),
    GeminiAdapter(),
    BedrockAdapter(),
)
_ORIGINAL = "_llmobs_original_"


def _adapter_of(client: Any) -> SDKAdapter:
    for adapter in ADAPTERS:
        if adapter.handles(client):
            return adapter
    names = ", ".join(adapter.clients for adapter in ADAPTERS)
    raise TypeError(f"llmobs instruments clients of these SDKs: {names}; not a {type(client)!r}")


def instrument(
    client: C,
    *,
    agent_id: str | None = None,
    provider: str | None = None,
    observer: LLMObserver | None = None,
) -> C:
    """Observe every LLM call of ``client`` (an OpenAI, Anthropic, google-genai or boto3
    ``bedrock-runtime`` client, sync or async). Calls are recorded for the agent of the
    innermost ``llmobs.agent(...)``, else ``agent_id``, else ``unknown``; under ``provider``,
    else the SDK's (``openai``, ``anthropic``, ``google``, ``bedrock``). Instrumenting twice
    changes nothing. Returns the client; TypeError for a client of another kind."""
    adapter = _adapter_of(client)
    watcher = observer or LLMObserver()
    adapter.hook(client)
    for method in adapter.methods(client):
        holder = method.holder(client)
        if _ORIGINAL + method.name in vars(holder):
            continue
        original = getattr(holder, method.name)
        observed = ObservedMethod(
            original, adapter, method, watcher, agent_id, provider or adapter.provider
        )
        setattr(holder, _ORIGINAL + method.name, original)
        setattr(holder, method.name, observed.bound())
    return client


def uninstrument(client: C) -> C:
    """Undo ``instrument``: the client's methods and HTTP hooks are its own again."""
    adapter = _adapter_of(client)
    adapter.unhook(client)
    for method in adapter.methods(client):
        holder = method.holder(client)
        if _ORIGINAL + method.name in vars(holder):
            delattr(holder, method.name)
            delattr(holder, _ORIGINAL + method.name)
    return client
