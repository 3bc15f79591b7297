"""One entry point per LLM call: time it, read its usage, price it, record metrics and cost."""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from types import TracebackType
from typing import Any, TypeVar

from . import values
from .agent_runs import current_agent_run
from .attribution import clean_tags, uncounted
from .content import Captured
from .cost import CostTracker
from .enforcement import BudgetExceededError, Reservation
from .errors import InvalidRecordError
from .metrics import LLMMetrics, error_name, get_llm_metrics
from .otel import GenAIMetrics, GenAISpans
from .otel import enabled as otel_enabled
from .otel import spans_enabled as otel_spans
from .pricing import LLMCostCalculator
from .prompt_size import prompt_token_bound
from .schema import CHAT
from .service_tiers import tier_name
from .store import CostStoreError
from .streams import StreamReader
from .usage import TokenUsage, extract_usage
from .values import optional_token_count

logger = logging.getLogger("llmobs")
F = TypeVar("F", bound=Callable[..., Any])
E = TypeVar("E")
_NO_LIMITS: dict[str, Any] = {}


class LLMCall:
    """One observed call, yielded by ``LLMObserver.call``. Give it the call's usage with
    ``set_usage``; optionally ``cached`` (response-cache hit or miss), ``cost`` (USD, to skip
    pricing), ``status``, and ``duration_seconds`` for a call timed elsewhere (else the time
    spent in the ``with`` block is recorded)."""

    __slots__ = (
        "_admitted",
        "_chunk_gaps",
        "_content",
        "_first_output",
        "_last_output",
        "_limits",
        "_observer",
        "_rejected",
        "_reservation",
        "_reserves",
        "_span",
        "_started",
        "_stream",
        "_stream_ended",
        "agent_id",
        "cached",
        "cost",
        "duration_seconds",
        "model",
        "operation",
        "provider",
        "status",
        "tags",
        "usage",
    )

    def __init__(
        self,
        observer: LLMObserver,
        agent_id: str,
        model: str,
        provider: str,
        cached: bool | None,
        limits: dict[str, Any] | None = None,
        *,
        reserves: bool = True,
        operation: str = CHAT,
    ) -> None:
        self._observer = observer
        self._limits = limits or _NO_LIMITS
        self._reserves = reserves
        self._reservation: Reservation | None = None
        self.agent_id = agent_id
        self.model = model
        self.provider = provider
        self.operation = operation
        self.cached = cached
        self.cost: float | None = None
        self.tags: Mapping[str, object] | None = None
        self.status = "success"
        self.usage: TokenUsage | None = None
        self.duration_seconds: float | None = None
        self._started = 0.0
        self._admitted = False
        self._rejected = False
        self._stream: StreamReader | None = None
        self._first_output: float | None = None
        self._last_output = 0.0
        #: Seconds between output chunks after the first, kept where OpenTelemetry records them.
        self._chunk_gaps: list[float] | None = None
        self._stream_ended: float | None = None
        self._span: Any = None
        #: The answer kept for the span, where it captures content.
        self._content: Captured | None = None

    @property
    def rejected(self) -> bool:
        """Whether this call's record was rejected (bad labels or usage); it records nothing."""
        return self._rejected

    def set_usage(
        self,
        response: Any = None,
        *,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
        reasoning_tokens: int = 0,
        cache_write_1h_tokens: int = 0,
        web_search_requests: int = 0,
        service_tier: str | None = None,
    ) -> None:
        """Take usage from a provider response (OpenAI, Anthropic, Gemini) or from counts.

        Counts follow the llmobs convention: ``prompt_tokens`` includes cached tokens,
        ``completion_tokens`` includes reasoning tokens, ``cache_write_tokens`` includes the
        1-hour writes. ``service_tier`` names the tier that served the call where the response
        does not say (a Gemini or Bedrock batch: ``"batch"``). Usage of an unexpected shape
        rejects the call's record (counted in ``llm_invalid_records_total``); it raises only
        when the metrics are strict.
        """
        try:
            tier = tier_name(service_tier)
            if response is not None:
                if self._content is not None:
                    self._content.response = response
                usage = extract_usage(response)
                if usage is not None and tier is not None:
                    usage = replace(usage, service_tier=tier)
                self.usage = usage
                return
            self.usage = TokenUsage(
                optional_token_count(prompt_tokens, "prompt_tokens"),
                optional_token_count(completion_tokens, "completion_tokens"),
                optional_token_count(cache_read_tokens, "cache_read_tokens"),
                optional_token_count(cache_write_tokens, "cache_write_tokens"),
                optional_token_count(reasoning_tokens, "reasoning_tokens"),
                optional_token_count(cache_write_1h_tokens, "cache_write_1h_tokens"),
                optional_token_count(web_search_requests, "web_search_requests"),
                tier,
            )
        except InvalidRecordError as error:
            self._rejected = True
            self._observer.metrics.count_rejection(error)
        except Exception as exc:
            self._rejected = True
            self._observer.metrics.count_internal_error(exc)

    def streamed(self) -> None:
        """Mark the call as answered by a stream: if it ends before the stream is read to its
        end, its missing usage is the stream's (``stream_closed``)."""
        if self._stream is None:
            if self._observer.otel_instruments() is not None:
                self._chunk_gaps = []
            self._stream = StreamReader(every_output=self._chunk_gaps is not None)

    def stream(self, events: Iterable[E]) -> Iterator[E]:
        """Pass a streamed response's events (or chunks) through unchanged, reading its usage
        and first output as they go. Iterate it inside the ``with`` block; a stream the caller
        stops reading early, or that breaks, is recorded with what it reported so far."""
        self.streamed()
        for event in events:
            self.watch(event)
            yield event
        self.stream_ended()

    async def astream(self, events: AsyncIterable[E]) -> AsyncIterator[E]:
        """``stream`` for an async stream (``async for``)."""
        self.streamed()
        async for event in events:
            self.watch(event)
            yield event
        self.stream_ended()

    def stream_ended(self) -> None:
        """Note that the stream was read to its end (for a wrapper that reads it itself)."""
        self._stream_ended = time.perf_counter()

    def watch(self, event: Any) -> None:
        """Read one streamed event, as ``stream`` does with each (for a wrapper that reads the
        stream itself, after ``streamed``); never raises into the caller's loop."""
        reader = self._stream
        assert reader is not None
        try:
            if reader.feed(event):
                if self._first_output is None:
                    self._first_output = self._last_output = time.perf_counter()
                elif self._chunk_gaps is not None:
                    now = time.perf_counter()
                    self._chunk_gaps.append(now - self._last_output)
                    self._last_output = now
            self.usage = reader.usage
            if self._content is not None:
                self._content.feed(event)
        except InvalidRecordError as error:
            self._rejected = True
            self._observer.metrics.count_rejection(error)
        except Exception as exc:
            self._observer.metrics.count_internal_error(exc)

    def __enter__(self) -> LLMCall:
        # A call a budget refuses raises BudgetExceededError here, before it is made.
        self._reservation = self._observer.reserve(self) if self._reserves else None
        self._admitted = self._observer.metrics.increment_active_requests(
            self.agent_id, self.provider
        )
        # Labels the in-flight gauge rejected were counted once; the call records nothing more.
        self._rejected = not self._admitted
        self._span = self._observer.start_span(self)
        self._started = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        measured = time.perf_counter() - self._started
        duration = measured if self.duration_seconds is None else self.duration_seconds
        try:
            if self._span is None:
                self._observer.finish(self, duration, exc)
            else:
                self._observer.finish_in_span(self, duration, exc)
        finally:
            if self._admitted:
                self._admitted = False
                self._observer.metrics.decrement_active_requests(self.agent_id, self.provider)

    async def __aenter__(self) -> LLMCall:
        return self.__enter__()

    async def __aexit__(self, *exc_info: Any) -> None:
        self.__exit__(*exc_info)


