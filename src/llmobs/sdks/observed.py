"""A streamed response as the caller reads it: the SDK's own stream, its chunks passed through
unchanged, and the call recorded exactly once when the stream ends, is closed, breaks, or is
dropped unread."""

from __future__ import annotations

import contextlib
import inspect
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

from ..observer import LLMCall
from ..usage import field_of


def _usage_only(chunk: Any) -> bool:
    """The chunk the OpenAI API adds for ``include_usage``: usage and no choices."""
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
    """An SDK's stream (or generator of chunks) as the caller sees it, recorded when it
    ends, is closed or breaks."""

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
            close = getattr(self._stream, "close", None)
            if close is not None:
                close()
        finally:
            self._finish()


class ObservedAsyncStream(_Observed):
    """An SDK's async stream (or async generator of chunks) as the caller sees it, recorded
    when it ends, is closed or breaks."""

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
            close = getattr(self._stream, "aclose", None) or getattr(self._stream, "close", None)
            if close is not None:
                closed = close()
                if inspect.isawaitable(closed):
                    await closed
        finally:
            self._finish()
