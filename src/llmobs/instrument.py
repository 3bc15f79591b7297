"""SDK instrumentation: one call makes every ``create`` of an OpenAI client (sync or async,
streamed or not) an observed LLM call, with no other code.

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

import contextvars
import functools
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from .observer import LLMCall, LLMObserver
from .usage import field_of

logger = logging.getLogger("llmobs")
C = TypeVar("C")
UNKNOWN_AGENT = "unknown"

_AGENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("llmobs_agent", default=None)


@contextmanager
def agent(agent_id: str) -> Iterator[str]:
    """Record the instrumented calls made inside as ``agent_id``'s (nested ones win)."""
    if not isinstance(agent_id, str) or not agent_id:
        raise ValueError(f"agent_id must be a non-empty string, got {agent_id!r}")
    token = _AGENT.set(agent_id)
    try:
        yield agent_id
    finally:
        _AGENT.reset(token)


#: The methods instrumented per SDK: (attribute path from the client, what they call).
_OPENAI_METHODS = (("chat", "completions"),)
_PATCHED = "_llmobs_original_create"


def instrument(
    client: C,
    *,
    agent_id: str | None = None,
    provider: str = "openai",
    observer: LLMObserver | None = None,
) -> C:
    """Observe every ``chat.completions.create`` of an OpenAI client (``OpenAI`` or
    ``AsyncOpenAI``; a vLLM or Ollama server behind one too, with ``provider`` naming it).
    Calls are recorded for the agent of the innermost ``llmobs.agent(...)``, else
    ``agent_id``, else ``unknown``. Instrumenting twice changes nothing. Returns the client."""
    watcher = observer or LLMObserver()
    for path in _OPENAI_METHODS:
        resource = _resource(client, path)
        if _PATCHED in vars(resource):
            continue
        original = resource.create
        wrapped = _Wrapper(original, watcher, agent_id, provider)
        setattr(resource, _PATCHED, original)
        resource.create = wrapped.asynchronous() if _is_async(client) else wrapped.synchronous()
    return client


def uninstrument(client: C) -> C:
    """Undo ``instrument``: the client's methods are its own again."""
    for path in _OPENAI_METHODS:
        resource = _resource(client, path)
        if _PATCHED in vars(resource):
            del resource.create
            delattr(resource, _PATCHED)
    return client


def _resource(client: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        client = getattr(client, name)
    return client


def _is_async(client: Any) -> bool:
    return type(client).__name__.startswith("Async")


class _Wrapper:
    """One instrumented ``create``: observes the call, hands back what the SDK gave."""

    def __init__(
        self,
        original: Callable[..., Any],
        observer: LLMObserver,
        agent_id: str | None,
        provider: str,
    ) -> None:
        self.original, self.observer = original, observer
        self.agent_id, self.provider = agent_id, provider

    def _start(self, kwargs: dict[str, Any]) -> tuple[LLMCall, bool]:
        """The call (entered: a budget may refuse it here) and whether the stream's usage
        chunk is llmobs's to remove."""
        strip_usage = False
        if kwargs.get("stream") is True and kwargs.get("stream_options") is None:
            kwargs["stream_options"] = {"include_usage": True}
            strip_usage = True
        agent_id = _AGENT.get() or self.agent_id or UNKNOWN_AGENT
        model = kwargs.get("model")
        call = self.observer.call(agent_id, str(model) if model else "unknown", self.provider)
        call.__enter__()
        return call, strip_usage

    def _answered(self, call: LLMCall, strip_usage: bool, result: Any, streamed: type) -> Any:
        """What the caller gets for the SDK's ``result``: a stream recorded as it is read, or
        the response itself, recorded now."""
        if isinstance(result, _stream_types()):
            return streamed(result, call, strip_usage)
        call.set_usage(result)
        call.__exit__(None, None, None)
        return result

    def synchronous(self) -> Callable[..., Any]:
        @functools.wraps(self.original)
        def create(*args: Any, **kwargs: Any) -> Any:
            call, strip_usage = self._start(kwargs)
            with _failure_recorded(call):
                result = self.original(*args, **kwargs)
            return self._answered(call, strip_usage, result, ObservedStream)

        return create

    def asynchronous(self) -> Callable[..., Any]:
        @functools.wraps(self.original)
        async def create(*args: Any, **kwargs: Any) -> Any:
            call, strip_usage = self._start(kwargs)
            with _failure_recorded(call):
                result = await self.original(*args, **kwargs)
            return self._answered(call, strip_usage, result, ObservedAsyncStream)

        return create


@contextmanager
def _failure_recorded(call: LLMCall) -> Iterator[None]:
    """Record the call as failed if the SDK raises, and let the error through."""
    try:
        yield
    except BaseException as error:
        call.__exit__(type(error), error, error.__traceback__)
        raise


@functools.cache
def _stream_types() -> tuple[type, ...]:
    """The SDK's stream classes, imported when first needed (an instrumented client's SDK is
    installed)."""
    from openai import AsyncStream, Stream

    return (Stream, AsyncStream)


def _usage_only(chunk: Any) -> bool:
    """The chunk the API adds for ``include_usage``: usage and no choices."""
    return field_of(chunk, "usage") is not None and not field_of(chunk, "choices")


class _Observed:
    """What a streamed call's wrapper shares: the call, finished exactly once."""

    def __init__(self, stream: Any, call: LLMCall, strip_usage: bool) -> None:
        self._stream, self._call, self._strip_usage = stream, call, strip_usage
        self._lock = threading.Lock()
        self._finished = False

    def _finish(self, error: BaseException | None = None) -> None:
        with self._lock:
            if self._finished:
                return
            self._finished = True
        self._call.__exit__(type(error) if error else None, error, None)

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Finish the call when reading ends: done, stopped by the caller, or broken."""
        try:
            yield
        except GeneratorExit:  # the caller stopped reading
            self._finish()
            raise
        except BaseException as error:
            self._finish(error)
            raise
        self._finish()

    def _shown(self, chunk: Any) -> bool:
        """Whether the caller sees ``chunk``: all but a usage chunk only llmobs asked for."""
        return not (self._strip_usage and _usage_only(chunk))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def __del__(self) -> None:  # a stream dropped unread is still recorded, once
        if not getattr(self, "_finished", True):
            self._finish()


class ObservedStream(_Observed):
    """An OpenAI ``Stream`` as the caller sees it, recorded when it ends, is closed or breaks."""

    def __iter__(self) -> Iterator[Any]:
        with self._reading():
            yield from filter(self._shown, self._call.stream(self._stream))

    def __next__(self) -> Any:
        if not hasattr(self, "_iterator"):
            self._iterator = iter(self)
        return next(self._iterator)

    def __enter__(self) -> ObservedStream:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._finish()


class ObservedAsyncStream(_Observed):
    """An OpenAI ``AsyncStream`` as the caller sees it, recorded when it ends, is closed or
    breaks."""

    async def __aiter__(self) -> AsyncIterator[Any]:
        with self._reading():
            async for chunk in self._call.astream(self._stream):
                if self._shown(chunk):
                    yield chunk

    async def __anext__(self) -> Any:
        if not hasattr(self, "_iterator"):
            self._iterator = self.__aiter__()
        return await self._iterator.__anext__()

    async def __aenter__(self) -> ObservedAsyncStream:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    async def close(self) -> None:
        try:
            await self._stream.close()
        finally:
            self._finish()
