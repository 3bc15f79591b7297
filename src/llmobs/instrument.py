"""SDK instrumentation: one call makes every ``create`` of an OpenAI client (chat completions
and Responses) or an Anthropic client (messages), sync or async, streamed or not, an observed
LLM call, with no other code.

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

import contextlib
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


class _Attempts:
    """The HTTP attempts the SDK makes for one observed call (its own retries included)."""

    __slots__ = ("call", "count", "observer")

    def __init__(self, call: LLMCall, observer: LLMObserver) -> None:
        self.call, self.observer, self.count = call, observer, 0

    def saw(self, status: int, headers: Any) -> None:
        """One response: counted, a 429 or 5xx by its code, rate-limit headroom read."""
        call, metrics = self.call, self.observer.metrics
        self.count += 1
        if status == 429 or status >= 500:
            metrics.count_failed_attempt(call.agent_id, call.model, call.provider, status)
        limits = {
            name: value for name, value in headers.items() if name.startswith(_RATE_LIMIT_PREFIXES)
        }
        if not limits:
            return
        for limit, (total_key, left_key) in _RATE_LIMIT_HEADERS:
            total, left = limits.get(total_key), limits.get(left_key)
            if total is not None and left is not None:
                try:
                    whole, remaining = int(float(total)), int(float(left))
                except ValueError:
                    continue
                metrics.set_rate_limit(call.provider, call.model, limit, remaining, whole)

    def done(self) -> None:
        """The call is over: attempts past the first were the SDK's retries."""
        if self.count > 1:
            call = self.call
            self.observer.metrics.count_retries(
                call.agent_id, call.model, call.provider, self.count - 1
            )


_ATTEMPTS: contextvars.ContextVar[_Attempts | None] = contextvars.ContextVar(
    "llmobs_attempts", default=None
)
_RATE_LIMIT_PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-")
#: Response headers of rate-limit headroom: (limit, (total header, remaining header)).
_RATE_LIMIT_HEADERS = tuple(
    (limit, (f"x-ratelimit-limit-{limit}", f"x-ratelimit-remaining-{limit}"))
    for limit in ("requests", "tokens")
) + tuple(
    (
        limit,
        (
            f"anthropic-ratelimit-{limit.replace('_', '-')}-limit",
            f"anthropic-ratelimit-{limit.replace('_', '-')}-remaining",
        ),
    )
    for limit in ("requests", "tokens", "input_tokens", "output_tokens")
)


def _saw_response(response: Any) -> None:
    """httpx response hook: one attempt of the observed call in this context, if any."""
    attempts = _ATTEMPTS.get()
    if attempts is not None:
        try:
            attempts.saw(response.status_code, response.headers)
        except Exception as exc:  # never into the SDK
            attempts.observer.metrics.count_internal_error(exc)


async def _saw_response_async(response: Any) -> None:
    _saw_response(response)


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


#: Per SDK (the client's top-level module): its provider label, and the resources whose
#: ``create`` is instrumented, each with whether its streams send usage only when asked.
_SDKS: dict[str, tuple[str, tuple[tuple[tuple[str, ...], bool], ...]]] = {
    "openai": ("openai", ((("chat", "completions"), True), (("responses",), False))),
    "anthropic": ("anthropic", ((("messages",), False),)),
}
_PATCHED = "_llmobs_original_create"
#: The request keys that cap a call's output, what an enforced budget reserves for.
_MAX_TOKENS = ("max_tokens", "max_completion_tokens", "max_output_tokens")


def _sdk_of(client: Any) -> str:
    sdk = type(client).__module__.split(".", 1)[0]
    if sdk not in _SDKS:
        raise TypeError(
            f"llmobs instruments clients of the {' and '.join(_SDKS)} SDKs, not a "
            f"{type(client).__name__}"
        )
    return sdk


def instrument(
    client: C,
    *,
    agent_id: str | None = None,
    provider: str | None = None,
    observer: LLMObserver | None = None,
) -> C:
    """Observe every ``create`` of an OpenAI client (``chat.completions`` and ``responses``;
    ``OpenAI`` or ``AsyncOpenAI``, a vLLM or Ollama server behind one too, with ``provider``
    naming it) or of an Anthropic client (``messages``; ``Anthropic`` or ``AsyncAnthropic``).
    Calls are recorded for the agent of the innermost ``llmobs.agent(...)``, else
    ``agent_id``, else ``unknown``. Instrumenting twice changes nothing. Returns the client;
    TypeError for a client of another SDK."""
    sdk = _sdk_of(client)
    label, methods = _SDKS[sdk]
    watcher = observer or LLMObserver()
    hooks = _response_hooks(client)
    hook = _saw_response_async if _is_async(client) else _saw_response
    if hooks is not None and hook not in hooks:
        hooks.append(hook)
    for path, asks_for_usage in methods:
        resource = _resource(client, path)
        if _PATCHED in vars(resource):
            continue
        original = resource.create
        wrapped = _Wrapper(original, watcher, agent_id, provider or label, asks_for_usage)
        setattr(resource, _PATCHED, original)
        resource.create = wrapped.asynchronous() if _is_async(client) else wrapped.synchronous()
    return client