class LLMObserver:
    """Records an LLM call in one place: in-flight gauge, latency, tokens, cache outcome, cost
    in the metrics and in the cost tracker, and on an exception the error with its type.

    Example:
        >>> from prometheus_client import CollectorRegistry
        >>> observer = LLMObserver(metrics=LLMMetrics(registry=CollectorRegistry()),
        ...                        tracker=CostTracker(":memory:", daily_budget=10.0))
        >>> with observer.call("meetmind.coordinator", "gpt-4o", "openai") as call:
        ...     call.set_usage({"usage": {"prompt_tokens": 1000, "completion_tokens": 500}})
        >>> observer.tracker.get_daily_summary().total_cost
        0.0075

    The exception, if any, is recorded and re-raised. ``observe`` does the same as a decorator
    for sync and async functions, reading the usage from what the function returns.

    Args:
        metrics: where metrics go; ``get_llm_metrics()`` if None.
        tracker: where costs go; none are tracked if None.
        calculator: prices calls whose cost is not given; the default calculator if None.
        enforce: refuse calls that would exceed any of the tracker's budgets (with
            ``BudgetExceededError``, before the call is made); without it only budgets marked
            ``enforce`` and runs are enforced.
        otel: OpenTelemetry GenAI instruments to record every call to as well
            (``llmobs.otel.GenAIMetrics``); those of ``llmobs.enable_otel`` if None.
        spans: a GenAI client span per call (``llmobs.otel.GenAISpans``); those of
            ``llmobs.enable_otel(spans=True)`` if None.
    """

    def __init__(
        self,
        metrics: LLMMetrics | None = None,
        tracker: CostTracker | None = None,
        calculator: LLMCostCalculator | None = None,
        *,
        enforce: bool = False,
        otel: GenAIMetrics | None = None,
        spans: GenAISpans | None = None,
    ) -> None:
        self.metrics = metrics or get_llm_metrics()
        self.otel = otel
        self.spans = spans
        self.tracker = tracker
        self.enforce = bool(enforce)
        self.calculator = calculator or LLMCostCalculator(metrics=self.metrics)
        self._warned_no_usage: set[str] = set()

    def call(
        self,
        agent_id: str,
        model: str,
        provider: str,
        *,
        cached: bool | None = None,
        max_cost: float | None = None,
        max_tokens: int | None = None,
        prompt_tokens: int = 0,
        request: Mapping[str, Any] | None = None,
        tags: Mapping[str, object] | None = None,
        operation: str = CHAT,
    ) -> LLMCall:
        """A context manager (``with`` or ``async with``) observing one call.

        ``operation`` is what it asks for: ``chat`` (the default), ``embeddings``, ``image``,
        ``audio`` (the ``operation`` label). ``tags`` attribute its cost (``customer=``,
        ``user=``, ``feature=``, ``environment=`` and the tracker's declared keys), over those
        of the current ``llmobs.attribute`` block.

        Where a budget is enforced, the call's worst-case cost is reserved on entering:
        ``max_cost`` in USD, else the model's price for its prompt and its output limit
        ``max_tokens`` (the tracker's ``reserve_output_tokens`` when None). The prompt is
        ``prompt_tokens``, else a bound counted from ``request`` (the call's keyword
        arguments, see ``llmobs.prompt_size``) if given, priced on the request's
        ``service_tier`` (see ``CostTracker.reserve``).
        """
        if max_cost is None and max_tokens is None and not prompt_tokens and request is None:
            call = LLMCall(self, agent_id, model, provider, cached, operation=operation)
        else:
            limits = {
                "max_cost": max_cost,
                "max_tokens": max_tokens,
                "prompt_tokens": prompt_tokens,
                "request": request,
            }
            call = LLMCall(self, agent_id, model, provider, cached, limits, operation=operation)
        call.tags = tags
        return call

    def record_finished(
        self,
        agent_id: str,
        model: str,
        provider: str,
        response: Any = None,
        *,
        duration_seconds: float,
        first_output_seconds: float | None = None,
        error: BaseException | None = None,
        tags: Mapping[str, object] | None = None,
        operation: str = CHAT,
        request: Mapping[str, Any] | None = None,
        answer: Any = None,
    ) -> None:
        """Record a call made and timed elsewhere, after the fact (a framework's callback):
        its usage read from ``response``, its first output ``first_output_seconds`` after its
        start if it was streamed, ``error`` if it failed, attributed to ``tags``, as an
        ``operation`` call. Nothing is reserved or refused: the call is already made. Never
        raises unless the metrics are strict. A span that captures content holds the prompt of
        ``request`` (the call's keyword arguments) and the ``answer`` (the whole response)."""
        limits = None if request is None else {"request": request}
        call = LLMCall(
            self, agent_id, model, provider, None, limits, reserves=False, operation=operation
        )
        call.tags = tags
        call.duration_seconds = duration_seconds
        call.__enter__()
        if first_output_seconds is not None:
            call.streamed()
            call._first_output = call._started + first_output_seconds
            call._stream_ended = call._started + duration_seconds
        if response is not None:
            call.set_usage(response)
        if call._content is not None and answer is not None:
            call._content.response = answer
        call.__exit__(type(error) if error is not None else None, error, None)

    def reserve(self, call: LLMCall) -> Reservation | None:
        """Reserve ``call``'s worst-case cost where budgets are enforced; raises only
        BudgetExceededError (a bad label or limit is counted and the call goes unreserved)."""
        tracker = self.tracker
        if tracker is None or not tracker.enforcing(self.enforce):
            return None
        limits = call._limits
        try:
            prompt = limits.get("prompt_tokens") or 0
            request = limits.get("request")
            if not prompt and request is not None:
                prompt = prompt_token_bound(request, tracker.reserve_media_tokens)
            return tracker.reserve(
                call.agent_id,
                call.model,
                call.provider,
                enforce_all=self.enforce,
                max_cost=limits.get("max_cost"),
                prompt_tokens=prompt,
                max_tokens=limits.get("max_tokens"),
                service_tier=None if request is None else request.get("service_tier"),
                tags=call.tags,
            )
        except BudgetExceededError:
            raise
        except InvalidRecordError as rejected:
            self.metrics.count_rejection(rejected)
        except Exception as exc:
            self.metrics.count_internal_error(exc)
        return None

    def otel_instruments(self) -> GenAIMetrics | None:
        """The OpenTelemetry instruments calls are recorded to: ``otel``, else those of
        ``llmobs.enable_otel``, else None."""
        return self.otel or otel_enabled()

    def start_span(self, call: LLMCall) -> Any:
        """``call``'s span where spans are on (``spans``, else ``llmobs.enable_otel``), else
        None; a call timed elsewhere starts its duration ago. Never raises."""
        spans = self.spans or otel_spans()
        if spans is None or call.rejected:
            return None
        try:
            span = spans.start(
                call.agent_id,
                call.model,
                call.provider,
                call.operation,
                call.duration_seconds or 0.0,
            )
        except Exception as exc:
            self.metrics.count_internal_error(exc)
            return None
        if spans.capture_content and call.operation == CHAT:  # chats have prompts and answers
            call._content = Captured()
            request = call._limits.get("request")
            try:
                if request is not None:
                    spans.prompt(span, request)
            except Exception as exc:  # the span goes on without it
                self.metrics.count_internal_error(exc)
        return span

    def finish_in_span(self, call: LLMCall, duration: float, error: BaseException | None) -> None:
        """``finish`` with the call's span current (the metrics' exemplars name it), then the
        span ended with what the call used and cost."""
        spans = self.spans or otel_spans()
        assert spans is not None
        token = spans.make_current(call._span)
        try:
            self.finish(call, duration, error)
        finally:
            spans.restore(token)
        answer = None
        if call._content is not None:
            try:
                answer = call._content.messages()
            except Exception as exc:  # the span ends without it
                self.metrics.count_internal_error(exc)
        try:
            usage = None if call.rejected else call.usage
            spans.end(
                call._span,
                input_tokens=None if usage is None else usage.prompt_tokens,
                output_tokens=None if usage is None else usage.completion_tokens,
                cost=call.cost,
                error_type=None if error is None else str(error_name(error)),
                answer=answer,
            )
        except Exception as exc:
            self.metrics.count_internal_error(exc)
        finally:
            call._span = None

    def finish(self, call: LLMCall, duration: float, error: BaseException | None) -> None:
        """Record a finished call; never raises unless the metrics are strict."""
        try:
            self._finish(call, duration, error)
            self._count_in_run(call)
        except InvalidRecordError as rejected:
            self.metrics.count_rejection(rejected)
        except Exception as exc:
            self.metrics.count_internal_error(exc)
        finally:
            if call._reservation is not None and self.tracker is not None:
                self.tracker.release(call._reservation)  # not settled: nothing was recorded

    @staticmethod
    def _count_in_run(call: LLMCall) -> None:
        """Count a recorded call, its tokens and cost, to the agent run it is made in."""
        run = current_agent_run()
        if run is None or call.rejected:
            return
        usage = call.usage
        tokens = 0 if usage is None else usage.prompt_tokens + usage.completion_tokens
        run.count_call(tokens, call.cost)

    def _finish(self, call: LLMCall, duration: float, error: BaseException | None) -> None:
        """Record the call whole or not at all: everything is checked before anything counts,
        and the cost tracker only sees what the metrics took."""
        if call.rejected and (error is None or not call._admitted):
            return
        usage = None if call.rejected else call.usage
        self._record_stream(call)
        if error is not None:
            # Tokens billed before the failure still cost money: the request is counted with
            # them, in the metrics as in the tracker; its time goes to the failed requests'.
            taken = self.metrics.record_error(
                call.agent_id,
                call.model,
                call.provider,
                error,
                duration_seconds=duration,
                count_request=usage is None,
                operation=call.operation,
            )
            if taken and usage is not None:
                self._record_usage(call, usage, "error", None)
            elif taken:
                self._record_tags(call, None)
                if call._stream is not None:  # billed, but how much is unknown
                    self._count_usage_missing(call, "stream_error")
            if taken:
                self._record_otel(call, usage, duration, str(error_name(error)))
            return
        if usage is None:
            cut_short = call._stream is not None and call._stream_ended is None
            reason = "stream_closed" if cut_short else "not_reported"
            self._warn_no_usage(call.agent_id, reason)
            self._count_usage_missing(call, reason)
            usage = TokenUsage()
        if self._record_usage(call, usage, call.status, duration):
            self._record_otel(call, call.usage, duration, None)

    def _record_usage(
        self, call: LLMCall, usage: TokenUsage, status: str, duration: float | None
    ) -> bool:
        """Count the request with its tokens and cost (priced here unless given), and give
        the cost tracker what the metrics took; whether they took it."""
        cost = values.optional_cost(call.cost)
        unpriced = False
        if cost is None and call.usage is not None:
            cost = self.calculator.usage_cost(call.model, usage, provider=call.provider)
            unpriced = cost is None
        taken = self.metrics.record_request(
            call.agent_id,
            call.model,
            call.provider,
            status,
            duration,
            usage.prompt_tokens,
            usage.completion_tokens,
            call.cached,
            cost,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            operation=call.operation,
        )
        if not taken:
            return False
        call.cost = cost
        self._record_tags(call, cost)
        if unpriced:
            self.calculator.note_unpriced(call.model, call.provider)
        if call.usage is not None:
            self._track_cost(call, usage, cost)
        return True

    def _record_otel(
        self, call: LLMCall, usage: TokenUsage | None, duration: float, error: str | None
    ) -> None:
        """The call as OpenTelemetry GenAI metrics, where they are on (``otel``, else
        ``llmobs.enable_otel``)."""
        instruments = self.otel_instruments()
        if instruments is None:
            return
        first = None
        if call._stream is not None and call._first_output is not None:
            first = call._first_output - call._started
        instruments.record(
            instruments.attributes(call.model, call.provider, call.operation),
            input_tokens=None if usage is None else usage.prompt_tokens,
            output_tokens=None if usage is None else usage.completion_tokens,
            duration=duration,
            cost=call.cost,
            error_type=error,
            first_chunk=first,
            chunk_gaps=call._chunk_gaps,
        )

    def _record_tags(self, call: LLMCall, cost: float | None) -> None:
        """Count the call under the values of its tags the tracker labels (a tag it cannot
        keep is the tracker's to count, not counted twice)."""
        tracker = self.tracker
        if tracker is None or not tracker.labelled_tags:
            return
        tags = clean_tags(call.tags, tracker.labelled_tags, uncounted)
        if tags:
            self.metrics.record_tags(tags, cost)

    def _count_usage_missing(self, call: LLMCall, reason: str) -> None:
        self.metrics.count_usage_missing(call.agent_id, call.model, call.provider, reason)

    def _record_stream(self, call: LLMCall) -> None:
        """Time to first output of a streamed call, and time per output token after it for
        one that ran to its end."""
        if call._stream is None or call._first_output is None:
            return
        first = call._first_output - call._started
        pace = None
        tokens = call.usage.completion_tokens if call.usage is not None else 0
        if call._stream_ended is not None and tokens > 1:
            pace = (call._stream_ended - call._first_output) / (tokens - 1)
        self.metrics.record_stream(call.agent_id, call.model, call.provider, first, pace)

    def _track_cost(self, call: LLMCall, usage: TokenUsage, cost: float | None) -> None:
        if self.tracker is None:
            return
        try:
            self.tracker.record_cost(
                call.agent_id,
                call.model,
                call.provider,
                usage.prompt_tokens,
                usage.completion_tokens,
                cache_read_tokens=usage.cache_read_tokens,
                cache_write_tokens=usage.cache_write_tokens,
                cost=cost,
                reservation=call._reservation,
                tags=call.tags,
            )
        except CostStoreError as exc:  # a durable entry not stored: counted as dropped
            logger.error("llmobs: %s", exc)

    def _warn_no_usage(self, agent_id: str, reason: str) -> None:
        if agent_id not in self._warned_no_usage and len(self._warned_no_usage) < 1000:
            self._warned_no_usage.add(agent_id)
            cause = {
                "not_reported": "without usage (no set_usage(), or a response with none)",
                "stream_closed": "as a stream the caller stopped reading before its usage came",
            }[reason]
            logger.warning(
                "llmobs: a call of agent %r finished %s; its tokens and cost are recorded as 0 "
                "and counted in llm_usage_missing_total",
                agent_id,
                cause,
            )

    def observe(
        self,
        agent_id: str,
        model: str | None = None,
        provider: str = "unknown",
        *,
        cached: bool | None = None,
    ) -> Callable[[F], F]:
        """Decorate a sync or async function making one LLM call; its return value's usage is
        recorded. With ``model=None`` the model is the call's ``model`` keyword argument."""

        def decorate(function: F) -> F:
            def start(kwargs: dict[str, Any]) -> LLMCall:
                return self.call(
                    agent_id, model or str(kwargs.get("model", "unknown")), provider, cached=cached
                )

            if inspect.iscoroutinefunction(function):

                @functools.wraps(function)
                async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                    async with start(kwargs) as call:
                        result = await function(*args, **kwargs)
                        call.set_usage(result)
                        return result

                return async_wrapper  # type: ignore[return-value]

            @functools.wraps(function)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                with start(kwargs) as call:
                    result = function(*args, **kwargs)
                    call.set_usage(result)
                    return result

            return wrapper  # type: ignore[return-value]

        return decorate
