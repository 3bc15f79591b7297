"""Bound label children for one label set, created once and reused on every record."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from .collectors import Collectors
from .errors import InvalidRecordError, Reason
from .exemplars import Exemplar
from .schema import (
    ACTIVE_REQUESTS,
    AGENT_RUN_CALLS,
    AGENT_RUN_COST,
    AGENT_RUN_DURATION,
    AGENT_RUN_STEPS,
    AGENT_RUN_TOKENS,
    AGENT_RUNS,
    BUDGET_REFUSALS,
    CACHE_HITS,
    CACHE_MISSES,
    CACHE_SIZE,
    COST,
    ERRORS,
    FAILED_ATTEMPTS,
    FAILED_REQUEST_DURATION,
    LABEL_OVERFLOW,
    RATE_LIMIT_REMAINING,
    REQUEST_DURATION,
    REQUESTS,
    RETRIES,
    TAG_COST,
    TAG_REQUESTS,
    TIME_PER_OUTPUT_TOKEN,
    TIME_TO_FIRST_TOKEN,
    TOKENS,
    TOOL_CALLS,
    TOOL_DURATION,
    UNPRICED_REQUESTS,
    USAGE_MISSING,
    TokenType,
)

S = TypeVar("S")


def overflow_children(collectors: Collectors, folded: tuple[str, ...]) -> tuple[Any, ...]:
    """The ``llm_label_overflow_total`` children to increment on each record of a folded set."""
    counter = collectors[LABEL_OVERFLOW.name]
    return tuple(counter.labels(label) for label in folded)


class SeriesCache(Generic[S]):
    """Maps raw label tuples to bound series, binding on first use; bounded in size.

    When full it starts over, so a flood of distinct raw values costs rebinding, never memory.
    """

    def __init__(self, bind: Callable[..., S], max_size: int) -> None:
        self._bind = bind
        self._max_size = max_size
        self._series: dict[Hashable, S] = {}

    def get(self, key: tuple[Any, ...]) -> S:
        """Return the series bound to ``key``; raise InvalidRecordError for bad label values."""
        try:
            series = self._series.get(key)
        except TypeError:  # an unhashable label value; binding rejects it with a clear message
            series = None
        if series is None:
            series = self._bind(*key)
            if len(self._series) >= self._max_size:
                self._series.clear()
            self._series[key] = series
        return series


class RequestSeries:
    """Children for one (agent_id, model, provider, operation, status) label set."""

    __slots__ = (
        "_collectors",
        "_labels",
        "_tokens",
        "cost",
        "duration",
        "hits",
        "misses",
        "overflows",
        "requests",
    )

    def __init__(self, collectors: Collectors, values: tuple[str, ...], overflows: tuple[Any, ...]):
        agent_id, model, provider, operation, status = values
        self._collectors = collectors
        self._labels = (agent_id, model, provider, operation)
        self.requests = collectors[REQUESTS.name].labels(*self._labels, status)
        self._tokens = {
            token_type: collectors[TOKENS.name].labels(*self._labels, token_type.value)
            for token_type in (TokenType.PROMPT, TokenType.COMPLETION)
        }
        self.cost = collectors[COST.name].labels(*self._labels)
        self.duration = collectors[REQUEST_DURATION.name].labels(*self._labels)
        self.hits: Any = None
        self.misses: Any = None
        self.overflows = overflows

    def tokens(self, token_type: TokenType) -> Any:
        """The token counter child for ``token_type``, bound on first use."""
        child = self._tokens.get(token_type)
        if child is None:
            child = self._collectors[TOKENS.name].labels(*self._labels, token_type.value)
            self._tokens[token_type] = child
        return child

    def cache_outcome(self, hit: bool) -> Any:
        """The cache hit or miss counter child.

        Both are bound together on first use, so a service with a cache exposes hits and misses
        from its first record on, and one without a cache exposes neither.
        """
        if self.hits is None:
            agent_id, model, _, _ = self._labels
            self.hits = self._collectors[CACHE_HITS.name].labels(agent_id, model)
            self.misses = self._collectors[CACHE_MISSES.name].labels(agent_id, model)
        return self.hits if hit else self.misses

    def record(
        self,
        prompt: int,
        completion: int,
        cache_read: int,
        cache_write: int,
        duration: float | None,
        cost: float | None,
        cached: bool | None,
        reasoning: int = 0,
        exemplar: Exemplar | None = None,
    ) -> None:
        """Update every child for one completed request; inputs are already validated;
        ``exemplar`` (the call's trace) goes with its duration and cost."""
        self.requests.inc()
        tokens = self._tokens
        tokens[TokenType.PROMPT].inc(prompt)
        tokens[TokenType.COMPLETION].inc(completion)
        if cache_read:
            self.tokens(TokenType.CACHE_READ).inc(cache_read)
        if cache_write:
            self.tokens(TokenType.CACHE_WRITE).inc(cache_write)
        if reasoning:
            self.tokens(TokenType.REASONING).inc(reasoning)
        if duration is not None:
            self.duration.observe(duration, exemplar)
        if cost is not None:
            self.cost.inc(cost, exemplar)
        if cached is not None:
            self.cache_outcome(cached).inc()
        for overflow in self.overflows:
            overflow.inc()


class ErrorSeries:
    """Children for one (agent_id, model, provider, operation, error_type) label set."""

    __slots__ = ("_collectors", "_duration", "_labels", "errors", "overflows", "requests")

    def __init__(self, collectors: Collectors, values: tuple[str, ...], overflows: tuple[Any, ...]):
        agent_id, model, provider, operation, error_type, status = values
        self._collectors = collectors
        self._labels = (agent_id, model, provider)
        self.errors = collectors[ERRORS.name].labels(agent_id, model, provider, error_type)
        self.requests = collectors[REQUESTS.name].labels(*self._labels, operation, status)
        self._duration: Any = None
        self.overflows = overflows

    def record(
        self, duration: float | None, count_request: bool, exemplar: Exemplar | None = None
    ) -> None:
        """Count one error, and the failed request unless the caller counts it elsewhere."""
        self.errors.inc()
        if count_request:
            self.requests.inc()
        if duration is not None:
            if self._duration is None:
                self._duration = self._collectors[FAILED_REQUEST_DURATION.name].labels(
                    *self._labels
                )
            self._duration.observe(duration, exemplar)
        for overflow in self.overflows:
            overflow.inc()


class ActiveSeries:
    """The in-flight gauge child for one (agent_id, provider) label set.

    The count of requests in flight is kept per recorded label set, so a decrement without a
    matching increment is rejected instead of driving the gauge below zero.
    """

    __slots__ = ("_counts", "_key", "_lock", "gauge", "overflows")

    def __init__(
        self,
        collectors: Collectors,
        values: tuple[str, ...],
        overflows: tuple[Any, ...],
        counts: dict[tuple[str, ...], int],
        lock: threading.Lock,
    ):
        self.gauge = collectors[ACTIVE_REQUESTS.name].labels(*values)
        self.overflows = overflows
        self._key = values
        self._counts = counts
        self._lock = lock

    def acquire(self) -> None:
        """One more request in flight."""
        with self._lock:
            self._counts[self._key] = self._counts.get(self._key, 0) + 1
            self.gauge.inc()
        for overflow in self.overflows:
            overflow.inc()

    def release(self) -> None:
        """One request fewer in flight; raises InvalidRecordError if none was."""
        with self._lock:
            count = self._counts.get(self._key, 0)
            if count <= 0:
                raise InvalidRecordError(
                    Reason.ACTIVE_UNDERFLOW,
                    "decrement_active_requests without a matching increment for "
                    f"agent_id={self._key[0]!r}, provider={self._key[1]!r}",
                )
            self._counts[self._key] = count - 1
            self.gauge.dec()


class _TallySeries:
    """A counter child (its metric is the subclass's ``metric``) for one label set."""

    __slots__ = ("counter", "overflows")
    metric: str

    def __init__(self, collectors: Collectors, values: tuple[str, ...], overflows: tuple[Any, ...]):
        self.counter = collectors[self.metric].labels(*values)
        self.overflows = overflows

    def record(self, count: int = 1) -> None:
        """Count ``count``."""
        self.counter.inc(count)
        for overflow in self.overflows:
            overflow.inc()


class UnpricedSeries(_TallySeries):
    """Requests whose cost could not be priced, for one (model, provider)."""

    __slots__ = ()
    metric = UNPRICED_REQUESTS.name


class RefusalSeries(_TallySeries):
    """Calls a budget refused, for one (agent_id, scope, period)."""

    __slots__ = ()
    metric = BUDGET_REFUSALS.name


class UsageMissingSeries(_TallySeries):
    """Calls that ended without usage, for one (agent_id, model, provider, reason)."""

    __slots__ = ()
    metric = USAGE_MISSING.name


class FailedAttemptSeries(_TallySeries):
    """429 and 5xx responses, for one (agent_id, model, provider, code)."""

    __slots__ = ()
    metric = FAILED_ATTEMPTS.name


class RetrySeries(_TallySeries):
    """Attempts made again, for one (agent_id, model, provider)."""

    __slots__ = ()
    metric = RETRIES.name


class _GaugeSeries:
    """A gauge child (its metric is the subclass's ``metric``) for one label set."""

    __slots__ = ("gauge", "overflows")
    metric: str

    def __init__(self, collectors: Collectors, values: tuple[str, ...], overflows: tuple[Any, ...]):
        self.gauge = collectors[self.metric].labels(*values)
        self.overflows = overflows

    def set(self, value: float) -> None:
        """Set the gauge."""
        self.gauge.set(value)
        for overflow in self.overflows:
            overflow.inc()


class RateLimitSeries(_GaugeSeries):
    """The rate-limit headroom, for one (provider, model, limit)."""

    __slots__ = ()
    metric = RATE_LIMIT_REMAINING.name


class StreamSeries:
    """Time to first token and per output token, for one (agent_id, model, provider)."""

    __slots__ = ("first_token", "overflows", "per_token")

    def __init__(self, collectors: Collectors, values: tuple[str, ...], overflows: tuple[Any, ...]):
        self.first_token = collectors[TIME_TO_FIRST_TOKEN.name].labels(*values)
        self.per_token = collectors[TIME_PER_OUTPUT_TOKEN.name].labels(*values)
        self.overflows = overflows

    def record(
        self, first_token: float, per_token: float | None, exemplar: Exemplar | None = None
    ) -> None:
        """Observe one streamed call; inputs are already validated."""
        self.first_token.observe(first_token, exemplar)
        if per_token is not None:
            self.per_token.observe(per_token)
        for overflow in self.overflows:
            overflow.inc()


class TagSeries:
    """Requests and cost for one value of one labelled attribution tag."""

    __slots__ = ("cost", "overflows", "requests")

    def __init__(
        self, collectors: Collectors, values: tuple[str, ...], overflows: tuple[Any, ...], key: str
    ):
        (value,) = values
        self.requests = collectors[TAG_REQUESTS.name].labels(key, value)
        self.cost = collectors[TAG_COST.name].labels(key, value)
        self.overflows = overflows

    def record(self, cost: float | None) -> None:
        """Count one request and its cost (None: not priced)."""
        self.requests.inc()
        if cost:
            self.cost.inc(cost)
        for overflow in self.overflows:
            overflow.inc()


class CacheSizeSeries(_GaugeSeries):
    """The cache size gauge child for one tenant."""

    __slots__ = ()
    metric = CACHE_SIZE.name


class AgentRunSeries:
    """What one agent's runs took: duration, cost, steps, LLM calls and tokens of each."""

    __slots__ = ("calls", "cost", "duration", "overflows", "steps", "tokens")

    def __init__(self, collectors: Collectors, values: tuple[str, ...], overflows: tuple[Any, ...]):
        self.duration = collectors[AGENT_RUN_DURATION.name].labels(*values)
        self.cost = collectors[AGENT_RUN_COST.name].labels(*values)
        self.steps = collectors[AGENT_RUN_STEPS.name].labels(*values)
        self.calls = collectors[AGENT_RUN_CALLS.name].labels(*values)
        self.tokens = collectors[AGENT_RUN_TOKENS.name].labels(*values)
        self.overflows = overflows

    def record(
        self,
        duration: float,
        cost: float,
        steps: int,
        calls: int,
        tokens: int,
        exemplar: Exemplar | None = None,
    ) -> None:
        """Observe one run; inputs are already validated."""
        self.duration.observe(duration, exemplar)
        self.cost.observe(cost, exemplar)
        self.steps.observe(steps)
        self.calls.observe(calls)
        self.tokens.observe(tokens)
        for overflow in self.overflows:
            overflow.inc()


class RunOutcomeSeries(_TallySeries):
    """Runs ended, for one (agent_id, outcome)."""

    __slots__ = ()
    metric = AGENT_RUNS.name


class ToolSeries:
    """Calls of one tool by one agent with one status, and their durations."""

    __slots__ = ("calls", "duration", "overflows")

    def __init__(self, collectors: Collectors, values: tuple[str, ...], overflows: tuple[Any, ...]):
        agent_id, tool, status = values
        self.calls = collectors[TOOL_CALLS.name].labels(agent_id, tool, status)
        self.duration = collectors[TOOL_DURATION.name].labels(agent_id, tool)
        self.overflows = overflows

    def record(self, duration: float, exemplar: Exemplar | None = None) -> None:
        """Count one call and observe its duration; inputs are already validated."""
        self.calls.inc()
        self.duration.observe(duration, exemplar)
        for overflow in self.overflows:
            overflow.inc()