def uninstrument(client: C) -> C:
    """Undo ``instrument``: the client's methods and HTTP hooks are its own again."""
    hooks = _response_hooks(client)
    for hook in (_saw_response, _saw_response_async):
        while hooks is not None and hook in hooks:
            hooks.remove(hook)
    for path, _ in _SDKS[_sdk_of(client)][1]:
        resource = _resource(client, path)
        if _PATCHED in vars(resource):
            del resource.create
            delattr(resource, _PATCHED)
    return client


def _response_hooks(client: Any) -> list[Any] | None:
    """The response hooks of the SDK's HTTP client, where each attempt shows (None if the
    SDK hides them)."""
    hooks = getattr(getattr(client, "_client", None), "event_hooks", None)
    return hooks.get("response") if isinstance(hooks, dict) else None


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
        asks_for_usage: bool,
    ) -> None:
        self.original, self.observer = original, observer
        self.agent_id, self.provider = agent_id, provider
        #: Whether its streams send usage only when asked (OpenAI chat completions).
        self.asks_for_usage = asks_for_usage
        self.stream_types = _stream_types()  # its SDK is imported by now

    def _start(self, kwargs: dict[str, Any]) -> tuple[LLMCall, bool]:
        """The call (entered: a budget may refuse it here) and whether the stream's usage
        chunk is llmobs's to remove."""
        strip_usage = False
        streaming = kwargs.get("stream") is True
        if self.asks_for_usage and streaming and kwargs.get("stream_options") is None:
            kwargs["stream_options"] = {"include_usage": True}
            strip_usage = True
        agent_id = _AGENT.get() or self.agent_id or UNKNOWN_AGENT
        model = kwargs.get("model")
        most = next((kwargs[k] for k in _MAX_TOKENS if kwargs.get(k) is not None), None)
        call = self.observer.call(
            agent_id, str(model) if model else "unknown", self.provider, max_tokens=most
        )
        call.__enter__()
        return call, strip_usage

    def _answered(self, call: LLMCall, strip_usage: bool, result: Any, streamed: type) -> Any:
        """What the caller gets for the SDK's ``result``: a stream recorded as it is read, or
        the response itself, recorded now."""
        if isinstance(result, self.stream_types):
            return streamed(result, call, strip_usage)
        call.set_usage(result)
        call.__exit__(None, None, None)
        return result

    def synchronous(self) -> Callable[..., Any]:
        @functools.wraps(self.original)
        def create(*args: Any, **kwargs: Any) -> Any:
            call, strip_usage = self._start(kwargs)
            with _attempted(call, self.observer):
                result = self.original(*args, **kwargs)
            return self._answered(call, strip_usage, result, ObservedStream)

        return create

    def asynchronous(self) -> Callable[..., Any]:
        @functools.wraps(self.original)
        async def create(*args: Any, **kwargs: Any) -> Any:
            call, strip_usage = self._start(kwargs)
            with _attempted(call, self.observer):
                result = await self.original(*args, **kwargs)
            return self._answered(call, strip_usage, result, ObservedAsyncStream)

        return create


@contextmanager
def _attempted(call: LLMCall, observer: LLMObserver) -> Iterator[None]:
    """Count the SDK's attempts for ``call`` while it runs; record the call as failed if the
    SDK raises, and let the error through."""
    attempts = _Attempts(call, observer)
    token = _ATTEMPTS.set(attempts)
    try:
        yield
    except BaseException as error:
        call.__exit__(type(error), error, error.__traceback__)
        raise
    finally:
        _ATTEMPTS.reset(token)
        attempts.done()


def _stream_types() -> tuple[type, ...]:
    """The stream classes of the SDKs that are imported (an instrumented client's is)."""
    import sys

    return tuple(
        getattr(module, name)
        for sdk in _SDKS
        if (module := sys.modules.get(sdk)) is not None
        for name in ("Stream", "AsyncStream")
    )


def _usage_only(chunk: Any) -> bool:
    """The chunk the API adds for ``include_usage``: usage and no choices."""
    return field_of(chunk, "usage") is not None and not field_of(chunk, "choices")


class _Observed:
    """What a streamed call's wrapper shares: the call, finished exactly once."""

    def __init__(self, stream: Any, call: LLMCall, strip_usage: bool) -> None:
        self._stream, self._call, self._strip_usage = stream, call, strip_usage
        call.streamed()
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
            with contextlib.suppress(Exception):  # never from a finalizer at shutdown
                self._finish()


class ObservedStream(_Observed):
    """An SDK's ``Stream`` as the caller sees it, recorded when it ends, is closed or breaks."""

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
    """An SDK's ``AsyncStream`` as the caller sees it, recorded when it ends, is closed or
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
