"""SDK instrumentation: one call makes every LLM call of a client an observed one, with no
other code, sync or async, streamed or not:

- OpenAI (``chat.completions.create`` and ``.stream``, ``responses.create`` and ``.stream``,
  ``embeddings.create`` as ``operation="embeddings"``), and vLLM, Ollama or any server behind
  an OpenAI client, with ``provider`` naming it;
- Anthropic (``messages.create`` and ``messages.stream``);
- Gemini through google-genai (``models.generate_content`` and ``generate_content_stream``,
  and the same under ``client.aio``);
- AWS Bedrock through boto3 (``converse``, ``converse_stream`` and ``invoke_model`` of
  ``bedrock-runtime``; an embedding model's ``invoke_model`` as ``operation="embeddings"``).

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

import functools
import importlib
from collections.abc import Callable
from typing import Any, TypeVar

from .attribution import TagSource
from .observer import LLMObserver
from .sdks.adapter import SDKAdapter
from .sdks.bedrock import BedrockAdapter
from .sdks.gemini import GeminiAdapter
from .sdks.methods import UNKNOWN_AGENT, ObservedMethod, agent
from .sdks.openai_like import AnthropicAdapter, OpenAIAdapter

__all__ = [
    "UNKNOWN_AGENT",
    "agent",
    "instrument",
    "instrument_sdk",
    "uninstrument",
    "uninstrument_sdk",
]

C = TypeVar("C")
ADAPTERS: tuple[SDKAdapter, ...] = (
    OpenAIAdapter(),
    AnthropicAdapter(),
    GeminiAdapter(),
    BedrockAdapter(),
)
_ORIGINAL = "_llmobs_original_"
_NEW_CLIENTS = "_llmobs_original___init__"


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
    tags: TagSource | None = None,
) -> C:
    """Observe every LLM call of ``client`` (an OpenAI, Anthropic, google-genai or boto3
    ``bedrock-runtime`` client, sync or async). Calls are recorded for the agent of the
    innermost ``llmobs.agent(...)``, else ``agent_id``, else ``unknown``; under ``provider``,
    else the SDK's (``openai``, ``anthropic``, ``google``, ``bedrock``), attributed to
    ``tags`` (a mapping, or a callable reading them from the call's keyword arguments, such as
    ``llmobs.request_tags``) over those of ``llmobs.attribute``. Instrumenting twice changes
    nothing. Returns the client; TypeError for a client of another kind."""
    adapter = _adapter_of(client)
    watcher = observer or LLMObserver()
    adapter.hook(client)
    for method in adapter.methods(client):
        try:
            holder = method.holder(client)
            original = getattr(holder, method.name)
        except AttributeError:  # an SDK older than the method: counted, the rest instrumented
            watcher.metrics.count_unobserved_method(adapter.sdk, method.dotted)
            continue
        if _ORIGINAL + method.name in vars(holder):
            continue
        observed = ObservedMethod(
            original, adapter, method, watcher, agent_id, provider or adapter.provider, tags
        )
        setattr(holder, _ORIGINAL + method.name, original)
        setattr(holder, method.name, observed.bound())
    return client


def uninstrument(client: C) -> C:
    """Undo ``instrument``: the client's methods and HTTP hooks are its own again."""
    adapter = _adapter_of(client)
    adapter.unhook(client)
    for method in adapter.methods(client):
        try:
            holder = method.holder(client)
        except AttributeError:  # never instrumented: the SDK lacks it
            continue
        if _ORIGINAL + method.name in vars(holder):
            delattr(holder, method.name)
            delattr(holder, _ORIGINAL + method.name)
    return client


def instrument_sdk(
    sdk: str,
    *,
    agent_id: str | None = None,
    provider: str | None = None,
    observer: LLMObserver | None = None,
) -> None:
    """Instrument every client of ``sdk`` (``openai``, ``anthropic`` or ``google-genai``) made
    from now on, as ``instrument`` would: for the clients a framework makes out of your reach.
    Call it at start-up, before they are made; clients made before are not touched.
    ``uninstrument_sdk(sdk)`` stops it for clients made after."""
    adapter = _adapter_named(sdk)
    watcher = observer or LLMObserver()
    options = {"agent_id": agent_id, "provider": provider, "observer": watcher}
    for cls in _client_classes(adapter):
        if _NEW_CLIENTS not in vars(cls):
            original = vars(cls)["__init__"]
            setattr(cls, "__init__", _instrumenting(original, watcher, options))  # noqa: B010
            setattr(cls, _NEW_CLIENTS, original)


def uninstrument_sdk(sdk: str) -> None:
    """Undo ``instrument_sdk``: clients made from now on are the SDK's own (those made before
    stay instrumented until ``uninstrument(client)``)."""
    for cls in _client_classes(_adapter_named(sdk)):
        if _NEW_CLIENTS in vars(cls):
            setattr(cls, "__init__", vars(cls)[_NEW_CLIENTS])  # noqa: B010
            delattr(cls, _NEW_CLIENTS)


def _adapter_named(sdk: str) -> SDKAdapter:
    for adapter in ADAPTERS:
        if adapter.sdk == sdk and adapter.client_classes:
            return adapter
    named = ", ".join(repr(a.sdk) for a in ADAPTERS if a.client_classes)
    raise ValueError(
        f"llmobs.instrument_sdk knows {named}, not {sdk!r}; instrument boto3's bedrock-runtime "
        "clients one by one with llmobs.instrument(client)"
    )


def _client_classes(adapter: SDKAdapter) -> list[type]:
    return [
        getattr(importlib.import_module(module), name) for module, name in adapter.client_classes
    ]


def _instrumenting(
    original: Callable[..., None], observer: LLMObserver, options: dict[str, Any]
) -> Callable[..., None]:
    """A client class's ``__init__`` that instruments the client it made."""

    @functools.wraps(original)
    def init(client: Any, *args: Any, **kwargs: Any) -> None:
        original(client, *args, **kwargs)
        try:
            instrument(client, **options)
        except Exception as exc:  # the client is the caller's either way
            observer.metrics.count_internal_error(exc)

    return init
