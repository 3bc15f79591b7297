"""An observed SDK method: the caller's call made as the SDK makes it, recorded as one LLM
call, with exactly what the SDK returned or raised handed back."""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from ..attribution import TagSource
from ..enforcement import BudgetExceededError
from ..observer import LLMCall, LLMObserver
from .adapter import Method, SDKAdapter
from .attempts import attempted
from .observed import ObservedAsyncStream, ObservedStream

UNKNOWN_AGENT = "unknown"

#: The agent of the innermost ``llmobs.agent(...)``.
AGENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("llmobs_agent", default=None)


@contextmanager
def agent(agent_id: str) -> Iterator[str]:
    """Record the instrumented calls made inside as ``agent_id``'s (nested ones win)."""
    if not isinstance(agent_id, str) or not agent_id:
        raise ValueError(f"agent_id must be a non-empty string, got {agent_id!r}")
    token = AGENT.set(agent_id)
    try:
        yield agent_id
    finally:
        AGENT.reset(token)


class ObservedMethod:
    """One instrumented method of one client."""

    def __init__(
        self,
        original: Callable[..., Any],
        adapter: SDKAdapter,
        method: Method,
        observer: LLMObserver,
        agent_id: str | None,
        provider: str,
        tags: TagSource | None = None,
    ) -> None:
        self.original, self.adapter, self.method = original, adapter, method
        self.observer, self.agent_id, self.provider = observer, agent_id, provider
        self.tags = tags

    def tags_of(self, kwargs: dict[str, Any]) -> Mapping[str, object] | None:
        """The tags of a call with these arguments: as given, or what the callable given
        reads from them (if it fails, the failure is counted and the call has none)."""
        if self.tags is None or isinstance(self.tags, Mapping):
            return self.tags
        try:
            return self.tags(kwargs)
        except Exception as exc:
            self.observer.metrics.count_internal_error(exc)
            return None

    def start(self, kwargs: dict[str, Any]) -> tuple[LLMCall, bool]:
        """The call, entered (a budget may refuse it here), and whether the stream's usage
        chunk is llmobs's to remove."""
        adapter = self.adapter
        strip_usage = adapter.ask_for_usage(self.method, kwargs)
        call = self.observer.call(
            AGENT.get() or self.agent_id or UNKNOWN_AGENT,
            adapter.model_of(kwargs),
            self.provider,
            max_tokens=adapter.max_tokens_of(kwargs),
            request=kwargs,
            tags=self.tags_of(kwargs),
            operation=adapter.operation_of(self.method, kwargs),
        )
        call.__enter__()
        return call, strip_usage

    def begin(self, kwargs: dict[str, Any]) -> tuple[LLMCall, bool] | None:
        """``start``, or None (counted) if llmobs fails: the call is then made unobserved.
        Only a budget's refusal reaches the caller."""
        try:
            return self.start(kwargs)
        except BudgetExceededError:
            raise
        except Exception as exc:
            self.observer.metrics.count_internal_error(exc)
            return None

    def answered(
        self, call: LLMCall, strip_usage: bool, answer: Any, kwargs: dict[str, Any]
    ) -> Any:
        """What the caller gets for the SDK's ``answer``: a stream recorded as it is read, or
        the response itself, recorded now (with the usage the method tells from the call, for
        a method whose answers carry none)."""
        stream = self.adapter.stream_in(self.method, answer)
        if stream is not None:
            kind = ObservedAsyncStream if self.method.is_async else ObservedStream
            return self.adapter.with_stream(answer, kind(stream, call, strip_usage))
        call.set_usage(answer)
        usage_of = self.method.usage
        if call.usage is None and usage_of is not None and not call.rejected:
            told = usage_of(kwargs, answer)
            if told is not None:
                call.set_usage(told)
        call.__exit__(None, None, None)
        return answer

    def bound(self) -> Callable[..., Any]:
        """The function that stands in for the SDK's method."""
        if self.method.kind == "manager":
            return self._manager()
        return self._asynchronous() if self.method.is_async else self._synchronous()

    def _synchronous(self) -> Callable[..., Any]:
        @functools.wraps(self.original)
        def observed(*args: Any, **kwargs: Any) -> Any:
            begun = self.begin(kwargs)
            if begun is None:
                return self.original(*args, **kwargs)
            call, strip_usage = begun
            with attempted(call, self.observer):
                answer = self.original(*args, **kwargs)
            return self.answered(call, strip_usage, answer, kwargs)

        return observed

    def _asynchronous(self) -> Callable[..., Any]:
        @functools.wraps(self.original)
        async def observed(*args: Any, **kwargs: Any) -> Any:
            begun = self.begin(kwargs)
            if begun is None:
                return await self.original(*args, **kwargs)
            call, strip_usage = begun
            with attempted(call, self.observer):
                answer = await self.original(*args, **kwargs)
            return self.answered(call, strip_usage, answer, kwargs)

        return observed

    def _manager(self) -> Callable[..., Any]:
        @functools.wraps(self.original)
        def observed(*args: Any, **kwargs: Any) -> ObservedManager:
            return ObservedManager(self.original(*args, **kwargs), self, kwargs)

        return observed


class ObservedManager:
    """A stream helper's context manager (Anthropic's ``messages.stream``): the request it
    makes on entering is the observed call, and the helper reads the SDK's raw stream through
    an observed one."""

    def __init__(self, manager: Any, method: ObservedMethod, kwargs: dict[str, Any]) -> None:
        self._manager, self._method, self._kwargs = manager, method, kwargs
        self._observed: ObservedStream | ObservedAsyncStream | None = None

    def _observe(self, call: LLMCall, helper: Any) -> Any:
        raw = getattr(helper, "_raw_stream", None)
        if raw is None:  # a helper of another shape: the call is recorded, its usage missing
            self._method.observer.metrics.count_internal_error(
                AttributeError(f"{type(helper).__name__} has no _raw_stream to observe")
            )
            call.streamed()
            call.__exit__(None, None, None)
            return helper
        kind = ObservedAsyncStream if self._method.method.is_async else ObservedStream
        self._observed = kind(raw, call, False)
        helper._raw_stream = self._observed  # read by the helper from its first event on
        return helper

    def __enter__(self) -> Any:
        begun = self._method.begin(self._kwargs)
        if begun is None:
            return self._manager.__enter__()
        call = begun[0]
        with attempted(call, self._method.observer):
            helper = self._manager.__enter__()
        return self._observe(call, helper)

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self._manager.__exit__(*exc_info)
        finally:
            if self._observed is not None:
                self._observed._finish()

    async def __aenter__(self) -> Any:
        begun = self._method.begin(self._kwargs)
        if begun is None:
            return await self._manager.__aenter__()
        call = begun[0]
        with attempted(call, self._method.observer):
            helper = await self._manager.__aenter__()
        return self._observe(call, helper)

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self._manager.__aexit__(*exc_info)
        finally:
            if self._observed is not None:
                self._observed._finish()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._manager, name)
