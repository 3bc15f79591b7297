"""A streamed response as the caller reads it: the SDK's own stream, its chunks passed through
unchanged, and the call recorded exactly once when the stream ends, is closed, breaks, or is
dropped unread.

Every way of reading it (``for``, ``next()``, ``async for``, ``__anext__``, an SDK helper that
reads it, several threads or tasks) takes chunks from one reader, as the SDK's own stream
does, so that each chunk is seen once and the usage chunk is read whoever reads it."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
from collections.abc import AsyncIterator, Iterator
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

    def _passes(self, chunk: Any) -> bool:
        """Watch ``chunk``; whether the caller sees it: all but a usage chunk only llmobs
        asked for."""
        self._call.watch(chunk)
        return not (self._strip_usage and _usage_only(chunk))

    def _stopped(self, reason: BaseException) -> None:
        """The SDK's stream ended (Stop(Async)Iteration) or broke (any other ``reason``)."""
        if isinstance(reason, (StopIteration, StopAsyncIteration)):
            self._call.stream_ended()
            self._finish()
        else:
            self._finish(reason)

    def __getattr__(self, name: str) -> Any:
        # Only the SDK stream's own attributes are forwarded: one of this wrapper's that is not
        # set yet (or a half-made wrapper's) must not be read from the SDK's stream instead.
        stream = self.__dict__.get("_stream")
        if stream is None:
            raise AttributeError(name)
        return getattr(stream, name)

    def __del__(self) -> None:  # a stream dropped unread is still recorded, once
        if self.__dict__.get("_finished") is False:
            with contextlib.suppress(Exception):  # never from a finalizer at shutdown
                self._finish()


class ObservedStream(_Observed):
    """An SDK's stream (or generator of chunks) as the caller sees it, recorded when it
    ends, is closed or breaks."""

    def __init__(self, stream: Any, call: LLMCall, strip_usage: bool) -> None:
        super().__init__(stream, call, strip_usage)
        self._chunks: Iterator[Any] | None = None
        self._next_lock = threading.Lock()  # one reader at a time, whatever the thread

    def __iter__(self) -> ObservedStream:
        return self

    def __next__(self) -> Any:
        # The hot path of a stream: one call per chunk, no generator between caller and SDK.
        with self._next_lock:
            if self._finished:
                raise StopIteration
            if self._chunks is None:
                self._chunks = iter(self._stream)
            try:
                while True:
                    chunk = next(self._chunks)
                    if self._passes(chunk):
                        return chunk
            except BaseException as reason:
                self._stopped(reason)
                raise

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

    def __init__(self, stream: Any, call: LLMCall, strip_usage: bool) -> None:
        super().__init__(stream, call, strip_usage)
        self._chunks: AsyncIterator[Any] | None = None
        self._next_lock: asyncio.Lock | None = None  # made on first read, in the reader's loop

    def __aiter__(self) -> ObservedAsyncStream:
        return self

    async def __anext__(self) -> Any:
        if self._next_lock is None:
            self._next_lock = asyncio.Lock()
        async with self._next_lock:
            if self._finished:
                raise StopAsyncIteration
            if self._chunks is None:
                self._chunks = aiter(self._stream)
            try:
                while True:
                    chunk = await anext(self._chunks)
                    if self._passes(chunk):
                        return chunk
            except BaseException as reason:
                self._stopped(reason)
                raise

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
