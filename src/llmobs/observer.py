"""One entry point per LLM call: time it, read its usage, price it, record metrics and cost."""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from .cost import CostTracker
from .errors import InvalidRecordError
from .metrics import LLMMetrics, get_llm_metrics
from .pricing import LLMCostCalculator
from .usage import TokenUsage, extract_usage

logger = logging.getLogger("llmobs")
F = TypeVar("F", bound=Callable[..., Any])


class LLMCall:
    """One observed call, yielded by ``LLMObserver.call``. Give it the call's usage with
    ``set_usage``; optionally ``cached`` (response-cache hit or miss), ``cost`` (USD, to skip
    pricing), ``status``, and ``duration_seconds`` for a call timed elsewhere (else the time
    spent in the ``with`` block is recorded)."""

    __slots__ = (
        "_observer",
        "_started",
        "agent_id",
        "cached",
        "cost",
        "duration_seconds",
        "model",
        "provider",
        "status",
        "usage",
    )

    def __init__(
        self, observer: LLMObserver, agent_id: str, model: str, provider: str, cached: bool | None
    ) -> None:
        self._observer = observer
        self.agent_id = agent_id
        self.model = model
        self.provider = provider
        self.cached = cached
        self.cost: float | None = None
        self.status = "success"
        self.usage: TokenUsage | None = None
        self.duration_seconds: float | None = None
        self._started = 0.0

    def set_usage(
        self,
        response: Any = None,
        *,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        cache_read_tokens: int = 0,
        cache_write_tokens: int = 0,
    ) -> None:
        """Take usage from a provider response (OpenAI, Anthropic, Gemini) or from counts.

        Counts follow the llmobs convention: ``prompt_tokens`` includes cached tokens.
        """
        if response is not None:
            self.usage = extract_usage(response)
            return
        self.usage = TokenUsage(
            prompt_tokens if prompt_tokens is not None else 0,
            completion_tokens if completion_tokens is not None else 0,
            cache_read_tokens,
            cache_write_tokens,
        )

    def __enter__(self) -> LLMCall:
        self._observer.metrics.increment_active_requests(self.agent_id, self.provider)
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
            self._observer.finish(self, duration, exc)
        finally:
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
    """

    def __init__(
        self,
        metrics: LLMMetrics | None = None,
        tracker: CostTracker | None = None,
        calculator: LLMCostCalculator | None = None,
    ) -> None:
        self.metrics = metrics or get_llm_metrics()
        self.tracker = tracker
        self.calculator = calculator or LLMCostCalculator(metrics=self.metrics)
        self._warned_no_usage: set[str] = set()

    def call(
        self, agent_id: str, model: str, provider: str, *, cached: bool | None = None
    ) -> LLMCall:
        """A context manager (``with`` or ``async with``) observing one call."""
        return LLMCall(self, agent_id, model, provider, cached)

    def finish(self, call: LLMCall, duration: float, error: BaseException | None) -> None:
        """Record a finished call; never raises unless the metrics are strict."""
        try:
            self._finish(call, duration, error)
        except InvalidRecordError as rejected:
            self.metrics.count_rejection(rejected)
        except Exception as exc:
            self.metrics.count_internal_error(exc)

    def _finish(self, call: LLMCall, duration: float, error: BaseException | None) -> None:
        usage = call.usage
        if error is not None:
            self.metrics.record_error(
                call.agent_id, call.model, call.provider, error, duration_seconds=duration
            )
            if usage is not None:  # tokens billed before the failure still cost money
                self._track_cost(call, usage, call.cost)
            return
        if usage is None:
            self._warn_no_usage(call.agent_id)
            usage = TokenUsage()
        cost = call.cost
        if cost is None and call.usage is not None:
            cost = self.calculator.cost_of(
                call.model,
                usage.prompt_tokens,
                usage.completion_tokens,
                provider=call.provider,
                cache_read_tokens=usage.cache_read_tokens,
                cache_write_tokens=usage.cache_write_tokens,
            )
            if cost is None:
                self.calculator.note_unpriced(call.model, call.provider)
        self.metrics.record_request(
            call.agent_id,
            call.model,
            call.provider,
            call.status,
            duration,
            usage.prompt_tokens,
            usage.completion_tokens,
            call.cached,
            cost,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
        )
        if call.usage is not None:
            self._track_cost(call, usage, cost)

    def _track_cost(self, call: LLMCall, usage: TokenUsage, cost: float | None) -> None:
        if self.tracker is not None:
            self.tracker.record_cost(
                call.agent_id,
                call.model,
                call.provider,
                usage.prompt_tokens,
                usage.completion_tokens,
                cache_read_tokens=usage.cache_read_tokens,
                cache_write_tokens=usage.cache_write_tokens,
                cost=cost,
            )

    def _warn_no_usage(self, agent_id: str) -> None:
        if agent_id not in self._warned_no_usage and len(self._warned_no_usage) < 1000:
            self._warned_no_usage.add(agent_id)
            logger.warning(
                "llmobs: a call of agent %r finished without set_usage(); its tokens and cost "
                "are recorded as 0",
                agent_id,
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
