"""LLMMetrics: the Prometheus metrics of LLM calls, fast and safe under bad input."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, generate_latest

from . import exemplars, values
from .collectors import collectors_for
from .errors import InvalidRecordError, Reason, Rejections
from .exposition import exposition_registry
from .labels import LabelGuard, clean_label_value
from .schema import (
    AGENT_RUN_DURATION,
    AGENT_RUNS,
    BUILD_INFO,
    CHAT,
    COST_DROP_REASONS,
    COST_RECORDS_DROPPED,
    COST_STORE_ERRORS,
    DEFAULT_MAX_LABEL_LENGTH,
    FAILED_ATTEMPTS,
    INVALID_RECORDS,
    PRICE_DATA_TIME,
    RATE_LIMIT_KINDS,
    RATE_LIMIT_REMAINING,
    RETRIES,
    TIME_TO_FIRST_TOKEN,
    TOOL_CALLS,
    USAGE_MISSING,
    USAGE_MISSING_REASONS,
    MetricSpec,
    RunOutcome,
)
from .series import (
    ActiveSeries,
    AgentRunSeries,
    CacheSizeSeries,
    ErrorSeries,
    FailedAttemptSeries,
    RateLimitSeries,
    RefusalSeries,
    RequestSeries,
    RetrySeries,
    RunOutcomeSeries,
    SeriesCache,
    StreamSeries,
    TagSeries,
    ToolSeries,
    UnpricedSeries,
    UsageMissingSeries,
    overflow_children,
)
from .shared_labels import shared_admissions

ERROR_STATUS = "error"
SUCCESS_STATUS = "success"
_OUTCOMES = tuple(outcome.value for outcome in RunOutcome)
VERSION_ENV = "LLMOBS_SERVICE_VERSION"
F = TypeVar("F", bound=Callable[..., bool])
S = TypeVar("S")


def _never_raises(method: F) -> F:
    """Bad input is counted as rejected, unexpected failures as internal errors; both return
    False instead of raising into the observed service (strict mode raises)."""

    @functools.wraps(method)
    def guarded(self: LLMMetrics, *args: Any, **kwargs: Any) -> bool:
        try:
            return method(self, *args, **kwargs)
        except InvalidRecordError as error:
            return self._rejections.reject(error)
        except Exception as exc:
            return self._rejections.internal(exc)

    return guarded  # type: ignore[return-value]


def error_name(error_type: object) -> object:
    """An exception instance or class stands for its class name (an AWS error for its error
    code, which botocore's generic ``ClientError`` hides); anything else is kept."""
    if isinstance(error_type, BaseException):
        return _aws_error_code(error_type) or type(error_type).__name__
    if isinstance(error_type, type) and issubclass(error_type, BaseException):
        return error_type.__name__
    return error_type


def _aws_error_code(error: BaseException) -> str | None:
    """The code of a botocore error (``error.response["Error"]["Code"]``), if it is one."""
    response = getattr(error, "response", None)
    found = response.get("Error") if isinstance(response, dict) else None
    code = found.get("Code") if isinstance(found, dict) else None
    return code if isinstance(code, str) and code else None


class LLMMetrics:
    """Records LLM requests, tokens, cache use, errors, cost and latency as Prometheus metrics.

    Every method is safe to call from the service's hot path: bad input is rejected, counted in
    ``llm_invalid_records_total{reason}`` and logged once per reason, never raised, unless
    ``strict=True``, where it raises ``InvalidRecordError`` (a ``ValueError``). Recording methods
    return True when the record was taken and False when it was rejected.

    Example:
        >>> from prometheus_client import CollectorRegistry
        >>> metrics = LLMMetrics(registry=CollectorRegistry())
        >>> metrics.record_request(agent_id="meetmind.coordinator", model="gpt-4",
        ...     provider="openai", status="success", duration_seconds=2.5,
        ...     prompt_tokens=100, completion_tokens=200, cached=False, cost=0.015)
        True
        >>> metrics.registry.get_sample_value("llm_tokens_used_total",
        ...     {"agent_id": "meetmind.coordinator", "model": "gpt-4",
        ...      "provider": "openai", "operation": "chat", "token_type": "completion"})
        200.0

    Args:
        registry: where the metrics are registered; the process-wide default registry if None.
        strict: raise on bad input instead of counting it.
        label_limits: cap on distinct values per label name, merged over the defaults
            (``agent_id`` 500, ``model`` 200, ``provider`` 50, ``status`` 20, ``error_type`` 100,
            ``tenant`` 1000). Values past a cap are recorded as ``__overflow__``.
        max_label_length: label values longer than this are truncated.
        max_cached_label_sets: how many raw label tuples map straight to their bound series
            (about 150 bytes each); a tuple past it costs label cleaning on its next record,
            not new children. The default holds a fleet of 500 agents x 10 models x 3
            providers x several statuses.
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        strict: bool = False,
        label_limits: Mapping[str, int] | None = None,
        max_label_length: int = DEFAULT_MAX_LABEL_LENGTH,
        max_cached_label_sets: int = 100_000,
    ) -> None:
        if (
            isinstance(max_cached_label_sets, bool)
            or not isinstance(max_cached_label_sets, int)
            or max_cached_label_sets < 1
        ):
            raise ValueError(
                f"max_cached_label_sets must be a positive integer, got {max_cached_label_sets!r}"
            )
        self._collectors = collectors_for(registry)
        self.registry = registry
        self.strict = strict
        self._guard = LabelGuard(label_limits, max_label_length, shared_admissions(registry))
        self._rejections = Rejections(self._collectors[INVALID_RECORDS.name], strict=strict)
        self._in_flight: dict[tuple[str, ...], int] = {}
        self._in_flight_lock = threading.Lock()
        self._bound_series: dict[tuple[Any, ...], Any] = {}
        self._requests = SeriesCache(self._bind_request, max_cached_label_sets)
        self._errors = SeriesCache(self._bind_error, max_cached_label_sets)
        self._active = SeriesCache(self._bind_active, max_cached_label_sets)
        self._cache_sizes = SeriesCache(self._bind_cache_size, max_cached_label_sets)
        self._unpriced = SeriesCache(self._bind_unpriced, max_cached_label_sets)
        self._refusals = SeriesCache(self._bind_refusal, max_cached_label_sets)
        self._usage_missing = SeriesCache(
            self._binder(UsageMissingSeries, USAGE_MISSING), max_cached_label_sets
        )
        self._streams = SeriesCache(
            self._binder(StreamSeries, TIME_TO_FIRST_TOKEN), max_cached_label_sets
        )
        self._retries = SeriesCache(self._binder(RetrySeries, RETRIES), max_cached_label_sets)
        self._failed_attempts = SeriesCache(
            self._binder(FailedAttemptSeries, FAILED_ATTEMPTS), max_cached_label_sets
        )
        self._tags = SeriesCache(self._bind_tag, max_cached_label_sets)
        self._runs = SeriesCache(
            self._binder(AgentRunSeries, AGENT_RUN_DURATION), max_cached_label_sets
        )
        self._run_outcomes = SeriesCache(
            self._binder(RunOutcomeSeries, AGENT_RUNS), max_cached_label_sets
        )
        self._tools = SeriesCache(self._binder(ToolSeries, TOOL_CALLS), max_cached_label_sets)
        self._rate_limits = SeriesCache(
            self._binder(RateLimitSeries, RATE_LIMIT_REMAINING), max_cached_label_sets
        )
        dropped = self._collectors[COST_RECORDS_DROPPED.name]
        self._dropped = {reason: dropped.labels(reason) for reason in COST_DROP_REASONS}
        self._version: str | None = None
        self._version_lock = threading.Lock()
        if os.environ.get(VERSION_ENV):
            self.set_build_info(os.environ[VERSION_ENV])

    # -- binding label sets -------------------------------------------------------------------

    def _bound(self, kind: Callable[..., S], labels: dict[str, object], *extra: object) -> S:
        """The ``kind`` series of these labels once cleaned and admitted, bound once.

        Raw label tuples are cached (``max_cached_label_sets``) in front of this; a raw miss
        costs cleaning and admission, and binds children only for a label set never seen.
        Bound series are kept per admitted label set, which the label caps bound, as the
        registry keeps one child per set anyway.
        """
        values, folded = self._guard.resolve(labels)
        key = (kind, values, folded)
        series = self._bound_series.get(key)
        if series is None:
            overflows = overflow_children(self._collectors, folded)
            series = self._bound_series.setdefault(
                key, kind(self._collectors, values, overflows, *extra)
            )
        return series  # type: ignore[no-any-return]

    def _bind_request(
        self, agent_id: object, model: object, provider: object, status: object, operation: object
    ) -> RequestSeries:
        labels = {
            "agent_id": agent_id,
            "model": model,
            "provider": provider,
            "operation": operation,
            "status": status,
        }
        return self._bound(RequestSeries, labels)

    def _bind_error(
        self,
        agent_id: object,
        model: object,
        provider: object,
        error_type: object,
        operation: object,
    ) -> ErrorSeries:
        labels = {
            "agent_id": agent_id,
            "model": model,
            "provider": provider,
            "operation": operation,
            "error_type": error_type,
            "status": ERROR_STATUS,
        }
        return self._bound(ErrorSeries, labels)

    def _bind_tag(self, key: object, value: object) -> TagSeries:
        """A tag value's series, capped per tag key (the cap of the label named as the key)."""
        if not isinstance(key, str):
            raise InvalidRecordError(Reason.INVALID_TAG, f"tag key must be text, got {key!r}")
        return self._bound(TagSeries, {key: value}, key)

    def _bind_active(self, agent_id: object, provider: object) -> ActiveSeries:
        labels = {"agent_id": agent_id, "provider": provider}
        return self._bound(ActiveSeries, labels, self._in_flight, self._in_flight_lock)

    def _bind_cache_size(self, tenant: object) -> CacheSizeSeries:
        return self._bound(CacheSizeSeries, {"tenant": tenant})

    def _bind_unpriced(self, model: object, provider: object) -> UnpricedSeries:
        return self._bound(UnpricedSeries, {"model": model, "provider": provider})

    def _bind_refusal(self, agent_id: object, scope: object, period: object) -> RefusalSeries:
        labels = {"agent_id": agent_id, "scope": scope, "period": period}
        return self._bound(RefusalSeries, labels)

    def _binder(self, kind: Callable[..., S], spec: MetricSpec) -> Callable[..., S]:
        """Binds ``kind`` series by ``spec``'s labels, their values given in that order."""

        def bind(*values: object) -> S:
            return self._bound(kind, dict(zip(spec.labels, values, strict=True)))

        return bind

    # -- recording ----------------------------------------------------------------------------

    @_never_raises
    def record_request(
        self,
        agent_id: str,
        model: str,
        provider: str,
        status: str = "success",
        duration_seconds: float | None = None,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        cached: bool | None = None,
        cost: float | None = None,
        *,
        cache_read_tokens: int | None = None,
        cache_write_tokens: int | None = None,
        reasoning_tokens: int | None = None,
        operation: str = CHAT,
    ) -> bool:
        """Record one completed LLM request.

        ``cached`` is True for a response-cache hit, False for a miss and None when no cache was
        consulted (counted as neither). ``cost`` is in USD; None records no cost. Token counts
        are recorded as reported, each under its own ``token_type``; cache and reasoning tokens
        only when given. Reasoning tokens are part of ``completion_tokens``. ``operation`` is
        what the call asked for: ``chat`` (the default), ``embeddings``, ``image``, ``audio``.
        """
        prompt = values.token_count(prompt_tokens, "prompt_tokens")
        completion = values.token_count(completion_tokens, "completion_tokens")
        cache_read = values.optional_token_count(cache_read_tokens, "cache_read_tokens")
        cache_write = values.optional_token_count(cache_write_tokens, "cache_write_tokens")
        reasoning = values.part_of(reasoning_tokens, "reasoning_tokens", completion, "completion")
        duration = values.optional_duration(duration_seconds)
        usd = values.optional_cost(cost)
        outcome = values.cache_outcome(cached)
        series = self._requests.get((agent_id, model, provider, status, operation))
        series.record(
            prompt,
            completion,
            cache_read,
            cache_write,
            duration,
            usd,
            outcome,
            reasoning,
            exemplars.current(),
        )
        return True

    @_never_raises
    def record_error(
        self,
        agent_id: str,
        model: str,
        provider: str,
        error_type: str | BaseException | type[BaseException],
        *,
        duration_seconds: float | None = None,
        count_request: bool = True,
        operation: str = CHAT,
    ) -> bool:
        """Record one failed LLM request.

        Counts ``llm_errors_total{error_type}`` and, so that success and error rates add up, the
        failed request in ``llm_requests_total{status="error"}`` (pass ``count_request=False``
        if the same failure is also recorded with ``record_request``). ``error_type`` may be a
        string, an exception or an exception class (its class name is used). Its
        ``duration_seconds`` goes to ``llm_failed_request_duration_seconds``, so the latency of
        answered requests is not mixed with time spent failing.
        """
        duration = values.optional_duration(duration_seconds)
        name = error_type if type(error_type) is str else error_name(error_type)
        series = self._errors.get((agent_id, model, provider, name, operation))
        series.record(duration, bool(count_request), exemplars.current())
        return True

    @_never_raises
    def increment_active_requests(self, agent_id: str, provider: str) -> bool:
        """One more request in flight for this agent and provider."""
        self._active.get((agent_id, provider)).acquire()
        return True

    @_never_raises
    def decrement_active_requests(self, agent_id: str, provider: str) -> bool:
        """One request fewer in flight; a decrement with none in flight is rejected."""
        self._active.get((agent_id, provider)).release()
        return True

    def track_request(self, agent_id: str, model: str, provider: str) -> ActiveRequest:
        """A context manager (``with`` or ``async with``) that holds the in-flight gauge up.

        It records nothing else, so it composes with ``record_request`` without counting a
        request twice. ``model`` is accepted for symmetry; the gauge has no model label.
        """
        return ActiveRequest(self, agent_id, provider)

    @_never_raises
    def set_cache_size(self, tenant: str, size: float) -> bool:
        """Set the size of ``tenant``'s response cache (number of entries)."""
        value = values.cache_size(size)
        self._cache_sizes.get((tenant,)).set(value)
        return True

    @_never_raises
    def record_unpriced(self, model: str, provider: str) -> bool:
        """Count one request whose model has no known price (its cost was recorded as 0)."""
        self._unpriced.get((model, provider)).record()
        return True

    @_never_raises
    def record_tags(self, tags: Iterable[tuple[str, str]], cost: float | None = None) -> bool:
        """Count one request and its ``cost`` (USD; None: not priced) under each (key, value)
        of ``tags``: the labelled attribution tags of a call (``llm_tag_requests_total``,
        ``llm_tag_cost_total``). Values past a key's cap (``label_limits`` by key, else 100)
        fold into ``__overflow__``."""
        usd = values.optional_cost(cost)
        bound = [self._tags.get((key, value)) for key, value in tags]  # all checked first
        for series in bound:
            series.record(usd)
        return True

    @_never_raises
    def set_price_data_time(self, fetched_at: float) -> bool:
        """Expose when the model prices in use were fetched (Unix seconds)."""
        self._collectors[PRICE_DATA_TIME.name].set(float(fetched_at))
        return True

    @_never_raises
    def set_build_info(self, version: str) -> bool:
        """Expose ``llm_build_info{version} 1`` for the running version of the service.

        A new version after a restart marks a deployment on the dashboard. Set automatically
        from the environment variable ``LLMOBS_SERVICE_VERSION``.
        """
        cleaned = clean_label_value(version, "version", self._guard.max_length)
        gauge = self._collectors[BUILD_INFO.name]
        with self._version_lock:
            if self._version is not None and self._version != cleaned:
                gauge.remove(self._version)
            gauge.labels(cleaned).set(1)
            self._version = cleaned
        return True

    def count_rejection(self, error: InvalidRecordError) -> bool:
        """Count a record rejected elsewhere (cost calculator, cost tracker) by the same rule:
        counted and logged once per reason, or raised in strict mode. Returns False."""
        return self._rejections.reject(error)

    def count_unobserved_method(self, sdk: str, method: str) -> None:
        """Count a method llmobs would instrument that the installed SDK lacks (an older
        version): its calls go unrecorded. Logged once; never raised."""
        self._rejections.note(
            Reason.SDK_METHOD_MISSING,
            f"the installed {sdk} has no {method}, so its calls are not recorded (counted in "
            f"llm_invalid_records_total{{reason={Reason.SDK_METHOD_MISSING.value!r}}})",
        )

    def count_dropped_cost_records(self, reason: str, count: int = 1) -> None:
        """Count cost entries the cost tracker gave up on (``queue_full``, ``store_error``,
        ``shutdown``, ``closed``)."""
        self._dropped[reason].inc(count)

    @_never_raises
    def count_budget_refusal(self, agent_id: str, scope: str, period: str) -> bool:
        """Count one call refused because a budget (or a run's cap) had no room for it."""
        self._refusals.get((agent_id, scope, period)).record()
        return True

    @_never_raises
    def record_stream(
        self,
        agent_id: str,
        model: str,
        provider: str,
        time_to_first_token: float,
        time_per_output_token: float | None = None,
    ) -> bool:
        """Record how a streamed call flowed: seconds to its first output chunk, and per output
        token after it (None when it did not run to its end)."""
        first = values.duration_seconds(time_to_first_token)
        pace = values.optional_duration(time_per_output_token)
        self._streams.get((agent_id, model, provider)).record(first, pace, exemplars.current())
        return True

    @_never_raises
    def record_agent_run(
        self,
        agent_id: str,
        outcome: str,
        duration_seconds: float,
        *,
        cost: float = 0.0,
        steps: int = 0,
        llm_calls: int = 0,
        tokens: int = 0,
    ) -> bool:
        """Record one ended agent run: how it ended (``completed``, ``failed``, ``refused``),
        how long it took, what its LLM calls cost in USD, its steps, LLM calls and tokens."""
        if outcome not in _OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(_OUTCOMES)}, got {outcome!r}")
        duration = values.duration_seconds(duration_seconds)
        usd = values.optional_cost(cost) or 0.0
        taken = values.token_count(steps, "steps")
        calls = values.token_count(llm_calls, "llm_calls")
        used = values.token_count(tokens, "tokens")
        series = self._runs.get((agent_id,))
        self._run_outcomes.get((agent_id, outcome)).record()
        series.record(duration, usd, taken, calls, used, exemplars.current())
        return True

    @_never_raises
    def record_tool_call(
        self, agent_id: str, tool: str, duration_seconds: float, *, failed: bool = False
    ) -> bool:
        """Record one tool call of an agent: how long it took, and whether it failed."""
        duration = values.duration_seconds(duration_seconds)
        status = ERROR_STATUS if failed else SUCCESS_STATUS
        self._tools.get((agent_id, tool, status)).record(duration, exemplars.current())
        return True

    @_never_raises
    def count_usage_missing(self, agent_id: str, model: str, provider: str, reason: str) -> bool:
        """Count a call that ended without usage (its tokens and cost were recorded as 0):
        ``not_reported``, ``stream_closed`` or ``stream_error``."""
        if reason not in USAGE_MISSING_REASONS:
            raise ValueError(f"reason must be one of {', '.join(USAGE_MISSING_REASONS)}")
        self._usage_missing.get((agent_id, model, provider, reason)).record()
        return True

    @_never_raises
    def count_retries(self, agent_id: str, model: str, provider: str, retries: int) -> bool:
        """Count the attempts an SDK made again for one call (after 429s, 5xx, lost
        connections)."""
        count = values.token_count(retries, "retries")
        if count:
            self._retries.get((agent_id, model, provider)).record(count)
        return True

    @_never_raises
    def count_failed_attempt(self, agent_id: str, model: str, provider: str, code: int) -> bool:
        """Count one 429 or 5xx response to an attempt, whatever came after it."""
        if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
            raise ValueError(f"code must be an HTTP status code, got {code!r}")
        self._failed_attempts.get((agent_id, model, provider, str(code))).record()
        return True

    @_never_raises
    def set_rate_limit(
        self, provider: str, model: str, limit: str, remaining: int, total: int
    ) -> bool:
        """Set the share of a provider's ``limit`` (requests, tokens, input_tokens,
        output_tokens) left: ``remaining`` of ``total``, as its last response said."""
        if limit not in RATE_LIMIT_KINDS:
            raise ValueError(f"limit must be one of {', '.join(RATE_LIMIT_KINDS)}")
        left, whole = values.token_count(remaining, "remaining"), values.token_count(total, "total")
        if whole > 0:
            self._rate_limits.get((provider, model, limit)).set(min(left / whole, 1.0))
        return True

    def count_cost_store_error(self) -> None:
        """Count one failed attempt to write to the cost store."""
        self._collectors[COST_STORE_ERRORS.name].inc()

    def count_internal_error(self, exc: Exception) -> bool:
        """Count an unexpected failure inside llmobs (raised in strict mode). Returns False."""
        return self._rejections.internal(exc)

    # -- exposition ---------------------------------------------------------------------------

    def get_metrics(self) -> bytes:
        """The Prometheus text exposition of every metric (all workers' in multiprocess mode)."""
        return generate_latest(exposition_registry(self.registry))


class ActiveRequest:
    """Context manager returned by ``LLMMetrics.track_request``; sync and async."""

    __slots__ = ("_agent_id", "_held", "_metrics", "_provider")

    def __init__(self, metrics: LLMMetrics, agent_id: str, provider: str) -> None:
        self._metrics = metrics
        self._agent_id = agent_id
        self._provider = provider
        self._held = False

    def __enter__(self) -> ActiveRequest:
        self._held = self._metrics.increment_active_requests(self._agent_id, self._provider)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._held:
            self._held = False
            self._metrics.decrement_active_requests(self._agent_id, self._provider)

    async def __aenter__(self) -> ActiveRequest:
        return self.__enter__()

    async def __aexit__(self, *exc_info: Any) -> None:
        self.__exit__(*exc_info)


_default: LLMMetrics | None = None
_default_lock = threading.Lock()


def get_llm_metrics() -> LLMMetrics:
    """Return the process-wide ``LLMMetrics`` on the default registry, creating it once.

    Strict mode is on when the environment variable ``LLMOBS_STRICT`` is ``1`` or ``true``.
    """
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                strict = os.environ.get("LLMOBS_STRICT", "").strip().lower() in {"1", "true", "yes"}
                _default = LLMMetrics(strict=strict)
    return _default
